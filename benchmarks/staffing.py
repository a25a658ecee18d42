"""Benchmark team staffing: the first staffing's min-cost flow against HiGHS and CP-SAT on the same model, and the
rotation calendar, on generated province-scale instances. One subprocess per solve.

    python benchmarks/staffing.py [--instances teams600,teams1127,staff-12k,staff-22k]
                                  [--solvers staff,flow,highs,cp-sat,rotation] [--time-limit 60]

Instances (:func:`staffing_instance`, deterministic for a seed): ``teams600`` — 600 towns, 3,000 units, 12,000
cadres; ``teams1127`` — 1,127 towns, 7,000 units, 22,000 cadres. Each town's group is its lead unit and two or
three member units (each member unit joins up to three groups); cadres are spread over the units in proportion
to 12 per town led plus 3 per group joined (largest remainder); a fifth of the lead units are paired with their
first town's county (a county head each); lead units' cadres are more senior (35 % 副处 or above). Cadres: ages about 37 ± 7 (24–58), 90 % Party members, ranks 科员–正处, a
tenth with an availability window, a twentieth with a previous town. ``staff-12k`` and ``staff-22k`` are the
Guangdong-shaped instances of :func:`benchmarks.generate.staffing_instance` (1,127 towns, 7,000 units; 600 teams
and 12,000 cadres, 1,127 teams and 22,000 cadres): their groups are composed by the shipped
:func:`optimizer.teams.groups.compose_groups` (outside the timings, except in ``staff``). ``guangdong`` is the
shipped scenario with its optimal lead plan.

Solvers: ``staff`` is :func:`optimizer.teams.staff.staff` end to end as shipped (groups, first staffing, rotation;
objective: replacements); ``flow`` is :func:`optimizer.teams.cadres.assign_cadres` as shipped; ``highs`` and
``cp-sat`` solve the same arcs and costs (:func:`optimizer.teams.cadres.candidate_arcs`) as a 0/1 program (a
cadre at most once, each post exactly its seats); ``rotation`` is :func:`optimizer.teams.rotation.rotate` on the
flow's staffing (the six-year calendar, CP-SAT per component). The objectives of flow, HiGHS and CP-SAT must
agree when all three prove optimality (exit 1 on a mismatch). The closing table gives each row's path, gap and
its seconds divided by the shipped flow's on the same instance (``÷ flow``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import (Cadre, Category, Plan, Relationship, RelationshipKind, Scenario, Tier,  # noqa: E402
                    Town, Unit, UnitKind)

INSTANCES = {"teams600": (600, 3000, 12000), "teams1127": (1127, 7000, 22000), "teams600x": (600, 3000, 18000)}
SOLVERS = ("staff", "flow", "highs", "cp-sat", "rotation")
RANKS = ("科员", "副科", "正科", "副处", "正处")
RESULT = "RESULT "
GUANGDONG = ROOT / "scenarios" / "guangdong-2021" / "scenario.yaml"


def staffing_instance(n_towns: int, n_units: int, n_cadres: int, seed: int = 0) -> tuple[Scenario, Plan]:
    """A scenario with ``n_towns`` key towns, ``n_units`` units and ``n_cadres`` cadres, and a lead plan with
    groups. Lead units lead one or two towns; the other units are member units."""
    rng = np.random.default_rng(seed)
    counties = [f"县{i:03d}" for i in range(max(1, n_towns // 12))]
    towns = [Town(town_id=f"t{i:04d}", name=f"镇{i}", city=f"市{i % 13:02d}", county=counties[i % len(counties)],
                  category=Category.KEY) for i in range(n_towns)]
    n_leads = (2 * n_towns) // 3
    leads_of = np.concatenate([np.arange(n_leads), np.arange(n_towns - n_leads)])  # each leads one or two
    rng.shuffle(leads_of)
    kinds = (UnitKind.ENTERPRISE, UnitKind.INSTITUTION, UnitKind.RESEARCH)
    units = [Unit(unit_id=f"u{j:04d}", name=f"单位{j}", tier=Tier.PROVINCIAL, capacity=2 if j < n_leads else 0,
                  kind=UnitKind.AGENCY if j < n_leads else kinds[j % 3], member_capacity=0 if j < n_leads else 3)
             for j in range(n_units)]
    pool = np.arange(n_leads, n_units)
    members: dict[str, tuple[str, ...]] = {}
    joined = np.zeros(n_units, dtype=int)
    for i, town in enumerate(towns):
        free = pool[joined[pool] < 3]
        chosen = rng.choice(free, size=min(len(free), int(rng.integers(2, 4))), replace=False)
        joined[chosen] += 1
        members[town.town_id] = tuple(units[j].unit_id for j in sorted(chosen))
    plan = Plan.from_pairs({t.town_id: units[leads_of[i]].unit_id for i, t in enumerate(towns)}).with_members(members)
    pairing = {(units[leads_of[i]].unit_id, t.county) for i, t in enumerate(towns) if i == leads_of[i] and i % 5 == 0}
    relationships = [Relationship(unit_id=u, kind=RelationshipKind.COUNTY_PAIRING, county=c) for u, c in sorted(pairing)]
    # cadres in proportion to the posts a unit staffs: 12 per town led, 3 per group joined, at least 1
    led = np.bincount(leads_of, minlength=n_units)
    weights = np.maximum(1.0, 12.0 * led + 3.0 * joined)
    share = n_cadres * weights / weights.sum()
    count = np.floor(share).astype(int)
    count[rng.choice(n_units, size=n_cadres - count.sum(), replace=False, p=(share - count) / (share - count).sum())] += 1
    owner = np.repeat(np.arange(n_units), count)
    age = np.clip(np.round(rng.normal(37, 7, n_cadres)), 24, 58).astype(int)
    party = rng.random(n_cadres) < 0.9
    party_years = np.where(party, np.minimum(age - 18, rng.integers(0, 20, n_cadres)), 0)
    work_years = np.minimum(age - 22, rng.integers(1, 25, n_cadres))
    rank = np.where(owner < n_leads, rng.choice(len(RANKS), size=n_cadres, p=[0.1, 0.25, 0.3, 0.25, 0.1]),
                    rng.choice(len(RANKS), size=n_cadres, p=[0.2, 0.3, 0.3, 0.15, 0.05]))
    window = rng.random(n_cadres) < 0.1
    previous = rng.random(n_cadres) < 0.05
    town_of_unit: dict[str, str] = {}
    for t, group in zip(towns, (plan.lead_of()[t.town_id] for t in towns), strict=True):
        town_of_unit.setdefault(group, t.town_id)
    cadres = [Cadre(cadre_id=f"c{k:05d}", unit_id=units[owner[k]].unit_id, name=f"干部{k}",
                    party_member=bool(party[k]), party_years=int(party_years[k]), work_years=int(work_years[k]),
                    age=int(age[k]), rank=RANKS[rank[k]],
                    available_until=2024 + int(rng.integers(1, 4)) if window[k] else None,
                    previous_town=town_of_unit.get(units[owner[k]].unit_id) if previous[k] else None)
              for k in range(n_cadres)]
    scenario = Scenario(name=f"staffing-{n_towns}", towns=tuple(towns), units=tuple(units),
                        relationships=tuple(relationships), cadres=tuple(cadres))
    return scenario, plan


def _instance(name: str) -> tuple[Scenario, Plan, Plan]:
    """The scenario, its plan with groups (the teams of the cadre-assignment model) and the plan ``staff`` is given
    (the generated instances leave the groups to it)."""
    from benchmarks.generate import STAFFING_INSTANCES
    if name == "guangdong":  # the shipped scenario: its optimal lead plan, groups as solve() composes them
        from optimizer import load_scenario, solve
        scenario = load_scenario(GUANGDONG)
        plan = solve(scenario).plan
        assert plan is not None
        return scenario, plan, Plan.from_pairs([(a.town_id, a.unit_id) for a in plan.assignments])
    if name not in STAFFING_INSTANCES:
        scenario, plan = staffing_instance(*INSTANCES[name])
        return scenario, plan, plan
    from benchmarks.generate import staffing_instance as generated
    from optimizer.teams.groups import compose_groups
    scenario, leads = generated(**STAFFING_INSTANCES[name])
    return scenario, leads.with_members(compose_groups(scenario, leads).members), leads


def _teams(plan: Plan) -> dict[str, Any]:
    from optimizer.teams.posts import TeamUnits
    members = plan.members_of()
    return {a.town_id: TeamUnits(a.unit_id, members.get(a.town_id, ())) for a in plan.assignments}


def run_one(instance: str, solver: str, time_limit: float) -> dict[str, Any]:
    from optimizer.teams.cadres import assign_cadres, candidate_arcs
    from optimizer.teams.posts import CadreTable
    from optimizer.teams.rotation import rotate

    scenario, plan, leads = _instance(instance)
    teams = _teams(plan)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    table = CadreTable.of(scenario)
    out: dict[str, Any] = {"instance": instance, "solver": solver, "cadres": len(scenario.cadres),
                           "path": {"flow": "flow", "highs": "mip", "cp-sat": "cp-sat"}.get(solver, "")}
    if solver == "staff":
        from optimizer.teams.staff import staff
        result = staff(scenario, leads, time_limit=time_limit)
        t = result.timings
        out |= {"build_seconds": t.get("staffing_build", 0.0) + t.get("rotation_build", 0.0),
                "solve_seconds": t.get("groups", 0.0) + t.get("staffing_solve", 0.0) + t.get("rotation_solve", 0.0),
                "status": result.status.value, "objective": result.replacements, "bound": result.replacements_bound,
                "path": "groups+flow+" + _paths(result.rotation_paths)}
    elif solver in ("flow", "rotation"):
        staffing = assign_cadres(scenario, teams, table)
        out |= {"build_seconds": time.perf_counter() - began - staffing.solve_seconds,
                "solve_seconds": staffing.solve_seconds, "status": "OPTIMAL" if staffing.complete else "INFEASIBLE",
                "objective": _flow_cost(scenario, teams, table, staffing.holders)}
        if solver == "rotation":
            calendar = rotate(scenario, table, staffing.posts, staffing.holders, time_limit=time_limit)
            out |= {"build_seconds": calendar.build_seconds, "solve_seconds": calendar.solve_seconds,
                    "status": calendar.status.value, "objective": calendar.replacements, "bound": calendar.bound,
                    "path": _paths(calendar.paths)}
    else:
        arcs = candidate_arcs(scenario, teams, table)
        built = time.perf_counter()
        status, objective, bound, solve_seconds = (_highs if solver == "highs" else _cp_sat)(arcs, time_limit)
        out |= {"build_seconds": built - began, "solve_seconds": solve_seconds, "status": status,
                "objective": objective, "bound": bound}
    out |= {"arcs": len(candidate_arcs(scenario, teams, table).cadre), "base_mb": base_mb,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    return out


def _paths(counts: dict[str, int]) -> str:
    """Rotation paths with the number of components each solved, e.g. ``pattern×131/cp-sat×2``."""
    return "/".join(f"{path}×{n}" for path, n in sorted(counts.items())) or "—"


def _gap(r: dict[str, Any]) -> float | None:
    """(objective − bound) / max(1, |objective|) of a minimisation; None without both."""
    if r.get("objective") is None or r.get("bound") is None:
        return 0.0 if r["status"] == "OPTIMAL" else None
    return max(0.0, (r["objective"] - r["bound"]) / max(1.0, abs(r["objective"])))


def _ratios(results: list[dict[str, Any]]) -> None:
    """The closing table: path, gap, seconds, peak memory and each row's seconds ÷ the shipped flow's."""
    flow = {r["instance"]: r for r in results if r["solver"] == "flow"}
    print(f"\n{'instance':10} {'solver':9} {'path':28} {'build s':>8} {'solve s':>8} {'gap':>8} {'peak MB':>8} "
          f"{'solve ÷ flow':>12} {'total ÷ flow':>12}")
    for r in results:
        ref, gap = flow.get(r["instance"]), _gap(r)
        solve = total = "—"
        if ref is not None and r is not ref:
            solve = f"{r['solve_seconds'] / max(ref['solve_seconds'], 1e-9):.1f}"
            total = f"{(r['build_seconds'] + r['solve_seconds']) / (ref['build_seconds'] + ref['solve_seconds']):.1f}"
        print(f"{r['instance']:10} {r['solver']:9} {r['path'][:28]:28} {r['build_seconds']:8.3f} "
              f"{r['solve_seconds']:8.3f} {'—' if gap is None else f'{gap:.1e}':>8} {r['peak_mb']:8.0f} "
              f"{solve:>12} {total:>12}")


def _flow_cost(scenario: Scenario, teams: dict[str, Any], table: Any, holders: list[list[int]]) -> int:
    from optimizer.teams.cadres import candidate_arcs
    arcs = candidate_arcs(scenario, teams, table)
    chosen = {(r, p) for p, rows in enumerate(holders) for r in rows}
    return int(sum(c for r, p, c in zip(arcs.cadre.tolist(), arcs.post.tolist(), arcs.cost.tolist(), strict=True)
                   if (r, p) in chosen))


def _highs(arcs: Any, time_limit: float) -> tuple[str, float | None, float | None, float]:
    import highspy
    from scipy import sparse

    n = len(arcs.cadre)
    cadres, cadre_row = np.unique(arcs.cadre, return_inverse=True)
    rows = np.concatenate([cadre_row, len(cadres) + arcs.post])
    matrix = sparse.csc_matrix((np.ones(2 * n), (rows, np.concatenate([np.arange(n), np.arange(n)]))),
                               shape=(len(cadres) + len(arcs.posts), n))
    seats = np.array([p.seats for p in arcs.posts], dtype=float)
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n, matrix.shape[0]
    model.col_cost_ = arcs.cost.astype(float)
    model.col_lower_, model.col_upper_ = np.zeros(n), np.ones(n)
    model.row_lower_ = np.concatenate([np.zeros(len(cadres)), seats])
    model.row_upper_ = np.concatenate([np.ones(len(cadres)), seats])
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_, model.a_matrix_.index_ = matrix.indptr, matrix.indices
    model.a_matrix_.value_ = matrix.data
    model.integrality_ = [highspy.HighsVarType.kInteger] * n
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", time_limit)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.passModel(model)
    began = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - began
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    objective = info.objective_function_value if status == "Optimal" else None
    return ("OPTIMAL" if status == "Optimal" else status.upper()), objective, info.mip_dual_bound, seconds


def _cp_sat(arcs: Any, time_limit: float) -> tuple[str, float | None, float | None, float]:
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = [model.new_bool_var("") for _ in range(len(arcs.cadre))]
    by_cadre: dict[int, list[Any]] = {}
    by_post: dict[int, list[Any]] = {}
    for var, r, p in zip(x, arcs.cadre.tolist(), arcs.post.tolist(), strict=True):
        by_cadre.setdefault(r, []).append(var)
        by_post.setdefault(p, []).append(var)
    for vars_ in by_cadre.values():
        model.add_at_most_one(vars_)
    for p, post in enumerate(arcs.posts):
        model.add(sum(by_post.get(p, [])) == post.seats)
    model.minimize(cp_model.LinearExpr.weighted_sum(x, arcs.cost.tolist()))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 2
    began = time.perf_counter()
    status = solver.solve(model)
    seconds = time.perf_counter() - began
    name = solver.status_name(status)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return name, solver.objective_value if found else None, solver.best_objective_bound, seconds


def spawn(instance: str, solver: str, time_limit: float) -> dict[str, Any] | None:
    """:func:`run_one` in a child process (fresh memory high-water mark); None, with the error printed, when it
    fails."""
    done = subprocess.run([sys.executable, __file__, "--child", instance, solver, "--time-limit", str(time_limit)],
                          capture_output=True, text=True, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(RESULT)), None)
    if line is None:
        print(f"{instance} {solver}: failed\n{done.stderr[-2000:]}")
        return None
    result: dict[str, Any] = json.loads(line[len(RESULT):])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    from benchmarks.generate import STAFFING_INSTANCES
    parser.add_argument("--instances", default=",".join([*INSTANCES, "guangdong", *STAFFING_INSTANCES]))
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--child", nargs=2, metavar=("INSTANCE", "SOLVER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(RESULT + json.dumps(run_one(*args.child, args.time_limit)))
        return 0
    results = []
    for instance in args.instances.split(","):
        for solver in args.solvers.split(","):
            result = spawn(instance, solver, args.time_limit)
            if result is None:
                continue
            results.append(result)
            print(f"{instance:10} {solver:9} cadres {result['cadres']:6} arcs {result['arcs']:7}  "
                  f"build {result['build_seconds']:7.3f} s  solve {result['solve_seconds']:8.3f} s  "
                  f"{result['status']:10} objective {result['objective']}  bound {result.get('bound')}  "
                  f"peak {result['peak_mb']:.0f} MB (base {result['base_mb']:.0f})", flush=True)
    _ratios(results)
    mismatch = False
    for instance in {r["instance"] for r in results}:
        optimal = {r["solver"]: r["objective"] for r in results if r["instance"] == instance
                   and r["solver"] in ("flow", "highs", "cp-sat") and r["status"] == "OPTIMAL"}
        if len({round(v) for v in optimal.values()}) > 1:
            print(f"MISMATCH on {instance}: {optimal}")
            mismatch = True
    return 1 if mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
