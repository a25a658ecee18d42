"""Diagnosis of infeasible scenarios: the minimal conflicting rule groups, known in advance, found exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from models import Scenario, load_scenario
from optimizer.diagnose import diagnose

TINY = Path(__file__).resolve().parent.parent / "scenarios" / "tiny" / "scenario.yaml"


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
