"""Shenzhen's 2022 action plan (scenarios/shenzhen-2022): `bangfu solve` gives an audited plan in which every
published figure holds, each asserted from the plan itself (plan.csv as written by the command line)."""

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

SHENZHEN = Path(__file__).resolve().parent.parent / "scenarios" / "shenzhen-2022" / "scenario.yaml"
# Published in the plan (seed 001): teams per leader, and the 汕头 county leads.
DISTRICT_TEAMS = {"福田区": 5, "罗湖区": 4, "盐田区": 2, "南山区": 5, "宝安区": 5, "龙岗区": 5, "龙华区": 5, "坪山区": 2,
                  "光明区": 1, "大鹏新区": 2}
MUNICIPAL_TEAMS = 40
CITY_TOWNS = {"汕头市": 13, "河源市": 44, "汕尾市": 19}
SHANTOU_COUNTIES = {"深圳市规划和自然资源局": "澄海区", "深圳市交通运输局": "潮阳区", "深圳市市场监管局": "潮南区",
                    "深圳市国资委": "南澳县"}
CONFIRMED_COUNTIES = {"深圳市南山区": "连平县", "深圳市光明区": "城区"}  # confirmed by town-level sources


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(SHENZHEN)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shenzhen") / "out"
    result = CliRunner().invoke(app, ["solve", str(SHENZHEN), "--out", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def plan(out: Path) -> pd.DataFrame:
    frame = pd.read_csv(out / "plan.csv", dtype=str, keep_default_na=False)
    return frame


def test_cli_plan_is_optimal_and_audited(scenario: Scenario, out: Path, plan: pd.DataFrame) -> None:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "OPTIMAL" and summary["audit"]["passed"] is True
    members = {t: tuple(m.split(";")) for t, m in zip(plan.town_id, plan.members, strict=True) if m}
    read = Plan.from_pairs(list(zip(plan.town_id, plan.unit_id, strict=True))).with_members(members)
    assert audit(scenario, read).passed
    library = solve(scenario)
    assert library.plan == read and library.objective == summary["objective"]


def test_76_towns_in_13_counties(plan: pd.DataFrame) -> None:
    assert len(plan) == plan.town_id.nunique() == 76
    assert Counter(plan.city) == CITY_TOWNS
    assert plan[plan.city == "汕头市"].county.nunique() == 4
    assert plan[plan.city == "河源市"].county.nunique() == 5
    assert plan[plan.city == "汕尾市"].county.nunique() == 4


def test_teams_per_leader(scenario: Scenario, plan: pd.DataFrame) -> None:
    group = {u.unit_id: u.quota_group for u in scenario.units}
    led = Counter(plan.unit_name)
    assert {d: led[f"深圳市{d}"] for d in DISTRICT_TEAMS} == DISTRICT_TEAMS
    municipal = plan[plan.unit_id.map(group) == "深圳市直单位"]
    assert len(municipal) == MUNICIPAL_TEAMS
    assert len(municipal) + sum(DISTRICT_TEAMS.values()) == 76
    assert Counter(municipal.city) == {"汕头市": 13, "河源市": 18, "汕尾市": 9}  # 13 + 27 in 河源/汕尾


def test_districts_lead_only_their_paired_counties(scenario: Scenario, plan: pd.DataFrame) -> None:
    paired: dict[str, set[str]] = {}
    for r in scenario.relationships:
        if r.kind.value == "county_pairing" and r.county:
            paired.setdefault(r.unit_id, set()).add(r.county)
    districts = plan[plan.unit_name.isin([f"深圳市{d}" for d in DISTRICT_TEAMS])]
    assert all(c in paired[u] for u, c in zip(districts.unit_id, districts.county, strict=True))
    assert set(districts.city) == {"河源市", "汕尾市"}
    assert len({c for u in districts.unit_id.unique() for c in paired[u]}) == 10  # the 10 counties of 河源 and 汕尾
    for unit, county in CONFIRMED_COUNTIES.items():
        assert set(plan[plan.unit_name == unit].county) == {county}


def test_shantou_counties_and_towns(scenario: Scenario, plan: pd.DataFrame) -> None:
    """Each 汕头 town: led by a municipal department, exactly one municipal SOE as member unit; the four
    departments lead their counties."""
    units = {u.unit_id: u for u in scenario.units}
    shantou = plan[plan.city == "汕头市"]
    assert len(shantou) == 13
    for unit_id, members in zip(shantou.unit_id, shantou.members, strict=True):
        assert units[unit_id].quota_group == "深圳市直单位"
        soes = [m for m in members.split(";") if m]
        assert len(soes) == 1
        assert units[soes[0]].kind.value == "enterprise" and units[soes[0]].city == "深圳市"
    assert len({m for m in shantou.members}) == 13  # a different SOE in every town
    for unit, county in SHANTOU_COUNTIES.items():
        assert set(shantou[shantou.unit_name == unit].county) == {county}
    assert set(shantou.county) == set(SHANTOU_COUNTIES.values())


def test_2021_teams_are_kept(plan: pd.DataFrame) -> None:
    town = plan.set_index("town_name")
    assert town.loc["捷胜镇", "unit_name"] == "深圳市光明区"
    assert set(town.loc["捷胜镇", "members"].split(";")) == {"prd-sz-swbgt", "prd-sz-zzb"}
    assert town.loc["高莞镇", "unit_name"] == "深圳市南山区"
    assert town.loc["大湖镇", "unit_name"] == "深圳市妇联"
