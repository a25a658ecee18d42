"""Re-planning with minimal change (rule ``baseline``) and plan diffs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from models import Plan, RelationshipKind, Rule, Scenario, Status, load_scenario
from optimizer import audit, plan_value, solve
from optimizer.cli import app
from optimizer.diff import diff_plans
from optimizer.terms import objective_terms

ROOT = Path(__file__).resolve().parent.parent
GUANGDONG = ROOT / "scenarios" / "guangdong-2021" / "scenario.yaml"


def without_units(scenario: Scenario, unit_ids: set[str]) -> Scenario:
    """The scenario with some units gone (and their relationships, scores, pins and cadres)."""
    data = scenario.model_dump()
    data["units"] = [u for u in data["units"] if u["unit_id"] not in unit_ids]
    for table in ("relationships", "scores", "pins", "cadres"):
        data[table] = [r for r in data[table] if r["unit_id"] not in unit_ids]
    return Scenario.model_validate(data)


@pytest.fixture(scope="module")
def guangdong() -> Scenario:
    return load_scenario(GUANGDONG)


def test_removing_five_units_moves_only_their_towns(guangdong: Scenario) -> None:
    first = solve(guangdong)
    lead = first.plan.lead_of()
    provincial = sorted(u.unit_id for u in guangdong.units if u.tier.value == "provincial" and u.capacity == 1)
    removed = set([u for u in provincial if u in set(lead.values())][:5])  # the tier has spare capacity
    orphaned = {t for t, u in lead.items() if u in removed}
    replan = without_units(guangdong, removed).with_baseline(first.plan)
    policy = replan.policy.model_copy(update={"max_baseline_changes": len(orphaned)})
    replan = replan.model_copy(update={"policy": policy})
    second = solve(replan)
    assert second.status is Status.OPTIMAL
    assert audit(replan, second.plan).passed
    assert plan_value(replan, second.plan) == second.objective
    changes = diff_plans(replan, first.plan, second.plan)
    assert {c.town_id for c in changes.changed} == orphaned  # exactly the towns that lost their unit
    # one change fewer is impossible: the cap is binding and explained
    tight = replan.model_copy(update={"policy": policy.model_copy(update={"max_baseline_changes": len(orphaned) - 1})})
    infeasible = solve(tight)
    assert infeasible.status is Status.INFEASIBLE
    assert any(Rule.BASELINE in c.rules for c in infeasible.conflicts)


def test_baseline_weight_keeps_the_old_plan(guangdong: Scenario) -> None:
    first = solve(guangdong)
    moved = guangdong.model_copy(update={"policy": guangdong.policy.model_copy(update={"distance_weight": 0.5})})
    free = solve(moved)
    anchored = solve(moved.with_baseline(first.plan))
    assert len(diff_plans(moved, first.plan, anchored.plan).changed) < len(diff_plans(moved, first.plan,
                                                                                        free.plan).changed)


def test_terms_add_up_to_the_objective(guangdong: Scenario) -> None:
    result = solve(guangdong)
    terms = objective_terms(guangdong, result.plan)
    assert int(terms["value"].sum()) == result.objective
    kept = sum(1 for r in guangdong.relationships if r.kind is RelationshipKind.PREVIOUS_LEAD
               and result.plan.lead_of().get(r.town_id) == r.unit_id)
    assert int(terms["continuity"].sum()) == guangdong.policy.continuity_weight * kept


def test_cli_baseline_and_diff(tmp_path: Path) -> None:
    runner = CliRunner()
    tiny = ROOT / "scenarios" / "tiny" / "scenario.yaml"
    first, second = tmp_path / "a", tmp_path / "b"
    assert runner.invoke(app, ["solve", str(tiny), "--out", str(first), "--quiet"]).exit_code == 0
    result = runner.invoke(app, ["solve", str(tiny), "--out", str(second), "--quiet",
                                 "--baseline", str(first / "plan.csv")])
    assert result.exit_code == 0, result.output
    same = runner.invoke(app, ["diff", str(tiny), str(first / "plan.csv"), str(second / "plan.csv")])
    assert same.exit_code == 0 and "0 town(s) changed lead" in same.output
    plan = Plan.from_pairs({"441623111000": "sz-futian"})
    assert len(diff_plans(load_scenario(tiny), plan, Plan()).changed) == 1


def test_withdrawing_zhuhai_districts_is_proven_infeasible_by_the_network(guangdong: Scenario) -> None:
    """Total PRD capacity still covers 300, but 珠海's cities cannot be served: phase one of the Lagrangian proves
    it in seconds (before, only the full CP-SAT did, after 20-30 s, with no explanation)."""
    result = solve(without_units(guangdong, {"prd-zh-xiangzhou", "prd-zh-jinwan", "prov-nyjt"}))
    assert result.status is Status.INFEASIBLE
    assert result.path == "lagrangian"
    assert result.conflicts and Rule.TIER_QUOTA in result.conflicts[0].rules
