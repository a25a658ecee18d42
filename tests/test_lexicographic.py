"""Lexicographic objectives (``policy.objective_stages``) against two oracles: brute force over every plan of
tiny generated scenarios (the lexicographic maximum of the stage values), and explicit staged CP-SAT solves on
the tiny scenario (each stage maximised with the earlier stages held at their optimum), which has distances."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model
from typer.testing import CliRunner

from models import Plan, Policy, Scenario, SolveResult, Status, load_scenario
from models.penalty import unassigned_penalty
from optimizer import lexicographic
from optimizer.audit import audit, plan_value
from optimizer.cli import app
from optimizer.model import build_model, candidate_pairs
from optimizer.model.unassigned import VACANCY
from optimizer.solve import solve
from optimizer.terms import TERMS, objective_terms
from tests.strategies import Generated, Reference, generated
from tests.test_unassigned import partial_valid

TINY = Path(__file__).resolve().parent.parent / "scenarios" / "tiny" / "scenario.yaml"
STAGES = [[["continuity"], ["score"]], [["score"], ["continuity"]], [["continuity"]], [["score"]],
          [["unassigned", "score"], ["continuity"]], [["score"], ["unassigned"]]]
"""Orders of the generated scenarios' terms (they have no distances or baseline); unnamed terms come last."""


def with_policy(scenario: Scenario, **changes: object) -> Scenario:
    return scenario.model_copy(update={"policy": scenario.policy.model_copy(update=changes)})


def oracle_stages(scenario: Scenario) -> list[list[str]]:
    """The documented order: the named stages, an unnamed ``unassigned`` first (mode), the other terms last."""
    stages: list[list[str]] = [list(s) for s in scenario.policy.objective_stages]
    named = {t for s in stages for t in s}
    if scenario.policy.allow_unassigned and "unassigned" not in named:
        stages.insert(0, ["unassigned"])
    rest = [t for t in ("score", "continuity") if t not in named]
    return stages + [rest] if rest else stages


def stage_values(ref: Reference, penalty: int, stages: list[list[str]], pairs: Sequence[tuple[str, str]]
                 ) -> tuple[int, ...]:
    left = len(ref.key_ids) - len(pairs)
    term = {"score": sum(ref.score.get((u, t), 0) for t, u in pairs),
            "continuity": sum(ref.policy.continuity_weight * (ref.previous.get(t) == u) for t, u in pairs),
            "unassigned": -penalty * left}
    return tuple(sum(term[t] for t in stage) for stage in stages)


def brute_force_lexicographic(scenario: Scenario) -> tuple[int, ...] | None:
    ref = Reference(scenario)
    mode = scenario.policy.allow_unassigned
    penalty = unassigned_penalty(scenario) if mode else 0
    stages = oracle_stages(scenario)
    towns = sorted(ref.key_ids)
    best: tuple[int, ...] | None = None
    for choice in itertools.product(*([*ref.candidates(t), *([None] if mode else [])] for t in towns)):
        pairs = [(t, u) for t, u in zip(towns, choice, strict=True) if u is not None]
        if not (partial_valid(ref, pairs) if mode else not ref.violations(pairs)):
            continue
        values = stage_values(ref, penalty, stages, pairs)
        best = values if best is None else max(best, values)
    return best


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated(max_key=5, max_units=4), st.sampled_from(STAGES), st.booleans(),
       st.one_of(st.none(), st.integers(1, 40)))
def test_lexicographic_optimum_equals_brute_force(g: Generated, stages: list[list[str]], mode: bool,
                                                  penalty: int | None) -> None:
    scenario = with_policy(g.scenario, objective_stages=stages, allow_unassigned=mode, unassigned_penalty=penalty)
    expected = brute_force_lexicographic(scenario)
    result = solve(scenario)
    event("infeasible" if expected is None else "feasible")
    if expected is None:
        assert result.status is Status.INFEASIBLE
        return
    assert result.status is Status.OPTIMAL and result.plan is not None, result.message
    ref = Reference(scenario)
    pairs = [(a.town_id, a.unit_id) for a in result.plan.assignments]
    penalty_used = unassigned_penalty(scenario) if mode else 0
    assert stage_values(ref, penalty_used, oracle_stages(scenario), pairs) == expected
    assert audit(scenario, result.plan).passed
    assert result.objective == plan_value(scenario, result.plan)  # the README objective, not the rank
    reported = {s.terms: s.value for s in result.stages}
    for stage, value in zip(oracle_stages(scenario), expected, strict=True):
        assert reported.get(tuple(stage), 0) == value  # a stage of zero terms may be left out
    assert all(s.bound == s.value for s in result.stages)


def staged_cp_sat(scenario: Scenario, stages: list[list[str]]) -> list[int]:
    """Each stage maximised by CP-SAT over the builder's rows, with every earlier stage ≥ its optimum."""
    pairs, _ = candidate_pairs(scenario)
    plan = Plan.from_pairs(list(zip(pairs["town_id"], pairs["unit_id"], strict=True)))
    terms = objective_terms(scenario, plan).set_index(["town_id", "unit_id"])  # term by term, in plain Python
    key = list(zip(pairs["town_id"], pairs["unit_id"], strict=True))
    values = [terms.loc[key, stage].sum(axis=1).to_numpy(dtype=np.int64) for stage in stages]
    optima: list[int] = []
    for i, stage_value in enumerate(values):
        built = build_model(scenario, pairs.assign(value=stage_value))
        for earlier, optimum in zip(values, optima, strict=False):
            row = built.model.proto.constraints.add().linear
            row.vars.extend(range(len(pairs)))
            row.coeffs.extend(earlier.tolist())
            row.domain.extend([optimum, int(np.abs(earlier).sum())])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        assert solver.solve(built.model) == cp_model.OPTIMAL, i
        optima.append(round(solver.objective_value))
    return optima


@pytest.mark.parametrize("stages", [[["distance"], ["score", "continuity"]],
                                    [["continuity"], ["distance"], ["score"]],
                                    [["score", "distance"], ["continuity"]]])
def test_stages_equal_staged_solves_on_tiny(stages: list[list[str]]) -> None:
    scenario = with_policy(load_scenario(TINY), objective_stages=stages)
    result = solve(scenario)
    assert result.status is Status.OPTIMAL and result.plan is not None
    assert [s.value for s in result.stages] == staged_cp_sat(scenario, stages)
    assert [list(s.terms) for s in result.stages] == stages  # no baseline in tiny: no last stage
    assert audit(scenario, result.plan).passed and result.objective == plan_value(scenario, result.plan)


def test_weights_make_the_stages_lexicographic() -> None:
    """M_i = M_(i+1)·(R_(i+1) + 1): every later stage's whole range fits below one step of the earlier one."""
    ranking = lexicographic.rank(with_policy(load_scenario(TINY),
                                             objective_stages=[["continuity"], ["distance"], ["score"]]))
    stages = ranking.stages
    assert stages[-1].weight == 1
    for earlier, later in itertools.pairwise(stages):
        assert earlier.weight == later.weight * (later.spread + 1)
    assert stages[0].unit == 50  # continuity_weight 50: a kept lead is one step
    assert sum(s.weight * s.spread for s in stages[1:]) < stages[0].weight


def test_without_stages_nothing_changes() -> None:
    scenario = load_scenario(TINY)
    plain, staged = solve(scenario), solve(with_policy(scenario, objective_stages=[list(TERMS[:4])]))
    assert staged.objective == plain.objective and plain.stages == ()
    assert [s.terms for s in staged.stages] == [("score", "continuity", "baseline", "distance")]


def test_a_term_in_two_stages_is_refused() -> None:
    with pytest.raises(ValueError, match="one stage only"):
        Policy(objective_stages=[["score"], ["score", "distance"]])
    with pytest.raises(ValueError, match="at least one term"):
        Policy(objective_stages=[[]])


def test_weights_too_large_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = with_policy(load_scenario(TINY), objective_stages=[["distance"], ["score"], ["continuity"]])
    monkeypatch.setattr(lexicographic, "value_limit", lambda _: 10)  # as if the scenario were huge
    with pytest.raises(ValueError, match="objective_stages weights reach"):
        solve(scenario)


def test_cli_prints_and_records_the_stages(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    folder.mkdir()
    for f in TINY.parent.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    yaml = folder / "scenario.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace(
        "  max_changes: 2\n", "  max_changes: 2\n  objective_stages: [[continuity], [score, distance]]\n"),
        encoding="utf-8")
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["solve", str(yaml), "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "stage 1 continuity:" in run.output and "stage 2 score + distance:" in run.output
    data = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [s["terms"] for s in data["stages"]] == [["continuity"], ["score", "distance"]]
    assert data["objective"] == data["audit"]["objective"]
    assert data["parameters"]["objective_stages"] == [["continuity"], ["score", "distance"]]
    bad = yaml.read_text(encoding="utf-8").replace("[[continuity], [score, distance]]", "[[continuity], [speed]]")
    yaml.write_text(bad, encoding="utf-8")
    assert CliRunner().invoke(app, ["solve", str(yaml), "--out", str(out)]).exit_code == 2


def test_vacancy_pairs_share_one_rank() -> None:
    """Every vacancy of the mode has the same rank: the unassigned stage's weight, negated."""
    scenario = with_policy(load_scenario(TINY), allow_unassigned=True, objective_stages=[["score"]])
    ranking = lexicographic.rank(scenario)
    pairs = ranking.pairs[ranking.pairs[VACANCY]]
    assert set(pairs["stage0"]) == {-unassigned_penalty(scenario)}
    assert ranking.stages[0].terms == ("unassigned",)
    assert ranking.ranked.policy.unassigned_penalty == ranking.stages[0].weight


def test_a_rank_not_proven_bounds_the_first_stage_only() -> None:
    """A solve stopped by the time limit (FEASIBLE, with the rank's bound B): stage 1 gets a valid bound derived
    from B, the later stages none, and the result claims no bound or gap on the plain objective."""
    stages = [["distance"], ["score", "continuity"]]
    scenario = with_policy(load_scenario(TINY), objective_stages=stages)
    exact = solve(lexicographic.rank(scenario).ranked)
    assert exact.objective is not None

    def stopped(_: Scenario) -> SolveResult:
        return exact.model_copy(update={"status": Status.FEASIBLE, "best_bound": exact.objective + 0.5})

    result = lexicographic.solve_lexicographic(scenario, stopped)
    assert result.status is Status.FEASIBLE and result.best_bound is None and result.gap is None
    first, second = result.stages
    assert first.bound is not None and first.bound >= staged_cp_sat(scenario, stages)[0] >= first.value
    assert second.bound is None
