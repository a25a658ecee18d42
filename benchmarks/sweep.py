"""Time a sweep: the Guangdong scenario's 200-variant grid, on dask, with each way of running it.

    python benchmarks/sweep.py [--grid scenarios/guangdong-2021/sweep.yaml] [--workers 2]
                               [--backends local,scheduler,processes] [--limit N | --sample N] [--time-limit S]

Backends, all on the same tasks (:func:`optimizer.sweep.solve_variant`, one CP-SAT worker each):

- ``local``: :func:`optimizer.sweep.sweep` as ``bangfu sweep`` runs it: a new ``LocalCluster`` of single-threaded
  worker processes, the scenario scattered to each worker once. The wall time includes starting the cluster.
- ``scheduler``: the same function given the address of a cluster started beforehand (``--scheduler``): the
  path of a remote cluster, over TCP. The wall time excludes the cluster's start, reported apart.
- ``processes``: dask's multiprocessing scheduler (``dask.compute(..., scheduler="processes")``) on the same
  tasks; it sends a task's inputs with every task, so the scenario travels once per variant.

The table: variants, workers, wall seconds, median seconds per variant (build + solve, as measured inside the
task), their sum, the speed-up over one worker (sum ÷ wall), statuses, the solve paths that proved the variants,
and whether the table equals the first backend's (every column but the seconds).
"""

from __future__ import annotations

import argparse
import operator
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from models import Scenario, load_scenario  # noqa: E402
from optimizer.grid import Variant, load_variants  # noqa: E402
from optimizer.sweep import (SECONDS, base_start, hubs, solve_hub, solve_variant, sweep, sweep_csv,  # noqa: E402
                             sweep_table)

GUANGDONG = ROOT / "scenarios" / "guangdong-2021"
BACKENDS = ("local", "scheduler", "processes")


def _processes(scenario: Scenario, variants: list[Variant], workers: int,
               time_limit: float | None) -> pd.DataFrame:
    """The same tasks on dask's multiprocessing scheduler (the alternative to a LocalCluster)."""
    import dask

    base = dask.delayed(scenario, name="base-scenario")
    warm, starts = base_start(scenario), hubs(variants)  # as sweep() does: hubs from the base, the rest from hubs
    hub = {i: dask.delayed(solve_hub, pure=False)(base, dict(variants[i].settings), time_limit, warm)
           for i in sorted(set(starts))}
    hub_warm = {i: dask.delayed(operator.itemgetter(1))(task) for i, task in hub.items()}
    tasks = [dask.delayed(operator.itemgetter(0))(hub[i]) if i == h else
             dask.delayed(solve_variant, pure=False)(base, dict(v.settings), time_limit, hub_warm[h])
             for i, (v, h) in enumerate(zip(variants, starts, strict=True))]
    rows = dask.compute(*tasks, scheduler="processes", num_workers=workers)
    return sweep_table(variants, list(rows))


def run(backend: str, scenario: Scenario, variants: list[Variant], workers: int,
        time_limit: float | None) -> tuple[pd.DataFrame, float, str]:
    """The sweep table, its wall seconds, and a note (the cluster's start for ``scheduler``)."""
    if backend == "processes":
        start = time.perf_counter()
        return _processes(scenario, variants, workers, time_limit), time.perf_counter() - start, ""
    if backend == "local":
        start = time.perf_counter()
        return sweep(scenario, variants, workers=workers, time_limit=time_limit), time.perf_counter() - start, ""
    from distributed import LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster:
        note = f" (+{time.perf_counter() - start:.1f} s cluster start)"
        start = time.perf_counter()
        table = sweep(scenario, variants, scheduler=cluster.scheduler_address, time_limit=time_limit)
        return table, time.perf_counter() - start, note


def _same(a: pd.DataFrame, b: pd.DataFrame) -> str:
    """``yes``, or ``NO`` with the columns that differ and in how many rows (the seconds aside)."""
    a, b = a.drop(columns=list(SECONDS)), b.drop(columns=list(SECONDS))
    if a.equals(b):
        return "yes"
    differ = {c: int((a[c].astype(str) != b[c].astype(str)).sum()) for c in a.columns}
    return "NO: " + ", ".join(f"{c} in {n}" for c, n in differ.items() if n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", type=Path, default=GUANGDONG / "scenario.yaml")
    parser.add_argument("--grid", type=Path, default=GUANGDONG / "sweep.yaml")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--backends", default="local", help=f"comma list of {', '.join(BACKENDS)}")
    parser.add_argument("--limit", type=int, help="only the first N variants (a quick check)")
    parser.add_argument("--sample", type=int, help="only N variants evenly spread over the grid (an estimate)")
    parser.add_argument("--time-limit", type=float, help="seconds per variant (default: the scenario's)")
    parser.add_argument("--csv", type=Path, help="write the first backend's table here (sweep.csv's format)")
    args = parser.parse_args()
    backends = args.backends.split(",")
    if unknown := [b for b in backends if b not in BACKENDS]:
        parser.error(f"unknown backend(s): {', '.join(unknown)}")
    scenario = load_scenario(args.scenario)
    variants = load_variants(args.grid, scenario)[: args.limit]
    if args.sample:
        variants = [variants[i * len(variants) // args.sample] for i in range(min(args.sample, len(variants)))]
    console = Console(width=None if sys.stdout.isatty() else 200)
    load_before = os.getloadavg()[0]
    table = Table(title=f"bangfu sweep: {args.grid.relative_to(ROOT) if args.grid.is_relative_to(ROOT) else args.grid}"
                        f" on {scenario.name}, {os.cpu_count()} CPUs")
    for name in ("backend", "variants", "workers", "wall s", "median s / variant", "sum s", "speed-up",
                 "statuses", "paths", "audited", "same table"):
        table.add_column(name, justify="left" if name in ("backend", "statuses", "same table") else "right")
    first: pd.DataFrame | None = None
    for backend in backends:
        result, wall, note = run(backend, scenario, variants, args.workers, args.time_limit)
        seconds = result[list(SECONDS)].sum(axis=1)
        plans = result["audit_passed"].notna()
        same = "—" if first is None else _same(first, result)
        if first is None and args.csv:
            args.csv.write_text(sweep_csv(result), encoding="utf-8")
        first = result if first is None else first
        statuses = " ".join(f"{s}×{n}" for s, n in result["status"].value_counts(sort=False).items())
        table.add_row(backend, str(len(result)), str(args.workers), f"{wall:.1f}{note}",
                      f"{statistics.median(seconds):.2f}", f"{seconds.sum():.1f}", f"{seconds.sum() / wall:.2f}",
                      statuses, " ".join(f"{p or '—'}×{n}" for p, n in result["path"].value_counts().items()),
                      f"{int(result['audit_passed'][plans].sum())}/{int(plans.sum())}", same)
        console.print(f"{backend}: {len(result)} variants in {wall:.1f} s", style="dim")
    console.print(table)
    load = (load_before, os.getloadavg()[0])
    busy = " (above the CPU count: other processes shared the CPUs, times are inflated)" if max(load) > (
        os.cpu_count() or 1) else ""
    console.print(f"1-minute load average: {load[0]:.1f} before, {load[1]:.1f} after{busy}")
    return 0 if first is None or first["audit_passed"].dropna().all() else 1


if __name__ == "__main__":
    sys.exit(main())
