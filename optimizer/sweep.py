"""Sweeps: solve every variant of a grid in parallel on dask and collect one table.

The same code runs on a local cluster (``LocalCluster``: one single-threaded worker process per core) and on
an existing dask cluster (``scheduler="tcp://host:8786"``). The base scenario travels to each worker once
(``scatter``, broadcast); a task carries only a variant's settings and rebuilds the variant on the worker
(:func:`optimizer.grid.apply`, milliseconds). Each variant is solved with one CP-SAT worker and the scenario's
seed, its Lagrangian search started where its hub's ended (:func:`hubs`; a hub starts where the base scenario's
ends, :func:`base_start`, solved once before the tasks), audited, and reported in variant order, so the table is
the same however the tasks were scheduled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import operator
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from models import Scenario, SolveResult, Tier

from .audit import audit, plan_value
from .grid import Variant, apply
from .model.build import candidate_pairs
from .network import WarmStart, relax
from .pareto import pareto_front
from .report import continuity_counts, neutralise
from .solve import solve

if TYPE_CHECKING:
    from distributed import Client

RESULT_COLUMNS = ["status", "objective", "value", "bound", "gap", "path", "changes",
                  *(t.value for t in Tier), "audit_passed", "build_s", "solve_s", "message"]
"""Per variant, after its id and settings: the solve's evidence, plan value without the stability rewards,
changed previous leads, towns per tier, the audit's verdict, seconds, and why there is no plan."""
SECONDS = ("build_s", "solve_s")
"""The only columns that differ between two runs of the same sweep."""

Progress = Callable[[int, int], None]
"""Called with (variants done, variants in all) as results arrive."""


def solve_variant(base: Scenario, settings: Mapping[str, Any], time_limit: float | None = None,
                  warm: WarmStart | None = None) -> dict[str, Any]:
    """One task: build the variant from the base scenario, solve it (one CP-SAT worker, the scenario's seed,
    the Lagrangian search started at ``warm``) and audit the plan. Returns the :data:`RESULT_COLUMNS` of its row."""
    return solve_hub(base, settings, time_limit, warm)[0]


def solve_hub(base: Scenario, settings: Mapping[str, Any], time_limit: float | None = None,
              warm: WarmStart | None = None) -> tuple[dict[str, Any], WarmStart | None]:
    """:func:`solve_variant`, and where the variant's search ended: the start of the variants that follow it
    (:func:`hubs`). A hub that fails (a bug) gives its ``ERROR`` row and hands on ``warm``, so that the variants
    following it are still solved, from the base's start, instead of failing with it."""
    try:
        scenario = apply(base, settings)
        result = solve(scenario, time_limit=time_limit, workers=1, warm=warm)
        return result_row(scenario, result), result.warm_start
    except Exception as error:  # noqa: BLE001 - reported in the row, as the sweep reports any failed task
        return _error_row(error), warm


def hubs(variants: Sequence[Variant]) -> list[int]:
    """For each variant, the position of the variant whose search it starts from; its own position when it
    starts from the base (:func:`base_start`). A variant follows the first variant that differs from it only in
    its first setting (in a product grid: the first axis): those hubs are solved first, the others then start
    where their hub's search ended. On the Guangdong grid, whose first axis is ``max_changes``, that takes 46 %
    fewer network solves than starting every variant from the base, and still no variant's plan depends on the
    schedule."""
    first: dict[str, int] = {}
    out = []
    for position, variant in enumerate(variants):
        items = list(variant.settings.items())
        if not items:
            out.append(position)
            continue
        rest = json.dumps([items[0][0], *items[1:]], sort_keys=True, ensure_ascii=False, default=str)
        out.append(first.setdefault(rest, position))
    return out


def base_start(base: Scenario) -> WarmStart | None:
    """Where the base scenario's Lagrangian search ends (its prices and the plans it meets), where the hubs'
    searches start (:func:`hubs`): variants are changes of it, so their prices are near and many of its plans
    are still flows, i.e. cuts. Computed once, before the tasks, so that no variant's plan depends on the
    schedule. None when the base's network has no flow (each task then says why)."""
    pairs, _ = candidate_pairs(base)
    relaxation = relax(base, pairs)
    return None if relaxation is None else WarmStart.of(base, pairs, relaxation)


def result_row(scenario: Scenario, result: SolveResult) -> dict[str, Any]:
    """A variant's result columns. ``audit_passed``: the independent audit finds no violation and recomputes
    the solver's objective; ``value`` is the objective without the continuity and baseline rewards, so plans
    made under different weights compare fairly (:func:`optimizer.audit.plan_value`)."""
    row: dict[str, Any] = {"status": result.status.value, "objective": result.objective, "value": None,
                           "bound": result.best_bound, "gap": result.gap, "path": result.path, "changes": None,
                           **{t.value: None for t in Tier}, "audit_passed": None,
                           "build_s": round(result.build_seconds, 4), "solve_s": round(result.solve_seconds, 4),
                           "message": _message(result)}
    if result.plan is not None:
        report = audit(scenario, result.plan)
        neutral = scenario.policy.model_copy(update={"continuity_weight": 0, "baseline_weight": 0})
        tier_of = {u.unit_id: u.tier.value for u in scenario.units}
        tiers = Counter(tier_of[a.unit_id] for a in result.plan.assignments)
        row |= {"value": plan_value(scenario.model_copy(update={"policy": neutral}), result.plan),
                "changes": continuity_counts(scenario, result.plan)["changed"],
                **{t.value: tiers.get(t.value, 0) for t in Tier},
                "audit_passed": report.passed and report.structure.get("objective") == result.objective}
    return row


def _message(result: SolveResult) -> str:
    """Why there is no plan: the first conflict (a table cell, not a report: `bangfu solve` on the variant says
    more), or the solver's message."""
    if not result.conflicts:
        return result.message
    more = len(result.conflicts) - 1
    return result.conflicts[0].message + (f" (and {more} more conflict{'s' if more > 1 else ''})" if more else "")


def sweep(scenario: Scenario, variants: Sequence[Variant], *, workers: int | None = None,
          scheduler: str | None = None, time_limit: float | None = None,
          progress: Progress | None = None) -> pd.DataFrame:
    """Solve every variant on dask and return one row per variant, in variant order.

    ``scheduler`` is the address of a running dask scheduler (``tcp://host:8786``); without it a
    ``LocalCluster`` of ``workers`` processes (default: one per core) runs on this machine. The workers of a
    cluster need bangfu installed. Columns: ``variant``, each grid key's value, :data:`RESULT_COLUMNS`, and
    ``pareto`` (no other plan has fewer changes and at least the value, or the changes and more value).
    A task that fails (a bug, a lost worker) gives a row of status ``ERROR`` with the error as message. A
    malformed address raises ``ValueError``; an unreachable scheduler ``OSError``.

    >>> from optimizer import load_scenario
    >>> from optimizer.grid import GridFile, variants
    >>> from optimizer.sweep import sweep
    >>> base = load_scenario("scenarios/tiny/scenario.yaml")
    >>> grid = GridFile(axes={"policy.continuity_weight": [0, 50]})   # or read_grid("grid.yaml")
    >>> table = sweep(base, variants(grid, base), workers=1)
    >>> table[["policy.continuity_weight", "status", "changes", "pareto"]].values.tolist()
    [[0, 'OPTIMAL', 2, True], [50, 'OPTIMAL', 1, True]]
    """
    if not variants:
        return sweep_table(variants, [])
    warm = base_start(scenario)
    starts = hubs(variants)
    with _client(scheduler, workers or min(os.cpu_count() or 1, len(variants))) as client:
        from distributed import as_completed

        base = client.scatter(scenario, broadcast=True, hash=False)  # type: ignore[no-untyped-call]
        hub = {i: client.submit(solve_hub, base, dict(variants[i].settings), time_limit, warm, pure=False)
               for i in sorted(set(starts))}
        hub_warm = {i: client.submit(operator.itemgetter(1), future, pure=False) for i, future in hub.items()}
        futures = [client.submit(operator.itemgetter(0), hub[i], pure=False) if i == h else
                   client.submit(solve_variant, base, dict(v.settings), time_limit, hub_warm[h], pure=False)
                   for i, (v, h) in enumerate(zip(variants, starts, strict=True))]
        index = {future.key: i for i, future in enumerate(futures)}
        rows: list[dict[str, Any]] = [{} for _ in variants]
        try:
            done = as_completed(futures, loop=client.loop, with_results=True,  # type: ignore[no-untyped-call]
                                raise_errors=False)
            for count, (future, outcome) in enumerate(done, 1):
                rows[index[future.key]] = outcome if isinstance(outcome, dict) else _error_row(outcome)
                if progress:
                    progress(count, len(variants))
        finally:  # also on Ctrl-C: a shared cluster must not go on solving a sweep nobody waits for
            client.cancel([*futures, *hub_warm.values(), *hub.values()])  # type: ignore[no-untyped-call]
    return sweep_table(variants, rows)


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int) -> Iterator[Client]:
    """A client of the cluster at ``scheduler``, or of a new local cluster of single-threaded processes.

    ``distributed`` is imported here, not at the top: it costs about half a second, which every other
    ``bangfu`` command would pay. The scheduler's HTTP server takes a free port (``:0``), so two sweeps on one
    machine do not contend for dask's default 8787."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        check_address(scheduler)
        with Client(scheduler, set_as_default=False) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    with (LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,  # type: ignore[no-untyped-call]
                       dashboard_address=":0", silence_logs=logging.ERROR) as cluster,
          Client(cluster, set_as_default=False) as client):  # type: ignore[no-untyped-call]
        yield client


def check_address(address: str) -> None:
    """Raise ``ValueError`` for a malformed address now: a ``Client`` that fails on one later leaves threads
    running, and the process hangs on exit."""
    from distributed.comm.addressing import parse_address
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        with contextlib.suppress(NotImplementedError):  # inproc:// (an in-process cluster) has no host and port
            get_backend(scheme).get_address_host_port(location)  # type: ignore[no-untyped-call]
    except ValueError as exc:
        raise ValueError(f"bad dask scheduler address {address!r}: {exc}") from None


def _error_row(error: BaseException) -> dict[str, Any]:
    return {column: None for column in RESULT_COLUMNS} | {"status": "ERROR", "audit_passed": False,
                                                          "message": f"{type(error).__name__}: {error}"}


_INTEGERS = ("objective", "value", "changes", *(t.value for t in Tier))


def sweep_table(variants: Sequence[Variant], rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The sweep table: settings as the grid gives them (object columns: 2 stays 2 beside an empty value),
    counts as nullable integers, then the Pareto flag."""
    keys = list(dict.fromkeys(k for v in variants for k in v.values))
    columns: dict[str, pd.Series] = {"variant": pd.Series([v.id for v in variants], dtype=object)}
    columns |= {key: pd.Series([v.values.get(key) for v in variants], dtype=object) for key in keys}
    for name in RESULT_COLUMNS:
        values = [row.get(name) for row in rows]
        dtype = "Int64" if name in _INTEGERS else "boolean" if name == "audit_passed" else \
            "float64" if name in ("bound", "gap", *SECONDS) else object
        columns[name] = pd.Series(values, dtype=dtype)
    frame = pd.DataFrame(columns)
    has_plan = frame["status"].isin(["OPTIMAL", "FEASIBLE"]) & frame["audit_passed"].eq(True).fillna(False)
    front = pareto_front(frame.loc[has_plan, "changes"].to_numpy(dtype=float),
                         frame.loc[has_plan, "value"].to_numpy(dtype=float))
    frame["pareto"] = False
    frame.loc[has_plan[has_plan].index[front], "pareto"] = True
    return frame


def setting_columns(table: pd.DataFrame) -> list[str]:
    """The grid keys' columns of a sweep table (between ``variant`` and ``status``)."""
    return list(table.columns[1: table.columns.get_loc("status")])


def sweep_csv(table: pd.DataFrame) -> str:
    """The text of ``sweep.csv``: settings as written in the grid (lists and mappings as JSON), no value as an
    empty cell, formula-like text neutralised (:func:`optimizer.report.neutralise`)."""
    def cell(value: Any) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, list | dict):
            return json.dumps(value, ensure_ascii=False)
        return str(neutralise(value))
    out = table.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = [cell(v) for v in out[name]]
    text: str = out.to_csv(index=False)
    return text
