"""The 2023 vertical support (scenarios/vertical-2023): county targets and groups through the scenario format;
`bangfu solve` gives an audited plan whose published figures hold, each asserted from plan.csv."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from models import Plan, Scenario, load_scenario
from optimizer import audit, solve
from optimizer.cli import app
from optimizer.html_report import render

FOLDER = Path(__file__).resolve().parent.parent / "scenarios" / "vertical-2023"
VERTICAL = FOLDER / "scenario.yaml"
# Published: 156 units, 57 counties + 5 old-base districts, and the one named group.
UNITS, COUNTIES, DISTRICTS = 156, 57, 5
LIANJIANG = ("廉江市", "广东省统计局", {"中国铁路广州局集团(广铁集团)", "广东省港航集团"})
INFERRED_DISTRICTS = {"梅江区", "梅县区", "城区", "潮阳区", "潮南区"}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(VERTICAL)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("vertical") / "out"
    result = CliRunner().invoke(app, ["solve", str(VERTICAL), "--out", str(folder)])
    assert result.exit_code == 0, result.output
    return folder, result.output


@pytest.fixture(scope="module")
def plan(run: tuple[Path, str]) -> pd.DataFrame:
    return pd.read_csv(run[0] / "plan.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def groups(plan: pd.DataFrame) -> dict[str, list[str]]:
    """county name → [lead unit id, member unit ids...]"""
    return {name: [lead, *members.split(";")] if members else [lead]
            for name, lead, members in zip(plan.town_name, plan.unit_id, plan.members, strict=True)}


def test_cli_plan_is_optimal_audited_and_says_county(scenario: Scenario, run: tuple[Path, str],
                                                     plan: pd.DataFrame) -> None:
    out, text = run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "OPTIMAL" and summary["audit"]["passed"] is True
    assert "62 key counties" in text and "key towns" not in text
    members = {t: tuple(m.split(";")) for t, m in zip(plan.town_id, plan.members, strict=True) if m}
    read = Plan.from_pairs(list(zip(plan.town_id, plan.unit_id, strict=True))).with_members(members)
    assert audit(scenario, read).passed
    assert solve(scenario).plan == read


def test_62_county_targets(plan: pd.DataFrame) -> None:
    targets = pd.read_csv(FOLDER / "towns.csv", dtype=str)
    assert Counter(targets.target) == {"county_or_county_city": COUNTIES, "old_area_district_inferred": DISTRICTS}
    assert set(targets[targets.target == "old_area_district_inferred"].name) == INFERRED_DISTRICTS
    assert set(targets.county_type[targets.target == "county_or_county_city"]) == {"县", "自治县", "县级市"}
    assert sorted(plan.town_id) == sorted(targets.town_id)  # every target, once: one group each
    assert (targets.town_id.str.len() == 6).all()  # county codes, not town codes


def test_one_group_per_target_of_a_lead_and_members(scenario: Scenario, groups: dict[str, list[str]]) -> None:
    units = {u.unit_id: u for u in scenario.units}
    assert len(groups) == COUNTIES + DISTRICTS == 62
    for lead, *members in groups.values():
        assert units[lead].tier.value == "provincial" and units[lead].kind.value == "agency"
        assert members and lead not in members and len(set(members)) == len(members)
        assert any(units[m].kind.value == "enterprise" for m in members)


def test_156_distinct_units_and_two_county_units(scenario: Scenario, groups: dict[str, list[str]]) -> None:
    uses = Counter(u for group in groups.values() for u in group)
    assert len(uses) == len(scenario.units) == UNITS
    configured = {u.unit_id for u in scenario.units if max(u.capacity, u.member_capacity) == 2}
    assert {u for u, n in uses.items() if n == 2} == configured
    assert len(configured) == 24 and max(uses.values()) == 2
    leads = Counter(group[0] for group in groups.values())
    economic = {u.unit_id for u in scenario.units if u.quota_group == "省直经济部门"}
    assert {u for u, n in leads.items() if n == 2} == economic and len(economic) == 10


def test_lianjiang_group_is_kept(scenario: Scenario, groups: dict[str, list[str]]) -> None:
    name = {u.unit_id: u.name for u in scenario.units}
    county, lead, members = LIANJIANG
    assert name[groups[county][0]] == lead
    assert members <= {name[m] for m in groups[county][1:]}


def test_html_report_says_county(scenario: Scenario) -> None:
    result = solve(scenario)
    assert result.plan is not None
    page = render(scenario, result.plan)
    assert "key counties" in page and "key towns" not in page and "62 counties" in page
