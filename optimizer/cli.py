"""The ``bangfu`` command: solve a scenario, audit a plan, write a scenario workbook, print the JSON Schema.

Exit codes: 0 a plan (optimal or feasible) that passes the audit / a plan that obeys every rule;
1 infeasible scenario, no plan in time, or audit violations; 2 bad input (nothing is written).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from models import (AuditReport, Plan, Rule, Scenario, ScenarioError, ScenarioFile, SolveResult, Status, load_plan,
                    load_scenario)
from models.loader import MAX_FILE_BYTES, MAX_ROWS, Limits
from models.policy import TargetLevel
from models.tables import TABLE_ROWS

from .audit import audit as audit_plan
from .budget import BUDGET_FILES, budget_files, load_budget_plan, print_budget
from .budget import budget as funding_budget
from .diagnose import diagnose
from .diff import diff_plans
from .explain import explain as explain_plan
from .explain import print_explanation
from .html_report import render as render_report
from .excel import plan_workbook
from .report import groups_csv, neutralise, plan_csv, plan_frame, summary, to_json, write_outputs
from .shortfall import Shortfall, shortfall, shortfall_frame
from .solve import solve as solve_scenario
from .solve import settings_for
from .grid import load_variants
from .pareto import pareto_svg
from .sweep import SECONDS, check_address, setting_columns, sweep_csv
from .sweep import sweep as run_sweep
from .teams.groups import group_summary
from .teams.staff import STAFF_FILES, print_staffing, staffing_files
from .teams.staff import staff as staff_plan
from .teams.teams_audit import audit_staffing
from .template import template_workbook

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="bangfu (帮扶): pair helper units with key towns, and prove the plan obeys every rule.")
out_console = Console()
err_console = Console(stderr=True)


INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells report it."""
PARTIAL = 3
"""Exit code of ``solve --allow-unassigned`` when the plan leaves key towns unassigned (written and audited)."""

AllowOutside = Annotated[bool, typer.Option("--allow-outside", help="Allow table paths outside the scenario's "
                                            "folder (absolute, '..', symlinks out of it).")]
MaxFileMib = Annotated[float, typer.Option(min=0, help="Refuse input files larger than this (MiB).")]
MaxRows = Annotated[int, typer.Option(min=0, help="Refuse tables with more rows than this.")]
AllowUnassigned = Annotated[bool, typer.Option("--allow-unassigned", help="Overconstrained mode (sets "
                                               "policy.allow_unassigned): key towns may stay without a lead, each "
                                               "at policy.unassigned_penalty; the best partial plan, not none.")]


def _partial(scenario: Scenario, allow_unassigned: bool) -> Scenario:
    """The scenario in the overconstrained mode when ``--allow-unassigned`` is given (its fingerprint says so)."""
    if not allow_unassigned or scenario.policy.allow_unassigned:
        return scenario
    return scenario.model_copy(update={"policy": scenario.policy.model_copy(update={"allow_unassigned": True})})


def _load(path: Path, allow_outside: bool = False, limits: Limits = Limits()) -> Scenario:
    try:
        return load_scenario(path, allow_outside=allow_outside, limits=limits)
    except ScenarioError as exc:  # escaped: a workbook error names its sheet in brackets, "x.xlsx [units]"
        _fail(str(exc))


def _load_plan(path: Path, limits: Limits = Limits()) -> Plan:
    try:
        return load_plan(path, limits=limits)
    except ScenarioError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    """Bad input: print the (escaped) message and exit 2."""
    err_console.print(f"[bold red]error[/]: {escape(message)}", highlight=False)
    raise typer.Exit(2)


@contextlib.contextmanager
def _live_progress(quiet: bool) -> Iterator[Callable[[float, float, float], None] | None]:
    """A live status line on stderr (elapsed, best objective, bound, gap) while the solve runs; none if quiet."""
    if quiet:
        yield None
        return
    with err_console.status("solving …") as status:
        def show(elapsed: float, objective: float, bound: float) -> None:
            best = "—" if math.isnan(objective) else f"{objective:.0f}"
            gap = "" if math.isnan(objective) else f" · gap {(bound - objective) / max(1.0, abs(objective)):.4%}"
            status.update(f"solving … {elapsed:.1f} s · best {best} · bound {bound:.1f}{gap}")
        yield show


def _interruptible(command: Callable[..., None]) -> Callable[..., None]:
    """Ctrl-C ends the command with exit 130. The solver has stopped by then (:func:`optimizer.solve` stops
    CP-SAT before it re-raises), and outputs are written whole or not at all (:func:`write_outputs`)."""
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except KeyboardInterrupt:
            err_console.print("[bold red]interrupted[/] (Ctrl-C): stopped; no partial output was written",
                              highlight=False)
            raise typer.Exit(INTERRUPTED) from None
    return run


@app.command()
@_interruptible
def solve(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file or .xlsx workbook.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for plan.csv and summary.json.")],
    time_limit: Annotated[float | None, typer.Option(help="Seconds (default: the scenario's solver block).")] = None,
    workers: Annotated[int | None, typer.Option(help="CP-SAT search workers.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
    excel: Annotated[bool, typer.Option("--excel", help="Also write OUT/plan.xlsx (summary, cities, tiers).")] = False,
    method: Annotated[str | None, typer.Option(help="auto (network path, CP-SAT where needed) or cp-sat (full "
                                                    "model only); default: the scenario's solver block.")] = None,
    baseline: Annotated[Path | None, typer.Option(help="Re-plan this plan.csv with minimal change: each town "
                                                       "that changes lead costs policy.baseline_weight.")] = None,
    allow_unassigned: AllowUnassigned = False,
    allow_outside: AllowOutside = False,
    max_file_mib: MaxFileMib = MAX_FILE_BYTES / 2**20,
    max_rows: MaxRows = MAX_ROWS,
) -> None:
    """Solve SCENARIO and write OUT/plan.csv and OUT/summary.json (only summary.json when there is no plan)."""
    loaded = _partial(_load(scenario, allow_outside, Limits(int(max_file_mib * 2**20), max_rows)), allow_unassigned)
    if baseline is not None:
        try:
            loaded = loaded.with_baseline(load_plan(baseline), source=str(baseline))
        except ScenarioError as exc:
            _fail(str(exc))
    if out.exists() and not out.is_dir():
        _fail(f"--out {out} exists and is not a folder")
    try:
        with _live_progress(quiet) as progress:
            result = solve_scenario(loaded, time_limit=time_limit, workers=workers, seed=seed,
                                    method=method, progress=progress)  # type: ignore[arg-type]  # validated
    except ValueError as exc:  # option values out of range (validated by SolverSettings)
        _fail(str(exc))
    report = audit_plan(loaded, result.plan) if result.plan is not None else None
    files: dict[str, str | bytes] = {"summary.json": to_json(summary(loaded, result, report))}
    short = None
    if result.plan is not None:
        files["plan.csv"] = plan_csv(loaded, result.plan)
        if result.plan.members_of():
            files["groups.csv"] = groups_csv(loaded, result.plan)
        if excel:
            files["plan.xlsx"] = plan_workbook(loaded, result, report)
        if loaded.policy.allow_unassigned:
            short = shortfall(loaded, result.plan)
            files["shortfall.csv"] = shortfall_frame(short).map(neutralise).to_csv(index=False)
    if result.status is Status.INFEASIBLE and not loaded.policy.allow_unassigned:  # the diagnosis knows no vacancies
        minimal = diagnose(loaded)
        result = result.model_copy(update={"conflicts": tuple(minimal)}) if minimal else result
        files["diagnosis.json"] = to_json({"minimal": minimal is not None,
                                           "conflicts": [c.model_dump(mode="json") for c in result.conflicts]})
    try:
        write_outputs(out, files)
    except OSError as exc:
        _fail(f"cannot write to {out}: {exc.strerror or exc}")
    if not quiet or not result.has_plan:
        _print_result(loaded, result, report, out)
    if not result.has_plan or (report is not None and not report.passed):
        raise typer.Exit(1)
    if short is not None and short.towns:
        err_console.print(f"[yellow]warning[/]: partial plan: {len(short.towns)} key "
                          f"{loaded.policy.target_level.plural} unassigned (OUT/shortfall.csv)", highlight=False)
        raise typer.Exit(PARTIAL)


@app.command()
@_interruptible
def audit(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file or .xlsx workbook.")],
    plan: Annotated[Path, typer.Argument(help="plan.csv with at least town_id and unit_id columns.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    allow_unassigned: AllowUnassigned = False,
    allow_outside: AllowOutside = False,
    max_file_mib: MaxFileMib = MAX_FILE_BYTES / 2**20,
    max_rows: MaxRows = MAX_ROWS,
) -> None:
    """Check PLAN against every rule of SCENARIO: exit 0 when it obeys all, 1 with the violations."""
    limits = Limits(int(max_file_mib * 2**20), max_rows)
    loaded = _partial(_load(scenario, allow_outside, limits), allow_unassigned)
    parsed = _load_plan(plan, limits)
    report = audit_plan(loaded, parsed)
    if as_json:
        out_console.print_json(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
    else:
        _print_audit(report)
    if not report.passed:
        raise typer.Exit(1)


@app.command()
def template(
    workbook: Annotated[Path, typer.Argument(help="The .xlsx file to write.")],
    source: Annotated[Path | None, typer.Option("--from", help="Fill it with this scenario (YAML or .xlsx).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a scenario workbook to fill in: a sheet per table, Chinese and English headers, instructions."""
    if workbook.suffix.lower() != ".xlsx":
        err_console.print(f"[bold red]error[/]: {escape(str(workbook))}: the name must end in .xlsx", highlight=False)
        raise typer.Exit(2)
    if workbook.exists() and not force:
        err_console.print(f"[bold red]error[/]: {escape(str(workbook))} exists (filled in already?): use --force "
                          "to overwrite it", highlight=False)
        raise typer.Exit(2)
    data = template_workbook(_load(source) if source is not None else None)
    write_outputs(workbook.parent, {workbook.name: data}, stale=())
    out_console.print(f"written {escape(str(workbook))}", highlight=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of a scenario file and of each table's rows."""
    document = {
        "scenario_file": ScenarioFile.model_json_schema(),
        "tables": {name: model.model_json_schema() for name, model in TABLE_ROWS.items()},
    }
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2))


@app.command()
def report(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    plan: Annotated[Path, typer.Argument(help="plan.csv with at least town_id and unit_id columns.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .html file to write.")],
    allow_unassigned: AllowUnassigned = False,
) -> None:
    """Write one offline HTML page on PLAN: figures, charts, map, audit, sortable table. Exit 1 if it breaks a rule."""
    loaded = _partial(_load(scenario), allow_unassigned)
    parsed = _load_plan(plan)
    checked = audit_plan(loaded, parsed)
    write_outputs(out.parent, {out.name: render_report(loaded, parsed, checked)}, stale=())
    out_console.print(f"written {escape(str(out))}", highlight=False)
    _print_audit(checked)
    if not checked.passed:
        raise typer.Exit(1)


@app.command()
def diff(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file or .xlsx workbook.")],
    plan_a: Annotated[Path, typer.Argument(help="The earlier plan.csv.")],
    plan_b: Annotated[Path, typer.Argument(help="The later plan.csv.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the difference as JSON.")] = False,
) -> None:
    """Show the towns whose lead changed from PLAN_A to PLAN_B, tier moves, per-city counts and objective terms."""
    loaded = _load(scenario)
    a, b = _load_plan(plan_a), _load_plan(plan_b)
    result = diff_plans(loaded, a, b)
    if as_json:
        out_console.print_json(result.model_dump_json())
        return
    out_console.print(f"{len(result.changed)} town(s) changed lead", highlight=False)
    table = Table("town", "city", "before", "after", "tiers")
    for c in result.changed:
        table.add_row(escape(f"{c.town_name} ({c.town_id})"), escape(c.city), escape(c.before or "-"),
                      escape(c.after or "-"), f"{c.tier_before or '-'} → {c.tier_after or '-'}")
    if result.changed:
        out_console.print(table)
    for move, n in result.tier_moves.items():
        out_console.print(f"  tier move {move}: {n}", highlight=False)
    terms = Table("objective term", "A", "B", "B − A")
    for term, (va, vb) in result.terms.items():
        if term != "unassigned" or va or vb:  # the penalty term only when a plan leaves towns unassigned
            terms.add_row(term, str(va), str(vb), f"{vb - va:+d}")
    out_console.print(terms)


@app.command()
@_interruptible
def explain(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file or .xlsx workbook.")],
    plan: Annotated[Path, typer.Argument(help="plan.csv with at least town_id and unit_id columns.")],
    town: Annotated[str | None, typer.Option("--town", help="Explain this key town (id) and what its best "
                                                            "alternative units would cost.")] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="How many alternatives to cost for --town.")] = 3,
    unit: Annotated[list[str] | None, typer.Option("--unit", help="Cost this unit for --town (repeatable), "
                                                                  "instead of the --top best.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")] = False,
    time_limit: Annotated[float | None, typer.Option(help="Seconds per alternative's re-solve.")] = None,
    allow_unassigned: AllowUnassigned = False,
) -> None:
    """Explain PLAN: each town's objective terms and why earlier leads moved, binding rules, --town alternatives."""
    loaded = _partial(_load(scenario), allow_unassigned)
    parsed = _load_plan(plan)
    if unit and town is None:
        _fail("--unit needs --town")
    try:
        result = explain_plan(loaded, parsed, town=town, top=top, units=unit or None, time_limit=time_limit)
    except ValueError as exc:  # unknown or non-key town, unknown unit, option values out of range
        _fail(str(exc))
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        print_explanation(out_console, result)


@app.command()
def budget(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file or .xlsx workbook.")],
    plan: Annotated[Path | None, typer.Argument(help="Optional plan.csv: a town's PRD lead decides which PRD city "
                                                     "pays its share.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write OUT/budget.csv, by_city.csv, "
                                                                 "by_prd_city.csv and by_level.csv (yuan).")] = None,
    years: Annotated[int | None, typer.Option(min=1, max=100, help="Years 1..N (default: "
                                                                   "policy.funding.years).")] = None,
) -> None:
    """Funding of SCENARIO (policy.funding): yuan per city, PRD helper city and level over years 1..N."""
    loaded = _load(scenario)
    if out is not None and out.exists() and not out.is_dir():
        _fail(f"--out {out} exists and is not a folder")
    try:
        result = funding_budget(loaded, load_budget_plan(plan, loaded) if plan is not None else None, years=years)
    except ScenarioError as exc:  # a policy error is located in the scenario file, as the loader does
        _fail(str(exc) if exc.file != "policy" else
              str(ScenarioError(exc.message, file=scenario.name, field=f"policy.{exc.field}")))
    print_budget(out_console, result)
    if out is not None:
        try:
            write_outputs(out, budget_files(result), stale=BUDGET_FILES)
        except OSError as exc:
            _fail(f"cannot write to {out}: {exc.strerror or exc}")
        out_console.print(f"  written to {escape(str(out))}/", highlight=False)


@app.command()
@_interruptible
def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file or .xlsx workbook: the base of every variant.")],
    grid: Annotated[Path, typer.Option("--grid", help="Grid file (YAML): the variants to solve (see README).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder for sweep.csv and pareto.svg "
                                                                "(default: out/ and the grid file's name).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Local worker processes (default: one per core); each "
                                                            "solves one variant at a time with one CP-SAT worker.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a running dask scheduler (tcp://host:8786): "
                                                       "solve there instead of on local processes.")] = None,
    time_limit: Annotated[float | None, typer.Option(help="Seconds per variant (default: the scenario's solver "
                                                          "block).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
    allow_outside: AllowOutside = False,
) -> None:
    """Solve every variant of GRID in parallel (dask) and write OUT/sweep.csv and OUT/pareto.svg."""
    loaded = _load(scenario, allow_outside)
    try:
        variants = load_variants(grid, loaded)
        settings_for(loaded, time_limit=time_limit)
        if scheduler is not None:
            check_address(scheduler)
    except (ScenarioError, ValueError) as exc:
        _fail(str(exc))
    if workers is not None and scheduler is not None:
        _fail("--workers sizes the local cluster; a --scheduler's cluster has its own workers")
    folder = out if out is not None else Path("out") / grid.stem
    if folder.exists() and not folder.is_dir():
        _fail(f"--out {folder} exists and is not a folder")
    with contextlib.ExitStack() as stack:
        status = None if quiet else stack.enter_context(err_console.status("sweeping …"))

        def show(done: int, total: int) -> None:
            if status is not None:
                status.update(f"sweeping … {done} of {total} variants")
        try:
            table = run_sweep(loaded, variants, workers=workers, scheduler=scheduler, time_limit=time_limit,
                              progress=show)
        except OSError as exc:  # an unreachable scheduler (distributed raises OSError subclasses, also on timeouts)
            _fail(f"cannot reach the dask scheduler at {scheduler}: {exc}")
    keys = setting_columns(table)
    svg = pareto_svg(table, keys, title=f"{loaded.name}: changed previous leads against plan value")
    try:
        write_outputs(folder, {"sweep.csv": sweep_csv(table), "pareto.svg": svg}, stale=())
    except OSError as exc:
        _fail(f"cannot write to {folder}: {exc.strerror or exc}")
    failed = table[table["status"].eq("ERROR") | table["audit_passed"].eq(False).fillna(False)]
    if not quiet or len(failed):
        _print_sweep(table, keys, failed, folder)
    if len(failed):
        raise typer.Exit(1)


@app.command()
@_interruptible
def staff(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file or .xlsx workbook, with a cadres table.")],
    plan: Annotated[Path, typer.Argument(help="plan.csv (town_id, unit_id and, with groups, members).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for teams.csv, rotation.csv and "
                                                          "summary.json.")],
    seed: Annotated[int, typer.Option(min=0, help="Random seed of the rotation's CP-SAT search.")] = 0,
    time_limit: Annotated[float | None, typer.Option(min=0.01, help="Seconds for the rotation calendar "
                                                                    "(default: policy.staffing.time_limit).")] = None,
    allow_outside: AllowOutside = False,
) -> None:
    """Staff PLAN's towns: teams under the eligibility rules, county heads, and the rotation calendar."""
    loaded = _load(scenario, allow_outside)
    parsed = _load_plan(plan)
    if out.exists() and not out.is_dir():
        _fail(f"--out {out} exists and is not a folder")
    try:
        result = staff_plan(loaded, parsed, seed=seed, time_limit=time_limit)
    except ScenarioError as exc:
        _fail(str(ScenarioError(exc.message, file=str(plan), field=exc.field)))
    report = audit_staffing(loaded, parsed, result) if result.has_teams else None
    violations = None if report is None else [v.model_dump(mode="json") for v in report.violations]
    files = staffing_files(loaded, result, violations, {"seed": seed, "time_limit": time_limit})
    try:
        write_outputs(out, files, stale=STAFF_FILES)
    except OSError as exc:
        _fail(f"cannot write to {out}: {exc.strerror or exc}")
    print_staffing(out_console, loaded, result, report)
    out_console.print(f"  written to {escape(str(out))}/", highlight=False)
    if not result.has_teams or (report is not None and not report.passed):
        raise typer.Exit(1)


def _print_sweep(table: Any, keys: list[str], failed: Any, folder: Path) -> None:
    counts = ", ".join(f"{n} {s}" for s, n in table["status"].value_counts(sort=False).items())
    seconds = table[list(SECONDS)].sum(axis=1)
    out_console.print(f"{len(table)} variants: {counts}; median {seconds.median():.2f} s per variant",
                      highlight=False)
    shown = table[keys].map(lambda v: json.dumps(v, ensure_ascii=False))
    varying = [k for k in keys if shown[k].nunique() > 1]
    front = Table("variant", "changes", "value", "objective", "settings that vary", title="Pareto front (first 20)")
    for i in table[table["pareto"]].sort_values(["changes", "value"]).index[:20]:
        row = table.loc[i]
        front.add_row(escape(str(row["variant"])), str(row["changes"]), str(row["value"]), str(row["objective"]),
                      escape("; ".join(f"{k} = {shown.at[i, k]}" for k in varying)))
    if front.rows:
        out_console.print(front)
    for row in failed.to_dict("records"):
        out_console.print(f"  [red]✗[/] {escape(str(row['variant']))}: {escape(str(row['status']))}, audit "
                          f"{'passed' if row['audit_passed'] else 'failed'}: {escape(str(row['message']))}",
                          highlight=False)
    out_console.print(f"  written to {escape(str(folder))}/ (sweep.csv, pareto.svg)", highlight=False)


def _print_result(scenario: Scenario, result: SolveResult, report: AuditReport | None, out: Path) -> None:
    style = "green" if result.status is Status.OPTIMAL else "yellow" if result.has_plan else "red"
    out_console.print(f"[bold]{escape(scenario.name)}[/]: [{style}]{result.status.value}[/] — "
                      f"{len(scenario.key_towns)} key {scenario.policy.target_level.plural}, {result.variables} "
                      "candidate pairs", highlight=False)
    for conflict in result.conflicts:
        out_console.print(f"  [red]✗[/] {escape(_rules(conflict.rules))} {escape(conflict.message)}",
                          highlight=False)
        if conflict.message_zh:
            out_console.print(f"      {escape(conflict.message_zh)}", highlight=False)
    if result.message and not result.conflicts:
        out_console.print(f"  {escape(result.message)}", highlight=False)
    if result.plan is not None:
        frame = plan_frame(scenario, result.plan)
        bound = "-" if result.best_bound is None else f"{result.best_bound:g}"
        gap = "-" if result.gap is None else f"{result.gap:.4%}"
        out_console.print(f"  objective {result.objective}, bound {bound}, gap {gap}; "
                          f"build {result.build_seconds:.2f} s, solve {result.solve_seconds:.2f} s", highlight=False)
        for i, stage in enumerate(result.stages, 1):
            proven = "" if stage.bound is None else f" (bound {stage.bound})"
            out_console.print(f"  stage {i} {' + '.join(stage.terms)}: {stage.value}{proven}", highlight=False)
        table = Table("city", "prd", "provincial", "local", "kept", "changed",
                      title=f"Key {scenario.policy.target_level.plural} by lead tier")
        for city, group in frame.groupby("city", sort=True):
            tiers = group["tier"].value_counts()
            changed = int(((group["previous_unit_id"] != "") & ~group["kept_previous"]).sum())
            table.add_row(escape(str(city)), *(str(tiers.get(t, 0)) for t in ("prd", "provincial", "local")),
                          str(int(group["kept_previous"].sum())), str(changed))
        tiers = frame["tier"].value_counts()
        table.add_row("[bold]total", *(f"[bold]{tiers.get(t, 0)}" for t in ("prd", "provincial", "local")),
                      f"[bold]{int(frame['kept_previous'].sum())}", "")
        out_console.print(table)
        if result.plan.members_of():
            groups = group_summary(scenario, result.plan)
            out_console.print(f"  groups: {groups['groups']} with {groups['members']} member units; previous members "
                              f"kept {groups['kept_previous_members']} of {groups['previous_members']} "
                              f"({escape(str(out / 'groups.csv'))})", highlight=False)
        if scenario.policy.allow_unassigned:
            _print_shortfall(shortfall(scenario, result.plan), scenario.policy.target_level)
    if report is not None:
        _print_audit(report)
    out_console.print(f"  written to {escape(str(out))}/", highlight=False)


def _print_shortfall(short: Shortfall, level: TargetLevel) -> None:
    if not short.towns:
        out_console.print(f"  allow_unassigned: every key {level.value} has a lead (complete plan)", highlight=False)
        return
    quotas = ", ".join(f"{q.city + ' ' if q.city else ''}{q.tier} {q.leads}/{q.quota}" for q in short.quotas)
    out_console.print(f"  [yellow]partial plan[/]: {len(short.towns)} key {level.plural} unassigned, "
                      f"{short.penalty} points each ({short.total_penalty} in the objective); quotas short: "
                      f"{escape(quotas)}", highlight=False)
    table = Table("town", "city", "county", "rule", "penalty", "why", title="Shortfall (OUT/shortfall.csv)")
    for t in short.towns:
        table.add_row(escape(f"{t.town_name} ({t.town_id})"), escape(t.city), escape(t.county), t.rule,
                      str(t.penalty), escape(t.reason))
    out_console.print(table)


def _print_audit(report: AuditReport) -> None:
    if report.passed:
        out_console.print("  audit: [green]passed[/] (networkx graph, every rule re-checked)")
        return
    out_console.print(f"  audit: [red]{len(report.violations)} violation(s)[/]")
    for v in report.violations:
        out_console.print(f"  [red]✗[/] {escape(_rules((v.rule,)))} {escape(v.message)}", highlight=False)


def _rules(rules: tuple[Rule, ...]) -> str:
    return f"[{', '.join(r.value for r in rules)}]"


if __name__ == "__main__":
    app()
