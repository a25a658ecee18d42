"""Rule ``pins``: pins and bans are honoured by the model, checked by the audit, and explained when impossible."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import Pin, PinAction, Plan, Rule, Scenario, ScenarioError, Status, load_scenario
from optimizer import audit, solve

TINY = Path(__file__).resolve().parent.parent / "scenarios" / "tiny" / "scenario.yaml"
GAOGUAN, LINZHAI, HUACHENG, SHUIZHAI = "441623111000", "441624116000", "441424104000", "441424100000"


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    """The tiny scenario without its change cap, so that pins may move previous leads."""
    scenario = load_scenario(TINY)
    return scenario.model_copy(update={"policy": scenario.policy.model_copy(update={"max_changes": None})})


def with_pins(tiny: Scenario, *pins: tuple[str, str, str]) -> Scenario:
    rows = tuple(Pin(unit_id=u, town_id=t, action=PinAction(a)) for u, t, a in pins)
    return Scenario.model_validate(tiny.model_dump() | {"pins": rows})


@pytest.mark.parametrize("method", ["auto", "cp-sat"])
def test_pin_and_ban_are_honoured(tiny: Scenario, method: str) -> None:
    free = solve(tiny, method=method).plan.lead_of()
    other = "prov-sysu" if free[HUACHENG] != "prov-sysu" else "prov-stats"
    pinned = with_pins(tiny, (other, HUACHENG, "pin"), (free[GAOGUAN], GAOGUAN, "ban"))
    result = solve(pinned, method=method)
    assert result.status is Status.OPTIMAL
    lead = result.plan.lead_of()
    assert lead[HUACHENG] == other and lead[GAOGUAN] != free[GAOGUAN]
    assert audit(pinned, result.plan).passed
    assert result.objective <= solve(tiny, method=method).objective


def test_audit_catches_broken_pins(tiny: Scenario) -> None:
    lead = solve(tiny).plan.lead_of()
    other = "prov-sysu" if lead[HUACHENG] != "prov-sysu" else "prov-stats"
    pinned = with_pins(tiny, (other, HUACHENG, "pin"), (lead[GAOGUAN], GAOGUAN, "ban"))
    violations = audit(pinned, Plan.from_pairs(lead)).violations
    assert {(v.rule, v.town_id) for v in violations if v.rule is Rule.PINS} == {(Rule.PINS, HUACHENG),
                                                                               (Rule.PINS, GAOGUAN)}


def test_pin_on_an_ineligible_pair_is_explained(tiny: Scenario) -> None:
    result = solve(with_pins(tiny, ("gz-panyu", LINZHAI, "pin")))  # Guangzhou does not help 河源
    assert result.status is Status.INFEASIBLE and result.plan is None
    [conflict] = result.conflicts
    assert conflict.rules == (Rule.PINS, Rule.ELIGIBILITY)
    assert conflict.entities == ("gz-panyu", LINZHAI)
    assert "河源市 is not a counterpart city of 广州市" in conflict.message


def test_pins_beyond_capacity_are_explained(tiny: Scenario) -> None:
    result = solve(with_pins(tiny, ("prov-stats", HUACHENG, "pin"), ("prov-stats", "441424120000", "pin")))
    assert result.status is Status.INFEASIBLE
    assert any(c.rules == (Rule.PINS, Rule.CAPACITY) and c.figures == {"pinned": 2, "capacity": 1}
               for c in result.conflicts)


@pytest.mark.parametrize(("pins", "words"), [
    ((("prov-stats", SHUIZHAI, "pin"),), "not a key town"),
    ((("prov-stats", HUACHENG, "pin"), ("prov-sysu", HUACHENG, "pin")), "already pinned"),
    ((("prov-stats", HUACHENG, "pin"), ("prov-stats", HUACHENG, "ban")), "twice"),
    ((("nobody", HUACHENG, "ban"),), "unknown unit"),
])
def test_contradictory_pins_are_bad_input(tiny: Scenario, pins: tuple[tuple[str, str, str], ...],
                                           words: str) -> None:
    with pytest.raises(ScenarioError, match=words) as caught:
        with_pins(tiny, *pins)
    assert caught.value.file == "pins.csv"
