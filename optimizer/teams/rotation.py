"""The rotation calendar: who serves on each post in each year of the horizon, as one CP-SAT model per group of
posts that share units.

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
service). Posts that share no unit share no cadre and no rule, so each connected group is its own model.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from models import Conflict, Rule, Scenario, Status, Town
from models.staffing import Role

from .posts import CadreTable, Post, Reason, rule_of

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
    services: list[Service] = field(default_factory=list)
    replacements: int = 0
    bound: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    build_seconds: float = 0.0
    solve_seconds: float = 0.0


@dataclass(frozen=True)
class _Class:
    """Interchangeable unused cadres: one unit, one availability, one eligibility per role and start year."""

    unit: str
    until: int                              # last available offset, clipped to H
    starts: dict[Role, tuple[int, ...]]     # offsets 1 … H−1 at which they may start each role
    rows: tuple[int, ...]


def ends(start: int, term: int, horizon: int, until: int) -> list[int]:
    """End offsets of a stint starting at ``start``: within the term and the availability; ``horizon`` when
    it may run past the horizon (the cadre is still available in year H and the term reaches it)."""
    out = [e for e in range(start, min(start + term - 1, horizon - 1) + 1) if e <= until]
    if start + term - 1 >= horizon and until >= horizon:
        out.append(horizon)
    return out


def rotate(scenario: Scenario, table: CadreTable, posts: Sequence[Post], holders: Sequence[Sequence[int]],
           *, seed: int = 0, time_limit: float | None = None) -> Calendar:
    """The calendar with the fewest replacements, or the conflicts that make every calendar impossible."""
    began = time.perf_counter()
    policy = scenario.policy.staffing
    limit = policy.time_limit if time_limit is None else time_limit
    classes = _classes(scenario, table, posts, holders)
    calendar = Calendar(Status.OPTIMAL)
    for component in _components(posts):
        left = max(0.01, limit - (time.perf_counter() - began))
        part = _solve(scenario, table, posts, holders, classes, component, seed=seed, time_limit=left)
        calendar.services += part.services
        calendar.replacements += part.replacements
        calendar.bound += part.bound
        calendar.build_seconds += part.build_seconds
        calendar.solve_seconds += part.solve_seconds
        calendar.status = max(calendar.status, part.status, key=_ORDER.index)
        if part.status is Status.INFEASIBLE:
            calendar.conflicts += _diagnose(scenario, table, posts, holders, classes, component)
    calendar.services.sort(key=lambda s: (s.post, s.start, s.row))
    return calendar


def _components(posts: Sequence[Post]) -> list[list[int]]:
    """Groups of post numbers linked by shared units (a town's leader and members share its lead unit)."""
    parent = list(range(len(posts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for p, post in enumerate(posts):
        for unit in post.units:
            parent[find(p)] = find(first.setdefault(unit, p))
    groups: dict[int, list[int]] = defaultdict(list)
    for p in range(len(posts)):
        groups[find(p)].append(p)
    return sorted(groups.values())


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


def _build(scenario: Scenario, table: CadreTable, posts: Sequence[Post], holders: Sequence[Sequence[int]],
           pool: list[_Class], component: Sequence[int], *, unlimited: bool = False) -> _Model:
    """The CP-SAT model of one component; ``unlimited`` gives every post an endless supply of always-eligible
    cadres (to tell a rule clash from a shortage in the diagnosis)."""
    policy = scenario.policy.staffing
    horizon, term, cap = policy.years, policy.term_years, policy.max_replaced()
    model = cp_model.CpModel()
    firsts: dict[tuple[int, int], cp_model.IntVar] = {}
    counts: dict[tuple[int, int, int, int], cp_model.IntVar] = {}
    serving: dict[tuple[int, int], list[cp_model.LinearExprT]] = defaultdict(list)  # (post, year) → holders
    leaving: dict[tuple[str, int], list[cp_model.LinearExprT]] = defaultdict(list)   # (team, year) → leavers
    team = {p: posts[p].town_id or f"head:{p}" for p in component}
    for p in component:
        for r in holders[p]:
            options = ends(0, term, horizon, int(min(table.available_until[r], horizon)))
            chosen = []
            for e in options:
                firsts[r, e] = var = model.new_bool_var(f"first_{r}_{e}")
                chosen.append(var)
                for y in range(1, min(e, horizon - 1) + 1):
                    serving[p, y].append(var)
                if e < horizon:
                    leaving[team[p], e + 1].append(var)
            model.add_exactly_one(chosen)
    if unlimited:
        pool = [_Class("*", horizon, {role: tuple(range(1, horizon)) for role in Role}, (-1,))]
    for k, klass in enumerate(pool):
        mine = []
        for p in component:
            post = posts[p]
            if not unlimited and klass.unit not in post.units:
                continue
            for s in klass.starts.get(post.role, ()):
                for e in ends(s, term, horizon, klass.until):
                    top = post.seats if unlimited else min(post.seats, len(klass.rows))
                    counts[k, p, s, e] = var = model.new_int_var(0, top, f"x_{k}_{p}_{s}_{e}")
                    mine.append(var)
                    for y in range(s, min(e, horizon - 1) + 1):
                        serving[p, y].append(var)
                    if e < horizon:
                        leaving[team[p], e + 1].append(var)
        if mine and not unlimited:
            model.add(sum(mine) <= len(klass.rows))
    for p in component:
        for y in range(1, horizon):
            model.add(sum(serving[p, y]) == posts[p].seats)
    for (town, _), leavers in leaving.items():
        if not town.startswith("head:"):
            model.add(sum(leavers) <= cap)
    model.minimize(sum(counts.values()))
    return _Model(model, firsts, counts, pool)


def _run(built: _Model, *, seed: int, time_limit: float) -> tuple[Status, cp_model.CpSolver]:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # one worker: repeatable, and the models are small
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = time_limit
    return _STATUS[solver.solve(built.model)], solver


def _solve(scenario: Scenario, table: CadreTable, posts: Sequence[Post], holders: Sequence[Sequence[int]],
           classes: dict[str, list[_Class]], component: Sequence[int], *, seed: int,
           time_limit: float) -> Calendar:
    began = time.perf_counter()
    units = sorted({u for p in component for u in posts[p].units})
    built = _build(scenario, table, posts, holders, [c for u in units for c in classes.get(u, [])], component)
    solving = time.perf_counter()
    status, solver = _run(built, seed=seed, time_limit=time_limit)
    done = time.perf_counter()
    calendar = Calendar(status, build_seconds=solving - began, solve_seconds=done - solving)
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        return calendar
    horizon = scenario.policy.staffing.years
    post_of = {r: p for p in component for r in holders[p]}
    for (r, e), var in built.firsts.items():
        if solver.boolean_value(var):
            calendar.services.append(Service(r, post_of[r], 0, e))
    spare = {k: list(c.rows) for k, c in enumerate(built.pool)}
    for (k, p, s, e), var in sorted(built.counts.items()):
        for _ in range(solver.value(var)):
            calendar.services.append(Service(spare[k].pop(0), p, s, e))
    calendar.replacements = sum(1 for s in calendar.services if s.start > 0)
    calendar.bound = int(round(solver.best_objective_bound))
    assert all(s.end <= horizon for s in calendar.services)
    return calendar


def _diagnose(scenario: Scenario, table: CadreTable, posts: Sequence[Post], holders: Sequence[Sequence[int]],
              classes: dict[str, list[_Class]], component: Sequence[int]) -> list[Conflict]:
    """Why no calendar exists: a team that cannot rotate even with endless new cadres (the term, the share
    and the first-year cadres' availability clash); a team whose units run out of cadres on its own; or,
    when every team could rotate alone, the teams that compete for the same units' cadres."""
    towns = {t.town_id: t for t in scenario.towns}
    teams: dict[str, list[int]] = defaultdict(list)
    for p in component:
        teams[posts[p].town_id or posts[p].label].append(p)
    out: list[Conflict] = []
    needs: dict[str, int] = {}
    for name, members in teams.items():
        units = sorted({u for p in members for u in posts[p].units})
        pool = [c for u in units for c in classes.get(u, [])]
        ideal = _build(scenario, table, posts, holders, pool, members, unlimited=True)
        status, solver = _run(ideal, seed=0, time_limit=10)
        what = _name(posts[members[0]], towns)
        if status is Status.INFEASIBLE:
            out.append(_clash(scenario, table, posts, holders, members, what))
            continue
        needs[name] = int(solver.objective_value) if status in (Status.OPTIMAL, Status.FEASIBLE) else 0
        alone, _ = _run(_build(scenario, table, posts, holders, pool, members), seed=0, time_limit=10)
        if alone is Status.INFEASIBLE:
            out.append(_shortage(scenario, posts, members, pool, [what], needs[name], units))
    if not out:
        units = sorted({u for p in component for u in posts[p].units})
        pool = [c for u in units for c in classes.get(u, [])]
        out.append(_shortage(scenario, posts, list(component), pool,
                             [_name(posts[m[0]], towns) for m in teams.values()], sum(needs.values()), units))
    return out


def _name(post: Post, towns: dict[str, Town]) -> str:
    if post.town_id is not None:
        return f"town {towns[post.town_id].name} ({post.town_id})"
    return f"the {post.county} county working group ({post.units[0]})"


def _clash(scenario: Scenario, table: CadreTable, posts: Sequence[Post], holders: Sequence[Sequence[int]],
           members: Sequence[int], what: str) -> Conflict:
    policy = scenario.policy.staffing
    size = sum(posts[p].seats for p in members)
    short = sorted(int(table.available_until[r]) + policy.start_year for p in members for r in holders[p]
                   if table.available_until[r] < min(policy.term_years, policy.years) - 1)
    note = (f"; {len(short)} of its first-year cadres are available only until "
            f"{', '.join(str(y) for y in sorted(set(short)))}") if short else ""
    rules = (Rule.TERM, Rule.ROTATION, *((Rule.AVAILABILITY,) if short else ()))
    return Conflict(
        rules=rules, entities=(posts[members[0]].town_id or posts[members[0]].label,),
        figures={"team": size, "term_years": policy.term_years, "max_replaced": policy.max_replaced()},
        message=f"{what} cannot rotate within the rules even with unlimited new cadres: its {size} first-year "
                f"cadre(s) must leave within {policy.term_years} year(s) (the term){note}, but at most "
                f"{policy.max_replaced()} of a team may be replaced in one year")


def _shortage(scenario: Scenario, posts: Sequence[Post], members: Sequence[int], pool: list[_Class],
              names: list[str], need: int, units: list[str]) -> Conflict:
    policy = scenario.policy.staffing
    first, last = policy.start_year + 1, policy.start_year + policy.years - 1
    roles = sorted({posts[p].role for p in members})
    have = {role: sum(len(c.rows) for c in pool if c.starts.get(role)
                      and any(c.unit in posts[p].units for p in members if posts[p].role is role)) for role in roles}
    offer = ", ".join(f"{n} could start as {role.value.replace('_', ' ')}" for role, n in have.items())
    rules = {Rule.ROTATION, Rule.TERM, *({Rule.ONE_POST} if len(names) > 1 else set())}
    rules |= {{Role.LEADER: Rule.LEADER, Role.MEMBER: Rule.MEMBER, Role.COUNTY_HEAD: Rule.COUNTY_HEAD}[r] for r in roles}
    who = names[0] if len(names) == 1 else f"{', '.join(names)} (sharing units)"
    return Conflict(
        rules=tuple(r for r in Rule if r in rules), entities=(*(posts[p].town_id or posts[p].label for p in members),),
        figures={"needed": need, **{f"unused_{r.value}": n for r, n in have.items()}},
        message=f"{who} need{'s' * (len(names) == 1)} at least {need} new cadre(s) in {first}–{last} (terms of at "
                f"most {policy.term_years} years, at most {policy.max_replaced()} of a team replaced a year); of the "
                f"unused cadres of {', '.join(units)}, {offer or 'none could start'}, not enough for every post "
                "in the years it falls vacant (eligibility counts in the year a cadre starts)")
