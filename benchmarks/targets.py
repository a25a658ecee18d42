"""Issue 7's targets in one command: every figure its "Done when" names, measured in one run, with a verdict.

    python benchmarks/targets.py [--repeat 3] [--no-cp-sat] [--no-sweep] [--time-limit 120]

- Lead plans (``benchmarks/run.py``'s children, one process per solve): the Guangdong scenario and the all-pairs
  instance (1,127 key towns, 2,100 units, 711,577 candidate pairs), each with bangfu as shipped and HiGHS MIP on
  the same model (medians of ``--repeat``), and CP-SAT alone once (4 workers; 13 GB on all-pairs: ``--no-cp-sat``
  skips it).
- Staffing (``benchmarks/staffing.py``'s children): the 12,000- and 22,000-cadre instances, the shipped flow
  against HiGHS and CP-SAT on the same arcs.
- The 200-variant sweep of ``scenarios/guangdong-2021/sweep.yaml`` on a new ``LocalCluster`` (``bangfu sweep``),
  wall time including the cluster's start (``--no-sweep`` skips it).

Then one table: target, measured, verdict. Speed is reported, never asserted: the machine is shared, so read the
load average printed at the end before quoting a figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks import run as lead  # noqa: E402
from benchmarks import staffing  # noqa: E402

GUANGDONG = ROOT / "scenarios" / "guangdong-2021"


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median_low([r[key] for r in runs]))


def lead_runs(instance: str, solver: str, repeat: int, args: argparse.Namespace,
              console: Console) -> list[dict[str, Any]]:
    runs = []
    for i in range(repeat):
        r = lead._spawn(instance, solver, args)
        console.print(f"{instance} / {solver} run {i + 1} of {repeat}: {r['status']} {r['objective']} "
                      f"({r['path'] or '—'}), build {r['build_seconds']:.2f} s, solve {r['solve_seconds']:.2f} s, "
                      f"peak {r['peak_mb']:.0f} MB", style="dim")
        runs.append(r)
    return runs


def sweep_seconds(console: Console) -> tuple[float, str]:
    """Wall seconds of the shipped sweep on a new local cluster, and its statuses."""
    from benchmarks.sweep import run as run_sweep
    from models import load_scenario
    from optimizer.grid import load_variants

    scenario = load_scenario(GUANGDONG / "scenario.yaml")
    variants = load_variants(GUANGDONG / "sweep.yaml", scenario)
    table, wall, _ = run_sweep("local", scenario, variants, os.cpu_count() or 1, None)
    statuses = ", ".join(f"{s}×{n}" for s, n in table["status"].value_counts().items())
    paths = ", ".join(f"{p}×{n}" for p, n in table["path"].value_counts().items())
    console.print(f"sweep: {len(variants)} variants in {wall:.1f} s ({statuses}; {paths})", style="dim")
    return wall, f"{len(variants)} variants, {statuses}, audited {int(table['audit_passed'].sum())}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs of bangfu and HiGHS per instance (medians)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per solve")
    parser.add_argument("--no-cp-sat", action="store_true", help="skip CP-SAT alone (13 GB on all-pairs)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the 200-variant sweep")
    args = parser.parse_args()
    spawn_args = argparse.Namespace(time_limit=args.time_limit, workers=4, seed=0)
    console = Console(width=None if sys.stdout.isatty() else 200)
    load_before = os.getloadavg()[0]
    rows: list[tuple[str, str, bool]] = []

    for instance in ("guangdong", "all-pairs"):
        ours = lead_runs(instance, "bangfu", args.repeat, spawn_args, console)
        highs = lead_runs(instance, "highs", args.repeat, spawn_args, console)
        build, solve = _median(ours, "build_seconds"), _median(ours, "solve_seconds")
        peak, status = _median(ours, "peak_mb"), {r["status"] for r in ours}
        ratio = _median(highs, "solve_seconds") / solve
        if not args.no_cp_sat:
            cp_sat = lead_runs(instance, "cp-sat", 1, spawn_args, console)[0]
            console.print(f"{instance}: CP-SAT alone {cp_sat['status']} in {cp_sat['solve_seconds']:.1f} s "
                          f"(gap {cp_sat['gap']}), peak {cp_sat['peak_mb']:.0f} MB", style="dim")
        proven = status == {"OPTIMAL"}
        if instance == "guangdong":
            rows += [("Guangdong: proven optimal, solve < 1 s", f"{solve:.2f} s, {'/'.join(status)}",
                      proven and solve < 1),
                     ("Guangdong: ≥ 20× faster than HiGHS MIP",
                      f"{ratio:.1f}× ({_median(highs, 'solve_seconds'):.2f} s)", ratio >= 20)]
        else:
            rows.append(("711k pairs: optimal in < 5 s, < 1 GB", f"{solve:.2f} s, {peak:.0f} MB peak, "
                         f"{'/'.join(status)}, {ratio:.0f}× faster than HiGHS", proven and solve < 5 and peak < 1024))
        share = build / (build + solve)
        rows.append((f"{instance}: build < 10 % of the solve", f"{build:.2f} s of {build + solve:.2f} s = {share:.0%}",
                     share < 0.10))

    for instance, limit in (("staff-12k", 1.0), ("staff-22k", 2.0)):
        results = {solver: staffing.spawn(instance, solver, args.time_limit)
                   for solver in ("flow", "highs", *(() if args.no_cp_sat else ("cp-sat",)))}
        flow = results["flow"]
        if flow is None:
            rows.append((f"{instance}: optimal in < {limit:g} s", "failed", False))
            continue
        peers = ", ".join(f"{name} {r['solve_seconds']:.2f} s {r['status']}" for name, r in results.items()
                          if name != "flow" and r is not None)
        seconds = flow["build_seconds"] + flow["solve_seconds"]
        rows.append((f"{instance}: optimal in < {limit:g} s", f"{seconds:.2f} s {flow['status']} ({peers})",
                     flow["status"] == "OPTIMAL" and seconds < limit))

    if not args.no_sweep:
        wall, note = sweep_seconds(console)
        rows.append(("200-variant sweep < 60 s locally", f"{wall:.1f} s ({note})", wall < 60))

    table = Table(title=f"Issue 7 targets ({os.cpu_count()} CPUs)")
    for name in ("target", "measured", "met"):
        table.add_column(name)
    for target, measured, met in rows:
        table.add_row(target, measured, "yes" if met else "NO")
    console.print(table)
    console.print(f"1-minute load average: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
