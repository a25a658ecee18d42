"""``compose_groups`` returns what the pandas code with −big lower-bound arcs before it returned.

The earlier implementation is kept below as the reference (its pair table built by pandas merges, MultiIndex and
groupby on string keys, its flow with every lower bound as an arc at cost −big, its CP-SAT model), sharing with
:mod:`optimizer.teams.groups` only the unchanged helpers (rule trees, conflict wording). Compared on every
shipped scenario that forms groups, on Guangdong variants that need the shortfall network or fill units'
``min_memberships``, and on hypothesis cases (``tests.test_groups``' strategy and brute-force oracle):

- the pairs (positions, kinds, values, previous memberships), the pre-solve conflicts, the shortfalls and the
  CP-SAT model are identical;
- the composition has the same status, objective, path and conflicts (shortfalls come from the same −big
  network). The members, and with them the previous memberships kept, are the same unless several compositions
  reach the optimum: the flow now meets lower bounds by node supplies, and ortools' cost scaling breaks ties
  among equally valued memberships differently on the smaller costs (on Guangdong 543 of 600 groups differ, at
  the same objective). Such members are checked to be another optimum: they pass the group audit and reach the
  reference's objective.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from models import (
    Conflict, MemberRule, Plan, RelationshipKind, Rule, Scenario, Status, Tier, Town, UnitKind, load_scenario,
)
from optimizer import pairing_graph, solve
from optimizer.model.objective import haversine_km
from optimizer.teams import groups
from optimizer.teams.groups import (
    STRENGTH_COST, GroupResult, _clashing_rules, _count, _eligibility_note, _examples, _kinds, _laminar,
    _previous_members, _rule_text, _Solution, _too_few_candidates, _town_text, _Tree, compose_groups,
    composes_groups, group_value, selects,
)
from optimizer.teams.groups_audit import check_groups, group_structure
from tests.test_groups import MAX_PAIRS, group_cases, oracle

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(ROOT.glob("scenarios/*/scenario.yaml"))


# ---------------------------------------------------------------------------------------------------------------
# Reference: the earlier implementation
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class RefProblem:
    """Targets (plan towns), member-capable units, eligible (unit, target) pairs and the rules of each target."""

    scenario: Scenario
    towns: list[Town]                 # targets in town file order
    leads: list[str]                  # lead unit id per target
    units: pd.DataFrame               # u, unit_id, name, tier, unit_city, kind, strength, member_capacity, ...
    pairs: pd.DataFrame               # u, t, kind, value, previous (sorted by t, u)
    rules: list[list[int]]            # per target: indices of the member rules selecting it
    previous_total: int = 0


def ref_problem(scenario: Scenario, plan: Plan) -> RefProblem:
    lead = plan.lead_of()
    unit_of = {u.unit_id: u for u in scenario.units}
    towns = [t for t in scenario.towns if t.town_id in lead and lead[t.town_id] in unit_of]
    leads = [lead[t.town_id] for t in towns]
    targets = pd.DataFrame({
        "t": range(len(towns)), "town_id": [t.town_id for t in towns], "town_city": [t.city for t in towns],
        "county": [t.county for t in towns], "lead_id": leads,
        "lead_city": [unit_of[u].city or "" for u in leads],
        "town_lon": [t.lon for t in towns], "town_lat": [t.lat for t in towns]})
    rows = [(u.unit_id, u.name, u.tier.value, u.city or "", u.kind.value, u.strength, u.member_capacity,
             u.min_memberships, u.lon, u.lat) for u in scenario.units if u.member_capacity > 0]
    units = pd.DataFrame(rows, columns=["unit_id", "name", "tier", "unit_city", "kind", "strength", "member_capacity",
                                        "min_memberships", "unit_lon", "unit_lat"])
    units["u"] = range(len(units))
    u, t = ref_eligible(scenario, units, targets)
    pairs = pd.DataFrame({"u": u, "t": t})
    for column in ("unit_id", "kind", "strength", "unit_lon", "unit_lat"):
        pairs[column] = units[column].to_numpy()[u]
    for column in ("town_id", "town_lon", "town_lat"):
        pairs[column] = targets[column].to_numpy()[t]
    previous = _previous_members(scenario)
    target_ids = set(targets["town_id"])
    pairs["previous"] = pd.MultiIndex.from_arrays([pairs["unit_id"], pairs["town_id"]]).isin(sorted(previous))
    policy = scenario.policy
    value = (policy.groups.member_continuity_weight * pairs["previous"].to_numpy(dtype=np.int64)
             - (STRENGTH_COST - pairs["strength"].to_numpy(dtype=np.int64)))
    if policy.distance_weight > 0 and len(pairs):
        km = haversine_km(pairs["unit_lon"], pairs["unit_lat"], pairs["town_lon"], pairs["town_lat"])
        value -= np.rint(policy.distance_weight * km).astype(np.int64)
    pairs["value"] = value
    rules = [[i for i, rule in enumerate(policy.groups.member_rules) if selects(rule, town)] for town in towns]
    return RefProblem(scenario=scenario, towns=towns, leads=leads, units=units, pairs=pairs, rules=rules,
                    previous_total=sum(t in target_ids for _, t in previous))


def ref_eligible(scenario: Scenario, units: pd.DataFrame, targets: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Eligible (member unit, target) pairs as position arrays ``u, t``, sorted by (t, u): the lead-eligibility
    rules, not the lead itself, and (``members_share_lead_city``) PRD and local members only with a lead of their
    own city."""
    counterparts = pd.DataFrame([(c.prd_city, c.target_city) for c in scenario.counterparts],
                                columns=["prd_city", "target_city"])
    tier = units["tier"].to_numpy()
    by_city = units[["u", "unit_city"]]
    place = targets[["t", "town_city"]]
    provincial = np.flatnonzero(tier == Tier.PROVINCIAL.value)
    local = by_city[tier == Tier.LOCAL.value].merge(place, left_on="unit_city", right_on="town_city")
    prd = (by_city[tier == Tier.PRD.value].merge(counterparts, left_on="unit_city", right_on="prd_city")
           .merge(place, left_on="target_city", right_on="town_city"))
    u = np.concatenate([np.repeat(provincial, len(targets)), local["u"].to_numpy(), prd["u"].to_numpy()])
    t = np.concatenate([np.tile(np.arange(len(targets)), len(provincial)), local["t"].to_numpy(), prd["t"].to_numpy()])
    u, t = u.astype(np.int64), t.astype(np.int64)
    keep = units["unit_id"].to_numpy()[u] != targets["lead_id"].to_numpy()[t]
    position = dict(zip(units["unit_id"], units["u"], strict=True))
    county_codes, counties = pd.factorize(targets["county"])
    code = {county: k for k, county in enumerate(counties)}
    paired = [(position[r.unit_id], code.get(r.county, -1)) for r in scenario.relationships
              if r.kind is RelationshipKind.COUNTY_PAIRING and r.unit_id in position]
    if paired:
        is_paired = np.zeros(len(units), dtype=bool)
        is_paired[[p for p, _ in paired]] = True
        allowed = np.isin(u * (len(counties) + 1) + county_codes[t], [p * (len(counties) + 1) + c for p, c in paired])
        keep &= ~is_paired[u] | allowed
    if scenario.policy.groups.members_share_lead_city:
        keep &= (tier[u] == Tier.PROVINCIAL.value) | (
            units["unit_city"].to_numpy()[u] == targets["lead_city"].to_numpy()[t])
    u, t = u[keep], t[keep]
    order = np.lexsort((u, t))
    return u[order], t[order]


def ref_prechecks(problem: RefProblem) -> list[Conflict]:
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
    pairs = problem.pairs
    counts = pairs.groupby(["t", "kind"]).size().to_dict()
    for i, rule in enumerate(policy.member_rules):
        short = []
        for t, rules in enumerate(problem.rules):
            have = sum(counts.get((t, kind.value), 0) for kind in rule.kinds)
            if i in rules and have < rule.min:
                short.append((t, have))
        if short:
            conflicts.append(_too_few_candidates(problem, i, rule, short))
    per_unit = pairs.groupby("u").size()
    needy = problem.units[problem.units["min_memberships"] > problem.units["u"].map(per_unit).fillna(0)]
    if len(needy):
        have = needy["u"].map(per_unit).fillna(0).astype(int)
        listed = [f"{row.name} ({row.unit_id}) {h} of {row.min_memberships}"
                  for row, h in zip(needy.itertuples(), have, strict=True)]
        conflicts.append(Conflict(
            rules=(Rule.GROUPS,), entities=tuple(needy["unit_id"]),
            figures={"units": len(needy), "shortfall": int((needy["min_memberships"] - have).sum())},
            message=f"{_count(len(needy), 'unit')} must join more groups (min_memberships) than they are eligible for "
                    f"(eligible groups of min_memberships): {_examples(listed)}; {_eligibility_note(problem)[0]}",
            message_zh=f"{len(needy)} 个单位须参与的组团数（min_memberships）多于其可参与的组团数：{_examples(listed)}；"
                       f"{_eligibility_note(problem)[1]}"))
    return conflicts


_ELIGIBILITY_EN = ("a unit may join a group when its member_capacity > 0, it is not the group's lead, PRD units only "
                   "in their counterpart cities, local units only in their own city, county pairings respected")
_ELIGIBILITY_ZH = "可参与组团的条件：member_capacity > 0、不是该组团的牵头单位、珠三角单位只在对口城市、本市单位只在本市、遵守县级结对"


def ref_flow(problem: RefProblem) -> _Solution | None:
    """The composition as a min-cost flow, or ``None`` if some target's rules cross (not laminar).

    source → unit (``min_memberships`` at −BIG, the rest of ``member_capacity`` free) → the target's leaf node of
    the unit's kind (1, −value) → rule nodes up the laminar tree (each: its min at −BIG, up to its max free) →
    target root (``max_members``) → sink; a free source → sink arc takes the unused capacity.
    """
    rules = problem.scenario.policy.groups.member_rules
    pairs = problem.pairs
    infinite = len(pairs) + 1
    net = RefNetwork(big=int(np.abs(pairs["value"].to_numpy()).sum()) + 1)
    source, sink = net.node(), net.node()
    unit_node = {int(u): net.node() for u in problem.units["u"]}
    for row in problem.units.itertuples():
        net.bounded(source, unit_node[row.u], int(row.min_memberships), int(row.member_capacity),
                    ("unit", int(row.u), 0))
    max_members = problem.scenario.policy.groups.max_members
    trees: dict[tuple[int, ...], _Tree | None] = {}
    kinds = [k.value for k in UnitKind]
    leaf = np.zeros((len(problem.rules), len(kinds)), dtype=np.int64)   # target × kind → the node its pairs enter
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
        for kind, lowest in tree.leaf.items():
            leaf[t, kinds.index(kind)] = root if lowest is None else rule_node[lowest]
    supply = int(problem.units["member_capacity"].sum())
    net.arc(source, sink, supply, 0)
    first_pair = len(net.tails)
    unit_nodes = np.array([unit_node[u] for u in range(len(unit_node))], dtype=np.int64)
    kind_codes = pd.Categorical(pairs["kind"], categories=kinds).codes
    flows = net.solve({source: supply, sink: -supply}, pair_arcs=(
        unit_nodes[pairs["u"].to_numpy()], leaf[pairs["t"].to_numpy(), kind_codes], -pairs["value"].to_numpy()))
    solution = _Solution(status=Status.OPTIMAL, chosen=flows[first_pair:first_pair + len(pairs)] == 1, path="flow")
    for index, (what, a, b) in net.required:
        missing = net.caps[index] - int(flows[index])
        if missing and what == "unit":
            solution.unit_short[a] = missing
        elif missing:
            solution.rule_short[(a, b)] = missing
    return solution


@dataclass
class RefNetwork:
    """Arc lists of a min-cost flow; a lower bound is an arc at cost −``big`` (filled first) beside a free one."""

    big: int
    nodes: int = 0
    tails: list[int] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)
    caps: list[int] = field(default_factory=list)
    costs: list[int] = field(default_factory=list)
    required: list[tuple[int, tuple[str, int, int]]] = field(default_factory=list)

    def node(self) -> int:
        self.nodes += 1
        return self.nodes - 1

    def arc(self, tail: int, head: int, capacity: int, cost: int) -> None:
        self.tails.append(tail)
        self.heads.append(head)
        self.caps.append(capacity)
        self.costs.append(cost)

    def bounded(self, tail: int, head: int, low: int, high: int, key: tuple[str, int, int]) -> None:
        """``low ≤ flow ≤ high``; the low part is ``required`` (its shortfall is what the key names)."""
        if low > 0:
            self.required.append((len(self.tails), key))
            self.arc(tail, head, low, -self.big)
        if high > low:
            self.arc(tail, head, high - low, 0)

    def solve(self, supplies: dict[int, int], pair_arcs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        """Flow on every arc: the listed ones, then ``pair_arcs`` (tails, heads, costs; capacity 1 each)."""
        tails, heads, costs = pair_arcs
        solver = min_cost_flow.SimpleMinCostFlow()
        solver.add_arcs_with_capacity_and_unit_cost(
            np.concatenate([self.tails, tails]).astype(np.int32), np.concatenate([self.heads, heads]).astype(np.int32),
            np.concatenate([self.caps, np.ones(len(tails))]).astype(np.int64),
            np.concatenate([self.costs, costs]).astype(np.int64))
        for node, supply in supplies.items():
            solver.set_node_supply(node, supply)
        status = solver.solve()
        if status != solver.OPTIMAL:
            raise RuntimeError(f"the group flow network returned status {status} (a bug: please report the scenario)")
        return np.asarray(solver.flows(np.arange(len(self.tails) + len(tails))), dtype=np.int64)


def ref_cp_model(problem: RefProblem, slack: bool) -> tuple[cp_model.CpModel, list[cp_model.IntVar],
                                                       list[tuple[cp_model.IntVar, tuple[str, int, int]]]]:
    """One Boolean per eligible pair and a row per bound. ``slack``: each lower bound may fall short by a
    variable, and the objective is the least total shortfall; else the bounds are hard and the objective is the
    best value."""
    rules = problem.scenario.policy.groups.member_rules
    pairs = problem.pairs
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(len(pairs))]
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

    empty = np.array([], dtype=np.int64)
    by_unit = pairs.groupby("u").indices
    for row in problem.units.itertuples():
        bound(by_unit.get(row.u, empty), int(row.min_memberships), int(row.member_capacity), ("unit", int(row.u), 0))
    by_target = pairs.groupby("t").indices
    kinds = pairs["kind"].to_numpy()
    max_members = problem.scenario.policy.groups.max_members
    for t, selected in enumerate(problem.rules):
        index = by_target.get(t, empty)
        bound(index, 0, max_members, ("root", t, 0))
        for i in selected:
            bound(index[np.isin(kinds[index], [k.value for k in rules[i].kinds])], rules[i].min, rules[i].max,
                  ("rule", t, i))
    if slack:
        model.minimize(cp_model.LinearExpr.sum([short for short, _ in shortfalls]))
    else:
        values = pairs["value"].to_numpy()
        used = np.flatnonzero(values)
        model.maximize(cp_model.LinearExpr.weighted_sum([x[i] for i in used.tolist()], values[used].tolist()))
    return model, x, shortfalls


def ref_result(problem: RefProblem, solution: _Solution, start: float) -> GroupResult:
    if solution.status is Status.UNKNOWN:
        return GroupResult(status=Status.UNKNOWN, seconds=time.perf_counter() - start,
                           previous=problem.previous_total, path=solution.path,
                           message="no group composition found within the time limit; raise --time-limit")
    if solution.status is Status.INFEASIBLE or solution.unit_short or solution.rule_short:
        conflicts = ref_shortfall_conflicts(problem, solution) or [Conflict(
            rules=(Rule.GROUPS,), message="CP-SAT proves that no composition meets every group rule, but found no "
            "smallest shortfall within the time limit: raise --time-limit to have it named",
            message_zh="CP-SAT 证明没有满足全部组团规则的方案，但在时间上限内未找到最小缺口：请提高 --time-limit")]
        return GroupResult(status=Status.INFEASIBLE, conflicts=tuple(conflicts), seconds=time.perf_counter() - start,
                           previous=problem.previous_total, path=solution.path,
                           message="the member units cannot meet the group rules: the best composition still "
                                   "leaves the shortfalls listed")
    chosen = problem.pairs[solution.chosen]
    order = {u.unit_id: k for k, u in enumerate(problem.scenario.units)}
    members: dict[str, list[str]] = {}
    for town_id, unit_id in zip(chosen["town_id"], chosen["unit_id"], strict=True):
        members.setdefault(town_id, []).append(unit_id)
    return GroupResult(
        status=solution.status, members={t: tuple(sorted(m, key=order.__getitem__)) for t, m in members.items()},
        objective=int(chosen["value"].sum()), kept=int(chosen["previous"].sum()),
        seconds=time.perf_counter() - start, previous=problem.previous_total, path=solution.path)


def ref_shortfall_conflicts(problem: RefProblem, solution: _Solution) -> list[Conflict]:
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
        units = problem.units.set_index("u")
        listed = [f"{units.at[u, 'name']} ({units.at[u, 'unit_id']}) lacks {missing} of "
                  f"{units.at[u, 'min_memberships']}" for u, missing in sorted(solution.unit_short.items())]
        conflicts.append(Conflict(
            rules=(Rule.GROUPS,), entities=tuple(str(units.at[u, "unit_id"]) for u in sorted(solution.unit_short)),
            figures={"units": len(solution.unit_short), "shortfall": sum(solution.unit_short.values())},
            message=f"{_count(len(solution.unit_short), 'unit')} cannot join as many groups as their "
                    "min_memberships: the "
                    f"groups they may join are full (max_members, the rules' max) — {_examples(listed)}. Lower their "
                    "min_memberships or raise max_members",
            message_zh=f"{len(solution.unit_short)} 个单位无法参与 min_memberships 要求的组团数：其可参与的组团已满"
                       f"（max_members、规则上限）—— {_examples(listed)}"))
    return conflicts


def reference(scenario: Scenario, plan: Plan) -> GroupResult | None:
    """The earlier :func:`compose_groups` up to the flow; ``None`` where the rules cross (CP-SAT, whose model
    :func:`test_cp_sat_model_equals_the_reference` compares)."""
    if not composes_groups(scenario):
        return GroupResult(status=Status.OPTIMAL, objective=0)
    problem = ref_problem(scenario, plan)
    conflicts = ref_prechecks(problem)
    if conflicts:
        return GroupResult(status=Status.INFEASIBLE, conflicts=tuple(conflicts), previous=problem.previous_total,
                           message="the member units cannot meet the group rules (counted before solving)")
    solution = ref_flow(problem)
    return None if solution is None else ref_result(problem, solution, time.perf_counter())


# ---------------------------------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------------------------------


def assert_same_composition(scenario: Scenario, plan: Plan) -> GroupResult:
    """Status, objective, previous memberships, path, conflicts and message as the reference's; the members and
    the kept memberships too, or another optimum (module docstring) and the previous memberships it keeps (a
    tie may keep another number of them, e.g. when ``member_continuity_weight`` is 0)."""
    result, expected = compose_groups(scenario, plan), reference(scenario, plan)
    if expected is None:
        assert result.path == "cp-sat"
        return result
    tied = {"seconds", "members", "kept"}
    assert result.model_dump(exclude=tied) == expected.model_dump(exclude=tied)
    if result.members == expected.members:
        assert result.kept == expected.kept
    else:
        assert result.status is Status.OPTIMAL and expected.objective is not None
        grouped = plan.with_members(result.members)
        assert check_groups(pairing_graph(scenario, grouped), scenario) == []
        assert group_value(scenario, result.members) == expected.objective
        assert group_structure(pairing_graph(scenario, grouped), scenario)["kept_previous_members"] == result.kept
    return result


def assert_same_pairs(scenario: Scenario, plan: Plan) -> None:
    problem, expected = groups._problem(scenario, plan), ref_problem(scenario, plan)
    pairs = expected.pairs
    assert [u.unit_id for u in problem.units] == expected.units["unit_id"].tolist()
    assert problem.towns == expected.towns and problem.leads == expected.leads and problem.rules == expected.rules
    assert problem.previous_total == expected.previous_total
    for name, column in (("u", "u"), ("t", "t"), ("value", "value"), ("previous", "previous")):
        np.testing.assert_array_equal(getattr(problem, name), pairs[column].to_numpy(), err_msg=name)
    assert [groups.KINDS[k].value for k in problem.kind] == pairs["kind"].tolist()
    assert groups._prechecks(problem) == ref_prechecks(expected)


def assert_same_cp_sat_model(scenario: Scenario, plan: Plan) -> None:
    problem, expected = groups._problem(scenario, plan), ref_problem(scenario, plan)
    for slack in (False, True):
        model, _, shortfalls = groups._cp_model(problem, slack)
        reference_model, _, reference_shortfalls = ref_cp_model(expected, slack)
        assert str(model.proto) == str(reference_model.proto)
        assert [key for _, key in shortfalls] == [key for _, key in reference_shortfalls]


@cache
def _scenario(path: Path) -> Scenario:
    return load_scenario(path)


@cache
def _leads(path: Path) -> Plan:
    plan = solve(_scenario(path), groups=False).plan
    assert plan is not None
    return plan


GROUPED = [path for path in SCENARIOS if composes_groups(_scenario(path))]
GUANGDONG = ROOT / "scenarios" / "guangdong-2021" / "scenario.yaml"


def _guangdong_variant(name: str) -> Scenario:
    """``scarce-research``: research units join one group each, 79 groups short of rule 2 after solving (the
    shortfall network); ``min-memberships``: every member unit joins at least 2 groups or all it may (the units'
    lower bounds as supplies)."""
    scenario = _scenario(GUANGDONG)
    change = {
        "scarce-research": lambda u: {"member_capacity": 1} if u.kind is UnitKind.RESEARCH and u.member_capacity
        else {},
        "min-memberships": lambda u: {"min_memberships": min(u.member_capacity, 2)},
    }[name]
    fields = {field: getattr(scenario, field) for field in Scenario.model_fields}
    return Scenario(**fields | {"units": [u.model_copy(update=change(u)) for u in scenario.units]})


@pytest.mark.parametrize("path", GROUPED, ids=lambda p: p.parent.name)
def test_shipped_scenarios_equal_the_reference(path: Path) -> None:
    scenario, plan = _scenario(path), _leads(path)
    assert_same_pairs(scenario, plan)
    assert assert_same_composition(scenario, plan).has_groups
    assert_same_cp_sat_model(scenario, plan)


@pytest.mark.parametrize(("variant", "status"), [("scarce-research", Status.INFEASIBLE),
                                                 ("min-memberships", Status.OPTIMAL)])
def test_guangdong_variants_equal_the_reference(variant: str, status: Status) -> None:
    scenario = _guangdong_variant(variant)
    assert_same_pairs(scenario, _leads(GUANGDONG))
    result = assert_same_composition(scenario, _leads(GUANGDONG))
    assert result.status is status and result.path == "flow"


def test_tiny_groups_with_crossing_rules_build_the_reference_cp_sat_model() -> None:
    path = ROOT / "scenarios" / "tiny-groups" / "scenario.yaml"
    scenario = _scenario(path)
    rules = [{"kinds": [UnitKind.ENTERPRISE, UnitKind.INSTITUTION], "min": 1},
             {"kinds": [UnitKind.INSTITUTION, UnitKind.RESEARCH], "min": 1, "max": 1}]
    policy = scenario.policy.model_copy(update={"groups": scenario.policy.groups.model_copy(
        update={"member_rules": [MemberRule(**rule) for rule in rules]})})
    fields = {field: getattr(scenario, field) for field in Scenario.model_fields}
    crossing = Scenario(**fields | {"policy": policy})
    assert reference(crossing, _leads(path)) is None
    assert_same_cp_sat_model(crossing, _leads(path))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(group_cases(max_towns=6, max_units=7))
def test_generated_cases_equal_the_reference(case: tuple[Scenario, Plan]) -> None:
    scenario, plan = case
    assert_same_pairs(scenario, plan)
    assert_same_cp_sat_model(scenario, plan)
    result = assert_same_composition(scenario, plan)
    best, _, n = oracle(scenario, plan)
    if n <= MAX_PAIRS:
        assert result.objective == best
