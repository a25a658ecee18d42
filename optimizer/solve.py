"""The single solve entry point: scenario in, typed :class:`models.SolveResult` out."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import ortools
import pandas as pd
from ortools.sat.python import cp_model

from models import Plan, Scenario, SolveResult, SolverSettings, Status

from .checks import presolve_checks
from .model import BuiltModel, build_model

_STATUS = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.FEASIBLE,
    cp_model.INFEASIBLE: Status.INFEASIBLE,
    cp_model.UNKNOWN: Status.UNKNOWN,
    cp_model.MODEL_INVALID: Status.MODEL_INVALID,
}

ProgressCallback = Callable[[float, float, float], None]
"""Called on every improving solution with (elapsed seconds, objective, best bound)."""


class _Progress(cp_model.CpSolverSolutionCallback):
    def __init__(self, callback: ProgressCallback) -> None:
        super().__init__()
        self._callback = callback

    def on_solution_callback(self) -> None:
        self._callback(self.wall_time, self.objective_value, self.best_objective_bound)


def settings_for(scenario: Scenario, **overrides: float | int | bool | None) -> SolverSettings:
    """The scenario's solver block with the non-``None`` overrides applied (and validated)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return SolverSettings.model_validate(scenario.solver.model_dump() | given)


def solver_parameters(settings: SolverSettings) -> dict[str, float | int | bool]:
    """CP-SAT parameters for the settings; recorded verbatim in every result."""
    params: dict[str, float | int | bool] = {
        "max_time_in_seconds": settings.time_limit,
        "num_workers": settings.workers,
        "random_seed": settings.seed,
        "relative_gap_limit": settings.relative_gap,
        "log_search_progress": settings.log,
        "cp_model_presolve": settings.presolve,
    }
    if settings.deterministic and settings.workers > 1:
        params["interleave_search"] = True
    return params


def solve(scenario: Scenario, *, time_limit: float | None = None, workers: int | None = None,
          seed: int | None = None, deterministic: bool | None = None, presolve: bool | None = None,
          progress: ProgressCallback | None = None) -> SolveResult:
    """Find the plan of highest objective (README formula) obeying every rule, or say why there is none.

    Arguments left as ``None`` take the scenario's ``solver`` block. The result carries the status, the
    plan, objective, best bound and gap, build and solve seconds, model size and the ortools version.
    """
    settings = settings_for(scenario, time_limit=time_limit, workers=workers, seed=seed,
                            deterministic=deterministic, presolve=presolve)
    built = build_model(scenario)
    params = solver_parameters(settings)
    proto = built.model.proto
    common = dict(
        build_seconds=built.seconds, variables=len(proto.variables), constraints=len(proto.constraints),
        ortools_version=ortools.__version__, parameters=params, fingerprint=scenario.fingerprint(),
    )
    conflicts = presolve_checks(scenario, built.pairs)
    if conflicts:
        return SolveResult(status=Status.INFEASIBLE, solve_seconds=0.0, conflicts=tuple(conflicts),
                           message="the pre-solve checks prove that no plan exists", **common)
    solver = cp_model.CpSolver()
    for name, value in params.items():
        setattr(solver.parameters, name, value)
    start = time.perf_counter()
    code = solver.solve(built.model, _Progress(progress) if progress else None)
    solve_seconds = time.perf_counter() - start
    status = _STATUS[code]
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        return SolveResult(status=status, solve_seconds=solve_seconds, message=_no_plan_message(status, built),
                           **common)
    objective = round(solver.objective_value)
    bound = solver.best_objective_bound
    return SolveResult(status=status, plan=_plan(built, solver), objective=objective, best_bound=bound,
                       gap=0.0 if status is Status.OPTIMAL else (bound - objective) / max(1.0, abs(objective)),
                       solve_seconds=solve_seconds, **common)


def _plan(built: BuiltModel, solver: cp_model.CpSolver) -> Plan:
    chosen = np.asarray(solver.response_proto.solution, dtype=np.int64)[: len(built.pairs)] == 1
    rows: pd.DataFrame = built.pairs.loc[chosen, ["town_id", "unit_id"]]
    return Plan.from_pairs(list(rows.itertuples(index=False, name=None)))


def _no_plan_message(status: Status, built: BuiltModel) -> str:
    if status is Status.INFEASIBLE:
        rules = ", ".join(sorted(r.value for r in built.constraints)) or "coverage"
        return (f"no plan satisfies the rules together ({rules}, with eligibility and priority "
                "limiting the candidate pairs), although each tier, city and unit has enough capacity on its own")
    if status is Status.UNKNOWN:
        return "no plan found within the time limit; raise --time-limit"
    return "the model is invalid (a bug: please report it with the scenario)"
