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
from networkx.utils import UnionFind
from ortools.graph.python import min_cost_flow

from models import Conflict, Rule, Scenario
from models.staffing import Role

from .posts import (ROLE_ZH, CadreTable, Post, Reason, TeamUnits, posts_of, reason_words, reason_words_zh,
                    rule_of)


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


@dataclass(frozen=True)
class Arcs:
    """The candidate (cadre, post) pairs with their costs: the whole model, for the flow and for peers."""

    posts: list[Post]
    cadre: npt.NDArray[np.int64]    # cadre row per arc
    post: npt.NDArray[np.int64]     # post number per arc
    cost: npt.NDArray[np.int64]
    kept: npt.NDArray[np.bool_]     # the arc puts a cadre on the team of its previous_town

    @property
    def seats(self) -> int:
        return sum(p.seats for p in self.posts)


def candidate_arcs(scenario: Scenario, teams: Mapping[str, TeamUnits], table: CadreTable) -> Arcs:
    """An arc for every cadre who may take a post in the start year: the post's units, the role's rule and the
    availability. Cost: ``continuity`` unless the cadre keeps their previous town, plus the years they fall
    short of a whole term (a cadre leaving early forces an early replacement)."""
    policy = scenario.policy.staffing
    posts = posts_of(scenario, teams)
    able = {role: table.reasons(rule_of(scenario, role), 0) == Reason.ELIGIBLE for role in {p.role for p in posts}}
    seats = sum(p.seats for p in posts)
    continuity = seats * policy.term_years + 1  # above any sum of the term-shortfall costs: keeping comes first
    short = np.clip(min(policy.term_years, policy.years) - 1 - table.available_until, 0, None)
    previous = {town: i for i, town in enumerate(sorted({t for t in table.previous_town if t is not None}))}
    prev = np.array([previous.get(t, -1) if t is not None else -1 for t in table.previous_town], dtype=np.int64)
    tails, heads = [], []
    for p, post in enumerate(posts):
        rows = table.of_units(post.units)
        rows = rows[able[post.role][rows]]
        tails.append(rows)
        heads.append(np.full(len(rows), p, dtype=np.int64))
    cadre = np.concatenate(tails) if tails else np.zeros(0, dtype=np.int64)
    post_of = np.concatenate(heads) if heads else np.zeros(0, dtype=np.int64)
    town = np.array([previous.get(p.town_id, -2) if p.town_id is not None else -2 for p in posts], dtype=np.int64)
    kept = prev[cadre] == town[post_of] if len(posts) else np.zeros(0, dtype=bool)
    return Arcs(posts, cadre, post_of, np.where(kept, 0, continuity) + short[cadre], kept)


def assign_cadres(scenario: Scenario, teams: Mapping[str, TeamUnits],
                  table: CadreTable | None = None) -> Staffing:
    """Staff every post of ``teams`` (town → lead and member units) from ``scenario.cadres``."""
    began = time.perf_counter()
    table = table or CadreTable.of(scenario)
    arcs = candidate_arcs(scenario, teams, table)
    posts, cadre, post_of, seats = arcs.posts, arcs.cadre, arcs.post, arcs.seats
    n, source, sink = len(table), len(table) + len(posts), len(table) + len(posts) + 1
    flow = min_cost_flow.SimpleMinCostFlow()
    used = np.unique(cadre)
    ones = np.ones(len(cadre), dtype=np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(np.full(len(used), source), used, ones[:len(used)], 0 * ones[:len(used)])
    ids = flow.add_arcs_with_capacity_and_unit_cost(cadre, n + post_of, ones, arcs.cost)
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
    on = flow.flows(ids) > 0 if len(cadre) else np.zeros(0, dtype=bool)
    holders: list[list[int]] = [[] for _ in posts]
    for r, p in zip(cadre[on].tolist(), post_of[on].tolist(), strict=True):
        holders[p].append(r)
    for h in holders:
        h.sort()
    conflicts = shortages(scenario, table, posts, holders, cadre, post_of)
    return Staffing(posts, holders, int(arcs.kept[on].sum()), conflicts, built - began, solved - built)


def shortages(scenario: Scenario, table: CadreTable, posts: list[Post], holders: list[list[int]],
              cadre: npt.NDArray[np.int64], post_of: npt.NDArray[np.int64]) -> list[Conflict]:
    """One conflict per disjoint set of posts that cannot all be filled, found by alternating paths.

    From the posts with an empty seat, every eligible cadre must hold a post (else the flow would not be
    maximal); that post joins the search, and so on. Posts linked this way form sets whose seats exceed their
    eligible cadres (Hall's condition fails): no staffing fills them, whatever else changes. Their shortfalls
    add up to the seats the maximum flow leaves empty.
    """
    candidates: list[list[int]] = [[] for _ in posts]
    for r, p in zip(cadre.tolist(), post_of.tolist(), strict=True):
        candidates[p].append(r)
    holding = {r: p for p, h in enumerate(holders) for r in h}
    linked = UnionFind(range(len(posts)))
    queue = [p for p, post in enumerate(posts) if len(holders[p]) < post.seats]
    visited, seen = set(queue), set()
    while queue:
        p = queue.pop()
        for r in candidates[p]:
            q = holding[r]
            linked.union(q, p)
            if q not in visited:
                visited.add(q)
                queue.append(q)
            seen.add(r)
    groups: dict[int, list[int]] = {}
    for p in sorted(visited):
        groups.setdefault(linked[p], []).append(p)
    conflicts = []
    for group in sorted(groups.values()):
        eligible = len({r for p in group for r in candidates[p]})
        conflicts.append(_conflict(scenario, table, [posts[p] for p in group], eligible))
    return conflicts


def _conflict(scenario: Scenario, table: CadreTable, posts: list[Post], eligible: int) -> Conflict:
    """The policy words of a shortage: what the posts need, what their units have, and why the rest may not."""
    year = scenario.policy.staffing.start_year
    towns = {t.town_id: t for t in scenario.towns}
    needed = sum(p.seats for p in posts)
    units = sorted({u for p in posts for u in p.units})
    rules: set[Rule] = {Rule.ONE_POST} if len(posts) > 1 else set()
    wants: dict[str, list[str]] = {}
    wants_zh: dict[str, list[str]] = {}
    why, why_zh = [], []
    for post in posts:
        rule = rule_of(scenario, post.role)
        rules |= {Role.LEADER: {Rule.LEADER}, Role.MEMBER: {Rule.TEAM_SIZE, Rule.MEMBER},
                  Role.COUNTY_HEAD: {Rule.COUNTY_HEAD}}[post.role]
        if post.town_id is not None:
            town = towns[post.town_id]
            place, place_zh = f"town {town.name} ({town.town_id})", f"{town.name}（{town.town_id}）"
            wants.setdefault(place, []).append(
                "a leader" if post.role is Role.LEADER else f"{post.seats} member{'s' * (post.seats > 1)}")
            wants_zh.setdefault(place_zh, []).append(f"{post.seats} 名{ROLE_ZH[post.role]}")
        else:
            place, place_zh = f"county {post.county}", f"{post.county}驻县工作组"
            wants.setdefault(place, []).append(f"a working-group head from {post.units[0]}")
            wants_zh.setdefault(place_zh, []).append(f"1 名组长（由 {post.units[0]} 选派）")
        reasons = table.reasons(rule, 0, table.of_units(post.units))
        counts = np.bincount(reasons, minlength=len(Reason))
        if counts[Reason.AVAILABILITY]:
            rules.add(Rule.AVAILABILITY)
        words = [reason_words(Reason(k), rule, year, int(counts[k])) for k in range(1, len(Reason)) if counts[k]]
        source = {Role.LEADER: f"its lead unit {post.units[0]} has", Role.COUNTY_HEAD: f"{post.units[0]} has",
                  Role.MEMBER: f"its group's units ({', '.join(post.units)}) have" if len(post.units) > 1
                  else f"its group's one unit {post.units[0]} has"}[post.role]
        why.append((place if len(posts) > 1 else "", f"{source} {int(counts[Reason.ELIGIBLE])} eligible cadre(s) "
                    f"for {'the' if post.role is Role.COUNTY_HEAD else 'its'} {post.role.value.replace('_', ' ')} "
                    "post" + (f"; of the others {', '.join(words)}" if words else " and no others")))
        words_zh = [reason_words_zh(Reason(k), rule, year, int(counts[k])) for k in range(1, len(Reason)) if counts[k]]
        source_zh = {Role.LEADER: f"其牵头单位 {post.units[0]} ", Role.COUNTY_HEAD: f"{post.units[0]} ",
                     Role.MEMBER: f"其组团单位（{'、'.join(post.units)}）" if len(post.units) > 1
                     else f"其组团唯一单位 {post.units[0]} "}[post.role]
        why_zh.append((place_zh if len(posts) > 1 else "",
                       f"{source_zh}有 {int(counts[Reason.ELIGIBLE])} 名干部符合{ROLE_ZH[post.role]}岗位条件"
                       + (f"；其余干部中 {'，'.join(words_zh)}" if words_zh else "，没有其他干部")))
    need = "; ".join(f"{place} needs {' and '.join(items)}" for place, items in wants.items())
    need_zh = "；".join(f"{place}须配备 {'、'.join(items)}" for place, items in wants_zh.items())
    if len(posts) == 1:
        message, message_zh = f"{need}; {why[0][1]}", f"{need_zh}；{why_zh[0][1]}"
    else:
        pool = f"the unit {units[0]} has" if len(units) == 1 else f"the units {', '.join(units)} have"
        message = (f"{need}: {needed} cadres in all, but {pool} only {eligible} eligible cadre(s) for these posts "
                   "together (a cadre holds one post). " + "; ".join(f"{place}: {text}" for place, text in why))
        message_zh = (f"{need_zh}：共需 {needed} 名干部，但单位 {'、'.join(units)} 符合这些岗位条件的干部合计只有 "
                      f"{eligible} 名（每名干部只担任一个岗位）。" + "；".join(f"{place}：{text}" for place, text in why_zh))
    entities = tuple(dict.fromkeys([*(p.town_id or p.county or "" for p in posts), *units]))
    return Conflict(rules=tuple(r for r in Rule if r in rules), message=message, message_zh=message_zh,
                    entities=entities, figures={"needed": needed, "eligible": eligible})
