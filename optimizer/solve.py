"""The single solve entry point: scenario in, typed :class:`models.SolveResult` out."""

from __future__ import annotations

import gc
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import ortools
import pandas as pd
from ortools.sat.python import cp_model

from models import Conflict, Plan, Rule, Scenario, SolveResult, SolverSettings, Status, Tier
from models.policy import Method

from .checks import presolve_checks
from .lexicographic import check_range, solve_lexicographic
from .model import BuiltModel, build_model
from .model.build import candidate_pairs
from .model.unassigned import VACANCY
from .network import WarmStart, relax, side_rows, top_per_group
from .teams.groups import with_groups

RESTRICTED_TOP_K = 3
"""Besides every pair a flow solution used, the restricted model keeps each town's best few pairs."""
HINT_SHARE = 0.1
"""Share of the remaining time the restricted model may spend looking for a hint to the full model."""

_STATUS = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.FEASIBLE,
    cp_model.INFEASIBLE: Status.INFEASIBLE,
    cp_model.UNKNOWN: Status.UNKNOWN,
    cp_model.MODEL_INVALID: Status.MODEL_INVALID,
}

ProgressCallback = Callable[[float, float, float], None]
"""Called as the solve improves, with (seconds since the solve began, best objective or NaN, best bound): after
the network path's bound, and on every CP-SAT solution."""


class _Progress(cp_model.CpSolverSolutionCallback):
    """CP-SAT's solution callback, reporting time from the start of the whole solve."""

    def __init__(self, callback: ProgressCallback, start: float) -> None:
        super().__init__()
        self._callback = callback
        self._start = start

    def on_solution_callback(self) -> None:
        self._callback(time.perf_counter() - self._start, self.objective_value, self.best_objective_bound)


def settings_for(scenario: Scenario, **overrides: float | int | bool | str | None) -> SolverSettings:
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
        "catch_sigint_signal": False,  # Ctrl-C is handled by solve_interruptibly, not by CP-SAT
    }
    if settings.deterministic and settings.workers > 1:
        params["interleave_search"] = True
    return params


def solve(scenario: Scenario, *, time_limit: float | None = None, workers: int | None = None,
          seed: int | None = None, deterministic: bool | None = None, presolve: bool | None = None,
          method: Method | None = None, progress: ProgressCallback | None = None,
          groups: bool = True, warm: WarmStart | None = None) -> SolveResult:
    """Find the plan of highest objective (README formula) obeying every rule, or say why there is none.

    Arguments left as ``None`` take the scenario's ``solver`` block. ``method="auto"`` tries the network path
    (min-cost flow + Lagrangian bound, :mod:`optimizer.network`) and falls back to CP-SAT, which it hands a hint
    and the bound; ``"cp-sat"`` runs CP-SAT on the full model alone. The result carries the status, the plan,
    objective, best bound and gap, the path that proved it, build and solve seconds, model size and versions.
    When the scenario forms groups, each town's member units are then chosen around its lead
    (:func:`optimizer.teams.groups.compose_groups`) and carried in ``plan.assignments[i].members``;
    ``groups=False`` returns the leads alone (for callers that compare lead plans, e.g. re-solves).
    ``warm`` starts the network path's Lagrangian search where a similar scenario's ended
    (:class:`optimizer.network.WarmStart`: its :attr:`SolveResult.prices`, and the plans it met as cuts): fewer
    evaluations, the same optimum, possibly another of several equally good plans.

    >>> from optimizer import load_scenario, solve
    >>> result = solve(load_scenario("scenarios/tiny/scenario.yaml"), time_limit=10, seed=0)
    >>> result.status.value, len(result.plan), result.gap
    ('OPTIMAL', 10, 0.0)
    """
    if scenario.policy.objective_stages:  # one exact weighted solve (optimizer.lexicographic)
        return solve_lexicographic(scenario, partial(
            solve, time_limit=time_limit, workers=workers, seed=seed, deterministic=deterministic,
            presolve=presolve, method=method, progress=progress, warm=warm))
    with collector_paused():
        return _solve(scenario, settings_for(scenario, time_limit=time_limit, workers=workers, seed=seed,
                                             deterministic=deterministic, presolve=presolve, method=method),
                      progress, groups, warm)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (reference counting still frees everything else).

    A loaded scenario is a heap of hundreds of thousands of frozen rows; the solve allocates arrays and frames,
    which triggers full collections that walk that whole heap for nothing (measured: 44 ms of the 85 ms build of
    the 95k-pair scale instance). The block creates little cyclic garbage, and the collector runs as usual after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _solve(scenario: Scenario, settings: SolverSettings, progress: ProgressCallback | None, groups: bool,
           warm: WarmStart | None) -> SolveResult:
    """:func:`solve` of a scenario without objective stages, with its settings resolved."""
    start = time.perf_counter()
    pairs, pruned = candidate_pairs(scenario)
    check_range(scenario, int(np.abs(pairs["value"].to_numpy()).max(initial=0)), "pair values")
    params = solver_parameters(settings)
    base = _Base(scenario=scenario, pairs=pairs, pruned=pruned, settings=settings, progress=progress,
                 start=time.perf_counter(), build_seconds=time.perf_counter() - start,
                 common=dict(ortools_version=ortools.__version__, parameters=params | {"method": settings.method}))
    conflicts = presolve_checks(scenario, pairs)
    if conflicts:
        return base.result(Status.INFEASIBLE, conflicts=tuple(conflicts),
                           message="the pre-solve checks prove that no plan exists")
    leads = _cp_sat(base, base.build(), path="cp-sat") if settings.method == "cp-sat" else _network_path(base, warm)
    return with_groups(scenario, leads, time_limit=settings.time_limit) if groups else leads


@dataclass
class _Base:
    """What every path needs to finish a result: inputs, settings, the clock and the common fields.

    The full CP-SAT model is built only when a path needs it (:meth:`build`); its build time counts as build
    time, not solve time, and the result reports the size of the model that was solved."""

    scenario: Scenario
    pairs: pd.DataFrame
    pruned: dict[Rule, int]
    settings: SolverSettings
    progress: ProgressCallback | None
    start: float
    build_seconds: float
    common: dict[str, Any]
    rows: int = 0
    warm: WarmStart | None = None  # where the network path's search ended, handed on with every result
    _full: BuiltModel | None = None
    _built_during_solve: float = 0.0

    def build(self, pairs: pd.DataFrame | None = None) -> BuiltModel:
        """The CP-SAT model over ``pairs`` (default: all candidates, kept for later calls)."""
        if pairs is None and self._full is not None:
            return self._full
        built = build_model(self.scenario, self.pairs if pairs is None else pairs, pruned=self.pruned)
        self.build_seconds += built.seconds
        self._built_during_solve += built.seconds
        if pairs is None:
            self._full = built
            self.rows = len(built.model.proto.constraints)
        return built

    def remaining(self) -> float:
        return max(0.01, self.settings.time_limit - self.elapsed())

    def elapsed(self) -> float:
        return time.perf_counter() - self.start - self._built_during_solve

    def result(self, status: Status, **fields: Any) -> SolveResult:
        """The result, its clock stopped before the inputs are fingerprinted (bookkeeping, not solving: 15 ms of
        serialising Guangdong's tables)."""
        seconds = self.elapsed()
        result = SolveResult(status=status, solve_seconds=seconds, build_seconds=self.build_seconds,
                             variables=len(self.pairs), constraints=self.rows, fingerprint=self.scenario.fingerprint(),
                             **self.common, **fields)
        result._warm_start = self.warm
        return result

    def plan_result(self, status: Status, pairs: pd.DataFrame, chosen: np.ndarray, bound: float,
                    path: str) -> SolveResult:
        objective = int(pairs["value"].to_numpy()[chosen].sum())
        if status is Status.OPTIMAL:  # proven: the bound is the objective itself
            bound = objective
        rows = pairs.loc[chosen & ~pairs[VACANCY].to_numpy(), ["town_id", "unit_id"]]  # a vacancy: no lead
        return self.result(status, plan=Plan.from_pairs(list(rows.itertuples(index=False, name=None))),
                           objective=objective, best_bound=bound, path=path,
                           gap=max(0.0, (bound - objective) / max(1.0, abs(objective))))


def _network_path(base: _Base, warm: WarmStart | None) -> SolveResult:
    """Flow + Lagrangian bound; certified, or closed by a restricted CP-SAT, or handed to the full CP-SAT."""
    pairs = base.pairs
    values = pairs["value"].to_numpy()

    def restricted(keep: np.ndarray, target: int, floor: int | None, share: float,
                   hint: np.ndarray | None) -> np.ndarray | None:
        """The best plan among the ``keep`` pairs worth ``floor``…``target`` (CP-SAT, presolve off: its probing
        took 30 s on 2,500 pairs that the search alone settles in 0.1 s), or None."""
        if hint is not None:
            keep = keep | hint
        model = base.build(pairs[keep])
        if hint is not None:
            _hint(model, hint[keep])
        _cap_objective(model, target, floor)
        _, chosen = _run_cp_sat(base, model, workers=1, presolve=False, share=share)
        if chosen is None:
            return None
        plan = np.zeros(len(pairs), dtype=bool)
        plan[np.flatnonzero(keep)[chosen]] = True
        return plan

    early: list[np.ndarray] = []  # the plan the search's primal step proved optimal, if it did

    def primal(target: int, support: np.ndarray) -> np.ndarray | None:
        plan = restricted(support, target, target, 1.0, None)
        if plan is not None:
            early.append(plan)
        return plan

    relaxation = relax(base.scenario, pairs, primal=primal, start=warm)
    flow_rows = len(base.scenario.key_towns) + len(Tier) + len(base.scenario.units)
    if relaxation is None:
        base.rows = flow_rows + len(side_rows(base.scenario, pairs))
        return base.result(Status.INFEASIBLE, path="network", conflicts=(Conflict(
            rules=(Rule.COVERAGE, Rule.TIER_QUOTA, Rule.CAPACITY, Rule.ELIGIBILITY),
            message="no assignment gives every key town one lead while meeting the tier quotas and the units' "
                    "capacities (a min-cost flow over the eligible pairs proves it)",
            message_zh="在可牵头的单位—重点帮扶对象配对中，无法在满足各层级比例（tier_ratio）和各单位 capacity 的同时"
                       "为每个重点帮扶对象确定一个牵头单位（可牵头配对上的最小费用流证明了这一点）"),),
            message="the network of eligible pairs has no feasible flow")
    rows = relaxation.keys
    base.rows = flow_rows + len(rows)
    base.common["prices"] = relaxation.prices
    base.warm = WarmStart.of(base.scenario, pairs, relaxation)
    bound = relaxation.bound
    if base.progress:
        best = math.nan if relaxation.best_value is None else float(relaxation.best_value)
        base.progress(base.elapsed(), best, bound)
    if relaxation.certified and relaxation.best is not None:
        path = "restricted" if early else "lagrangian" if rows else "network"
        return base.plan_result(Status.OPTIMAL, pairs, relaxation.best, bound, path)
    target = math.floor(bound + 1e-9)
    if target < -int(np.abs(values).sum()):  # below any plan's value: the side rows clash
        return _clash(base, pairs)
    # Restricted models over the pairs the flows used (and each town's best few): first "is there a plan worth the
    # bound here?" (found: optimal), then, for a hint to the full model, the best plan there.
    hint = relaxation.best
    best_per_town = top_per_group(values, pairs["t"].to_numpy(), RESTRICTED_TOP_K)
    for keep, floor, share in ((relaxation.support, target, 1.0), (relaxation.seen | best_per_town, target, 1.0),
                               (relaxation.seen | best_per_town, None, HINT_SHARE)):
        plan = restricted(keep, target, floor, share, hint)
        if plan is not None:
            if int(values[plan].sum()) >= target:
                return base.plan_result(Status.OPTIMAL, pairs, plan, bound, "restricted")
            if hint is None or int(values[plan].sum()) > int(values[hint].sum()):
                hint = plan
    if hint is None and _side_rows_clash(base.scenario, pairs):
        return _clash(base, pairs)
    full = base.build()
    if hint is not None:
        _hint(full, hint)
    _cap_objective(full, target)
    result = _cp_sat(base, full, path="cp-sat", bound=bound)
    if relaxation.best is not None and relaxation.best_value is not None and (
            result.objective is None or result.objective < relaxation.best_value):
        # CP-SAT ran out of time below a plan the flow already found (which meets every side row): keep that one
        proven = result.best_bound if result.best_bound is not None else bound
        return base.plan_result(Status.FEASIBLE, pairs, relaxation.best, min(bound, proven), "lagrangian")
    return result


def _clash(base: _Base, pairs: pd.DataFrame) -> SolveResult:
    return base.result(Status.INFEASIBLE, path="lagrangian", conflicts=(Conflict(
        rules=tuple(dict.fromkeys(row.rule for row in side_rows(base.scenario, pairs))),
        message="the city quotas, the change caps and the lead counts cannot all hold together with the tier "
                "quotas and capacities (the Lagrangian bound of the flow network proves it)",
        message_zh="各市分层级名额（city_quotas）、调整上限（max_changes、max_baseline_changes）和牵头数量（lead_counts）"
                   "无法与层级比例（tier_ratio）及各单位 capacity 同时满足（流网络的拉格朗日上界证明了这一点）"),),
        message="the side rows of the network cannot all be met")


def _side_rows_clash(scenario: Scenario, pairs: pd.DataFrame) -> bool:
    """Phase one: with every value zero, a negative Lagrangian bound proves that no fractional assignment meets
    the side rows (the priced objective can only sink below 0 when the rows are violated everywhere)."""
    phase_one = relax(scenario, pairs.assign(value=0))
    return phase_one is not None and phase_one.bound < -1e-6


def _hint(built: BuiltModel, chosen: np.ndarray) -> None:
    """A complete solution hint (only a speed-up: CP-SAT does not promise to keep it)."""
    hint = built.model.proto.solution_hint
    hint.vars.extend(range(len(chosen)))
    hint.values.extend(chosen.astype(np.int64).tolist())


def _cap_objective(built: BuiltModel, upper: int, floor: int | None = None) -> None:
    """``floor`` ≤ objective ≤ ``upper`` (the proven Lagrangian bound), in CP-SAT's internal minimisation form."""
    objective = built.model.proto.objective
    if len(objective.vars):
        lowest = -int(np.abs(built.pairs["value"].to_numpy()).sum()) if floor is None else floor
        objective.domain.extend([-upper, -lowest])


def _run_cp_sat(base: _Base, built: BuiltModel, workers: int | None = None, presolve: bool | None = None,
                share: float = 1.0) -> tuple[Status, np.ndarray | None]:
    """Solve ``built`` within ``share`` of the remaining time; the status and the chosen pairs (if any)."""
    solver = _solver(base, workers)
    solver.parameters.max_time_in_seconds = share * base.remaining()
    if presolve is not None:
        solver.parameters.cp_model_presolve = presolve
    status = _STATUS[solve_interruptibly(solver, built.model, _Progress(base.progress, base.start) if base.progress else None)]
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        return status, None
    return status, np.asarray(solver.response_proto.solution, dtype=np.int64)[: len(built.pairs)] == 1


def _solver(base: _Base, workers: int | None) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    params = solver_parameters(base.settings) | {"max_time_in_seconds": base.remaining()}
    if workers is not None:
        params = {k: v for k, v in params.items() if k != "interleave_search"} | {"num_workers": workers}
    for name, value in params.items():
        setattr(solver.parameters, name, value)
    return solver


def _cp_sat(base: _Base, built: BuiltModel, path: str, bound: float = math.inf) -> SolveResult:
    solver = _solver(base, None)
    status = _STATUS[solve_interruptibly(solver, built.model, _Progress(base.progress, base.start) if base.progress else None)]
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        return base.result(status, path=path, message=_no_plan_message(status, built))
    chosen = np.asarray(solver.response_proto.solution, dtype=np.int64)[: len(built.pairs)] == 1
    cp_bound = min(bound, solver.best_objective_bound)
    if status is Status.OPTIMAL and int(built.pairs["value"].to_numpy()[chosen].sum()) < math.floor(cp_bound + 1e-9):
        status = Status.FEASIBLE  # CP-SAT says OPTIMAL when relative_gap stopped it: not a proof, keep the gap
    return base.plan_result(status, built.pairs, chosen, cp_bound, path)


def solve_interruptibly(solver: cp_model.CpSolver, model: cp_model.CpModel,
                         callback: cp_model.CpSolverSolutionCallback | None) -> Any:
    """``solver.solve`` in a helper thread, so that Ctrl-C reaches the calling (main) thread at once: the search
    is then stopped with ``stop_search`` and the ``KeyboardInterrupt`` re-raised, with no result. Every CP-SAT
    solve of bangfu goes through here (also :mod:`optimizer.diagnose`'s).

    While the main thread is inside ``solve`` (C++), Python cannot run its signal handler, so a Ctrl-C would wait
    for the time limit. CP-SAT's own SIGINT handling (``catch_sigint_signal``, off in :func:`solver_parameters`)
    ends the search as the time limit would, so the caller could not tell an interruption from a result, and
    ortools 9.15 leaves SIGINT at its default action after the solve (the next Ctrl-C kills the process).
    """
    solver.parameters.catch_sigint_signal = False
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["status"] = solver.solve(model, callback)
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="cp-sat", daemon=True).start()
    try:
        while not done.wait(0.1):  # Event.wait, not Thread.join: an interrupted join corrupts the thread's state
            pass
    except KeyboardInterrupt:
        while not done.is_set():  # a stop before the search has started is lost, so repeat it
            solver.stop_search()
            done.wait(0.02)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["status"]


def _no_plan_message(status: Status, built: BuiltModel) -> str:
    if status is Status.INFEASIBLE:
        rules = ", ".join(sorted(r.value for r in built.constraints)) or "coverage"
        return (f"no plan satisfies the rules together ({rules}, with eligibility and priority "
                "limiting the candidate pairs), although each tier, city and unit has enough capacity on its own")
    if status is Status.UNKNOWN:
        return "no plan found within the time limit; raise --time-limit"
    return "the model is invalid (a bug: please report it with the scenario)"
