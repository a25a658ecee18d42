"""Rule ``lead_counts``: exact targets led per unit or quota group — brute force, audit, pre-solve checks, diagnosis."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import Plan, Rule, Scenario, ScenarioError, Status, Unit, load_scenario
from models.policy import Method
from optimizer import audit, solve
from optimizer.diagnose import diagnose
from tests.strategies import Generated, Reference, generated
from tests.test_oracle import brute_force

TINY = Path(__file__).resolve().parent.parent / "scenarios" / "tiny" / "scenario.yaml"
GROUPS = ("G1", "G2")


class CountingReference(Reference):
    """The oracle's rules plus the lead counts, read from the documentation: a key naming a unit counts that
    unit's leads, a key naming a quota group counts the leads of all its units together."""

    def violations(self, pairs: Any) -> set[Rule]:
        broken = super().violations(pairs)
        load = Counter(u for _, u in pairs)
        for key, need in self.policy.lead_counts.items():
            units = [key] if key in self.units else [u for u, unit in self.units.items() if unit.quota_group == key]
            if sum(load[u] for u in units) != need:
                broken.add(Rule.LEAD_COUNTS)
        return broken


@st.composite
def counted(draw: st.DrawFn) -> Generated:
    """A planted scenario with quota groups on some units and lead counts on some units and groups; each count
    equals the planted plan's three times in four, so that feasible and infeasible cases both occur."""
    g = draw(generated(max_key=6, max_units=5, planted=True))
    assert g.planted is not None
    units = [Unit.model_validate(u.model_dump() | {"quota_group": draw(st.sampled_from((None, *GROUPS)))})
             for u in g.scenario.units]
    planted = Counter(g.planted.lead_of().values())
    group_of = {u.unit_id: u.quota_group for u in units}
    keys = draw(st.lists(st.sampled_from([u.unit_id for u in units] + [k for k in GROUPS if k in group_of.values()]),
                         min_size=1, max_size=3, unique=True))
    counts = {}
    for key in keys:
        exact = planted[key] if key in group_of else sum(n for u, n in planted.items() if group_of[u] == key)
        counts[key] = exact if draw(st.integers(0, 3)) else draw(st.integers(0, 3))
    policy = g.scenario.policy.model_copy(update={"lead_counts": counts})
    fields = {name: getattr(g.scenario, name) for name in Scenario.model_fields}
    return Generated(Scenario(**fields | {"units": tuple(units), "policy": policy}), g.planted)


@pytest.mark.parametrize("method", ["auto", "cp-sat"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counted())
def test_optimum_equals_brute_force(method: Method, g: Generated) -> None:
    ref = CountingReference(g.scenario)
    expected = brute_force(ref)
    result = solve(g.scenario, method=method)
    if expected is None:
        assert result.status is Status.INFEASIBLE, f"brute force: infeasible; solver {result.status}"
        return
    assert result.status is Status.OPTIMAL, f"brute force {expected}; solver {result.status} {result.message}"
    assert result.plan is not None and result.objective == expected
    pairs = [(a.town_id, a.unit_id) for a in result.plan.assignments]
    assert ref.violations(pairs) == set()
    assert audit(g.scenario, result.plan).passed


@pytest.fixture(scope="module")
def tiny() -> dict[str, Any]:
    return load_scenario(TINY).model_dump()


def with_counts(data: dict[str, Any], counts: dict[str, int], groups: dict[str, str] | None = None,
                **policy: Any) -> Scenario:
    groups = groups or {}
    units = [u | {"quota_group": groups.get(u["unit_id"])} for u in data["units"]]
    return Scenario.model_validate(data | {"units": units,
                                           "policy": data["policy"] | {"lead_counts": counts} | policy})


def test_counts_hold_in_the_plan_and_the_audit_checks_them(tiny: dict[str, Any]) -> None:
    groups = {"gz-panyu": "广州市", "gz-office": "广州市"}
    scenario = with_counts(tiny, {"sz-nanshan": 1, "广州市": 3}, groups)
    result = solve(scenario)
    assert result.status is Status.OPTIMAL and result.plan is not None
    led = Counter(result.plan.lead_of().values())
    assert led["sz-nanshan"] == 1 and led["gz-panyu"] + led["gz-office"] == 3
    assert audit(scenario, result.plan).passed
    free = solve(Scenario.model_validate(tiny))
    assert free.plan is not None and free.objective is not None and result.objective is not None
    assert result.objective <= free.objective
    assert Counter(free.plan.lead_of().values())["sz-nanshan"] == 2  # so the count of 1 binds
    report = audit(scenario, free.plan)
    assert report.rules_broken() == {Rule.LEAD_COUNTS}
    assert [v.message for v in report.violations] == [
        "深圳市南山区 leads 2 towns, policy.lead_counts requires exactly 1",
        "quota group 广州市 (2 units) leads 2 towns, policy.lead_counts requires exactly 3"]


def test_audit_names_a_quota_group_and_says_county(tiny: dict[str, Any]) -> None:
    scenario = with_counts(tiny, {"本市": 1}, {"hy-office": "本市", "mz-office": "本市"}, target_level="county")
    plan = solve(Scenario.model_validate(tiny)).plan
    assert plan is not None
    led = sum(1 for u in plan.lead_of().values() if u in ("hy-office", "mz-office"))
    assert led != 1
    assert [v.message for v in audit(scenario, plan).violations] == [
        f"quota group 本市 (2 units) leads {led} counties, policy.lead_counts requires exactly 1"]


@pytest.mark.parametrize(("counts", "groups", "pins", "message"), [
    ({"sz-nanshan": 3}, {}, [],
     ("深圳市南山区 must lead exactly 3 towns, but can lead at most 2 (capacity 2, 3 eligible towns): raise the "
      "capacity or lower policy.lead_counts[sz-nanshan] to 2")),
    ({"prov-sysu": 1}, {}, [("prov-sysu", "441623111000"), ("prov-sysu", "441624116000")],
     "中山大学 is pinned to 2 towns but must lead exactly 1: remove 1 pin(s) or raise policy.lead_counts[prov-sysu]"),
    ({"广州市": 3, "sz-nanshan": 2, "sz-futian": 1}, {"gz-panyu": "广州市", "gz-office": "广州市"}, [],
     ("the lead counts of 3 prd unit(s)/group(s) add up to 6 towns, but the prd tier leads exactly 5: lower "
      "policy.lead_counts by 1 or raise the prd share")),
    ({"sz-nanshan": 0, "sz-futian": 0}, {}, [],
     ("the prd tier must lead 5 towns, but its units with a lead count lead exactly 0 and the others can lead at "
      "most 3: raise policy.lead_counts or the other units' capacity by 2")),
])
def test_presolve_checks_explain_impossible_counts(tiny: dict[str, Any], counts: dict[str, int],
                                                   groups: dict[str, str], pins: list[tuple[str, str]],
                                                   message: str) -> None:
    data = tiny | {"pins": [{"unit_id": u, "town_id": t, "action": "pin"} for u, t in pins]}
    result = solve(with_counts(data, counts, groups, max_changes=None))
    assert result.status is Status.INFEASIBLE
    assert message in [c.message for c in result.conflicts]
    assert all(Rule.LEAD_COUNTS in c.rules for c in result.conflicts if c.message == message)


def test_diagnosis_names_the_count(tiny: dict[str, Any]) -> None:
    """Two counts that each fit, but not with the change cap: only the diagnosis (not a pre-check) finds it."""
    scenario = with_counts(tiny, {"sz-nanshan": 0, "gz-panyu": 2})
    assert solve(scenario).status is Status.INFEASIBLE
    conflicts = diagnose(scenario)
    assert conflicts is not None
    assert ("lead_counts", ("sz-nanshan",)) in [(c.rules[0].value, c.entities) for c in conflicts]
    assert "深圳市南山区 leads exactly 0 towns" in [c.message for c in conflicts]
    assert "深圳市南山区牵头 0 个镇" in [c.message_zh for c in conflicts]


@pytest.mark.parametrize(("key", "groups", "error"), [
    ("nobody", {}, "'nobody' is neither a unit_id nor a quota_group of units"),
    ("sz-futian", {"gz-panyu": "sz-futian"}, "'sz-futian' is both a unit_id and a quota_group: rename the quota group"),
])
def test_keys_must_name_a_unit_or_a_group(tiny: dict[str, Any], key: str, groups: dict[str, str],
                                          error: str) -> None:
    with pytest.raises(ScenarioError, match=error) as caught:
        with_counts(tiny, {key: 1}, groups)
    assert caught.value.field == f"lead_counts.{key}"


def test_yaml_errors_name_the_file_and_the_key(tiny_dir: Path, editor: Any) -> None:
    editor(tiny_dir / "scenario.yaml", "  continuity_weight: 50", "  continuity_weight: 50\n  lead_counts: {nobody: 1}")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tiny_dir / "scenario.yaml")
    assert (caught.value.file, caught.value.field) == ("scenario.yaml", "policy.lead_counts.nobody")


def test_plan_without_counted_units(tiny: dict[str, Any]) -> None:
    """A count of 0 keeps a unit out of the plan entirely, on both paths."""
    scenario = with_counts(tiny, {"sz-futian": 0}, max_changes=None)
    methods: tuple[Method, ...] = ("auto", "cp-sat")
    for method in methods:
        result = solve(scenario, method=method)
        assert result.plan is not None and "sz-futian" not in result.plan.lead_of().values()
        assert audit(scenario, result.plan).passed
    assert audit(scenario, Plan()).rules_broken() >= {Rule.COVERAGE}
