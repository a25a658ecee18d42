"""Every pre-solve and staffing conflict says in Chinese (``message_zh``) what its English says: the same figures,
names and policy fields, the tiers in the programme's words, and 县 instead of 镇 for county targets."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import ROOT
from staffing_cases import build, cadre

from models import Conflict, Plan, Rule, Scenario, Status, Tier, load_scenario
from optimizer import solve
from optimizer.checks import presolve_checks
from optimizer.glossary import TIER_ZH
from optimizer.model import candidate_pairs
from optimizer.teams import rotation
from optimizer.teams.staff import staff

TINY = ROOT / "scenarios" / "tiny" / "scenario.yaml"
CJK = re.compile(r"[\u4e00-\u9fff]")
NUMBER = re.compile(r"(?<![0-9A-Za-z_.])\d+(?![0-9A-Za-z_.])")
FIELD = re.compile(r"\b[a-z]+(?:[._][a-z]+)+(?:\[[^\]]+\])?")  # max_changes, policy.lead_counts[sz-nanshan], …
MEMBER = {"unit_id": "member", "name": "成员单位", "tier": "provincial", "capacity": 0, "lon": 113.3, "lat": 23.1}
GZ_GROUP = {"gz-panyu": "广州市", "gz-office": "广州市"}


def assert_says_it_in_chinese(conflict: Conflict, scenario: Scenario) -> None:
    """``message_zh`` is Chinese and carries the figures, the names, the ids and the policy fields of ``message``."""
    en, zh = conflict.message, conflict.message_zh
    assert zh and CJK.search(zh), f"no Chinese for: {en}"
    numbers = set(NUMBER.findall(zh))
    assert not [k for k, v in conflict.figures.items() if str(v) not in numbers], (conflict.figures, zh)
    names = {u.name for u in scenario.units} | {t.name for t in scenario.towns} | {t.city for t in scenario.towns} \
        | {t.county for t in scenario.towns}
    assert not [n for n in names | set(conflict.entities) if n in en and n not in zh], (en, zh)
    assert not [f for f in FIELD.findall(en) if f not in zh], (en, zh)
    assert not [t for t in Tier if t.value in conflict.entities and TIER_ZH[t.value] not in zh], zh


@pytest.fixture(scope="module")
def tiny() -> dict[str, Any]:
    return load_scenario(TINY).model_dump()


def scenario_of(tiny: dict[str, Any], *, pins: tuple[tuple[str, str], ...] = (), units: dict[str, Any] | None = None,
                extra_units: tuple[dict[str, Any], ...] = (), relationships: tuple[dict[str, Any], ...] = (),
                groups: dict[str, str] | None = None, baseline: tuple[tuple[str, str], ...] = (),
                **policy: Any) -> Scenario:
    """The tiny scenario (no change cap) with pins, unit edits, more units and relationships, quota groups, a
    baseline ((unit, town) pairs) and policy settings."""
    units, groups = units or {}, groups or {}
    return Scenario.model_validate(tiny | {
        "units": [u | units.get(u["unit_id"], {}) | {"quota_group": groups.get(u["unit_id"])} for u in tiny["units"]]
        + list(extra_units),
        "pins": [*tiny["pins"], *({"unit_id": u, "town_id": t, "action": "pin"} for u, t in pins)],
        "relationships": [*tiny["relationships"], *relationships],
        "baseline": [{"unit_id": u, "town_id": t} for u, t in baseline],
        "policy": tiny["policy"] | {"max_changes": None} | policy})


PRESOLVE: list[tuple[str, dict[str, Any], tuple[Rule, ...]]] = [
    # (id, changes to the tiny scenario, rules of the conflict it must raise)
    ("coverage", {"priority": [{"flags": ["ethnic"], "tiers": ["local"], "min_strength": 5}]},
     (Rule.COVERAGE, Rule.ELIGIBILITY, Rule.PRIORITY)),
    ("tier-supply", {"tier_ratio": {"prd": 1, "provincial": 8, "local": 1}},
     (Rule.TIER_QUOTA, Rule.CAPACITY, Rule.ELIGIBILITY)),
    ("city-quota-supply", {"city_quotas": {"梅州市": {"local": 3}}}, (Rule.TIER_QUOTA, Rule.CAPACITY)),
    ("city-quota-above-towns", {"city_quotas": {"梅州市": {"prd": 3, "local": 3}}}, (Rule.TIER_QUOTA,)),
    ("total-supply", {"units": {u: {"capacity": 1} for u in ("sz-nanshan", "gz-panyu", "prov-sysu", "hy-office")}},
     (Rule.COVERAGE, Rule.CAPACITY)),
    ("pin-member-unit", {"extra_units": (MEMBER,), "pins": (("member", "441424120000"),)}, (Rule.PINS, Rule.CAPACITY)),
    ("pin-priority", {"pins": (("hy-office", "441625200000"),)}, (Rule.PINS, Rule.PRIORITY)),
    ("pin-other-city", {"pins": (("mz-office", "441623111000"),)}, (Rule.PINS, Rule.ELIGIBILITY)),
    ("pin-no-counterpart", {"pins": (("sz-nanshan", "441422101000"),)}, (Rule.PINS, Rule.ELIGIBILITY)),
    ("pin-county-pairing", {"pins": (("prov-sysu", "441422102000"),),
                            "relationships": ({"unit_id": "prov-sysu", "kind": "county_pairing", "county": "连平县"},)},
     (Rule.PINS, Rule.ELIGIBILITY)),
    ("pins-above-capacity", {"pins": (("sz-futian", "441623111000"), ("sz-futian", "441623110000"))},
     (Rule.PINS, Rule.CAPACITY)),
    ("pins-above-tier-quota", {"pins": (("prov-sysu", "441623111000"), ("prov-sysu", "441623110000"),
                                        ("prov-stats", "441623107000"))}, (Rule.PINS, Rule.TIER_QUOTA)),
    ("continuity", {"max_changes": 0}, (Rule.CONTINUITY, Rule.ELIGIBILITY, Rule.PRIORITY, Rule.PINS)),
    ("baseline", {"baseline": (("mz-office", "441623111000"),), "max_baseline_changes": 0},
     (Rule.BASELINE, Rule.ELIGIBILITY, Rule.PRIORITY, Rule.PINS)),
    ("lead-count-above-supply", {"lead_counts": {"sz-nanshan": 3}},
     (Rule.LEAD_COUNTS, Rule.CAPACITY, Rule.ELIGIBILITY)),
    ("group-count-above-supply", {"lead_counts": {"广州市": 5}, "groups": GZ_GROUP},
     (Rule.LEAD_COUNTS, Rule.CAPACITY, Rule.ELIGIBILITY)),
    ("lead-count-below-pins", {"lead_counts": {"prov-sysu": 1},
                               "pins": (("prov-sysu", "441623111000"), ("prov-sysu", "441624116000"))},
     (Rule.LEAD_COUNTS, Rule.PINS)),
    ("lead-counts-above-tier-quota", {"lead_counts": {"广州市": 3, "sz-nanshan": 2, "sz-futian": 1}, "groups": GZ_GROUP},
     (Rule.LEAD_COUNTS, Rule.TIER_QUOTA)),
    ("lead-counts-below-tier-quota", {"lead_counts": {"sz-nanshan": 0, "sz-futian": 0}},
     (Rule.LEAD_COUNTS, Rule.TIER_QUOTA, Rule.CAPACITY)),
]


@pytest.mark.parametrize("target_level", ["town", "county"])
@pytest.mark.parametrize(("changes", "rules"), [c[1:] for c in PRESOLVE], ids=[c[0] for c in PRESOLVE])
def test_every_presolve_conflict_is_told_in_chinese(tiny: dict[str, Any], changes: dict[str, Any],
                                                    rules: tuple[Rule, ...], target_level: str) -> None:
    scenario = scenario_of(tiny, target_level=target_level, **changes)
    conflicts = presolve_checks(scenario, candidate_pairs(scenario)[0])
    assert rules in [c.rules for c in conflicts], [c.message for c in conflicts]
    for conflict in conflicts:
        if target_level == "county":  # the English names the targets as they are, too
            assert not re.search(r"\btowns?\b", conflict.message), conflict.message
        assert_says_it_in_chinese(conflict, scenario)


def test_the_chinese_names_the_target_level(tiny: dict[str, Any]) -> None:
    towns = scenario_of(tiny, city_quotas={"梅州市": {"prd": 3, "local": 3}})
    counties = scenario_of(tiny, city_quotas={"梅州市": {"prd": 3, "local": 3}}, target_level="county")
    [town] = [c for c in presolve_checks(towns, candidate_pairs(towns)[0]) if c.rules == (Rule.TIER_QUOTA,)]
    [county] = [c for c in presolve_checks(counties, candidate_pairs(counties)[0]) if c.rules == (Rule.TIER_QUOTA,)]
    assert town.message_zh == "city_quotas 中梅州市的名额合计 6 个，但该市只有 5 个重点帮扶镇"
    assert county.message_zh == "city_quotas 中梅州市的名额合计 6 个，但该市只有 5 个重点帮扶县"


def test_a_tier_is_named_as_the_programme_names_it(tiny: dict[str, Any]) -> None:
    scenario = scenario_of(tiny, tier_ratio={"prd": 1, "provincial": 8, "local": 1})
    [conflict] = [c for c in presolve_checks(scenario, candidate_pairs(scenario)[0]) if c.entities == ("provincial",)]
    assert conflict.message_zh == ("省直及中直驻粤（provincial）层级须牵头 8 个镇，但其可牵头的单位最多只能牵头 3 个："
                                   "请将这些单位的 capacity 合计提高 5，或降低 tier_ratio 中 provincial 的比例")


def _shortage() -> tuple[Scenario, Plan]:
    """Four members needed, two eligible: one is not a Party member and three are over 45."""
    cadres = [cadre("L", "lead", age=47), cadre("ok1", "mem"), cadre("ok2", "mem"), cadre("old1", "mem", age=46),
              cadre("old2", "mem", age=50), cadre("np", "mem", party_member=False, party_years=0)]
    return build(cadres, leads={"t1": "lead"}, members={"t1": ["mem"]}, min_team_size=5)


STAFFING: list[tuple[str, Callable[[], tuple[Scenario, Plan]], Rule]] = [
    # (id, the case, a rule of the conflict it must raise)
    ("member-shortage", _shortage, Rule.MEMBER),
    ("two-leaders-one-cadre", lambda: build(
        [cadre("L1", "lead"), cadre("x1", "lead", rank="科员"), cadre("M1", "m"), cadre("M2", "m")],
        leads={"t1": "lead", "t2": "lead"}, members={"t1": ["m"], "t2": ["m"]}), Rule.ONE_POST),
    ("county-head-and-availability", lambda: build(
        [cadre("L", "lead", rank="副科", age=47), cadre("M", "mem", available_from=2023),
         cadre("H", "lead", rank="正科", age=52)],
        leads={"t1": "lead"}, members={"t1": ["mem"]}, pairings=[("lead", "梅县区")]), Rule.COUNTY_HEAD),
    ("no-cadres", lambda: build([], leads={"t1": "lead"}), Rule.TEAM_SIZE),
    ("policy-clash", lambda: build([cadre("a", "a")], leads={"t0": "a"}, min_team_size=5, years=6,
                                   max_replaced_share=0.3), Rule.TERM),
    ("too-many-leavers", lambda: build(
        [cadre(f"a{i}", "a", available_until=2022 if i < 3 else None) for i in range(5)]
        + [cadre(f"n{i}", "a", available_from=2023) for i in range(10)],
        leads={"t0": "a"}, min_team_size=5, years=4), Rule.ROTATION),
    ("empty-seats", lambda: build([cadre(f"a{i}", "a") for i in range(3)], leads={"t0": "a"}, min_team_size=2,
                                  years=4), Rule.TEAM_SIZE),
]


@pytest.mark.parametrize(("case", "rule"), [c[1:] for c in STAFFING], ids=[c[0] for c in STAFFING])
def test_every_staffing_conflict_is_told_in_chinese(case: Callable[[], tuple[Scenario, Plan]], rule: Rule) -> None:
    scenario, plan = case()
    result = staff(scenario, plan)
    assert result.status is Status.INFEASIBLE and any(rule in c.rules for c in result.conflicts), \
        [c.message for c in result.conflicts]
    for conflict in result.conflicts:
        assert_says_it_in_chinese(conflict, scenario)


def test_the_shortage_is_counted_reason_by_reason_in_chinese() -> None:
    [conflict] = staff(*_shortage()).conflicts
    assert conflict.message_zh == ("镇t1（t1）须配备 4 名队员；其组团单位（lead、mem）有 2 名干部符合队员岗位条件；"
                                   "其余干部中 1 人不是正式党员，3 人超过 45 周岁")


def test_a_calendar_not_found_in_time_is_told_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    """The elastic model runs out of time: the conflict says so without naming the shortfall."""
    run = rotation._run

    def out_of_time(built: Any, **options: Any) -> Any:
        status, solver = run(built, **options)
        return (Status.UNKNOWN if built.vacant else status), solver

    monkeypatch.setattr(rotation, "_run", out_of_time)
    scenario, plan = build([cadre(f"a{i}", "a") for i in range(3)], leads={"t0": "a"}, min_team_size=2, years=4)
    [conflict] = staff(scenario, plan).conflicts
    assert conflict.figures == {"teams": 1} and "not found within the time limit" in conflict.message
    assert_says_it_in_chinese(conflict, scenario)


NETWORK_CAPACITIES = {  # each tier, city and unit has the capacity it needs on its own: the checks pass
    "network": {"sz-nanshan": 0, "sz-futian": 1, "gz-panyu": 3, "gz-office": 3, "prov-stats": 1, "prov-sysu": 2,
                "hy-office": 1, "mz-office": 1, "mz-propaganda": 3},
    "lagrangian": {"sz-nanshan": 2, "sz-futian": 0, "gz-panyu": 2, "gz-office": 1, "prov-stats": 3, "prov-sysu": 0,
                   "hy-office": 1, "mz-office": 0, "mz-propaganda": 3},
}


@pytest.mark.parametrize("path", list(NETWORK_CAPACITIES))
def test_what_only_the_network_proves_is_told_in_chinese(tiny: dict[str, Any], path: str) -> None:
    """No flow at all (``network``), or side rows no flow can meet (``lagrangian``): infeasibility that passes every
    pre-solve check is still explained in both languages."""
    scenario = scenario_of(tiny, units={u: {"capacity": c} for u, c in NETWORK_CAPACITIES[path].items()},
                           city_quotas={"梅州市": {"prd": 2}})
    assert presolve_checks(scenario, candidate_pairs(scenario)[0]) == []
    result = solve(scenario, groups=False)
    assert result.status is Status.INFEASIBLE and result.path == path
    for conflict in result.conflicts:
        assert_says_it_in_chinese(conflict, scenario)
