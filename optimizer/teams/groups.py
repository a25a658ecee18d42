"""Rule ``groups`` — group composition (组团): after the leads, the member units of every target's group.

The lead plan is decided first (the programme names lead units and groups form around them); a second, much
smaller optimisation then picks each target's member units (enterprises, institutions, research forces):

- every member rule holds: between ``min`` and ``max`` members of its kinds in each group it selects;
- a unit joins at most ``member_capacity`` and at least ``min_memberships`` groups, a group has at most
  ``max_members`` members, and no unit is a member of a group it leads;
- eligibility, as for leads: PRD members only in their city's counterpart target cities, local members only in
  their own city, county pairings respected; with ``members_share_lead_city`` (the default) a PRD or local member
  joins only a group whose lead is of its own city (a city's organs and its enterprises help as one group).

Objective, linear in the memberships so that any optimum can be checked as a plain sum (maximise)::

    value(m, t) = member_continuity_weight · [m was a member of t] − (6 − strength(m)) − round(distance_weight · km)

Every membership costs 1 (strength 5) to 5 (strength 1) points, so groups get the members their rules and the
units' ``min_memberships`` need, stronger and nearer units first, plus the previous members whose continuity
weight exceeds their cost.

Method: a min-cost flow when, at every target, the kind sets of the rules selecting it are laminar (disjoint or
nested, as the usual rules are); CP-SAT otherwise (crossing kind sets). Both minimise first the total shortfall of
the lower bounds (rule minima, ``min_memberships``), then maximise the value, so an impossible composition comes
back as its smallest shortfall, named rule by rule, and a possible one as the best composition. Among equally
valued compositions the solver's internals pick one (deterministically): only the optimum is specified.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model
from pydantic import BaseModel, ConfigDict, Field

from models import Conflict, Plan, RelationshipKind, Rule, Scenario, SolveResult, Status, Tier, Town, Unit, UnitKind
from models.policy import MemberRule

from ..model.objective import haversine_km

Method = Literal["auto", "flow", "cp-sat"]
STRENGTH_COST = 6
"""A membership costs ``STRENGTH_COST − strength`` points (1 to 5)."""
KINDS = list(UnitKind)
"""Unit kinds by position (a pair's ``kind`` code)."""
EXAMPLES = 5
"""Towns or units named in one conflict message (all of them are in its ``entities``)."""


class GroupResult(BaseModel):
    """The member units of every target's group, or why they cannot be chosen."""

    model_config = ConfigDict(frozen=True)

    status: Status
    members: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="town_id → member unit ids in unit file order; towns without members omitted.")
    objective: int | None = Field(None, description="Σ value(m, t) over the memberships (module docstring).")
    kept: int = Field(0, description="Previous memberships (previous_member) kept.")
    previous: int = Field(0, description="Previous memberships of the plan's towns.")
    path: str = Field("", description="flow or cp-sat; empty when the scenario has no member units or rules.")
    seconds: float = 0.0
    conflicts: tuple[Conflict, ...] = ()
    message: str = ""

    @property
    def has_groups(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)


def composes_groups(scenario: Scenario) -> bool:
    """Whether the scenario forms groups: it has member rules or units that may join groups."""
    return bool(scenario.policy.groups.member_rules) or any(u.member_capacity > 0 for u in scenario.units)


@dataclass
class _Problem:
    """Targets (plan towns), member-capable units, eligible (unit, target) pairs and the rules of each target.

    Pairs are parallel arrays of positions (``u`` in ``units``, ``t`` in ``towns``) sorted by (t, u), so each
    target's pairs are contiguous and in unit file order."""

    scenario: Scenario
    towns: list[Town]                 # targets in town file order
    leads: list[str]                  # lead unit id per target
    units: list[Unit]                 # units with member_capacity > 0, in file order
    u: np.ndarray                     # per pair: unit position
    t: np.ndarray                     # per pair: target position
    kind: np.ndarray                  # per pair: the unit's kind as a position in KINDS
    value: np.ndarray                 # per pair: value(m, t) (module docstring)
    previous: np.ndarray              # per pair: whether the unit was a member of the target's group before
    rules: list[list[int]]            # per target: indices of the member rules selecting it
    previous_total: int = 0


@dataclass
class _Solution:
    status: Status
    chosen: np.ndarray                                  # bool per pair
    unit_short: dict[int, int] = field(default_factory=dict)           # u → missing memberships
    rule_short: dict[tuple[int, int], int] = field(default_factory=dict)  # (t, rule) → missing members
    path: str = ""


def compose_groups(scenario: Scenario, plan: Plan, *, method: Method = "auto",
                   time_limit: float | None = None) -> GroupResult:
    """Choose the member units of every town's group in ``plan`` (leads fixed), or say why there are none.

    >>> from optimizer import load_scenario, solve
    >>> scenario = load_scenario("scenarios/tiny-groups/scenario.yaml")
    >>> result = compose_groups(scenario, solve(scenario).plan)
    >>> result.status.value, result.path, sum(map(len, result.members.values()))
    ('OPTIMAL', 'flow', 14)
    """
    start = time.perf_counter()
    if not composes_groups(scenario):
        return GroupResult(status=Status.OPTIMAL, objective=0, seconds=time.perf_counter() - start)
    problem = _problem(scenario, plan)
    conflicts = _prechecks(problem)
    if conflicts:
        return GroupResult(status=Status.INFEASIBLE, conflicts=tuple(conflicts), previous=problem.previous_total,
                           seconds=time.perf_counter() - start,
                           message="the member units cannot meet the group rules (counted before solving)")
    solution = _flow(problem) if method != "cp-sat" else None
    if solution is None:
        if method == "flow":
            raise ValueError("the member rules' kind sets cross at some target: the flow cannot represent them")
        solution = _cp_sat(problem, time_limit)
    return _result(problem, solution, start)


def with_groups(scenario: Scenario, result: SolveResult, time_limit: float | None = None) -> SolveResult:
    """``result`` with its plan's groups composed (what :func:`optimizer.solve` returns when the scenario forms
    groups); when they cannot be composed, no plan: the group conflicts (INFEASIBLE) or UNKNOWN (time limit)."""
    if result.plan is None or not result.has_plan or not composes_groups(scenario):
        return result
    groups = compose_groups(scenario, result.plan, time_limit=time_limit)
    seconds = result.solve_seconds + groups.seconds
    if groups.has_groups:
        return result.model_copy(update={"plan": result.plan.with_members(groups.members), "solve_seconds": seconds})
    return result.model_copy(update={
        "status": groups.status, "plan": None, "objective": None, "best_bound": None, "gap": None,
        "solve_seconds": seconds, "conflicts": groups.conflicts,
        "message": f"the leads were found ({result.status.value}, objective {result.objective}), but not their "
                   f"groups: {groups.message}"})


def group_value(scenario: Scenario, members: dict[str, tuple[str, ...]]) -> int:
    """Σ value(m, t) (module docstring) over the memberships ``members`` (town_id → member unit ids)."""
    units = {u.unit_id: u for u in scenario.units}
    towns = {t.town_id: t for t in scenario.towns}
    policy = scenario.policy
    previous = _previous_members(scenario)
    total = 0
    for town_id, unit_ids in members.items():
        town = towns[town_id]
        for unit_id in unit_ids:
            unit = units[unit_id]
            total += policy.groups.member_continuity_weight * ((unit_id, town_id) in previous)
            total -= STRENGTH_COST - unit.strength
            if policy.distance_weight > 0:
                km = haversine_km(np.array([unit.lon]), np.array([unit.lat]), np.array([town.lon]),
                                  np.array([town.lat]))
                total -= int(np.rint(policy.distance_weight * km)[0])
    return total


GROUP_COLUMNS = ["town_id", "town_name", "city", "county", "lead_unit_id", "unit_id", "unit_name", "kind", "tier",
                 "kept_previous"]


def group_frame(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """``groups.csv``: one row per member unit of a group, sorted as ``plan.csv`` (city, county, town id) and by
    unit file order within a group; ``kept_previous`` when the unit was a member of the town's group before."""
    towns = {t.town_id: t for t in scenario.towns}
    units = {u.unit_id: u for u in scenario.units}
    order = {u.unit_id: k for k, u in enumerate(scenario.units)}
    previous = _previous_members(scenario)
    rows = []
    for a in plan.assignments:
        town = towns.get(a.town_id)
        for unit_id in sorted(a.members, key=lambda u: order.get(u, len(order))):
            unit = units.get(unit_id)
            rows.append({"town_id": a.town_id, "town_name": town.name if town else "",
                         "city": town.city if town else "", "county": town.county if town else "",
                         "lead_unit_id": a.unit_id, "unit_id": unit_id, "unit_name": unit.name if unit else "",
                         "kind": unit.kind.value if unit else "", "tier": unit.tier.value if unit else "",
                         "kept_previous": (unit_id, a.town_id) in previous, "_order": order.get(unit_id, len(order))})
    frame = pd.DataFrame(rows, columns=[*GROUP_COLUMNS, "_order"])
    frame = frame.sort_values(["city", "county", "town_id", "_order"], kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)


def group_summary(scenario: Scenario, plan: Plan) -> dict[str, int]:
    """The ``groups`` block of ``summary.json``: groups with members, memberships, previous memberships of the
    plan's towns and how many were kept, and the group objective."""
    members = plan.members_of()
    planned = set(plan.lead_of())
    previous = {(u, t) for u, t in _previous_members(scenario) if t in planned}
    kept = sum((u, t) in previous for t, units in members.items() for u in units)
    return {"groups": len(members), "members": sum(map(len, members.values())), "previous_members": len(previous),
            "kept_previous_members": kept, "objective": group_value(scenario, members)}


def _previous_members(scenario: Scenario) -> set[tuple[str, str]]:
    return {(r.unit_id, r.town_id or "") for r in scenario.relationships
            if r.kind is RelationshipKind.PREVIOUS_MEMBER}


def selects(rule: MemberRule, town: Town) -> bool:
    """Whether ``rule`` applies to ``town``'s group: each non-empty selector matches by any of its values."""
    return ((not rule.cities or town.city in rule.cities)
            and (not rule.needs or bool(town.need_tags & set(rule.needs)))
            and (not rule.flags or bool(town.flags & set(rule.flags))))


def _problem(scenario: Scenario, plan: Plan) -> _Problem:
    lead = plan.lead_of()
    unit_of = {u.unit_id: u for u in scenario.units}
    towns = [t for t in scenario.towns if t.town_id in lead and lead[t.town_id] in unit_of]
    leads = [lead[t.town_id] for t in towns]
    units = [u for u in scenario.units if u.member_capacity > 0]
    u, t = _eligible(scenario, units, towns, [unit_of[x] for x in leads])
    previous_pairs = _previous_members(scenario)
    previous = _is_previous(units, towns, previous_pairs, u, t)
    policy = scenario.policy
    strength = np.array([x.strength for x in units], dtype=np.int64)
    value = policy.groups.member_continuity_weight * previous.astype(np.int64) - (STRENGTH_COST - strength[u])
    if policy.distance_weight > 0 and len(u):
        unit_at = np.array([(x.lon, x.lat) for x in units], dtype=float).reshape(-1, 2)[u]
        town_at = np.array([(x.lon, x.lat) for x in towns], dtype=float).reshape(-1, 2)[t]
        km = haversine_km(unit_at[:, 0], unit_at[:, 1], town_at[:, 0], town_at[:, 1])
        value -= np.rint(policy.distance_weight * km).astype(np.int64)
    kind = np.array([KINDS.index(x.kind) for x in units], dtype=np.int64)[u]
    rules = [[i for i, rule in enumerate(policy.groups.member_rules) if selects(rule, town)] for town in towns]
    target_ids = {x.town_id for x in towns}
    return _Problem(scenario=scenario, towns=towns, leads=leads, units=units, u=u, t=t, kind=kind, value=value,
                    previous=previous, rules=rules, previous_total=sum(t in target_ids for _, t in previous_pairs))


def _is_previous(units: list[Unit], towns: list[Town], previous: set[tuple[str, str]], u: np.ndarray,
                 t: np.ndarray) -> np.ndarray:
    """Per pair, whether it is a previous membership: pairs sorted by (t, u) have increasing keys t·|units| + u,
    so each previous membership is found by binary search instead of matching string tuples."""
    unit_pos = {x.unit_id: k for k, x in enumerate(units)}
    town_pos = {x.town_id: k for k, x in enumerate(towns)}
    keys = t * len(units) + u
    wanted = np.array([town_pos[b] * len(units) + unit_pos[a] for a, b in previous
                       if a in unit_pos and b in town_pos], dtype=np.int64)
    flags = np.zeros(len(keys), dtype=bool)
    if len(keys):
        at = np.searchsorted(keys, wanted).clip(max=len(keys) - 1)
        flags[at[keys[at] == wanted]] = True
    return flags


def _eligible(scenario: Scenario, units: list[Unit], towns: list[Town],
              leads: list[Unit]) -> tuple[np.ndarray, np.ndarray]:
    """Eligible (member unit, target) pairs as position arrays ``u, t``, sorted by (t, u): the lead-eligibility
    rules, not the lead itself, and (``members_share_lead_city``) PRD and local members only with a lead of their
    own city. A target × unit mask (a few million cells at province scale) whose nonzero cells come out in
    (t, u) order, with no join or sort."""
    cities = {c: k for k, c in enumerate(dict.fromkeys(
        [x.city or "" for x in units] + [x.city for x in towns] + [x.city or "" for x in leads]))}
    unit_city = np.array([cities[x.city or ""] for x in units], dtype=np.int64)
    provincial = np.array([x.tier is Tier.PROVINCIAL for x in units], dtype=bool)
    allowed = np.zeros((len(cities), len(units)), dtype=bool)   # town city × unit: the tier's cities
    allowed[:, provincial] = True
    local = np.flatnonzero(np.array([x.tier is Tier.LOCAL for x in units], dtype=bool))
    allowed[unit_city[local], local] = True
    prd_targets: dict[int, list[int]] = {}
    for c in scenario.counterparts:
        if c.prd_city in cities and c.target_city in cities:
            prd_targets.setdefault(cities[c.prd_city], []).append(cities[c.target_city])
    for k in np.flatnonzero(np.array([x.tier is Tier.PRD for x in units], dtype=bool)):
        allowed[np.array(prd_targets.get(int(unit_city[k]), []), dtype=np.int64), k] = True
    ok = allowed[np.array([cities[x.city] for x in towns], dtype=np.int64)]
    position = {x.unit_id: k for k, x in enumerate(units)}
    led = np.array([(t, position[x.unit_id]) for t, x in enumerate(leads) if x.unit_id in position],
                   dtype=np.int64).reshape(-1, 2)
    ok[led[:, 0], led[:, 1]] = False
    paired: dict[int, set[str]] = {}
    for r in scenario.relationships:
        if r.kind is RelationshipKind.COUNTY_PAIRING and r.unit_id in position:
            paired.setdefault(position[r.unit_id], set()).add(r.county or "")
    if paired:
        counties = np.array([x.county for x in towns], dtype=object)
        for unit, allowed_counties in paired.items():
            ok[:, unit] &= np.isin(counties, list(allowed_counties))
    if scenario.policy.groups.members_share_lead_city:
        lead_city = np.array([cities[x.city or ""] for x in leads], dtype=np.int64)
        ok &= provincial | (unit_city == lead_city[:, None])
    t, u = np.nonzero(ok)
    return u.astype(np.int64), t.astype(np.int64)


# ---------------------------------------------------------------- pre-solve counting: proofs in policy words


def _prechecks(problem: _Problem) -> list[Conflict]:
    """Necessary conditions, each failure a proof: rules that clash at a target, a rule with too few eligible
    units of its kinds at a target, a unit with fewer eligible targets than its ``min_memberships``."""
    policy = problem.scenario.policy.groups
    conflicts: list[Conflict] = []
    for i, rule in enumerate(policy.member_rules):
        if policy.max_members is not None and rule.min > policy.max_members and any(i in r for r in problem.rules):
            conflicts.append(Conflict(
                rules=(Rule.GROUPS,), figures={"min": rule.min, "max_members": policy.max_members},
                message=f"{_rule_text(problem, i, rule)} asks for {rule.min} members, but max_members allows "
                        f"{policy.max_members}",
                message_zh=f"成员规则 {i + 1} 要求至少 {rule.min} 个成员单位，但 max_members 只允许 {policy.max_members} 个"))
    conflicts += _clashing_rules(problem)
    counts = np.bincount(problem.t * len(KINDS) + problem.kind,
                         minlength=len(problem.towns) * len(KINDS)).reshape(-1, len(KINDS))   # target × kind
    for i, rule in enumerate(policy.member_rules):
        have = counts[:, [KINDS.index(kind) for kind in rule.kinds]].sum(axis=1)
        short = [(t, int(have[t])) for t, rules in enumerate(problem.rules) if i in rules and have[t] < rule.min]
        if short:
            conflicts.append(_too_few_candidates(problem, i, rule, short))
    per_unit = np.bincount(problem.u, minlength=len(problem.units))
    needy = [(unit, int(h)) for unit, h in zip(problem.units, per_unit, strict=True) if unit.min_memberships > h]
    if needy:
        listed = [f"{unit.name} ({unit.unit_id}) {h} of {unit.min_memberships}" for unit, h in needy]
        conflicts.append(Conflict(
            rules=(Rule.GROUPS,), entities=tuple(unit.unit_id for unit, _ in needy),
            figures={"units": len(needy), "shortfall": sum(unit.min_memberships - h for unit, h in needy)},
            message=f"{_count(len(needy), 'unit')} must join more groups (min_memberships) than they are eligible for "
                    f"(eligible groups of min_memberships): {_examples(listed)}; {_eligibility_note(problem)[0]}",
            message_zh=f"{len(needy)} 个单位须参与的组团数（min_memberships）多于其可参与的组团数：{_examples(listed)}；"
                       f"{_eligibility_note(problem)[1]}"))
    return conflicts


_ELIGIBILITY_EN = ("a unit may join a group when its member_capacity > 0, it is not the group's lead, PRD units only "
                   "in their counterpart cities, local units only in their own city, county pairings respected")
_ELIGIBILITY_ZH = "可参与组团的条件：member_capacity > 0、不是该组团的牵头单位、珠三角单位只在对口城市、本市单位只在本市、遵守县级结对"


def _eligibility_note(problem: _Problem) -> tuple[str, str]:
    if problem.scenario.policy.groups.members_share_lead_city:
        return (f"{_ELIGIBILITY_EN}, PRD and local units only in groups led by a unit of their city",
                f"{_ELIGIBILITY_ZH}、珠三角和本市单位只参与本市单位牵头的组团")
    return _ELIGIBILITY_EN, _ELIGIBILITY_ZH


def _clashing_rules(problem: _Problem) -> list[Conflict]:
    """Two rules selecting one group whose bounds on the same kinds cannot both hold (a min above a max on a
    subset of its kinds)."""
    rules = problem.scenario.policy.groups.member_rules
    found: dict[tuple[int, int], list[int]] = {}
    for t, selected in enumerate(problem.rules):
        for i in selected:
            for j in selected:
                high = rules[j].max
                if i != j and high is not None and set(rules[i].kinds) <= set(rules[j].kinds) and rules[i].min > high:
                    found.setdefault((i, j), []).append(t)
    return [Conflict(
        rules=(Rule.GROUPS,), entities=tuple(problem.towns[t].town_id for t in towns),
        figures={"min": rules[i].min, "max": rules[j].max or 0, "towns": len(towns)},
        message=f"{_rule_text(problem, i, rules[i])} and {_rule_text(problem, j, rules[j])} both select "
                f"{_count(len(towns), 'group')} "
                f"({_examples([_town_text(problem, t) for t in towns])}): at least {rules[i].min} and at most "
                f"{rules[j].max} members of overlapping kinds cannot both hold",
        message_zh=f"成员规则 {i + 1} 与 {j + 1} 同时适用于 {len(towns)} 个组团：至少 {rules[i].min} 个与至多 {rules[j].max} 个无法同时满足")
        for (i, j), towns in found.items()]


def _too_few_candidates(problem: _Problem, i: int, rule: MemberRule, short: list[tuple[int, int]]) -> Conflict:
    note_en, note_zh = _eligibility_note(problem)
    listed = [f"{_town_text(problem, t)} has {have} of {rule.min}" for t, have in short]
    kinds = _kinds(rule)
    return Conflict(
        rules=(Rule.GROUPS,), entities=tuple(problem.towns[t].town_id for t, _ in short),
        figures={"towns": len(short), "shortfall": sum(rule.min - have for _, have in short)},
        message=f"{_rule_text(problem, i, rule)} cannot hold in {_count(len(short), 'group')}: too few eligible "
                f"{kinds} units may join "
                f"them — {_examples(listed)}; {note_en}: add such units or raise their member_capacity",
        message_zh=f"成员规则 {i + 1} 在 {len(short)} 个组团无法满足：可参与的 {kinds} 类单位不足 —— "
                   f"{_examples(listed)}；{note_zh}")


# ---------------------------------------------------------------- min-cost flow (laminar rules)


def _flow(problem: _Problem) -> _Solution | None:
    """The composition as a min-cost flow, or ``None`` if some target's rules cross (not laminar).

    source → unit (at least ``min_memberships``, at most ``member_capacity``) → the target's leaf node of the
    unit's kind (1, −value) → rule nodes up the laminar tree (each: between its min and its max) → target root
    (``max_members``) → sink; a free source → sink arc takes the unused capacity. The lower bounds are met as in
    :class:`_Network`.
    """
    rules = problem.scenario.policy.groups.member_rules
    infinite = len(problem.u) + 1
    net = _Network()
    source, sink = net.node(), net.node()
    unit_nodes = np.array([net.node() for _ in problem.units], dtype=np.int64)
    for u, unit in enumerate(problem.units):
        net.bounded(source, int(unit_nodes[u]), unit.min_memberships, unit.member_capacity, ("unit", u, 0))
    max_members = problem.scenario.policy.groups.max_members
    trees: dict[tuple[int, ...], _Tree | None] = {}
    leaf = np.zeros((len(problem.rules), len(KINDS)), dtype=np.int64)   # target × kind → the node its pairs enter
    for t, selected in enumerate(problem.rules):
        if tuple(selected) not in trees:
            trees[tuple(selected)] = _laminar([(i, rules[i]) for i in selected])
        tree = trees[tuple(selected)]
        if tree is None:
            return None
        root = net.node()
        rule_node = {i: net.node() for i in selected}
        net.bounded(root, sink, 0, infinite if max_members is None else max_members, ("root", t, 0))
        for i, parent in tree.parent.items():
            high = rules[i].max
            net.bounded(rule_node[i], root if parent is None else rule_node[parent], rules[i].min,
                        infinite if high is None else high, ("rule", t, i))
        leaf[t] = [root if lowest is None else rule_node[lowest] for lowest in tree.leaf.values()]   # KINDS order
    supply = sum(unit.member_capacity for unit in problem.units)
    net.arc(source, sink, supply, 0)
    net.supply[source], net.supply[sink] = supply, -supply
    chosen, shortfalls = net.solve(unit_nodes[problem.u], leaf[problem.t, problem.kind], -problem.value)
    solution = _Solution(status=Status.OPTIMAL, chosen=chosen, path="flow")
    for (what, a, b), missing in shortfalls.items():
        if what == "unit":
            solution.unit_short[a] = missing
        else:
            solution.rule_short[(a, b)] = missing
    return solution


@dataclass
class _Network:
    """Arc lists of a min-cost flow with lower bounds, and capacity-1 pair arcs added at the end.

    Solved first with each lower bound as node supplies (``low`` sent ahead along its arc): the costs stay at the
    values' scale, and ortools' cost scaling takes one refine round per factor 5 of the largest cost, so this
    solves in two thirds of the time. That network is infeasible exactly when some lower bound cannot be met;
    then each lower bound becomes an arc at cost −``big`` (filled first, ``big`` above the sum of all values)
    beside a free one, and the optimum's unfilled lower bounds are the smallest shortfall.
    """

    nodes: int = 0
    supply: dict[int, int] = field(default_factory=dict)
    tails: list[int] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)
    lows: list[int] = field(default_factory=list)
    highs: list[int] = field(default_factory=list)
    costs: list[int] = field(default_factory=list)
    keys: list[tuple[str, int, int] | None] = field(default_factory=list)   # a bounded arc's key, else None

    def node(self) -> int:
        self.nodes += 1
        return self.nodes - 1

    def arc(self, tail: int, head: int, capacity: int, cost: int) -> None:
        self._add(tail, head, 0, capacity, cost, None)

    def bounded(self, tail: int, head: int, low: int, high: int, key: tuple[str, int, int]) -> None:
        """``low ≤ flow ≤ high`` at cost 0; ``key`` names the bound's shortfall."""
        self._add(tail, head, low, high, 0, key)

    def _add(self, tail: int, head: int, low: int, high: int, cost: int, key: tuple[str, int, int] | None) -> None:
        self.tails.append(tail)
        self.heads.append(head)
        self.lows.append(low)
        self.highs.append(high)
        self.costs.append(cost)
        self.keys.append(key)

    def solve(self, tails: np.ndarray, heads: np.ndarray, costs: np.ndarray) -> tuple[
            np.ndarray, dict[tuple[str, int, int], int]]:
        """Whether each pair arc (``tails``, ``heads``, ``costs``; capacity 1) carries flow in a min-cost flow,
        and the missing flow of each lower bound that the optimum leaves short (none when all can be met)."""
        tail, head, low, high = self._arrays()
        supply = self._supplies()
        supply -= np.bincount(tail, weights=low, minlength=self.nodes).astype(np.int64)
        supply += np.bincount(head, weights=low, minlength=self.nodes).astype(np.int64)
        flows = _min_cost_flow((tail, head, high - low, np.array(self.costs, dtype=np.int64)),
                               (tails, heads, costs), supply)
        if flows is not None:
            return flows[len(tail):] == 1, {}
        return self._shortfalls(tails, heads, costs)

    def _shortfalls(self, tails: np.ndarray, heads: np.ndarray, costs: np.ndarray) -> tuple[
            np.ndarray, dict[tuple[str, int, int], int]]:
        """The network with each lower bound as an arc at cost −``big`` before its free rest (an arc without
        bounds as is), which always has a flow: the one that fills most of the lower bounds, then best."""
        tail, head, low, high = self._arrays()
        bounded = np.array([key is not None for key in self.keys], dtype=bool)
        parts = np.column_stack([bounded & (low > 0), ~bounded | (high > low)]).ravel()   # each arc: low, rest
        rows = np.repeat(np.arange(len(low)), 2)[parts]
        is_low = np.tile([True, False], len(low))[parts]
        big = int(np.abs(costs).sum()) + 1
        arcs = (tail[rows], head[rows], np.where(is_low, low[rows], high[rows] - low[rows]),
                np.where(is_low, -big, np.array(self.costs, dtype=np.int64)[rows]))
        flows = _min_cost_flow(arcs, (tails, heads, costs), self._supplies())
        if flows is None:
            raise RuntimeError("the group flow network is infeasible (a bug: please report the scenario)")
        short = {self.keys[row]: int(low[row] - flow) for row, flow in zip(
            rows[is_low].tolist(), flows[:len(rows)][is_low].tolist(), strict=True) if flow < low[row]}
        return flows[len(rows):] == 1, short

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Tails, heads, lower and upper bounds of the listed arcs."""
        as_array = [np.array(a, dtype=np.int64) for a in (self.tails, self.heads, self.lows, self.highs)]
        return as_array[0], as_array[1], as_array[2], as_array[3]

    def _supplies(self) -> np.ndarray:
        """Node supplies before any lower bound is sent."""
        supply = np.zeros(self.nodes, dtype=np.int64)
        supply[list(self.supply)] = list(self.supply.values())
        return supply


def _min_cost_flow(arcs: tuple[np.ndarray, ...], pair_arcs: tuple[np.ndarray, ...],
                   supply: np.ndarray) -> np.ndarray | None:
    """Flow on every arc (``arcs``: tails, heads, capacities, costs; then ``pair_arcs``: tails, heads, costs at
    capacity 1) of a min-cost flow with node ``supply``, or ``None`` when no flow meets the supplies."""
    tails, heads, costs = pair_arcs
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        np.concatenate([arcs[0], tails]).astype(np.int32), np.concatenate([arcs[1], heads]).astype(np.int32),
        np.concatenate([arcs[2], np.ones(len(tails), dtype=np.int64)]), np.concatenate([arcs[3], costs]))
    solver.set_nodes_supplies(np.arange(len(supply)), supply)
    status = solver.solve()
    if status == solver.INFEASIBLE:
        return None
    if status != solver.OPTIMAL:
        raise RuntimeError(f"the group flow network returned status {status} (a bug: please report the scenario)")
    return np.asarray(solver.flows(np.arange(len(arcs[0]) + len(tails))), dtype=np.int64)


@dataclass
class _Tree:
    """A target's rules as a tree: each rule's parent is the next rule up whose kinds contain its own (``None``:
    the target root), each kind's leaf the lowest rule counting it. Rules with equal kind sets form a chain, so
    every rule keeps its own bounds and shortfall."""

    parent: dict[int, int | None]
    leaf: dict[str, int | None]   # by kind value, in KINDS order


def _laminar(selected: list[tuple[int, MemberRule]]) -> _Tree | None:
    """The tree of ``selected`` (rule index, rule), or ``None`` when two kind sets cross."""
    kinds = {i: frozenset(k.value for k in rule.kinds) for i, rule in selected}
    for a in kinds.values():
        for b in kinds.values():
            if a & b and not (a <= b or b <= a):
                return None
    order = sorted(kinds, key=lambda i: (len(kinds[i]), i))   # up the tree: smaller sets, then file order
    parent = {i: next((j for j in order[order.index(i) + 1:] if kinds[i] <= kinds[j]), None) for i in order}
    leaf = {k.value: next((i for i in order if k.value in kinds[i]), None) for k in UnitKind}
    return _Tree(parent=parent, leaf=leaf)


# ---------------------------------------------------------------- CP-SAT (the general case)


def _cp_sat(problem: _Problem, time_limit: float | None) -> _Solution:
    """The composition with hard bounds (best value); if that is infeasible, the smallest total shortfall of the
    lower bounds, in a second model where each may fall short."""
    from ..solve import settings_for, solve_interruptibly, solver_parameters

    start = time.perf_counter()
    settings = settings_for(problem.scenario, time_limit=time_limit)
    none = np.zeros(len(problem.u), dtype=bool)

    def run(model: cp_model.CpModel) -> tuple[Any, cp_model.CpSolver]:
        solver = cp_model.CpSolver()
        left = max(0.01, settings.time_limit - (time.perf_counter() - start))
        for name, value in (solver_parameters(settings) | {"max_time_in_seconds": left}).items():
            setattr(solver.parameters, name, value)
        return solve_interruptibly(solver, model, None), solver

    model, x, _ = _cp_model(problem, slack=False)
    status, solver = run(model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _Solution(status=Status.OPTIMAL if status == cp_model.OPTIMAL else Status.FEASIBLE,
                         chosen=np.array([solver.boolean_value(v) for v in x], dtype=bool), path="cp-sat")
    if status != cp_model.INFEASIBLE:
        return _Solution(status=Status.UNKNOWN, chosen=none, path="cp-sat")
    model, _, shortfalls = _cp_model(problem, slack=True)
    status, solver = run(model)
    solution = _Solution(status=Status.INFEASIBLE, chosen=none, path="cp-sat")
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):  # FEASIBLE: a shortfall, not proven the smallest
        for short, (what, a, b) in shortfalls:
            if missing := int(solver.value(short)):
                if what == "unit":
                    solution.unit_short[a] = missing
                else:
                    solution.rule_short[(a, b)] = missing
    return solution


def _cp_model(problem: _Problem, slack: bool) -> tuple[cp_model.CpModel, list[cp_model.IntVar],
                                                       list[tuple[cp_model.IntVar, tuple[str, int, int]]]]:
    """One Boolean per eligible pair and a row per bound. ``slack``: each lower bound may fall short by a
    variable, and the objective is the least total shortfall; else the bounds are hard and the objective is the
    best value."""
    rules = problem.scenario.policy.groups.member_rules
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(len(problem.u))]
    shortfalls: list[tuple[cp_model.IntVar, tuple[str, int, int]]] = []

    def bound(index: np.ndarray, low: int, high: int | None, key: tuple[str, int, int]) -> None:
        total = cp_model.LinearExpr.sum([x[i] for i in index.tolist()])
        if low > 0 and slack:
            short = model.new_int_var(0, low, f"short_{key[0]}_{key[1]}_{key[2]}")
            model.add(total + short >= low)
            shortfalls.append((short, key))
        elif low > 0:
            model.add(total >= low)
        if high is not None:
            model.add(total <= high)

    for u, (unit, index) in enumerate(zip(problem.units, _indices(problem.u, len(problem.units)), strict=True)):
        bound(index, unit.min_memberships, unit.member_capacity, ("unit", u, 0))
    max_members = problem.scenario.policy.groups.max_members
    for t, (selected, index) in enumerate(zip(problem.rules, _indices(problem.t, len(problem.towns)), strict=True)):
        bound(index, 0, max_members, ("root", t, 0))
        for i in selected:
            bound(index[np.isin(problem.kind[index], [KINDS.index(k) for k in rules[i].kinds])], rules[i].min,
                  rules[i].max, ("rule", t, i))
    if slack:
        model.minimize(cp_model.LinearExpr.sum([short for short, _ in shortfalls]))
    else:
        used = np.flatnonzero(problem.value)
        model.maximize(cp_model.LinearExpr.weighted_sum([x[i] for i in used.tolist()], problem.value[used].tolist()))
    return model, x, shortfalls


def _indices(keys: np.ndarray, n: int) -> list[np.ndarray]:
    """The pair indices of each key ``0 … n−1``, ascending (``[:n]``: no piece at all when ``n`` is 0)."""
    return np.split(np.argsort(keys, kind="stable"), np.cumsum(np.bincount(keys, minlength=n))[:-1])[:n]


# ---------------------------------------------------------------- result and conflicts


def _result(problem: _Problem, solution: _Solution, start: float) -> GroupResult:
    if solution.status is Status.UNKNOWN:
        return GroupResult(status=Status.UNKNOWN, seconds=time.perf_counter() - start,
                           previous=problem.previous_total, path=solution.path,
                           message="no group composition found within the time limit; raise --time-limit")
    if solution.status is Status.INFEASIBLE or solution.unit_short or solution.rule_short:
        conflicts = _shortfall_conflicts(problem, solution) or [Conflict(
            rules=(Rule.GROUPS,), message="CP-SAT proves that no composition meets every group rule, but found no "
            "smallest shortfall within the time limit: raise --time-limit to have it named",
            message_zh="CP-SAT 证明没有满足全部组团规则的方案，但在时间上限内未找到最小缺口：请提高 --time-limit")]
        return GroupResult(status=Status.INFEASIBLE, conflicts=tuple(conflicts), seconds=time.perf_counter() - start,
                           previous=problem.previous_total, path=solution.path,
                           message="the member units cannot meet the group rules: the best composition still "
                                   "leaves the shortfalls listed")
    members: dict[str, list[str]] = {}   # pairs in (t, u) order: each group's members in unit file order
    for t, u in zip(problem.t[solution.chosen].tolist(), problem.u[solution.chosen].tolist(), strict=True):
        members.setdefault(problem.towns[t].town_id, []).append(problem.units[u].unit_id)
    return GroupResult(
        status=solution.status, members={t: tuple(m) for t, m in members.items()},
        objective=int(problem.value[solution.chosen].sum()), kept=int(problem.previous[solution.chosen].sum()),
        seconds=time.perf_counter() - start, previous=problem.previous_total, path=solution.path)


def _shortfall_conflicts(problem: _Problem, solution: _Solution) -> list[Conflict]:
    rules = problem.scenario.policy.groups.member_rules
    conflicts = []
    per_rule: dict[int, list[tuple[int, int]]] = {}
    for (t, i), missing in sorted(solution.rule_short.items()):
        per_rule.setdefault(i, []).append((t, missing))
    for i, short in per_rule.items():
        rule = rules[i]
        listed = [f"{_town_text(problem, t)} lacks {missing}" for t, missing in short]
        demand = sum(rule.min for selected in problem.rules if i in selected)
        conflicts.append(Conflict(
            rules=(Rule.GROUPS,), entities=tuple(problem.towns[t].town_id for t, _ in short),
            figures={"towns": len(short), "shortfall": sum(m for _, m in short), "needed": demand},
            message=f"{_rule_text(problem, i, rule)} needs {demand} memberships over the groups it selects; the best "
                    f"composition within the units' member_capacity, max_members and the other rules still leaves "
                    f"{_count(len(short), 'group')} short: {_examples(listed)}. Raise the member_capacity of eligible "
                    f"{_kinds(rule)} units, add such units or lower the rule's min",
            message_zh=f"成员规则 {i + 1} 在所适用的组团共需 {demand} 个成员名额；在单位参与上限、max_members 和其他规则下，"
                       f"最优组团方案仍有 {len(short)} 个组团不足：{_examples(listed)}。请提高可参与的 {_kinds(rule)} 类单位的 "
                       "member_capacity、增加此类单位或降低该规则的 min"))
    if solution.unit_short:
        units = problem.units
        listed = [f"{units[u].name} ({units[u].unit_id}) lacks {missing} of {units[u].min_memberships}"
                  for u, missing in sorted(solution.unit_short.items())]
        conflicts.append(Conflict(
            rules=(Rule.GROUPS,), entities=tuple(units[u].unit_id for u in sorted(solution.unit_short)),
            figures={"units": len(solution.unit_short), "shortfall": sum(solution.unit_short.values())},
            message=f"{_count(len(solution.unit_short), 'unit')} cannot join as many groups as their "
                    "min_memberships: the "
                    f"groups they may join are full (max_members, the rules' max) — {_examples(listed)}. Lower their "
                    "min_memberships or raise max_members",
            message_zh=f"{len(solution.unit_short)} 个单位无法参与 min_memberships 要求的组团数：其可参与的组团已满"
                       f"（max_members、规则上限）—— {_examples(listed)}"))
    return conflicts


def _kinds(rule: MemberRule) -> str:
    return "/".join(k.value for k in rule.kinds)


def _rule_text(problem: _Problem, i: int, rule: MemberRule) -> str:
    if rule.max is None:
        span = f"at least {rule.min}"
    elif rule.min == rule.max:
        span = f"exactly {rule.min}"
    else:
        span = f"{rule.min} to {rule.max}" if rule.min else f"at most {rule.max}"
    where = [f"{name} {', '.join(values)}" for name, values in
             (("cities", rule.cities), ("needs", rule.needs), ("flags", rule.flags)) if values]
    plural = problem.scenario.policy.target_level.plural
    scope = f" in groups of {plural} with {'; '.join(where)}" if where else " in every group"
    return f"member rule {i + 1} ({span} {_kinds(rule)}{scope})"


def _town_text(problem: _Problem, t: int) -> str:
    town = problem.towns[t]
    return f"{town.name} ({town.town_id}, led by {problem.leads[t]})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _examples(items: list[str]) -> str:
    shown = ", ".join(items[:EXAMPLES])
    return shown if len(items) <= EXAMPLES else f"{shown} and {len(items) - EXAMPLES} more"
