"""Rule ``groups``: group composition against a brute-force oracle, the independent group audit, conflicts in
policy words, continuity, determinism, the schema's checks and the outputs (plan.csv members, groups.csv)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn

from models import (
    Category, Counterpart, GroupPolicy, MemberRule, Plan, Policy, Relationship, RelationshipKind, Rule, Scenario,
    ScenarioError, SolverSettings, Status, Tier, Town, Unit, UnitKind, load_plan, load_scenario,
)
from optimizer import audit, pairing_graph, solve
from optimizer.report import groups_csv, plan_csv
from optimizer.teams.groups import compose_groups, group_value
from optimizer.teams.groups_audit import check_groups, group_structure

ROOT = Path(__file__).resolve().parent.parent
TINY_GROUPS = ROOT / "scenarios" / "tiny-groups" / "scenario.yaml"
PRD_CITY, CITIES = "丙市", ("甲市", "乙市")
MAX_PAIRS = 14
"""The oracle enumerates every subset of the eligible (member, town) pairs: 2**14 rows at most."""
E, I, R, A = UnitKind.ENTERPRISE, UnitKind.INSTITUTION, UnitKind.RESEARCH, UnitKind.AGENCY
MEMBER_KINDS = (E, E, I, I, R, R, A)
RULE_KINDS = ([E], [E, I], [I, R], [R], [E, I, R, A])
"""Nested, disjoint and crossing ({E, I} and {I, R}: CP-SAT) kind sets."""


# ---------------------------------------------------------------- generated cases and the brute-force oracle


@st.composite
def group_cases(draw: DrawFn, max_towns: int = 3, max_units: int = 5) -> tuple[Scenario, Plan]:
    """A few towns with leads already chosen, member units of every tier and kind, rules with every selector."""
    n_towns = draw(st.integers(1, max_towns))
    towns = [Town(town_id=f"t{i}", name=f"镇{i}", city=CITIES[0] if i == 0 else draw(st.sampled_from(CITIES)),
                  county=f"县{draw(st.integers(0, 1))}", category=Category.KEY, border=draw(st.booleans()),
                  needs=draw(st.sampled_from(["", "industry", "tourism", "industry;tourism"])),
                  lon=113 + 0.4 * i, lat=23 + 0.3 * i) for i in range(n_towns)]
    cities = sorted({t.city for t in towns})
    leads = [Unit(unit_id="lead-prov", name="省厅", tier=Tier.PROVINCIAL, capacity=n_towns, lon=113.3, lat=23.1,
                  member_capacity=(mc := draw(st.integers(0, 1))), min_memberships=draw(st.integers(0, mc))),
             Unit(unit_id="lead-prd", name="丙区", tier=Tier.PRD, city=PRD_CITY, capacity=n_towns, lon=114, lat=22.5)]
    leads += [Unit(unit_id=f"lead-{city}", name=f"{city}委", tier=Tier.LOCAL, city=city, capacity=n_towns,
                   lon=115, lat=24) for city in cities]
    members = []
    for k in range(draw(st.integers(1, max_units))):
        tier = draw(st.sampled_from(list(Tier)))
        city = {Tier.PRD: PRD_CITY, Tier.PROVINCIAL: None, Tier.LOCAL: draw(st.sampled_from(cities))}[tier]
        capacity = draw(st.sampled_from([0, 1, 2, 2]))
        members.append(Unit(unit_id=f"m{k}", name=f"成员{k}", tier=tier, city=city, capacity=0,
                            kind=draw(st.sampled_from(MEMBER_KINDS)), strength=draw(st.integers(1, 5)),
                            member_capacity=capacity, min_memberships=min(capacity, draw(st.sampled_from([0, 0, 1]))),
                            lon=113 + 0.2 * k, lat=22.8 + 0.1 * k))
    units = leads + members
    lead_of = {}
    for town in towns:
        options = ["lead-prov", f"lead-{town.city}"] + (["lead-prd"] if town.city == CITIES[0] else [])
        lead_of[town.town_id] = draw(st.sampled_from(options))
    relationships = [Relationship(unit_id=u.unit_id, kind=RelationshipKind.PREVIOUS_MEMBER, town_id=t.town_id)
                     for u in units for t in towns if u.member_capacity and draw(st.integers(0, 3)) == 0]
    if draw(st.booleans()):
        relationships.append(Relationship(unit_id=draw(st.sampled_from(members)).unit_id,
                                          kind=RelationshipKind.COUNTY_PAIRING, county=towns[-1].county))
    needs = {tag for t in towns for tag in t.need_tags}
    rules = []
    for _ in range(draw(st.integers(0, 3))):
        low = draw(st.sampled_from([0, 1, 1, 2]))
        high = draw(st.one_of(st.none(), st.integers(low, low + 1))) if low else draw(st.integers(0, 1))
        rules.append(MemberRule(
            kinds=draw(st.sampled_from(RULE_KINDS)), min=low, max=high,
            cities=draw(st.sampled_from([[], [cities[0]]])),
            needs=draw(st.sampled_from([[], sorted(needs)[:1]])), flags=draw(st.sampled_from([[], ["border"]]))))
    policy = Policy(distance_weight=draw(st.sampled_from([0.0, 0.05])), groups=GroupPolicy(
        member_rules=rules, member_continuity_weight=draw(st.integers(0, 30)),
        max_members=draw(st.one_of(st.none(), st.integers(1, 3))), members_share_lead_city=draw(st.booleans())))
    scenario = Scenario(towns=towns, units=units, counterparts=[Counterpart(prd_city=PRD_CITY, target_city=CITIES[0])],
                        relationships=relationships, policy=policy, solver=SolverSettings(workers=1, time_limit=20))
    return scenario, Plan.from_pairs(lead_of)


def _km(a: Unit, t: Town) -> float:
    assert a.lon is not None and a.lat is not None and t.lon is not None and t.lat is not None
    p1, p2 = math.radians(t.lat), math.radians(a.lat)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(a.lon - t.lon) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _eligible(scenario: Scenario, unit: Unit, town: Town, lead: Unit) -> bool:
    """The README's member eligibility, written out once more for the oracle."""
    paired = {r.county for r in scenario.relationships
              if r.kind is RelationshipKind.COUNTY_PAIRING and r.unit_id == unit.unit_id}
    targets = {c.target_city for c in scenario.counterparts if c.prd_city == unit.city}
    return (unit.member_capacity > 0 and unit.unit_id != lead.unit_id
            and (unit.tier is not Tier.LOCAL or unit.city == town.city)
            and (unit.tier is not Tier.PRD or town.city in targets)
            and (not paired or town.county in paired)
            and (not scenario.policy.groups.members_share_lead_city or unit.tier is Tier.PROVINCIAL
                 or unit.city == lead.city))


def oracle(scenario: Scenario, plan: Plan) -> tuple[int | None, int, int]:
    """(best value or None when infeasible, the least total shortfall over the compositions within every upper
    bound, the number of eligible pairs), by enumerating every subset of the eligible pairs."""
    units = {u.unit_id: u for u in scenario.units}
    towns = {t.town_id: t for t in scenario.towns}
    groups = scenario.policy.groups
    pairs = [(u, towns[t]) for t, lead in plan.lead_of().items() for u in scenario.units
             if _eligible(scenario, u, towns[t], units[lead])]
    n = len(pairs)
    if n > MAX_PAIRS:
        return None, -1, n
    chosen = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(bool)
    within = np.ones(2 ** n, dtype=bool)
    short = np.zeros(2 ** n, dtype=np.int64)
    for unit in scenario.units:
        count = chosen[:, [k for k, (u, _) in enumerate(pairs) if u.unit_id == unit.unit_id]].sum(axis=1)
        within &= count <= unit.member_capacity
        short += np.maximum(0, unit.min_memberships - count)
    for town in (towns[t] for t in plan.lead_of()):
        at = [k for k, (_, t) in enumerate(pairs) if t.town_id == town.town_id]
        if groups.max_members is not None:
            within &= chosen[:, at].sum(axis=1) <= groups.max_members
        for rule in groups.member_rules:
            if ((rule.cities and town.city not in rule.cities) or (rule.needs and not town.need_tags & set(rule.needs))
                    or (rule.flags and not any(getattr(town, f) for f in rule.flags))):
                continue
            count = chosen[:, [k for k in at if pairs[k][0].kind in rule.kinds]].sum(axis=1)
            if rule.max is not None:
                within &= count <= rule.max
            short += np.maximum(0, rule.min - count)
    previous = {(r.unit_id, r.town_id) for r in scenario.relationships if r.kind is RelationshipKind.PREVIOUS_MEMBER}
    values = np.array([groups.member_continuity_weight * ((u.unit_id, t.town_id) in previous) - (6 - u.strength)
                       - (round(scenario.policy.distance_weight * _km(u, t)) if scenario.policy.distance_weight else 0)
                       for u, t in pairs], dtype=np.int64)
    feasible = within & (short == 0)
    best = int((chosen[feasible] @ values).max()) if feasible.any() else None
    return best, int(short[within].min()), n


def _group_violations(scenario: Scenario, plan: Plan) -> list[str]:
    return [v.message for v in check_groups(pairing_graph(scenario, plan), scenario)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(group_cases())
def test_optimum_equals_brute_force(case: tuple[Scenario, Plan]) -> None:
    scenario, plan = case
    best, least_short, n = oracle(scenario, plan)
    assume(n <= MAX_PAIRS)
    for method in ("auto", "cp-sat"):
        result = compose_groups(scenario, plan, method=method)
        if best is None:
            assert result.status is Status.INFEASIBLE and result.conflicts and result.members == {}
            assert all(c.rules == (Rule.GROUPS,) and c.message and c.message_zh for c in result.conflicts)
            if result.path:  # found by the solve, not by counting: the smallest shortfall, rule by rule
                assert sum(c.figures["shortfall"] for c in result.conflicts) == least_short > 0
            continue
        assert result.status is Status.OPTIMAL and result.objective == best, method
        grouped = plan.with_members(result.members)
        assert _group_violations(scenario, grouped) == []
        assert group_value(scenario, result.members) == best
        assert group_structure(pairing_graph(scenario, grouped), scenario)["objective"] == best


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(group_cases(max_towns=6, max_units=7))
def test_every_composition_passes_the_group_audit(case: tuple[Scenario, Plan]) -> None:
    """Larger than the oracle can enumerate: flow and CP-SAT agree on the optimum, and the audit passes it."""
    scenario, plan = case
    flow, cp_sat = compose_groups(scenario, plan), compose_groups(scenario, plan, method="cp-sat")
    assert flow.status is cp_sat.status and flow.objective == cp_sat.objective
    if flow.has_groups:
        assert _group_violations(scenario, plan.with_members(flow.members)) == []
        assert _group_violations(scenario, plan.with_members(cp_sat.members)) == []
    else:
        assert flow.conflicts and cp_sat.conflicts


# ---------------------------------------------------------------- the tiny-groups scenario


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return load_scenario(TINY_GROUPS)


@pytest.fixture(scope="module")
def solved(tiny: Scenario) -> Plan:
    result = solve(tiny)
    assert result.status is Status.OPTIMAL and result.plan is not None
    return result.plan


def _with(scenario: Scenario, units: dict[str, dict[str, object]] | None = None, **groups: object) -> Scenario:
    """``scenario`` with some units' fields and some group settings changed (validated again)."""
    edited = [u.model_copy(update=(units or {}).get(u.unit_id, {})) for u in scenario.units]
    policy = scenario.policy.model_copy(update={"groups": scenario.policy.groups.model_copy(update=groups)})
    fields = {name: getattr(scenario, name) for name in Scenario.model_fields}
    return Scenario(**fields | {"units": edited, "policy": policy})


def test_solve_composes_audited_groups(tiny: Scenario, solved: Plan) -> None:
    members = solved.members_of()
    assert set(members) == set(solved.lead_of())       # every group got members: rule 1 selects every town
    report = audit(tiny, solved)
    assert report.passed, report.violations
    assert report.structure["groups"]["kept_previous_members"] == report.structure["groups"]["previous_members"] == 3
    assert all(solved.lead_of()[t] not in m for t, m in members.items())
    leads = solve(tiny, groups=False)
    assert leads.plan == Plan.from_pairs(solved.lead_of()) and leads.objective == solve(tiny).objective


def test_the_lead_plan_alone_fails_the_group_audit(tiny: Scenario, solved: Plan) -> None:
    leads = Plan.from_pairs(solved.lead_of())
    broken = audit(tiny, leads).violations
    assert {v.rule for v in broken} == {Rule.GROUPS}
    industry = [t for t in tiny.key_towns if "industry" in t.need_tags]
    assert len(broken) == len(tiny.key_towns) + len(industry) + 1   # rule 1 everywhere, rule 2, 华南农业大学's min


@pytest.mark.parametrize(("change", "words"), [
    ({"members": ("mz-hospital", "prov-gdut", "prov-scau", "gz-metro")}, "max_members allows 3"),
    ({"members": ("prov-gdut", "prov-scau")}, "member rule 1 requires at least 1"),
    ({"members": ("hy-hospital", "prov-gdut")}, "a local unit of 河源市 in 梅州市"),
    ({"members": ("sz-sih", "prov-gdut")}, "梅州市 is not a counterpart city of 深圳市"),
    ({"members": ("gz-metro", "prov-gdut")}, "in a group led by a unit of 梅州市 (members_share_lead_city)"),
    ({"members": ("mz-office", "mz-hospital", "prov-gdut")}, "it leads this group"),
    ({"members": ("mz-hospital", "mz-hospital", "prov-gdut")}, "listed 2 times"),
    ({"members": ("mz-hospital", "prov-nowhere", "prov-gdut")}, "the unit does not exist"),
    ({"members": ("mz-hospital", "gz-panyu", "prov-gdut")}, "its member_capacity is 0"),
])
def test_group_audit_names_each_broken_rule(tiny: Scenario, change: dict[str, tuple[str, ...]], words: str) -> None:
    """茶阳镇 (梅州, led by 梅州市委办公室, needs industry) with one bad group."""
    plan = Plan.from_pairs({"441422101000": "mz-office"}).with_members({"441422101000": change["members"]})
    messages = _group_violations(tiny, plan)
    assert any(words in m for m in messages), messages


def test_member_capacity_and_min_memberships_are_audited(tiny: Scenario, solved: Plan) -> None:
    members = solved.members_of()
    town = next(t for t, m in members.items() if "sz-sih" in m)
    others = [t for t in solved.lead_of() if t != town][:3]
    over = solved.with_members(members | {t: (*members.get(t, ()), "prov-yuehai") for t in others})
    assert any("广东粤海控股集团 is a member of" in m for m in _group_violations(tiny, over))
    dropped = solved.with_members({t: tuple(u for u in m if u != "prov-scau") for t, m in members.items()})
    assert any("华南农业大学 is a member of 0 groups; it may join 1 to 3" in m for m in _group_violations(tiny, dropped))


def test_shortfall_after_solving_is_exact(tiny: Scenario, solved: Plan) -> None:
    """Research supply 2 (eligible everywhere) for 3 towns needing industry: one membership short, found by the
    flow (each town alone has candidates, so counting cannot prove it)."""
    scarce = _with(tiny, {"prov-gdut": {"member_capacity": 1}, "prov-scau": {"member_capacity": 1},
                          "mz-college": {"member_capacity": 0}, "prov-sysu": {"member_capacity": 0}})
    result = compose_groups(scarce, solved)
    assert result.status is Status.INFEASIBLE and result.path == "flow"
    (conflict,) = result.conflicts
    assert conflict.rules == (Rule.GROUPS,)
    assert conflict.figures == {"towns": 1, "shortfall": 1, "needed": 3}
    assert conflict.message.startswith("member rule 2 (at least 1 research in groups of towns with needs industry) "
                                       "needs 3 memberships")
    assert compose_groups(scarce, solved, method="cp-sat").conflicts[0].figures == conflict.figures


def test_counted_conflicts_name_the_town_and_unit(tiny: Scenario, solved: Plan) -> None:
    no_research = _with(tiny, {u: {"member_capacity": 0, "min_memberships": 0}
                               for u in ("prov-gdut", "prov-scau", "prov-sysu")})
    result = compose_groups(no_research, solved)
    (conflict,) = result.conflicts
    # only 嘉应学院 is left, and it may join only groups led by 梅州 units (members_share_lead_city)
    leads = solved.lead_of()
    stranded = [t for t in tiny.key_towns if "industry" in t.need_tags and not leads[t.town_id].startswith("mz-")]
    assert conflict.entities == tuple(t.town_id for t in stranded) and result.path == ""
    assert conflict.figures == {"towns": len(stranded), "shortfall": len(stranded)}
    first = stranded[0]
    assert f"{first.name} ({first.town_id}, led by {leads[first.town_id]}) has 0 of 1" in conflict.message
    # 嘉应学院 (a 梅州 local unit) may join only groups led by 梅州 units (members_share_lead_city)
    local_led = sum(u.startswith("mz-") for u in solved.lead_of().values())
    greedy = _with(tiny, {"mz-college": {"member_capacity": local_led + 1, "min_memberships": local_led + 1}})
    (unit_conflict,) = compose_groups(greedy, solved).conflicts
    assert unit_conflict.entities == ("mz-college",) and unit_conflict.figures == {"units": 1, "shortfall": 1}
    assert f"嘉应学院 (mz-college) {local_led} of {local_led + 1}" in unit_conflict.message


def test_solve_reports_group_conflicts(tiny: Scenario) -> None:
    impossible = _with(tiny, max_members=0)
    result = solve(impossible)
    assert result.status is Status.INFEASIBLE and result.plan is None
    assert result.conflicts[0].rules == (Rule.GROUPS,)
    assert "max_members allows 0" in result.conflicts[0].message
    assert result.message.startswith("the leads were found (OPTIMAL")


def test_continuity_keeps_previous_members(tiny: Scenario, solved: Plan) -> None:
    kept = compose_groups(tiny, solved)
    assert (kept.kept, kept.previous) == (3, 3)
    forgetful = compose_groups(_with(tiny, member_continuity_weight=0), solved)
    # 华南农业大学 in 华城镇 (no industry need) is no longer worth its cost; 深投控 in 高莞镇 and 广州地铁 in 梅林镇
    # are still the cheapest members there
    assert forgetful.kept == 2 and "prov-scau" not in forgetful.members["441424104000"]
    assert kept.objective is not None and forgetful.objective is not None
    assert kept.objective - 3 * 20 < forgetful.objective


def test_continuity_outweighs_strength(tiny: Scenario, solved: Plan) -> None:
    """One member per group: 高陂镇 (led by 广州市番禺区) gets 广州地铁 (strength 4) before 广州市第一人民医院
    (strength 3), unless the hospital was its member before and continuity pays more than the gap."""
    town = "441422102000"
    assert solved.lead_of()[town] == "gz-panyu"
    single = _with(tiny, {"prov-scau": {"min_memberships": 0}}, max_members=1,
                   member_rules=[MemberRule(kinds=[UnitKind.ENTERPRISE, UnitKind.INSTITUTION])])
    assert compose_groups(single, solved).members[town] == ("gz-metro",)
    before = Relationship(unit_id="gz-hospital", kind=RelationshipKind.PREVIOUS_MEMBER, town_id=town)
    fields = {name: getattr(single, name) for name in Scenario.model_fields}
    remembered = Scenario(**fields | {"relationships": (*single.relationships, before)})
    assert compose_groups(remembered, solved).members[town] == ("gz-hospital",)
    indifferent = _with(remembered, member_continuity_weight=0)
    assert compose_groups(indifferent, solved).members[town] == ("gz-metro",)


def test_crossing_rules_use_cp_sat(tiny: Scenario, solved: Plan) -> None:
    rules = [MemberRule(kinds=[UnitKind.ENTERPRISE, UnitKind.INSTITUTION], min=1),
             MemberRule(kinds=[UnitKind.INSTITUTION, UnitKind.RESEARCH], min=1, max=1)]
    crossing = _with(tiny, member_rules=rules)
    result = compose_groups(crossing, solved)
    assert result.path == "cp-sat" and result.status is Status.OPTIMAL
    assert _group_violations(crossing, solved.with_members(result.members)) == []
    with pytest.raises(ValueError, match="cross"):
        compose_groups(crossing, solved, method="flow")


def test_composition_is_deterministic(tiny: Scenario, solved: Plan) -> None:
    first, second = compose_groups(tiny, solved), compose_groups(tiny, solved)
    assert first.model_dump(exclude={"seconds"}) == second.model_dump(exclude={"seconds"})


def test_outputs_round_trip_across_processes(tmp_path: Path, tiny: Scenario, solved: Plan) -> None:
    """bangfu solve in another process (another hash seed) writes the plan.csv and groups.csv of this one;
    bangfu audit's loader reads the members back."""
    done = subprocess.run([sys.executable, "-m", "optimizer.cli", "solve", str(TINY_GROUPS), "--out", str(tmp_path),
                           "--quiet"], env=os.environ | {"PYTHONHASHSEED": "7"}, capture_output=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "plan.csv").read_text(encoding="utf-8") == plan_csv(tiny, solved)
    assert (tmp_path / "groups.csv").read_text(encoding="utf-8") == groups_csv(tiny, solved)
    assert load_plan(tmp_path / "plan.csv") == solved
    lines = groups_csv(tiny, solved).splitlines()
    assert lines[0] == "town_id,town_name,city,county,lead_unit_id,unit_id,unit_name,kind,tier,kept_previous"
    assert len(lines) - 1 == sum(len(m) for m in solved.members_of().values()) == 14
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["groups"] == {"groups": 10, "members": 14, "previous_members": 3, "kept_previous_members": 3,
                                 "objective": group_value(tiny, solved.members_of())}


def test_members_cell_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("town_id,unit_id,members\nt1,u1,a;b\nt2,u2,ok;=bad\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"row 3, field 'members'"):
        load_plan(path)


# ---------------------------------------------------------------- schema


def test_schema_checks(tiny: Scenario) -> None:
    with pytest.raises(ValueError, match="max 1 is below min 2"):
        MemberRule(kinds=[UnitKind.RESEARCH], min=2, max=1)
    with pytest.raises(ValueError, match="min ≥ 1 or a max"):
        MemberRule(kinds=[UnitKind.RESEARCH], min=0)
    with pytest.raises(ValueError, match="needs a 'town_id'"):
        Relationship(unit_id="x", kind=RelationshipKind.PREVIOUS_MEMBER)
    with pytest.raises(ValueError, match="min_memberships 2 exceeds member_capacity 1"):
        Unit(unit_id="x", name="x", tier=Tier.PROVINCIAL, capacity=0, member_capacity=1, min_memberships=2)
    for rule, field in ((MemberRule(kinds=[UnitKind.RESEARCH], cities=["广州"]), "cities"),
                        (MemberRule(kinds=[UnitKind.RESEARCH], needs=["industy"]), "needs")):
        with pytest.raises(ScenarioError, match=rf"field 'groups.member_rules\[0\].{field}'"):
            _with(tiny, member_rules=[rule])
    fields = {name: getattr(tiny, name) for name in Scenario.model_fields}
    ghost = Relationship(unit_id="prov-scau", kind=RelationshipKind.PREVIOUS_MEMBER, town_id="nowhere")
    with pytest.raises(ScenarioError, match="unknown town 'nowhere'"):
        Scenario(**fields | {"relationships": (*tiny.relationships, ghost)})
