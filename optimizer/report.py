"""Plan tables, the run summary and atomic output files: what a planner reads after a solve."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from models import AuditReport, Plan, RelationshipKind, Scenario, SolveResult, Tier
from models.tables import FORMULA_START

from .shortfall import shortfall, shortfall_summary
from .teams.groups import composes_groups, group_frame, group_summary

PLAN_COLUMNS = ["town_id", "town_name", "city", "county", "unit_id", "unit_name", "tier", "kept_previous",
                "previous_unit_id"]
OUTPUT_FILES = ("plan.csv", "summary.json", "plan.xlsx", "diagnosis.json", "groups.csv", "shortfall.csv")


def plan_frame(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """One row per pairing with names, tier and continuity, sorted by city, county and town id; when the plan has
    groups, a last column ``members``: the group's member unit ids joined by ``;``.

    >>> from optimizer import load_scenario, plan_frame, solve
    >>> scenario = load_scenario("scenarios/tiny/scenario.yaml")
    >>> frame = plan_frame(scenario, solve(scenario).plan)
    >>> frame["tier"].value_counts().to_dict()
    {'prd': 5, 'local': 3, 'provincial': 2}
    """
    towns = {t.town_id: t for t in scenario.towns}
    units = {u.unit_id: u for u in scenario.units}
    previous = {r.town_id: r.unit_id for r in scenario.relationships if r.kind is RelationshipKind.PREVIOUS_LEAD}
    rows = []
    for a in plan.assignments:
        town, unit = towns.get(a.town_id), units.get(a.unit_id)
        rows.append({
            "town_id": a.town_id, "town_name": town.name if town else "", "city": town.city if town else "",
            "county": town.county if town else "", "unit_id": a.unit_id, "unit_name": unit.name if unit else "",
            "tier": unit.tier.value if unit else "", "kept_previous": previous.get(a.town_id) == a.unit_id,
            "previous_unit_id": previous.get(a.town_id, ""), "members": ";".join(a.members),
        })
    frame = pd.DataFrame(rows, columns=[*PLAN_COLUMNS, "members"] if plan.members_of() else PLAN_COLUMNS)
    return frame.sort_values(["city", "county", "town_id"], kind="stable").reset_index(drop=True)


def neutralise(cell: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) gets a
    leading ``'``, which spreadsheets show as text; anything else is unchanged."""
    return f"'{cell}" if isinstance(cell, str) and cell.startswith((*FORMULA_START, "\t", "\r")) else cell


def plan_csv(scenario: Scenario, plan: Plan) -> str:
    """The text of ``plan.csv``: :func:`plan_frame` with every cell passed through :func:`neutralise`
    (formula injection). Ids never begin with a formula character (the loader refuses such ids), so they are
    written unchanged and ``bangfu audit`` reads them back as they are; only names can gain the ``'``."""
    text: str = plan_frame(scenario, plan).map(neutralise).to_csv(index=False)
    return text


def groups_csv(scenario: Scenario, plan: Plan) -> str:
    """The text of ``groups.csv`` (:func:`optimizer.teams.groups.group_frame`), cells neutralised as in
    :func:`plan_csv`."""
    text: str = group_frame(scenario, plan).map(neutralise).to_csv(index=False)
    return text


def continuity_counts(scenario: Scenario, plan: Plan) -> dict[str, int]:
    """Key towns with a previous lead: how many kept it, how many changed."""
    lead = plan.lead_of()
    key = {t.town_id for t in scenario.key_towns}
    previous = [(r.town_id, r.unit_id) for r in scenario.relationships
                if r.kind is RelationshipKind.PREVIOUS_LEAD and r.town_id in key]
    kept = sum(lead.get(t) == u for t, u in previous)
    return {"with_previous": len(previous), "kept": kept, "changed": len(previous) - kept}


def summary(scenario: Scenario, result: SolveResult, report: AuditReport | None) -> dict[str, Any]:
    """The JSON summary of a run: status, objective evidence, tier counts, changes, audit, provenance."""
    data: dict[str, Any] = {
        "scenario": scenario.name,
        "status": result.status.value,
        "objective": result.objective,
        "best_bound": result.best_bound,
        "gap": result.gap,
        "build_seconds": round(result.build_seconds, 4),
        "solve_seconds": round(result.solve_seconds, 4),
        "variables": result.variables,
        "constraints": result.constraints,
        "key_towns": len(scenario.key_towns),
        "message": result.message,
        "conflicts": [c.model_dump(mode="json") for c in result.conflicts],
    }
    if result.stages:
        data["stages"] = [s.model_dump(mode="json") for s in result.stages]
    if result.plan is not None:
        units = {u.unit_id: u.tier for u in scenario.units}
        tiers = Counter(units[a.unit_id].value for a in result.plan.assignments)
        data["tier_counts"] = {t.value: tiers.get(t.value, 0) for t in Tier}
        continuity = continuity_counts(scenario, result.plan)
        data["changes"] = continuity["changed"]
        data["continuity"] = continuity
        if scenario.policy.allow_unassigned:
            data["shortfall"] = shortfall_summary(shortfall(scenario, result.plan))
        if composes_groups(scenario):
            data["groups"] = group_summary(scenario, result.plan)
    if report is not None:
        data["audit"] = {"passed": report.passed,
                         "violations": [v.model_dump(mode="json") for v in report.violations],
                         "objective": report.structure.get("objective")}
    data |= {"ortools_version": result.ortools_version, "parameters": result.parameters,
             "fingerprint": result.fingerprint}
    return data


def _file_mode() -> int:
    """0666 less the process umask: what ``open()`` would have created."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def write_outputs(out: Path, files: Mapping[str, str | bytes], stale: tuple[str, ...] = OUTPUT_FILES) -> None:
    """Write ``files`` into ``out`` atomically: all temp files first, then renames; remove stale outputs.

    A reader never sees a half-written file, and a failed run leaves no file of its own behind. Text is UTF-8.
    """
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    temps: list[tuple[str, Path]] = []
    try:
        for name, text in files.items():
            fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", dir=out)
            os.fchmod(fd, _FILE_MODE)  # mkstemp makes 0600; outputs are shared documents
            temps.append((name, Path(tmp_name)))
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode() if isinstance(text, str) else text)
    except BaseException:  # also Ctrl-C: remove our temp files, and the folder if we made it and it is empty
        for _, tmp in temps:
            tmp.unlink(missing_ok=True)
        if created and not any(out.iterdir()):
            out.rmdir()
        raise
    with _sigint_deferred():  # the renames: all of them or, if the process dies, a consistent old set
        for name, tmp in temps:
            os.replace(tmp, out / name)
        for name in stale:
            if name not in files:
                (out / name).unlink(missing_ok=True)


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C that arrives inside the block until the block is done, then raise it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    if received:
        raise KeyboardInterrupt


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
