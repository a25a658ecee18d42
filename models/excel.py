"""Read a scenario workbook (.xlsx) into the same validated :class:`Scenario` as a YAML file and its CSV tables.

One sheet per table (``towns``, ``units``, ... named as in the YAML's ``tables``) and a ``policy`` sheet of
``key``/``value`` rows (``name``, ``description``, ``policy.<key>``, ``solver.<key>``). Any other sheet but
``instructions`` is an error, as an unknown YAML key is: a misspelt sheet must not silently drop a table.

Header cells hold the column key on their first line; further lines (the template's Chinese labels) are ignored.
Cells become the text a CSV would hold and go through :func:`models.loader.validate_rows`, the CSV tables' path,
so both formats obey one set of rules. Formulas are never evaluated: a formula cell is the text of its formula,
which fails validation wherever a number is needed. Empty rows are skipped; errors give the real sheet row.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import openpyxl
import yaml
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.formula import ArrayFormula
from pydantic import ValidationError

from .errors import ScenarioError
from .loader import Limits, ScenarioFile, TablePaths, _check_size, _located, validate_rows
from .scenario import Scenario
from .tables import TABLE_ROWS, Row

if TYPE_CHECKING:
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

POLICY_SHEET = "policy"
INSTRUCTIONS_SHEET = "instructions"
SHEETS = (*TABLE_ROWS, POLICY_SHEET, INSTRUCTIONS_SHEET)
PLAIN_KEYS = ("name", "description")
"""Policy-sheet keys whose value is plain text; every other value is YAML (a number, true, {prd: 5}, [...])."""
SECTIONS = ("policy", "solver")

_UNREADABLE = (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, SyntaxError)


class Grid(NamedTuple):
    """A sheet's header keys, its non-empty rows as text cells, and their spreadsheet row numbers."""

    header: list[str]
    records: list[dict[str, str]]
    rows: list[int]


def load_workbook(path: Path, limits: Limits = Limits()) -> Scenario:
    """Load and validate a scenario workbook held to ``limits``; errors name the file, sheet, row and column."""
    label = path.name
    grids = _read(path, label, limits)
    for table, field in TablePaths.model_fields.items():
        if field.is_required() and table not in grids:
            raise ScenarioError(f"missing sheet {table!r}", file=label, sheet=table)
    raw, key_rows = _settings(grids.get(POLICY_SHEET), label)
    try:  # the sheets stand where the YAML names its CSV files
        spec = ScenarioFile.model_validate(raw | {"tables": {t: t for t in TABLE_ROWS if t in grids}})
    except ValidationError as exc:
        raise _policy_error(exc, label, key_rows, raw) from None
    tables: dict[str, tuple[Row, ...]] = {}
    for table, model in TABLE_ROWS.items():
        if getattr(spec.tables, table) is not None:
            grid = grids[table]
            tables[table] = validate_rows(grid.records, model, header=grid.header, file=label, sheet=table,
                                          rows=grid.rows)
    try:
        return Scenario(name=spec.name, description=spec.description, policy=spec.policy, solver=spec.solver,
                        sources={t: f"{label} [{t}]" for t in tables}, **tables)
    except ScenarioError as exc:
        raise _relocated(exc, label, grids, key_rows) from None


def _read(path: Path, label: str, limits: Limits) -> dict[str, Grid]:
    """Every sheet but the instructions as text grids; the file is closed before validation starts."""
    try:
        _check_size(path, label, limits)
        book = openpyxl.load_workbook(path, read_only=True, keep_links=False)
        try:
            for name in book.sheetnames:
                if name not in SHEETS:
                    raise ScenarioError(f"unknown sheet {name!r}: the sheets are {', '.join(SHEETS)} "
                                        "(rename or delete it)", file=label, sheet=name)
            return {name: _grid(book[name], label, limits) for name in book.sheetnames
                    if name != INSTRUCTIONS_SHEET}
        finally:
            book.close()
    except FileNotFoundError:
        raise ScenarioError("file not found", file=label) from None
    except _UNREADABLE as exc:
        raise ScenarioError(f"not a readable Excel workbook (.xlsx): {exc}", file=label) from None


def _grid(sheet: ReadOnlyWorksheet, label: str, limits: Limits) -> Grid:
    sheet.reset_dimensions()  # read every stored cell, whatever size the file claims
    lines = sheet.iter_rows(values_only=True)  # type: ignore[misc]  # the stubs lend Worksheet's method
    header = [_text(v).split("\n")[0].strip() if v is not None else "" for v in next(lines, ())]
    grid = Grid(header, [], [])
    for number, values in enumerate(lines, start=2):
        cells = {key: _text(v) for key, v in zip(header, values) if key and v is not None}
        if any(c.strip() for c in cells.values()):
            if len(grid.records) == limits.max_rows:
                raise ScenarioError(f"more than {limits.max_rows:,} rows (raise the limit for bigger tables)",
                                    file=label, sheet=sheet.title, row=number)
            grid.records.append(cells)
            grid.rows.append(number)
    return grid


def _text(value: object) -> str:
    """A cell as the text a CSV would hold: true/false, whole numbers without '.0', a formula as typed."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, ArrayFormula):
        return value.text or ""
    return str(value)


def _settings(grid: Grid | None, label: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The policy sheet as the YAML file's mapping (name, description, policy, solver), and each key's row."""
    raw: dict[str, Any] = {}
    key_rows: dict[str, int] = {}
    if grid is None:
        return raw, key_rows
    for column in ("key", "value"):
        if column not in grid.header:
            raise ScenarioError(f"missing column {column}", file=label, sheet=POLICY_SHEET, row=1, field=column)
    for record, row in zip(grid.records, grid.rows):
        key, value = record.get("key", "").strip(), record.get("value", "").strip()
        section, _, name = key.partition(".")
        if not key and not value:
            continue  # a note only
        if not key:
            problem = "a value without a key"
        elif key not in PLAIN_KEYS and (section not in SECTIONS or not name):
            problem = f"unknown key {key!r}: use name, description, policy.<key> or solver.<key>"
        elif key in key_rows:
            problem = f"key {key!r} is also in row {key_rows[key]}"
        else:
            problem = ""
        if problem:
            raise ScenarioError(problem, file=label, sheet=POLICY_SHEET, row=row, field="key")
        key_rows[key] = row
        if not value:
            continue  # empty: the default applies
        if key in PLAIN_KEYS:
            raw[key] = value
            continue
        try:
            raw.setdefault(section, {})[name] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ScenarioError(f"broken YAML: {getattr(exc, 'problem', exc)}", file=label, sheet=POLICY_SHEET,
                                row=row, field=key) from None
    return raw, key_rows


def _policy_error(exc: ValidationError, label: str, key_rows: dict[str, int], raw: dict[str, Any]) -> ScenarioError:
    """Locate a policy or solver error at the row of the key it concerns (``policy.tier_ratio.prd`` → its row)."""
    error = _located(exc, file=label, sheet=POLICY_SHEET, raw=raw)
    parts = (error.field or "").split(".")
    row = next((key_rows[k] for n in range(len(parts), 0, -1) if (k := ".".join(parts[:n])) in key_rows), None)
    return ScenarioError(error.message, file=label, sheet=POLICY_SHEET, row=row, field=error.field)


def _relocated(exc: ScenarioError, label: str, grids: dict[str, Grid], key_rows: dict[str, int]) -> ScenarioError:
    """Point a cross-reference error of :class:`Scenario` at its sheet and real row (empty rows were skipped)."""
    table = next((t for t in grids if exc.file == f"{label} [{t}]"), None)
    if table is not None:
        row = grids[table].rows[exc.row - 2] if exc.row is not None else None
        return ScenarioError(exc.message, file=label, sheet=table, row=row, field=exc.field)
    if exc.file == POLICY_SHEET:  # Scenario names the policy block so
        key = f"policy.{exc.field}"
        return ScenarioError(exc.message, file=label, sheet=POLICY_SHEET, row=key_rows.get(key), field=key)
    return exc
