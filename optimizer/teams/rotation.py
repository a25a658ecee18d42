"""The rotation calendar: who serves on each post in each year of the horizon (a pattern per team and a
min-cost flow, CP-SAT where that falls short).

Years are offsets ``0 … H−1`` from ``start_year``. The first staffing holds every post in year 0; each of its
cadres stays ``1 … term_years`` years and each vacancy is filled by an unused cadre of the post's units who meets
the post's rule in the year they start (ages and years grow) and is available for the whole stint. A stint may
run past the horizon (its end is then "past", offset H). Rules:

- coverage: every post has exactly its seats in every year;
- term: a stint lasts at most ``term_years``; one stint per cadre (a cadre holds one post in the horizon);
- rotation: at most ``⌊team size × max_replaced_share⌋`` of a town's team leave at the end of any year
  ``0 … H−1`` — so also at the end of the horizon, which keeps the calendar continuable.

Unused cadres of one unit with the same availability and the same eligibility, role by role and year by year,
are interchangeable in every rule, so the model counts them per class (an integer per class, post, start and
end) instead of a Boolean per cadre: exact, and far smaller. The objective is the fewest replacements (the longest
service). Posts that share no unit share no cadre and no rule, so each connected group is its own model. How the
optimum is found and proved: :func:`rotate`. When no calendar exists, an elastic model (empty seats and extra
leavers allowed, at a weight above any number of replacements) finds the smallest breach, reported per post.
"""

from __future__ import annotations

import functools
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from networkx.utils import UnionFind
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from models import Conflict, Rule, Scenario, Status, Town
from models.staffing import Role

from .posts import ROLE_ZH, CadreTable, Post, Reason, reason_words, reason_words_zh, rule_of

_STATUS = {cp_model.OPTIMAL: Status.OPTIMAL, cp_model.FEASIBLE: Status.FEASIBLE,
           cp_model.INFEASIBLE: Status.INFEASIBLE, cp_model.UNKNOWN: Status.UNKNOWN,
           cp_model.MODEL_INVALID: Status.MODEL_INVALID}
_ORDER = [Status.OPTIMAL, Status.FEASIBLE, Status.UNKNOWN, Status.INFEASIBLE, Status.MODEL_INVALID]


@dataclass(frozen=True)
class Service:
    """Cadre row ``row`` holds post number ``post`` from offset ``start`` to ``end`` (inclusive; H = past)."""

    row: int
    post: int
    start: int
    end: int


@dataclass
class Calendar:
    status: Status
    paths: dict[str, int] = field(default_factory=dict)  # components solved by each path (pattern, cp-sat)
    services: list[Service] = field(default_factory=list)
    replacements: int = 0
    bound: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    build_seconds: float = 0.0
    solve_seconds: float = 0.0

    def add(self, part: Calendar) -> None:
        """Merge one component's calendar into this one."""
        self.services += part.services
        self.replacements += part.replacements
        self.bound += part.bound
        self.status = max(self.status, part.status, key=_ORDER.index)
        self.conflicts += part.conflicts
        for path, n in part.paths.items():
            self.paths[path] = self.paths.get(path, 0) + n


@dataclass(frozen=True)
class _Class:
    """Interchangeable unused cadres: one unit, one availability, one eligibility per role and start year."""

    unit: str
    until: int                              # last available offset, clipped to H
    starts: dict[Role, tuple[int, ...]]     # offsets 1 … H−1 at which they may start each role
    rows: tuple[int, ...]


def policy_clash(scenario: Scenario) -> Conflict | None:
    """The term and the replacement share alone forbid every calendar: the first-year team must all leave within
    ``term_years`` years (by the end of the horizon at the latest), at most ``max_replaced`` a year."""
    policy = scenario.policy.staffing
    size, term, cap = policy.min_team_size, policy.term_years, policy.max_replaced()
    if term > policy.years or size <= cap * term:
        return None
    needed = math.ceil(size / term)  # leavers a year when the first team leaves as evenly as it can
    share = math.ceil(100 * needed / size) / 100
    return Conflict(
        rules=(Rule.TERM, Rule.ROTATION), entities=("policy.staffing",),
        figures={"team": size, "term_years": term, "max_replaced": cap},
        message=f"a team of {size} whose cadres serve at most {term} year(s) must replace all {size} within "
                f"{term} year(s), but may replace at most {cap} a year (⌊{size} × {policy.max_replaced_share}⌋): "
                f"raise max_replaced_share to at least {share:g}"
                + (f" or term_years to {math.ceil(size / cap)}" if cap else ""),
        message_zh=f"每支工作队 {size} 人，干部任期最长 {term} 年（term_years），{term} 年内须轮换全部 {size} 人，"
                   f"但每年最多只能轮换 {cap} 人（⌊{size} × {policy.max_replaced_share}⌋）："
                   f"请将 max_replaced_share 提高到至少 {share:g}"
                   + (f"，或将 term_years 提高到 {math.ceil(size / cap)}" if cap else ""))


@functools.cache
def ends(start: int, term: int, horizon: int, until: int) -> tuple[int, ...]:
    """End offsets of a stint starting at ``start``: within the term and the availability; ``horizon`` when
    it may run past the horizon (the cadre is still available in year H and the term reaches it)."""
    out = [e for e in range(start, min(start + term - 1, horizon - 1) + 1) if e <= until]
    if start + term - 1 >= horizon and until >= horizon:
        out.append(horizon)
    return tuple(out)


def rotate(scenario: Scenario, table: CadreTable, posts: Sequence[Post], holders: Sequence[Sequence[int]],
           *, seed: int = 0, time_limit: float | None = None) -> Calendar:
    """The calendar with the fewest replacements, or the conflicts that make every calendar impossible.

    Fast path, exact when it succeeds: each team's fewest replacements with endless, always-eligible new
    cadres (a small CP-SAT model per distinct team shape) is a lower bound on its replacements in any calendar;
    a min-cost flow then tries to fill those patterns' vacancies from the real cadre classes. Where it fills
    them all, the calendar meets the sum of the lower bounds: optimal. Components where it falls short are
    solved by CP-SAT on the full model (other minimal patterns, or more replacements, may fit the supply).
    """
    began = time.perf_counter()
    policy = scenario.policy.staffing
    limit = policy.time_limit if time_limit is None else time_limit
    classes = _classes(scenario, table, posts, holders)
    calendar = Calendar(Status.OPTIMAL)
    components = _components(posts)
    patterns = _patterns(scenario, table, posts, holders, components)
    given, full = _fill(scenario, posts, classes, patterns)
    calendar.build_seconds = time.perf_counter() - began
    team_of = {p: posts[p].town_id or posts[p].label for p in range(len(posts))}
    for component in components:
        teams = {team_of[p] for p in component}
        lead = {team_of[p]: p for p in component if p in patterns}
        good = {t for t in teams if t in lead and all(full[p, s, e] for p, s, e, _ in patterns[lead[t]].slots)}
        done = [svc for t in good for svc in _pattern_services(patterns[lead[t]], given)]
        bound = sum(patterns[p].replacements for p in lead.values())
        if good == teams:
            calendar.add(Calendar(Status.OPTIMAL, paths={"pattern": 1}, services=done, replacements=bound,
                                  bound=bound))
            continue
        left = max(0.01, limit - (time.perf_counter() - began))
        rest = [p for p in component if team_of[p] not in good]
        if len(lead) == len(teams):  # repair: the short teams alone, from what the others left, at their bound
            used = {svc.row for svc in done}
            spare = {u: [c for c in (_Class(k.unit, k.until, k.starts, tuple(r for r in k.rows if r not in used))
                                     for k in classes.get(u, [])) if c.rows] for u in classes}
            floor = sum(patterns[lead[t]].replacements for t in teams - good)
            part = _solve(scenario, table, posts, holders, spare, rest, seed=seed, time_limit=left, floor=floor)
            if part.status is Status.OPTIMAL and part.replacements == floor:
                part.services += done
                part.replacements, part.bound, part.paths = bound, bound, {"repair": 1}
                calendar.add(part)
                continue
        left = max(0.01, limit - (time.perf_counter() - began))
        part = _solve(scenario, table, posts, holders, classes, component, seed=seed, time_limit=left, floor=bound)
        part.paths = {"cp-sat": 1}
        calendar.add(part)
    calendar.solve_seconds = time.perf_counter() - began - calendar.build_seconds
    calendar.services.sort(key=lambda s: (s.post, s.start, s.row))
    return calendar


def _pattern_services(pattern: _Pattern, given: dict[tuple[int, int, int], list[Service]]) -> list[Service]:
    return [Service(r, p, 0, e) for r, p, e in pattern.firsts] + [
        svc for p, s, e, _ in pattern.slots for svc in given[p, s, e]]


@dataclass(frozen=True)
class _Pattern:
    """One team's minimal calendar shape: each first-year holder's end, and the vacancies to fill."""

    replacements: int
    firsts: tuple[tuple[int, int, int], ...]    # (holder row, post, end)
    slots: tuple[tuple[int, int, int, int], ...]  # (post, start, end, cadres)


def _patterns(scenario: Scenario, table: CadreTable, posts: Sequence[Post], holders: Sequence[Sequence[int]],
              components: list[list[int]]) -> dict[int, _Pattern]:
    """Each team's pattern, keyed by its first post; teams of the same shape (roles, seats and their holders'
    availability) share one solve. A team with no pattern (its rules clash) is left out."""
    horizon = scenario.policy.staffing.years
    anyone = _Class("", horizon, {role: tuple(range(1, horizon)) for role in Role}, ())
    teams: dict[str, list[int]] = defaultdict(list)
    for component in components:
        for p in component:
            teams[posts[p].town_id or posts[p].label].append(p)
    until = np.minimum(table.available_until, horizon)
    solved: dict[tuple[object, ...], _Pattern | None] = {}
    out: dict[int, _Pattern] = {}
    for team in teams.values():
        order = [sorted(holders[p], key=lambda r: (until[r], r)) for p in team]
        shape = tuple((posts[p].role, posts[p].seats, tuple(int(until[r]) for r in rows))
                      for p, rows in zip(team, order, strict=True))
        if shape not in solved:
            built = _build(scenario, table, posts, holders, [anyone], team)
            status, solver = _run(built, seed=0, time_limit=10)
            solved[shape] = None if status is not Status.OPTIMAL else _Pattern(
                int(solver.objective_value),
                tuple((team.index(p), order[team.index(p)].index(r), e) for p in team for r in holders[p]
                      for e in ends(0, scenario.policy.staffing.term_years, horizon, int(until[r]))
                      if solver.boolean_value(built.firsts[r, e])),
                tuple((team.index(p), s, e, solver.value(v)) for (_, p, s, e), v in sorted(built.counts.items())
                      if solver.value(v)))
        if (found := solved[shape]) is not None:
            out[team[0]] = _Pattern(found.replacements,
                                    tuple((order[i][j], team[i], e) for i, j, e in found.firsts),
                                    tuple((team[i], s, e, n) for i, s, e, n in found.slots))
    return out


def _fill(scenario: Scenario, posts: Sequence[Post], classes: dict[str, list[_Class]],
          patterns: dict[int, _Pattern]) -> tuple[dict[tuple[int, int, int], list[Service]],
                                                  dict[tuple[int, int, int], bool]]:
    """Fill the patterns' vacancies from the cadre classes with one min-cost flow (class → vacancy, where the
    class's unit may staff the post and its cadres may start then and serve to the end). Returns, per vacancy
    (post, start, end), the services filling it and whether it is full."""
    policy = scenario.policy.staffing
    pool = [c for unit in sorted(classes) for c in classes[unit]]
    index = {id(c): k for k, c in enumerate(pool)}
    slots = [(p, s, e, n) for pattern in patterns.values() for p, s, e, n in pattern.slots]
    tails, heads = [], []
    for i, (p, s, e, _) in enumerate(slots):
        post = posts[p]
        for unit in post.units:
            for c in classes.get(unit, ()):
                if s in c.starts.get(post.role, ()) and e in ends(s, policy.term_years, policy.years, c.until):
                    tails.append(index[id(c)])
                    heads.append(len(pool) + i)
    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink = len(pool) + len(slots), len(pool) + len(slots) + 1
    size = np.array([len(c.rows) for c in pool], dtype=np.int64)
    need = np.array([n for *_, n in slots], dtype=np.int64)
    zeros = np.zeros(max(len(pool), len(slots), len(tails)), dtype=np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(np.full(len(pool), source), np.arange(len(pool)), size, zeros[:len(pool)])
    arcs = flow.add_arcs_with_capacity_and_unit_cost(np.array(tails, dtype=np.int64), np.array(heads, dtype=np.int64),
                                                     np.full(len(tails), policy.min_team_size), zeros[:len(tails)])
    out_arcs = flow.add_arcs_with_capacity_and_unit_cost(len(pool) + np.arange(len(slots)), np.full(len(slots), sink),
                                                         need, zeros[:len(slots)])
    flow.set_node_supply(source, int(need.sum()))
    flow.set_node_supply(sink, -int(need.sum()))
    if flow.solve_max_flow_with_min_cost() != flow.OPTIMAL:
        raise RuntimeError("the rotation's min-cost flow failed")
    full = flow.flows(out_arcs) == need if len(slots) else np.zeros(0, dtype=bool)
    spare = {k: list(c.rows) for k, c in enumerate(pool)}
    given: dict[tuple[int, int, int], list[Service]] = defaultdict(list)
    for arc, amount in zip(arcs.tolist(), flow.flows(arcs).tolist() if len(tails) else [], strict=True):
        k, (p, s, e, _) = tails[arc - int(arcs[0])], slots[heads[arc - int(arcs[0])] - len(pool)]
        given[p, s, e] += [Service(spare[k].pop(0), p, s, e) for _ in range(amount)]
    return given, {(p, s, e): bool(f) for (p, s, e, _), f in zip(slots, full, strict=True)}


def _components(posts: Sequence[Post]) -> list[list[int]]:
    """Groups of post numbers linked by shared units (a town's leader and members share its lead unit)."""
    linked = UnionFind(range(len(posts)))
    first: dict[str, int] = {}
    for p, post in enumerate(posts):
        for unit in post.units:
            linked.union(p, first.setdefault(unit, p))
    return sorted(sorted(group) for group in linked.to_sets())


def _classes(scenario: Scenario, table: CadreTable, posts: Sequence[Post],
             holders: Sequence[Sequence[int]]) -> dict[str, list[_Class]]:
    """Unused cadres of the posts' units, grouped into interchangeable classes, per unit."""
    horizon = scenario.policy.staffing.years
    used = {r for h in holders for r in h}
    units = sorted({u for p in posts for u in p.units})
    rows = np.array([r for r in table.of_units(units).tolist() if r not in used], dtype=np.int64)
    roles = sorted({p.role for p in posts})
    able = {role: np.stack([table.reasons(rule_of(scenario, role), s, rows) == Reason.ELIGIBLE
                            for s in range(1, horizon)], axis=1) if horizon > 1 else np.zeros((len(rows), 0), bool)
            for role in roles}
    until = np.minimum(table.available_until[rows], horizon)
    keyed: dict[tuple[str, int, tuple[tuple[int, ...], ...]], list[int]] = defaultdict(list)
    for i, r in enumerate(rows.tolist()):
        starts = tuple(tuple(int(s) + 1 for s in np.flatnonzero(able[role][i])) for role in roles)
        if any(starts):
            keyed[(table.unit[r], int(until[i]), starts)].append(r)
    out: dict[str, list[_Class]] = defaultdict(list)
    for (unit, last, starts), members in keyed.items():
        out[unit].append(_Class(unit, last, dict(zip(roles, starts, strict=True)), tuple(members)))
    return out


@dataclass
class _Model:
    model: cp_model.CpModel
    firsts: dict[tuple[int, int], cp_model.IntVar]           # (holder row, end) → Boolean
    counts: dict[tuple[int, int, int, int], cp_model.IntVar]  # (class index, post, start, end) → integer
    pool: list[_Class]
    vacant: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)  # (post, year) → empty seats
    excess: dict[tuple[str, int], cp_model.IntVar] = field(default_factory=dict)  # (town, year) → leavers over cap


def _build(scenario: Scenario, table: CadreTable, posts: Sequence[Post], holders: Sequence[Sequence[int]],
           pool: list[_Class], component: Sequence[int], *, elastic: bool = False) -> _Model:
    """The CP-SAT model of one component. ``elastic`` lets seats stay empty and teams replace more than the cap,
    each empty seat-year and each extra leaver at a weight above any count of replacements: its optimum is the
    smallest breach of the rules, which the diagnosis reports."""
    policy = scenario.policy.staffing
    horizon, term, cap = policy.years, policy.term_years, policy.max_replaced()
    model = cp_model.CpModel()
    built = _Model(model, {}, {}, pool)
    serving: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)  # (post, year) → holders
    leaving: dict[tuple[str, int], list[cp_model.IntVar]] = defaultdict(list)  # (town, year) → leavers
    for p in component:
        town = posts[p].town_id
        for r in holders[p]:
            chosen = []
            for e in ends(0, term, horizon, int(min(table.available_until[r], horizon))):
                built.firsts[r, e] = var = model.new_bool_var(f"first_{r}_{e}")
                chosen.append(var)
                for y in range(1, min(e, horizon - 1) + 1):
                    serving[p, y].append(var)
                if e < horizon and town is not None:
                    leaving[town, e + 1].append(var)
            model.add_exactly_one(chosen)
    for k, klass in enumerate(pool):
        mine, most = [], 0
        top = len(klass.rows) or None  # the class of anyone (no unit, no rows): endless supply
        for p in component:
            post = posts[p]
            if klass.unit and klass.unit not in post.units:
                continue
            seats, town = min(post.seats, top or post.seats), post.town_id
            for s in klass.starts.get(post.role, ()):
                for e in ends(s, term, horizon, klass.until):
                    built.counts[k, p, s, e] = var = model.new_int_var(0, seats, f"x_{k}_{p}_{s}_{e}")
                    mine.append(var)
                    most += seats
                    for y in range(s, min(e, horizon - 1) + 1):
                        serving[p, y].append(var)
                    if e < horizon and town is not None:
                        leaving[town, e + 1].append(var)
        if top is not None and most > top:  # the class could be overdrawn
            model.add(cp_model.LinearExpr.sum(mine) <= top)
    for p in component:
        for y in range(1, horizon):
            held = cp_model.LinearExpr.sum(serving[p, y])
            if elastic:
                built.vacant[p, y] = gap = model.new_int_var(0, posts[p].seats, f"vacant_{p}_{y}")
                model.add(held + gap == posts[p].seats)
            else:
                model.add(held == posts[p].seats)
    for (town, y), leavers in leaving.items():
        if elastic:
            built.excess[town, y] = over = model.new_int_var(0, len(leavers) * policy.min_team_size,
                                                             f"excess_{town}_{y}")
            model.add(cp_model.LinearExpr.sum(leavers) <= cap + over)
        elif len(leavers) > cap:
            model.add(cp_model.LinearExpr.sum(leavers) <= cap)
    replacements = cp_model.LinearExpr.sum(list(built.counts.values()))
    if elastic:
        weight = 1 + sum(posts[p].seats for p in component) * horizon  # above any number of replacements
        breach = cp_model.LinearExpr.sum([*built.vacant.values(), *built.excess.values()])
        model.minimize(weight * breach + replacements)
    else:
        model.minimize(replacements)
    return built


def _run(built: _Model, *, seed: int, time_limit: float) -> tuple[Status, cp_model.CpSolver]:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # one worker: repeatable, and the models are small
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = time_limit
    return _STATUS[solver.solve(built.model)], solver


def _solve(scenario: Scenario, table: CadreTable, posts: Sequence[Post], holders: Sequence[Sequence[int]],
           classes: dict[str, list[_Class]], component: Sequence[int], *, seed: int, time_limit: float,
           floor: int = 0) -> Calendar:
    """CP-SAT on the full model of ``component``; ``floor`` is a proven lower bound on its replacements (the
    patterns'), which lets CP-SAT stop as soon as a calendar meets it."""
    began = time.perf_counter()
    units = sorted({u for p in component for u in posts[p].units})
    pool = [c for u in units for c in classes.get(u, [])]
    built = _build(scenario, table, posts, holders, pool, component)
    if floor:
        built.model.add(cp_model.LinearExpr.sum(list(built.counts.values())) >= floor)
    solving = time.perf_counter()
    status, solver = _run(built, seed=seed, time_limit=time_limit)
    calendar = Calendar(status, build_seconds=solving - began, solve_seconds=time.perf_counter() - solving)
    if status in (Status.OPTIMAL, Status.FEASIBLE):
        calendar.services = _services(built, solver, holders, component)
        calendar.replacements = sum(1 for s in calendar.services if s.start > 0)
        calendar.bound = round(solver.best_objective_bound)
    elif status is Status.INFEASIBLE:
        elastic = _build(scenario, table, posts, holders, pool, component, elastic=True)
        status, solver = _run(elastic, seed=seed, time_limit=max(0.01, time_limit - calendar.solve_seconds))
        if status in (Status.OPTIMAL, Status.FEASIBLE):
            calendar.conflicts = _breaches(scenario, table, posts, elastic, solver, component,
                                           minimal=status is Status.OPTIMAL)
        else:
            towns = sorted({posts[p].town_id or posts[p].label for p in component})
            more = len(towns) > 5
            calendar.conflicts = [Conflict(
                rules=(Rule.TEAM_SIZE, Rule.LEADER, Rule.MEMBER, Rule.ONE_POST, Rule.TERM, Rule.ROTATION),
                entities=tuple(towns), figures={"teams": len(towns)},
                message=f"the {len(towns)} team(s) sharing units with {', '.join(towns[:5])}"
                        f"{' …' if more else ''} cannot be kept staffed over the horizon (proved), but "
                        "where they fall short was not found within the time limit: raise "
                        "policy.staffing.time_limit, or add cadres to their units",
                message_zh=f"与 {'、'.join(towns[:5])}{' 等' if more else ''} 共用单位的 {len(towns)} 支工作队在整个"
                           "规划期内无法保持满员（已证明），但在时间上限内未找到缺口所在：请提高 "
                           "policy.staffing.time_limit，或为其单位增加干部")]
    return calendar


def _services(built: _Model, solver: cp_model.CpSolver, holders: Sequence[Sequence[int]],
              component: Sequence[int]) -> list[Service]:
    """The solution as stints; each class's count goes to its cadres in file order (they are interchangeable)."""
    post_of = {r: p for p in component for r in holders[p]}
    out = [Service(r, post_of[r], 0, e) for (r, e), var in built.firsts.items() if solver.boolean_value(var)]
    spare = {k: list(c.rows) for k, c in enumerate(built.pool)}
    for (k, p, s, e), var in sorted(built.counts.items()):
        for _ in range(solver.value(var)):
            out.append(Service(spare[k].pop(0), p, s, e))
    return out


def _breaches(scenario: Scenario, table: CadreTable, posts: Sequence[Post], built: _Model,
              solver: cp_model.CpSolver, component: Sequence[int], *, minimal: bool) -> list[Conflict]:
    """The elastic model's breaches in policy words: per post, the seats left empty and in which years (and
    why its units' cadres cannot fill them then); per team, the years it must replace more than the cap."""
    policy = scenario.policy.staffing
    towns = {t.town_id: t for t in scenario.towns}
    taken = _taken(built, solver)
    smallest = "the smallest shortfall" if minimal else "a shortfall (not proven the smallest: time limit)"
    smallest_zh = "按最小缺口计" if minimal else "按所找到的缺口计（受时间上限所限，未证明最小）"
    out: list[Conflict] = []
    for p in component:
        gaps = {y: solver.value(v) for (q, y), v in built.vacant.items() if q == p and solver.value(v)}
        if not gaps:
            continue
        post, first = posts[p], min(gaps)
        rule = rule_of(scenario, post.role)
        rows = table.of_units(post.units)
        reasons = table.reasons(rule, first, rows)
        counts = np.bincount(reasons, minlength=len(Reason))
        busy = sum(1 for r in rows[reasons == Reason.ELIGIBLE].tolist() if r in taken)
        year = policy.start_year + first
        words = [reason_words(Reason(k), rule, year, int(counts[k])) for k in range(1, len(Reason)) if counts[k]]
        words_zh = [reason_words_zh(Reason(k), rule, year, int(counts[k])) for k in range(1, len(Reason)) if counts[k]]
        where, where_zh = _name(post, towns)
        seats = "leader" if post.role is Role.LEADER else "head" if post.role is Role.COUNTY_HEAD else "members"
        years = ", ".join(f"{n} in {policy.start_year + y}" for y, n in sorted(gaps.items()))
        years_zh = "、".join(f"{policy.start_year + y} 年 {n} 个" for y, n in sorted(gaps.items()))
        rules = {Rule.TERM, Rule.ONE_POST, {Role.LEADER: Rule.LEADER, Role.MEMBER: Rule.MEMBER,
                                            Role.COUNTY_HEAD: Rule.COUNTY_HEAD}[post.role]}
        rules |= {Rule.TEAM_SIZE} if post.town_id is not None else set()
        if counts[Reason.AVAILABILITY]:
            rules.add(Rule.AVAILABILITY)
        out.append(Conflict(
            rules=tuple(r for r in Rule if r in rules), entities=(post.town_id or post.county or "", *post.units),
            figures={"empty_seat_years": sum(gaps.values()), "eligible_in_first_year": int(counts[Reason.ELIGIBLE])},
            message=f"{where}: no calendar keeps its {seats} complete — in {smallest}, seats stay empty: {years}. "
                    f"In {year} its units ({', '.join(post.units)}) have {int(counts[Reason.ELIGIBLE])} cadre(s) "
                    f"eligible to start as {post.role.value.replace('_', ' ')}, {busy} of them on other posts"
                    + (f"; of the others {', '.join(words)}" if words else "")
                    + f" (terms of at most {policy.term_years} years; a cadre holds one post)",
            message_zh=f"{where_zh}：任何轮换安排都无法使其{ROLE_ZH[post.role]}保持满员——{smallest_zh}，空缺席位共 "
                       f"{sum(gaps.values())} 个（按年计）：{years_zh}。{year} 年其单位（{'、'.join(post.units)}）有 "
                       f"{int(counts[Reason.ELIGIBLE])} 名干部可开始担任{ROLE_ZH[post.role]}，其中 {busy} 名已在其他岗位"
                       + (f"；其余干部中 {'，'.join(words_zh)}" if words_zh else "")
                       + f"（任期最长 {policy.term_years} 年；每名干部只担任一个岗位）"))
    for (town, y), var in sorted(built.excess.items()):
        if n := solver.value(var):
            out.append(Conflict(
                rules=(Rule.AVAILABILITY, Rule.TERM, Rule.ROTATION), entities=(town,),
                figures={"leavers": policy.max_replaced() + n, "max_replaced": policy.max_replaced()},
                message=f"town {towns[town].name} ({town}): {policy.max_replaced() + n} of its team must leave at "
                        f"the start of {policy.start_year + y} (their terms of at most {policy.term_years} years or "
                        f"their availability end), but at most {policy.max_replaced()} may be replaced in one year "
                        f"— in {smallest}",
                message_zh=f"{towns[town].name}（{town}）：{policy.start_year + y} 年初其工作队须有 "
                           f"{policy.max_replaced() + n} 人离任（任期最长 {policy.term_years} 年或可派期限届满），"
                           f"但每年最多只能轮换 {policy.max_replaced()} 人（max_replaced_share）——{smallest_zh}"))
    return out


def _taken(built: _Model, solver: cp_model.CpSolver) -> set[int]:
    """Cadre rows the elastic solution puts on a post (first-year holders and the classes' counts)."""
    taken = {r for (r, _), var in built.firsts.items()}
    used: dict[int, int] = defaultdict(int)
    for (k, _, _, _), var in built.counts.items():
        used[k] += solver.value(var)
    for k, n in used.items():
        taken.update(built.pool[k].rows[:n])
    return taken


def _name(post: Post, towns: dict[str, Town]) -> tuple[str, str]:
    """Where ``post`` is, in English and in Chinese: its town, or its county working group."""
    if post.town_id is not None:
        return f"town {towns[post.town_id].name} ({post.town_id})", f"{towns[post.town_id].name}（{post.town_id}）"
    return (f"the {post.county} county working group ({post.units[0]})",
            f"{post.county}驻县工作组（{post.units[0]}）")
