"""Diagnosis of infeasible scenarios: the minimal conflicting rule groups, known in advance, found exactly.

The flow oracle (max-flows on twin classes, an LP certificate for side rows) is held to the CP-SAT reference on
generated scenarios: the same answer to every question, hence the same preferred conflict; QuickXplain is held to
the deletion filter it replaces.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import (
    Category,
    Pin,
    PinAction,
    Policy,
    Relationship,
    RelationshipKind,
    Rule,
    Scenario,
    Tier,
    TierRatio,
    Town,
    Unit,
    load_scenario,
)
from optimizer.diagnose import diagnose, find_conflict, problem, quickxplain
from optimizer.feasibility import CpSatOracle, FlowOracle
from optimizer.model.tier_quota import tier_quotas
from tests.strategies import scenarios

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny" / "scenario.yaml"
GUANGDONG = ROOT / "scenarios" / "guangdong-2021" / "scenario.yaml"


@pytest.fixture(scope="module")
def tiny() -> dict[str, Any]:
    return load_scenario(TINY).model_dump()


def keys(data: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    conflicts = diagnose(Scenario.model_validate(data))
    assert conflicts is not None
    return [(c.rules[0].value, c.entities) for c in conflicts]


def test_feasible_scenario_has_no_conflict(tiny: dict[str, Any]) -> None:
    assert diagnose(Scenario.model_validate(tiny)) is None


def test_prd_capacity_short(tiny: dict[str, Any]) -> None:
    tiny = tiny | {"units": [u | {"capacity": 0} if u["unit_id"] == "sz-nanshan" else u for u in tiny["units"]]}
    assert keys(tiny) == [("tier_quota", ("prd",)), ("capacity", ("prd",))]


def test_pin_on_an_ineligible_pair(tiny: dict[str, Any]) -> None:
    tiny = tiny | {"pins": [{"unit_id": "gz-panyu", "town_id": "441624116000", "action": "pin"}]}
    assert keys(tiny) == [("pins", ("gz-panyu", "441624116000")), ("eligibility", ("广州市",))]


def test_tier_quota_against_county_pairings(tiny: dict[str, Any]) -> None:
    pairings = [{"unit_id": u, "county": "大埔县", "kind": "county_pairing"} for u in ("gz-panyu", "gz-office")]
    tiny = tiny | {"relationships": [*tiny["relationships"], *pairings],
                   "policy": tiny["policy"] | {"tier_ratio": {"prd": 6, "provincial": 1, "local": 3},
                                               "max_changes": None}}
    assert keys(tiny) == [("tier_quota", ("prd",)), ("capacity", ("prd",)),
                          ("eligibility", ("gz-office", "大埔县")), ("eligibility", ("gz-panyu", "大埔县"))]


def test_messages_are_bilingual(tiny: dict[str, Any]) -> None:
    tiny = tiny | {"units": [u | {"capacity": 0} if u["unit_id"] == "sz-nanshan" else u for u in tiny["units"]]}
    conflicts = diagnose(Scenario.model_validate(tiny))
    assert conflicts is not None
    assert conflicts[0].message == "the prd tier leads exactly 5 key towns (5:2:3)"
    assert conflicts[0].message_zh == "珠三角帮扶层级牵头 5 个重点帮扶镇(5:2:3)"
    assert conflicts[1].figures == {"capacity": 4}


# ---------------------------------------------------------------------------------------------------------------
# QuickXplain and the flow oracle against their references
# ---------------------------------------------------------------------------------------------------------------

def deletion_filter(ranked: list[int], conflicting: Callable[[frozenset[int]], bool]) -> list[int]:
    """The textbook deletion filter: try to drop each group, least preferred first."""
    core = list(ranked)
    for g in reversed(ranked):
        if conflicting(frozenset(core) - {g}):
            core.remove(g)
    return core


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 14).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.frozensets(st.integers(0, n - 1), min_size=1), min_size=1, max_size=5),
    st.permutations(range(n)))))
def test_quickxplain_returns_the_deletion_filters_conflict(case: tuple[int, list[frozenset[int]], list[int]]) -> None:
    _, conflicts, ranked = case
    asked: list[frozenset[int]] = []

    def conflicting(groups: frozenset[int]) -> bool:
        asked.append(groups)
        return any(c <= groups for c in conflicts)

    found = quickxplain(ranked, conflicting)
    expected = deletion_filter(ranked, conflicting)
    assert sorted(found) == sorted(expected)
    assert any(c == frozenset(found) for c in conflicts)  # a minimal conflict of the family


def with_pins(scenario: Scenario, data: st.DataObject) -> Scenario:
    """``scenario`` with up to two pins or bans on any (unit, key town) pairs, eligible or not."""
    units = [u.unit_id for u in scenario.units]
    towns = data.draw(st.lists(st.sampled_from([t.town_id for t in scenario.key_towns]), max_size=2, unique=True))
    pins = [Pin(unit_id=data.draw(st.sampled_from(units)), town_id=t,
                action=data.draw(st.sampled_from(list(PinAction)))) for t in towns]
    fields = {name: getattr(scenario, name) for name in Scenario.model_fields}
    return Scenario(**fields | {"pins": tuple(pins)})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(planted=False), st.data())  # free: about two in three infeasible
def test_flow_oracle_and_diagnosis_are_the_cp_sat_references(scenario: Scenario, data: st.DataObject) -> None:
    """Random sets of rule groups are feasible for the max-flow oracle exactly when for CP-SAT; so the diagnoses
    are equal, and CP-SAT confirms the conflict is minimal."""
    scenario = with_pins(scenario, data)
    universe, groups = problem(scenario)
    constraints = [g.constraint for g in groups]
    deadline = time.perf_counter() + 60
    flow_oracle, reference = FlowOracle(universe, constraints, deadline), CpSatOracle(universe, constraints, deadline)
    for _ in range(3):
        active = [i for i in range(len(groups)) if data.draw(st.booleans())]
        assert flow_oracle.infeasible(active) == reference.infeasible(active), [groups[i].key for i in active]
    flow, cp_sat = find_conflict(scenario, 60), find_conflict(scenario, 60, method="cp-sat")
    assert (flow.feasible, flow.conflicts) == (cp_sat.feasible, cp_sat.conflicts)
    if flow.conflicts and flow.keys:  # no keys only when a key town has no possible lead at all
        core = [next(i for i, g in enumerate(groups) if g.key == key) for key in flow.keys]
        assert reference.infeasible(core)
        for dropped in core:
            assert not reference.infeasible([i for i in core if i != dropped]), f"{groups[dropped].key} not needed"


# ---------------------------------------------------------------------------------------------------------------
# The Guangdong scenario: three infeasible variants whose minimal conflict is known by construction
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def guangdong() -> Scenario:
    return load_scenario(GUANGDONG)


def rebuilt(scenario: Scenario, **tables: Any) -> Scenario:
    fields = {name: getattr(scenario, name) for name in Scenario.model_fields}
    return Scenario(**fields | tables)


def summary(conflicts: list[Any] | None) -> list[tuple[str, tuple[str, ...], dict[str, int]]]:
    assert conflicts is not None
    return [(c.rules[0].value, c.entities, c.figures) for c in conflicts]


def test_guangdong_prd_capacity_short_by_16(guangdong: Scenario) -> None:
    """东莞's units lose capacity until the prd units can lead 16 towns fewer than the prd tier's quota."""
    quota = tier_quotas(len(guangdong.key_towns), guangdong.policy.tier_ratio)[Tier.PRD]
    prd = [u for u in guangdong.units if u.tier is Tier.PRD]
    cut = sum(u.capacity for u in prd) - (quota - 16)
    units = []
    for u in guangdong.units:
        take = min(cut, u.capacity) if u.tier is Tier.PRD and u.city == "东莞市" else 0
        units.append(u.model_copy(update={"capacity": u.capacity - take}))
        cut -= take
    assert cut == 0
    conflicts = diagnose(rebuilt(guangdong, units=tuple(units)))
    assert summary(conflicts) == [("tier_quota", ("prd",), {"quota": 300}), ("capacity", ("prd",), {"capacity": 284})]
    assert conflicts is not None
    assert [c.message for c in conflicts] == [
        "the prd tier leads exactly 300 key towns (5:2:3)",
        f"the {len(prd)} prd units lead at most their capacity (284 towns in all)"]
    assert [c.message_zh for c in conflicts] == [
        "珠三角帮扶层级牵头 300 个重点帮扶镇(5:2:3)", f"{len(prd)} 个珠三角帮扶单位牵头数不超过各自容量(合计 284 个镇)"]


@pytest.mark.parametrize(("unit", "city", "county", "broken"), [
    ("prd-gz-liwan", "汕头市", None, ("广州市",)),             # 汕头 is 深圳's counterpart city, not 广州's
    ("prd-sz-baoan", "河源市", "东源县", ("prd-sz-baoan", "龙川县")),  # 宝安 is paired with 龙川县 only
])
def test_guangdong_pin_on_an_ineligible_pair(guangdong: Scenario, unit: str, city: str, county: str | None,
                                             broken: tuple[str, ...]) -> None:
    town = next(t for t in guangdong.key_towns if t.city == city and county in (None, t.county)
                and not (t.border or t.ethnic or t.old_base))
    scenario = rebuilt(guangdong, pins=(Pin(unit_id=unit, town_id=town.town_id, action=PinAction.PIN),))
    assert [(rule, entities) for rule, entities, _ in summary(diagnose(scenario))] == [
        ("pins", (unit, town.town_id)), ("eligibility", broken)]


def test_guangdong_tier_quota_against_county_pairings(guangdong: Scenario) -> None:
    """Four Shenzhen districts of capacity 5 are paired with 源城区, which has no key town: the prd units can lead
    20 towns fewer, 295 < 300; with any one of the four pairings dropped, 300 again."""
    moved = ("prd-sz-baoan", "prd-sz-futian", "prd-sz-longhua", "prd-sz-nanshan")
    assert not any(t.county == "源城区" for t in guangdong.key_towns)
    assert {u.capacity for u in guangdong.units if u.unit_id in moved} == {5}
    relationships = tuple(r for r in guangdong.relationships
                          if not (r.kind is RelationshipKind.COUNTY_PAIRING and r.unit_id in moved))
    relationships += tuple(Relationship(unit_id=u, kind=RelationshipKind.COUNTY_PAIRING, county="源城区")
                           for u in moved)
    conflicts = diagnose(rebuilt(guangdong, relationships=relationships))
    capacity = sum(u.capacity for u in guangdong.units if u.tier is Tier.PRD)
    assert summary(conflicts) == [("tier_quota", ("prd",), {"quota": 300}),
                                  ("capacity", ("prd",), {"capacity": capacity}),
                                  *[("eligibility", (u, "源城区"), {"capacity": 5, "key_towns": 0}) for u in moved]]
    assert conflicts is not None
    assert conflicts[2].message == "深圳市宝安区 (capacity 5) leads only towns in its paired counties (源城区: 0 key towns)"
    assert conflicts[2].message_zh == "深圳市宝安区(容量 5)只牵头其结对县(源城区,共 0 个重点帮扶镇)的镇"


def test_a_town_no_unit_may_ever_lead_is_a_coverage_conflict() -> None:
    towns = [Town(town_id=f"t{i}", name=f"镇{i}", city="梅州市" if i < 3 else "河源市", county="县", category=Category.KEY)
             for i in range(4)]
    units = [Unit(unit_id="mz", name="梅州市农业农村局", tier=Tier.LOCAL, city="梅州市", capacity=5)]
    scenario = Scenario(towns=towns, units=units, policy=Policy(tier_ratio=TierRatio(prd=0, provincial=0, local=1)))
    diagnosis = find_conflict(scenario)
    assert diagnosis.conflicts is not None and diagnosis.keys == ()
    [conflict] = diagnosis.conflicts
    assert (conflict.rules, conflict.entities, conflict.figures) == ((Rule.COVERAGE,), ("t3",), {"towns": 1})
    assert conflict.message_zh == "没有任何单位可以牵头镇3:既无省直单位、珠三角单位,也无本市市直单位"


def test_guangdong_city_quotas_against_guangzhou_capacity(guangdong: Scenario) -> None:
    """A conflict of side rows, settled by LPs: 湛江 and 梅州 need 24 + 30 prd-led towns, and only 广州's units may
    lead there; they keep capacity 50 (the rest moves to 东莞's units). Every other PRD city's counterpart rule is
    part of it: without it, that city's spare units could lead in 湛江 or 梅州."""
    quotas = guangdong.policy.city_quotas
    assert (quotas["湛江市"][Tier.PRD], quotas["梅州市"][Tier.PRD]) == (24, 30)
    units, cut = list(guangdong.units), sum(u.capacity for u in guangdong.units if u.city == "广州市") - 50
    for i, u in enumerate(units):
        if u.city == "广州市" and cut > 0:
            take = min(cut, u.capacity)
            units[i], cut = u.model_copy(update={"capacity": u.capacity - take}), cut - take
    moved = sum(g.capacity for g in guangdong.units) - sum(u.capacity for u in units)
    dongguan = [i for i, u in enumerate(units) if u.tier is Tier.PRD and u.city == "东莞市" and u.capacity > 0]
    for i in dongguan:
        units[i] = units[i].model_copy(update={"capacity": units[i].capacity + moved // len(dongguan)})
    units[dongguan[0]] = units[dongguan[0]].model_copy(
        update={"capacity": units[dongguan[0]].capacity + moved % len(dongguan)})
    diagnosis = find_conflict(rebuilt(guangdong, units=tuple(units)))
    others = sorted({u.city or "" for u in guangdong.units if u.tier is Tier.PRD} - {"广州市"})
    assert sorted(diagnosis.keys) == sorted(["capacity:prd", "tier_quota:湛江市:prd", "tier_quota:梅州市:prd",
                                            *[f"eligibility:{city}" for city in others]])
    assert diagnosis.checks["lp"] > 0
