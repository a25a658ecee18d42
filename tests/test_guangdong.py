"""The shipped Guangdong scenario: optimal, 300/120/180, audited, published figures held, repeatable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from models import Scenario, SolveResult, Tier, load_scenario
from optimizer import audit, plan_value, solve
from optimizer.report import plan_csv

GUANGDONG = Path(__file__).resolve().parent.parent / "scenarios" / "guangdong-2021" / "scenario.yaml"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(GUANGDONG)


@pytest.fixture(scope="module")
def result(scenario: Scenario) -> SolveResult:
    return solve(scenario)


def test_solves_to_optimal_at_5_2_3(scenario: Scenario, result: SolveResult) -> None:
    assert result.status.value == "OPTIMAL"
    assert result.gap == 0 and result.objective == result.best_bound
    tiers = {u.unit_id: u.tier for u in scenario.units}
    counts = Counter(tiers[a.unit_id] for a in result.plan.assignments)
    assert counts == {Tier.PRD: 300, Tier.PROVINCIAL: 120, Tier.LOCAL: 180}
    assert len(result.plan) == len(scenario.key_towns) == 600
    report = audit(scenario, result.plan)
    assert report.passed, report.violations
    assert plan_value(scenario, result.plan) == result.objective


def test_published_figures_hold(scenario: Scenario, result: SolveResult) -> None:
    towns = pd.DataFrame([t.model_dump() for t in scenario.towns])
    assert towns["category"].value_counts().to_dict() == {"key": 600, "consolidation": 305, "pilot": 223}
    assert (towns[towns["city"] == "湛江市"]["category"] == "key").sum() == 56
    units = {u.unit_id: u for u in scenario.units}
    city_of = {t.town_id: t.city for t in scenario.towns}
    led = Counter((city_of[a.town_id], units[a.unit_id].tier.value) for a in result.plan.assignments)
    assert (led[("湛江市", "prd")], led[("湛江市", "provincial")], led[("湛江市", "local")]) == (24, 15, 17)
    published_prd = {"梅州市": 30, "汕头市": 13, "河源市": 44, "汕尾市": 19, "肇庆市": 32}
    assert {city: led[(city, "prd")] for city in published_prd} == published_prd
    shenzhen = sum(1 for a in result.plan.assignments if units[a.unit_id].city == "深圳市")
    assert shenzhen == 76  # Shenzhen's 2022 plan: 76 key towns in 汕头, 河源 and 汕尾


def test_same_plan_in_another_process(scenario: Scenario, result: SolveResult, tmp_path: Path) -> None:
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "optimizer.cli", "solve", str(GUANGDONG), "--out", str(out), "--quiet"],
                   check=True, env=os.environ | {"PYTHONHASHSEED": "99"})
    plan = pd.read_csv(out / "plan.csv", dtype=str)
    assert sorted(zip(plan["town_id"], plan["unit_id"], strict=True)) == [
        (a.town_id, a.unit_id) for a in result.plan.assignments]
    assert (out / "plan.csv").read_bytes() == plan_csv(scenario, result.plan).encode()  # byte for byte
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))  # and the same provenance
    assert (summary["fingerprint"], summary["ortools_version"], summary["parameters"]) == (
        result.fingerprint, result.ortools_version, result.parameters)
    assert (summary["objective"], summary["status"]) == (result.objective, result.status.value)
