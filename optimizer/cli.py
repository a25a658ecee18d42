"""The ``bangfu`` command: solve a scenario, audit a plan, print the scenario JSON Schema.

Exit codes: 0 a plan (optimal or feasible) that passes the audit / a plan that obeys every rule;
1 infeasible scenario, no plan in time, or audit violations; 2 bad input (nothing is written).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from models import AuditReport, Rule, Scenario, ScenarioError, ScenarioFile, SolveResult, Status, load_plan, load_scenario
from models.tables import TABLE_ROWS

from .audit import audit as audit_plan
from .html_report import render as render_report
from .report import plan_frame, summary, to_json, write_outputs
from .solve import solve as solve_scenario

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="bangfu (帮扶): pair helper units with key towns, and prove the plan obeys every rule.")
out_console = Console()
err_console = Console(stderr=True)


def _load(path: Path) -> Scenario:
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        err_console.print(f"[bold red]error[/]: {exc}", highlight=False)
        raise typer.Exit(2) from None


@app.command()
def solve(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for plan.csv and summary.json.")],
    time_limit: Annotated[float | None, typer.Option(help="Seconds (default: the scenario's solver block).")] = None,
    workers: Annotated[int | None, typer.Option(help="CP-SAT search workers.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Solve SCENARIO and write OUT/plan.csv and OUT/summary.json (only summary.json when there is no plan)."""
    loaded = _load(scenario)
    try:
        result = solve_scenario(loaded, time_limit=time_limit, workers=workers, seed=seed)
    except ValueError as exc:  # option values out of range (validated by SolverSettings)
        err_console.print(f"[bold red]error[/]: {exc}", highlight=False)
        raise typer.Exit(2) from None
    report = audit_plan(loaded, result.plan) if result.plan is not None else None
    files = {"summary.json": to_json(summary(loaded, result, report))}
    if result.plan is not None:
        files["plan.csv"] = plan_frame(loaded, result.plan).to_csv(index=False)
    write_outputs(out, files)
    if not quiet or not result.has_plan:
        _print_result(loaded, result, report, out)
    if not result.has_plan or (report is not None and not report.passed):
        raise typer.Exit(1)


@app.command()
def audit(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    plan: Annotated[Path, typer.Argument(help="plan.csv with at least town_id and unit_id columns.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check PLAN against every rule of SCENARIO: exit 0 when it obeys all, 1 with the violations."""
    loaded = _load(scenario)
    try:
        parsed = load_plan(plan)
    except ScenarioError as exc:
        err_console.print(f"[bold red]error[/]: {exc}", highlight=False)
        raise typer.Exit(2) from None
    report = audit_plan(loaded, parsed)
    if as_json:
        out_console.print_json(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
    else:
        _print_audit(report)
    if not report.passed:
        raise typer.Exit(1)


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
) -> None:
    """Write one offline HTML page on PLAN: figures, charts, map, audit, sortable table. Exit 1 if it breaks a rule."""
    loaded = _load(scenario)
    try:
        parsed = load_plan(plan)
    except ScenarioError as exc:
        err_console.print(f"[bold red]error[/]: {exc}", highlight=False)
        raise typer.Exit(2) from None
    checked = audit_plan(loaded, parsed)
    write_outputs(out.parent, {out.name: render_report(loaded, parsed, checked)}, stale=())
    out_console.print(f"written {escape(str(out))}", highlight=False)
    _print_audit(checked)
    if not checked.passed:
        raise typer.Exit(1)


def _print_result(scenario: Scenario, result: SolveResult, report: AuditReport | None, out: Path) -> None:
    style = "green" if result.status is Status.OPTIMAL else "yellow" if result.has_plan else "red"
    out_console.print(f"[bold]{scenario.name}[/]: [{style}]{result.status.value}[/] — "
                      f"{len(scenario.key_towns)} key towns, {result.variables} candidate pairs", highlight=False)
    for conflict in result.conflicts:
        out_console.print(f"  [red]✗[/] {escape(_rules(conflict.rules))} {conflict.message}",
                          highlight=False)
    if result.message and not result.conflicts:
        out_console.print(f"  {result.message}", highlight=False)
    if result.plan is not None:
        frame = plan_frame(scenario, result.plan)
        out_console.print(f"  objective {result.objective}, bound {result.best_bound:g}, gap {result.gap:.4%}; "
                          f"build {result.build_seconds:.2f} s, solve {result.solve_seconds:.2f} s", highlight=False)
        table = Table("city", "prd", "provincial", "local", "kept", "changed", title="Key towns by lead tier")
        for city, group in frame.groupby("city", sort=True):
            tiers = group["tier"].value_counts()
            changed = int(((group["previous_unit_id"] != "") & ~group["kept_previous"]).sum())
            table.add_row(str(city), *(str(tiers.get(t, 0)) for t in ("prd", "provincial", "local")),
                          str(int(group["kept_previous"].sum())), str(changed))
        tiers = frame["tier"].value_counts()
        table.add_row("[bold]total", *(f"[bold]{tiers.get(t, 0)}" for t in ("prd", "provincial", "local")),
                      f"[bold]{int(frame['kept_previous'].sum())}", "")
        out_console.print(table)
    if report is not None:
        _print_audit(report)
    out_console.print(f"  written to {out}/", highlight=False)


def _print_audit(report: AuditReport) -> None:
    if report.passed:
        out_console.print("  audit: [green]passed[/] (networkx graph, every rule re-checked)")
        return
    out_console.print(f"  audit: [red]{len(report.violations)} violation(s)[/]")
    for v in report.violations:
        out_console.print(f"  [red]✗[/] {escape(_rules((v.rule,)))} {v.message}", highlight=False)


def _rules(rules: tuple[Rule, ...]) -> str:
    return f"[{', '.join(r.value for r in rules)}]"


if __name__ == "__main__":
    app()
