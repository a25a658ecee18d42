"""Read a scenario file (YAML naming CSV tables) into a validated :class:`Scenario`.

Every failure becomes a :class:`ScenarioError` naming the file, the spreadsheet row and the field.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .errors import ScenarioError
from .policy import Policy, SolverSettings
from .scenario import Scenario
from .plan import Plan
from .tables import TABLE_ROWS, PlanRow, Row

MAX_FILE_BYTES = 200 * 1024 * 1024


class TablePaths(BaseModel):
    """CSV files of the scenario, relative to the YAML file and inside its folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    towns: str
    units: str
    counterparts: str | None = None
    relationships: str | None = None
    scores: str | None = None
    pins: str | None = None


class ScenarioFile(BaseModel):
    """The YAML scenario file: a name, its tables, the policy and the solver settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field("scenario", min_length=1)
    description: str = ""
    tables: TablePaths
    policy: Policy = Policy()
    solver: SolverSettings = SolverSettings()


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a YAML scenario and its CSV tables, or a scenario workbook (``.xlsx``).

    Bad input raises :class:`ScenarioError` naming the file, row and field.

    >>> from models import load_scenario
    >>> scenario = load_scenario("scenarios/tiny/scenario.yaml")
    >>> scenario.name, len(scenario.key_towns)
    ('tiny', 10)
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        from .excel import load_workbook  # imports this module; openpyxl is loaded only for workbooks

        return load_workbook(path)
    raw = _read_yaml(path)
    try:
        spec = ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        raise _located(exc, file=path.name) from None
    folder = path.resolve().parent
    tables: dict[str, tuple[Row, ...]] = {}
    sources: dict[str, str] = {}
    for table, model in TABLE_ROWS.items():
        rel = getattr(spec.tables, table)
        if rel is None:
            continue
        file = _inside(folder, rel, path.name, table)
        sources[table] = rel
        tables[table] = read_table(file, model, label=rel)
    return Scenario(name=spec.name, description=spec.description, policy=spec.policy, solver=spec.solver,
                    sources=sources, **tables)


def load_plan(path: str | Path) -> Plan:
    """Read a ``plan.csv`` (columns ``town_id, unit_id``; others ignored) as a :class:`Plan`."""
    path = Path(path)
    rows = read_table(path, PlanRow, label=str(path))
    return Plan.from_pairs([(r.town_id, r.unit_id) for r in rows if isinstance(r, PlanRow)])


def read_table(file: Path, model: type[Row], label: str | None = None) -> tuple[Row, ...]:
    """Read one CSV table and validate it with :func:`validate_rows`."""
    label = label or file.name
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"file is larger than {MAX_FILE_BYTES // 2**20} MiB", file=label)
        with file.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            reader.fieldnames = header
            records = list(reader)
    except FileNotFoundError:
        raise ScenarioError("file not found", file=label) from None
    except UnicodeDecodeError:
        raise ScenarioError("not UTF-8 text (save the CSV as UTF-8)", file=label) from None
    except csv.Error as exc:
        raise ScenarioError(f"malformed CSV: {exc}", file=label) from None
    return validate_rows(records, model, header=header, file=label)


def validate_rows(records: Sequence[Mapping[str, object]], model: type[Row], *, header: Sequence[str],
                  file: str, sheet: str | None = None, rows: Sequence[int] | None = None) -> tuple[Row, ...]:
    """Validate one table's records, from a CSV file or a workbook sheet alike, so both obey the same rules.

    Cells are text; they are stripped and an empty cell counts as missing, so that defaults apply. ``rows``
    gives each record's spreadsheet row when records are not consecutive from row 2 (skipped empty rows).
    """
    required = [name for name, f in model.model_fields.items() if f.is_required()]
    missing = [c for c in required if c not in header]
    if missing:
        raise ScenarioError(f"missing column(s) {', '.join(missing)}", file=file, sheet=sheet, row=1,
                            field=missing[0])
    cleaned = [{k: v.strip() for k, v in rec.items() if k and isinstance(v, str) and v.strip() != ""}
               for rec in records]
    try:
        return tuple(TypeAdapter(list[model]).validate_python(cleaned))
    except ValidationError as exc:
        raise _located(exc, file=file, sheet=sheet, rows=True, row_numbers=rows) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError("file not found", file=str(path)) from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise ScenarioError(f"cannot read: {exc}", file=str(path)) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioError(f"broken YAML: {getattr(exc, 'problem', exc)}", file=path.name,
                            row=mark.line + 1 if mark else None) from None
    if not isinstance(raw, dict):
        raise ScenarioError("a scenario file must be a YAML mapping (name, tables, policy, solver)", file=path.name)
    return raw


def _inside(folder: Path, rel: str, yaml_name: str, table: str) -> Path:
    """Resolve a table path and refuse anything outside the scenario's folder (absolute, ``..``, symlinks)."""
    target = (folder / rel).resolve()
    if Path(rel).is_absolute() or not target.is_relative_to(folder):
        raise ScenarioError(f"table path {rel!r} leaves the scenario folder", file=yaml_name, field=f"tables.{table}")
    return target


def _located(exc: ValidationError, *, file: str, rows: bool = False, sheet: str | None = None,
             row_numbers: Sequence[int] | None = None) -> ScenarioError:
    """Turn pydantic's first error into a located ScenarioError (row numbers as in a spreadsheet)."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    row = None
    if rows and loc and isinstance(index := loc[0], int):
        loc.pop(0)
        row = row_numbers[index] if row_numbers is not None else index + 2
    field = ".".join(str(p) for p in loc) or None
    value = err.get("input")
    shown = f" (got {value!r})" if rows and not isinstance(value, dict) and value is not None else ""
    return ScenarioError(f"{err['msg']}{shown}", file=file, sheet=sheet, row=row, field=field)
