"""The first staffing: which cadre takes which post, as one exact min-cost flow.

Network: source → cadre (capacity 1: a cadre holds one post) → post (an arc where the cadre's unit may staff the
post and the cadre meets its rule in the start year) → sink (capacity = the post's seats). Every post must be
full, so the staffing exists iff the maximum flow equals the seats; the constraint matrix is a network matrix
(totally unimodular), so the min-cost flow is the exact optimum. Arc costs order the solutions
lexicographically: first keep cadres on the team of their ``previous_town`` (continuity), then prefer cadres
who can serve a whole term. When posts stay short, :func:`shortages` names the units, the seats and, rule by
rule, why their other cadres may not take them (a Hall violator found on the flow, so the shortage is real).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from models import Conflict, Rule, Scenario
from models.staffing import Role

from .posts import CadreTable, Post, Reason, TeamUnits, posts_of, reason_words, rule_of


@dataclass(frozen=True)
class Staffing:
    """The flow's answer: cadre row indices per post (in file order), or the shortages when it falls short."""

    posts: list[Post]
    holders: list[list[int]]
    kept: int
    conflicts: list[Conflict] = field(default_factory=list)
    build_seconds: float = 0.0
    solve_seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.conflicts


def assign_cadres(scenario: Scenario, teams: Mapping[str, TeamUnits],
                  table: CadreTable | None = None) -> Staffing:
    """Staff every post of ``teams`` (town → lead and member units) from ``scenario.cadres``."""
    began = time.perf_counter()
    table = table or CadreTable.of(scenario)
    policy = scenario.policy.staffing
    posts = posts_of(scenario, teams)
    seats = sum(p.seats for p in posts)
    term = min(policy.term_years, policy.years) - 1
    tails: list[npt.NDArray[np.int64]] = []
    heads: list[npt.NDArray[np.int64]] = []
    costs: list[npt.NDArray[np.int64]] = []
    continuity = seats * policy.term_years + 1  # above any sum of the term-shortfall costs: keeping comes first
    short = np.clip(term - table.available_until, 0, None)  # years short of a whole term (within the horizon)
    for p, post in enumerate(posts):
        rows = table.eligible(rule_of(scenario, post.role), 0, table.of_units(post.units))
        kept = np.array([table.previous_town[r] == post.town_id for r in rows], dtype=bool) \
            if post.town_id is not None else np.zeros(len(rows), dtype=bool)
        tails.append(rows)
        heads.append(np.full(len(rows), p, dtype=np.int64))
        costs.append(np.where(kept, 0, continuity) + short[rows])
    cadre = np.concatenate(tails) if tails else np.zeros(0, dtype=np.int64)
    post_of = np.concatenate(heads) if heads else np.zeros(0, dtype=np.int64)
    cost = np.concatenate(costs) if costs else np.zeros(0, dtype=np.int64)
    n, source, sink = len(table), len(table) + len(posts), len(table) + len(posts) + 1
    flow = min_cost_flow.SimpleMinCostFlow()
    used = np.unique(cadre)
    flow.add_arcs_with_capacity_and_unit_cost(np.full(len(used), source), used, np.ones(len(used), dtype=np.int64),
                                              np.zeros(len(used), dtype=np.int64))
    arcs = flow.add_arcs_with_capacity_and_unit_cost(cadre, n + post_of, np.ones(len(cadre), dtype=np.int64), cost)
    flow.add_arcs_with_capacity_and_unit_cost(n + np.arange(len(posts)), np.full(len(posts), sink),
                                              np.array([p.seats for p in posts], dtype=np.int64),
                                              np.zeros(len(posts), dtype=np.int64))
    flow.set_node_supply(source, seats)
    flow.set_node_supply(sink, -seats)
    built = time.perf_counter()
    status = flow.solve_max_flow_with_min_cost()
    solved = time.perf_counter()
    if status != flow.OPTIMAL:  # only on a malformed network: costs and capacities are far inside the limits
        raise RuntimeError(f"min-cost flow failed with status {status}")
    on = flow.flows(arcs) > 0 if len(cadre) else np.zeros(0, dtype=bool)
    holders: list[list[int]] = [[] for _ in posts]
    for r, p in zip(cadre[on].tolist(), post_of[on].tolist(), strict=True):
        holders[p].append(r)
    for h in holders:
        h.sort()
    kept_count = sum(table.previous_town[r] == posts[p].town_id for p, h in enumerate(holders) for r in h)
    conflicts = shortages(scenario, table, posts, holders, cadre, post_of)
    return Staffing(posts, holders, kept_count, conflicts, built - began, solved - built)


def shortages(scenario: Scenario, table: CadreTable, posts: list[Post], holders: list[list[int]],
              cadre: npt.NDArray[np.int64], post_of: npt.NDArray[np.int64]) -> list[Conflict]:
    """One conflict per set of posts that cannot all be filled, found by alternating paths from a short post.

    From a post with an empty seat, every eligible cadre must be holding a post (else the flow would not be
    maximal); those posts join the set, and so on. The set's seats exceed its eligible cadres (Hall's
    condition fails), so no staffing fills them all, whatever else changes.
    """
    candidates: list[list[int]] = [[] for _ in posts]
    for r, p in zip(cadre.tolist(), post_of.tolist(), strict=True):
        candidates[p].append(r)
    holding = {r: p for p, h in enumerate(holders) for r in h}
    seen: set[int] = set()
    conflicts: list[Conflict] = []
    for start, post in enumerate(posts):
        if len(holders[start]) == post.seats or start in seen:
            continue
        group, cadres, queue = {start}, set(), [start]
        while queue:
            for r in candidates[queue.pop()]:
                if r not in cadres:
                    cadres.add(r)
                    if holding[r] not in group:
                        group.add(holding[r])
                        queue.append(holding[r])
        seen |= group
        conflicts.append(_conflict(scenario, table, [posts[p] for p in sorted(group)], len(cadres)))
    return conflicts


def _conflict(scenario: Scenario, table: CadreTable, posts: list[Post], eligible: int) -> Conflict:
    """The policy words of a shortage: what the posts need, what their units have, and why the rest may not."""
    year = scenario.policy.staffing.start_year
    towns = {t.town_id: t for t in scenario.towns}
    needed = sum(p.seats for p in posts)
    units = sorted({u for p in posts for u in p.units})
    rules: set[Rule] = {Rule.ONE_POST} if len(posts) > 1 else set()
    wants, why = [], []
    for post in posts:
        rule = rule_of(scenario, post.role)
        rules |= {Role.LEADER: {Rule.LEADER}, Role.MEMBER: {Rule.TEAM_SIZE, Rule.MEMBER},
                  Role.COUNTY_HEAD: {Rule.COUNTY_HEAD}}[post.role]
        if post.town_id is not None:
            town = towns[post.town_id]
            noun = "a leader" if post.role is Role.LEADER else f"{post.seats} member{'s' * (post.seats > 1)}"
            wants.append(f"town {town.name} ({town.town_id}) needs {noun}")
        else:
            wants.append(f"county {post.county} needs a working-group head from {post.units[0]}")
        reasons = table.reasons(rule, 0, table.of_units(post.units))
        counts = np.bincount(reasons, minlength=len(Reason))
        if counts[Reason.AVAILABILITY]:
            rules.add(Rule.AVAILABILITY)
        words = [reason_words(Reason(k), rule, year, int(counts[k])) for k in range(1, len(Reason)) if counts[k]]
        source = {Role.LEADER: f"its lead unit {post.units[0]} has", Role.COUNTY_HEAD: f"{post.units[0]} has",
                  Role.MEMBER: f"its group's units ({', '.join(post.units)}) have" if len(post.units) > 1
                  else f"its group's one unit {post.units[0]} has"}[post.role]
        why.append(f"{source} {int(counts[Reason.ELIGIBLE])} eligible cadre(s)"
                   + (f"; of the others {', '.join(words)}" if words else " and no others"))
    if len(posts) == 1:
        message = f"{wants[0]}; {why[0]}"
    else:
        message = (f"{'; '.join(wants)}: {needed} cadres in all, but the units {', '.join(units)} have only "
                   f"{eligible} eligible cadre(s) for these posts together (a cadre holds one post). "
                   + " | ".join(f"{w}: {y}" for w, y in zip(wants, why, strict=True)))
    entities = tuple(dict.fromkeys([*(p.town_id or p.county or "" for p in posts), *units]))
    return Conflict(rules=tuple(r for r in Rule if r in rules), message=message, entities=entities,
                    figures={"needed": needed, "eligible": eligible})
