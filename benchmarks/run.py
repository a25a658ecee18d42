"""Benchmark bangfu's solve paths against the same model in HiGHS, one subprocess per solve.

    python benchmarks/run.py [--time-limit 120] [--workers 4] [--instances guangdong,scale,all-pairs] [--repeat 1]

Solvers: ``bangfu`` is :func:`optimizer.solve.solve` as shipped (``method="auto"``: network path, CP-SAT where
needed), ``cp-sat`` is the same function with ``method="cp-sat"`` (CP-SAT alone on the full model), ``highs``
is :func:`benchmarks.highs_peer.solve_with_highs` (the same pairs and rows as a MIP).

Every solve runs in a fresh Python process, which reports its own peak resident memory
(``getrusage(RUSAGE_SELF).ru_maxrss``: interpreter, imports, scenario, model and solver together) and the same
high-water mark just before the build starts, so the difference is what model and solver added.
Exit code 1 when two solvers both say OPTIMAL but disagree on the objective (MISMATCH), or when a scenario
changed while the benchmark ran (CHANGED).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from models import Scenario, load_scenario  # noqa: E402

GUANGDONG = ROOT / "scenarios" / "guangdong-2021" / "scenario.yaml"
SOLVERS = ("bangfu", "cp-sat", "highs")
REFERENCE = "cp-sat"
"""The ratio columns divide each row's seconds by this solver's on the same instance."""
RESULT = "RESULT "
NUMBERS = ("pairs", "variables", "constraints", "build_seconds", "solve_seconds", "objective", "gap", "base_mb",
           "peak_mb")


def _guangdong() -> Scenario:
    return load_scenario(GUANGDONG)


def _scale() -> Scenario:
    from benchmarks.generate import scale_instance
    return scale_instance()


def _all_pairs() -> Scenario:
    """Issue 7's largest lead instance: every one of the 1,127 towns is a key town, 2,100 units of which 2,073 may
    lead (capacity 2.6 × the quotas), 711,577 candidate pairs."""
    from benchmarks.generate import scale_instance
    return scale_instance(n_towns=1127, n_units=2100, key_share=1.0, capacity_slack=2.6)


INSTANCES: dict[str, Callable[[], Scenario]] = {"guangdong": _guangdong, "scale": _scale, "all-pairs": _all_pairs}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_one(instance: str, solver: str, time_limit: float, workers: int, seed: int) -> dict[str, Any]:
    """Solve one instance with one solver in this process; figures plus memory high-water marks in MB."""
    scenario = INSTANCES[instance]()
    base_mb = _peak_mb()
    if solver == "highs":
        from benchmarks.highs_peer import solve_with_highs
        row = solve_with_highs(scenario, time_limit, seed=seed) | {"path": "mip"}
    else:
        from optimizer.solve import solve
        r = solve(scenario, time_limit=time_limit, workers=workers, seed=seed,  # leads only, as the peers solve
                  method="auto" if solver == "bangfu" else "cp-sat", groups=False)
        row = {
            "status": r.status.value, "objective": r.objective, "bound": r.best_bound, "gap": r.gap,
            "build_seconds": r.build_seconds, "solve_seconds": r.solve_seconds, "path": r.path,
            "pairs": r.variables,  # the builder makes exactly one Boolean per candidate pair
            "variables": r.variables, "constraints": r.constraints,
        }
    return row | {"base_mb": base_mb, "peak_mb": _peak_mb(), "fingerprint": scenario.fingerprint()}


def _spawn(instance: str, solver: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run :func:`run_one` in a child process and parse its RESULT line."""
    command = [sys.executable, __file__, "--child", instance, solver, "--time-limit", str(args.time_limit),
               "--workers", str(args.workers), "--seed", str(args.seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{instance}/{solver} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT):])
    return result


def _counted(values: list[str]) -> str:
    """The value when all agree, else each value with its count."""
    seen = Counter(values)
    return values[0] if len(seen) == 1 else " ".join(f"{v}×{n}" for v, n in sorted(seen.items()))


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the numbers over repeats; status and path, with counts when repeats differ."""
    def median(key: str) -> Any:
        values = [r[key] for r in runs if r[key] is not None]
        return statistics.median_low(values) if values else None
    return ({key: median(key) for key in NUMBERS}
            | {"status": _counted([r["status"] for r in runs]), "path": _counted([r["path"] or "—" for r in runs])})


def _fmt(value: Any, spec: str = "") -> str:
    return "—" if value is None else format(value, spec)


def _table(rows: dict[tuple[str, str], dict[str, Any]], args: argparse.Namespace) -> Table:
    table = Table(title=f"bangfu solvers: time limit {args.time_limit:g} s, CP-SAT workers {args.workers}, "
                        f"median of {args.repeat}, {os.cpu_count()} CPUs")
    for name in ("instance", "solver", "path", "pairs", "variables", "constraints", "build s", "solve s", "status",
                 "objective", "gap", "base MB", "peak MB", f"solve ÷ {REFERENCE}", f"total ÷ {REFERENCE}"):
        table.add_column(name, justify="left" if name in ("instance", "solver", "path", "status") else "right")
    for (instance, solver), r in rows.items():
        ratio_solve = ratio_total = "—"
        ref = rows.get((instance, REFERENCE))
        if ref and solver != REFERENCE:
            ratio_solve = f"{r['solve_seconds'] / max(ref['solve_seconds'], 1e-9):.2f}"
            total = r["build_seconds"] + r["solve_seconds"]
            ratio_total = f"{total / (ref['build_seconds'] + ref['solve_seconds']):.2f}"
        table.add_row(instance, solver, r["path"], _fmt(r["pairs"], ","), _fmt(r["variables"], ","),
                      _fmt(r["constraints"], ","), _fmt(r["build_seconds"], ".2f"), _fmt(r["solve_seconds"], ".2f"),
                      r["status"], _fmt(r["objective"], ","), _fmt(r["gap"], ".2e"), _fmt(r["base_mb"], ".0f"),
                      _fmt(r["peak_mb"], ".0f"), ratio_solve, ratio_total)
    return table


def _mismatches(runs: dict[tuple[str, str], list[dict[str, Any]]]) -> list[str]:
    """MISMATCH lines: an instance whose OPTIMAL runs (of any solver) report different objectives.

    Runs are compared only on the same scenario fingerprint; a scenario (or schema) changed while the benchmark
    ran gets a CHANGED line instead.
    """
    out = []
    for instance in dict.fromkeys(i for i, _ in runs):
        mine = [r for s in SOLVERS for r in runs.get((instance, s), [])]
        if len({r["fingerprint"] for r in mine}) > 1:
            out.append(f"CHANGED {instance}: the scenario changed between runs, objectives are not comparable")
            continue
        optimal = {r["objective"] for r in mine if r["status"] == "OPTIMAL"}
        if len(optimal) > 1:
            out.append(f"MISMATCH {instance}: optimal objectives {sorted(optimal)}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per solve (every solver)")
    parser.add_argument("--workers", type=int, default=4, help="CP-SAT search workers")
    parser.add_argument("--instances", default="guangdong,scale", help=f"comma list of {', '.join(INSTANCES)}")
    parser.add_argument("--solvers", default=",".join(SOLVERS), help=f"comma list of {', '.join(SOLVERS)}")
    parser.add_argument("--repeat", type=int, default=1, help="solves per (instance, solver); medians reported")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs=2, metavar=("INSTANCE", "SOLVER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(RESULT + json.dumps(run_one(args.child[0], args.child[1], args.time_limit, args.workers, args.seed)))
        return 0
    instances, solvers = args.instances.split(","), args.solvers.split(",")
    if unknown := [i for i in instances if i not in INSTANCES] + [s for s in solvers if s not in SOLVERS]:
        parser.error(f"unknown instance(s) or solver(s): {', '.join(unknown)}")
    console = Console(width=None if sys.stdout.isatty() else 220)
    load_before = os.getloadavg()[0]
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for instance in instances:
        if instance == "guangdong" and not GUANGDONG.exists():
            console.print(f"skipped guangdong: {GUANGDONG.relative_to(ROOT)} does not exist yet")
            continue
        for solver in solvers:
            for i in range(args.repeat):
                r = _spawn(instance, solver, args)
                runs.setdefault((instance, solver), []).append(r)
                console.print(f"{instance} / {solver} run {i + 1} of {args.repeat}: {r['status']} {r['objective']} "
                              f"({r['path'] or '—'}), build {r['build_seconds']:.2f} s, "
                              f"solve {r['solve_seconds']:.2f} s, peak {r['peak_mb']:.0f} MB", style="dim")
    console.print(_table({key: _summary(value) for key, value in runs.items()}, args))
    load = (load_before, os.getloadavg()[0])
    busy = " (above the CPU count: other processes shared the CPUs, times are inflated)" if max(load) > (
        os.cpu_count() or 1) else ""
    console.print(f"1-minute load average: {load[0]:.1f} before, {load[1]:.1f} after{busy}")
    problems = _mismatches(runs)
    for line in problems:
        console.print(line, style="bold red")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
