"""Read a scenario file (YAML naming CSV tables) into a validated :class:`Scenario`.

Every failure becomes a :class:`ScenarioError` naming the file, the spreadsheet row and the field.
"""

from __future__ import annotations

import csv
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .errors import ScenarioError
from .policy import Policy, SolverSettings
from .scenario import Scenario
from .plan import Plan
from .tables import TABLE_ROWS, PlanRow, Row, identifier, visible

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_ROWS = 2_000_000


@dataclass(frozen=True)
class Limits:
    """Size limits of each input file (the YAML file and every table): larger files are refused with a clear
    error before they exhaust memory. Raise them explicitly for bigger inputs (``bangfu solve --max-file-mib``)."""

    max_file_bytes: int = MAX_FILE_BYTES
    max_rows: int = MAX_ROWS


class TablePaths(BaseModel):
    """CSV files of the scenario, relative to the YAML file and inside its folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    towns: str
    units: str
    counterparts: str | None = None
    relationships: str | None = None
    scores: str | None = None
    pins: str | None = None
    baseline: str | None = None
    cadres: str | None = None


class ScenarioFile(BaseModel):
    """The YAML scenario file: a name, its tables, the policy and the solver settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field("scenario", min_length=1)
    description: str = ""
    tables: TablePaths
    policy: Policy = Policy()
    solver: SolverSettings = SolverSettings()


def load_scenario(path: str | Path, *, allow_outside: bool = False, limits: Limits = Limits()) -> Scenario:
    """Load and validate a YAML scenario and its CSV tables, or a scenario workbook (``.xlsx``).

    Table paths must stay inside the scenario's folder (no absolute paths, ``..`` or symlinks out of it) unless
    ``allow_outside`` is set. Every file is held to ``limits``.

    Bad input raises :class:`ScenarioError` naming the file, row and field.

    >>> from models import load_scenario
    >>> scenario = load_scenario("scenarios/tiny/scenario.yaml")
    >>> scenario.name, len(scenario.key_towns)
    ('tiny', 10)
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        from .excel import load_workbook  # imports this module; openpyxl is loaded only for workbooks

        return load_workbook(path, limits)
    raw = read_yaml_mapping(path, limits)
    try:
        spec = ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        raise _located(exc, file=path.name, raw=raw) from None
    folder = path.resolve().parent
    tables: dict[str, tuple[Row, ...]] = {}
    sources: dict[str, str] = {}
    for table, model in TABLE_ROWS.items():
        rel = getattr(spec.tables, table)
        if rel is None:
            continue
        file = _inside(folder, rel, path.name, table, allow_outside=allow_outside)
        sources[table] = rel
        tables[table] = read_table(file, model, label=rel, limits=limits)
    try:
        return Scenario(name=spec.name, description=spec.description, policy=spec.policy, solver=spec.solver,
                        sources=sources, **tables)
    except ScenarioError as exc:
        if exc.file != "policy":
            raise
        raise ScenarioError(exc.message, file=path.name, field=f"policy.{exc.field}") from None  # the YAML's block


def load_plan(path: str | Path, *, limits: Limits = Limits()) -> Plan:
    """Read a ``plan.csv`` (columns ``town_id, unit_id`` and, with groups, ``members``: member unit ids joined by
    ``;``; others ignored) as a :class:`Plan`."""
    path = Path(path)
    rows = [r for r in read_table(path, PlanRow, label=str(path), limits=limits) if isinstance(r, PlanRow)]
    plan = Plan.from_pairs([(r.town_id, r.unit_id) for r in rows])
    members: dict[str, tuple[str, ...]] = {}
    for index, row in enumerate(rows):
        cell = str((row.model_extra or {}).get("members") or "")
        try:
            ids = tuple(identifier(part.strip()) for part in cell.split(";") if part.strip())
        except ValueError as exc:
            raise ScenarioError(str(exc), file=str(path), row=index + 2, field="members") from None
        if ids:
            members[row.town_id] = members.get(row.town_id, ()) + ids
    return plan.with_members(members) if members else plan


def read_table(file: Path, model: type[Row], label: str | None = None, *,
               limits: Limits = Limits()) -> tuple[Row, ...]:
    """Read one CSV table and validate it with :func:`validate_rows`."""
    label = label or file.name
    try:
        _check_size(file, label, limits)
        with file.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            reader.fieldnames = header
            records: list[dict[str, Any]] = []
            for record in reader:
                if len(records) == limits.max_rows:
                    raise ScenarioError(f"more than {limits.max_rows:,} rows (raise the limit for bigger tables)",
                                        file=label, row=limits.max_rows + 2)
                records.append(record)
    except FileNotFoundError:
        raise ScenarioError("file not found", file=label) from None
    except UnicodeDecodeError:
        raise ScenarioError("not UTF-8 text (save the CSV as UTF-8)", file=label) from None
    except csv.Error as exc:
        raise ScenarioError(f"malformed CSV: {exc}", file=label) from None
    except (OSError, ValueError) as exc:  # a folder, a name too long, a path through a file, a NUL in the name
        raise ScenarioError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", file=label) from None
    return validate_rows(records, model, header=header, file=label)


def _check_size(file: Path, label: str, limits: Limits) -> None:
    """A regular file (not a folder, FIFO or device) no larger than the limit; OSError if it cannot be stat'ed."""
    info = file.stat()
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError("not a regular file (a folder or a device?)", file=label)
    if info.st_size > limits.max_file_bytes:
        raise ScenarioError(f"file is larger than {limits.max_file_bytes / 2**20:g} MiB (raise the limit for "
                            "bigger files)", file=label)


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


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader (plain data only, never Python objects) that also refuses a key given twice
    in one mapping: plain YAML keeps the last one silently, so a repeated rule would drop the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable: the base class reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def read_yaml_mapping(path: Path, limits: Limits = Limits(),
                      expected: str = "a scenario file must be a YAML mapping (name, tables, policy, solver)",
                      ) -> dict[str, Any]:
    """The YAML mapping in ``path`` (safe loader, no duplicate keys), or a :class:`ScenarioError` naming the file,
    and the line of a YAML error; ``expected`` is the message when the document is not a mapping."""
    try:
        _check_size(path, str(path), limits)
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError("file not found", file=str(path)) from None
    except (OSError, ValueError) as exc:  # not UTF-8, a folder, unreadable
        raise ScenarioError(f"cannot read: {exc}", file=str(path)) from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: plain data only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioError(f"broken YAML: {getattr(exc, 'problem', exc)}", file=path.name,
                            row=mark.line + 1 if mark else None) from None
    except RecursionError:
        raise ScenarioError("broken YAML: nested too deeply", file=path.name) from None
    if not isinstance(raw, dict):
        raise ScenarioError(expected, file=path.name)
    return raw


def _inside(folder: Path, rel: str, yaml_name: str, table: str, *, allow_outside: bool = False) -> Path:
    """Resolve a table path and refuse anything outside the scenario's folder (absolute, ``..``, symlinks),
    unless ``allow_outside``."""
    where: dict[str, Any] = {"file": yaml_name, "field": f"tables.{table}"}
    try:
        if not rel.strip():
            raise ValueError("it is empty")
        visible(rel)
        target = (folder / rel).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise ScenarioError(f"bad table path {rel!r}: {exc}", **where) from None
    if not allow_outside and (Path(rel).is_absolute() or not target.is_relative_to(folder)):
        raise ScenarioError(f"table path {rel!r} leaves the scenario folder (allow it explicitly with "
                            "--allow-outside)", **where)
    return target


def _located(exc: ValidationError, *, file: str, rows: bool = False, sheet: str | None = None,
             row_numbers: Sequence[int] | None = None, raw: Any = None) -> ScenarioError:
    """Turn pydantic's first error into a located ScenarioError (row numbers as in a spreadsheet).

    With the ``raw`` input, the field is the path of keys in it: pydantic's union member tags
    (``policy.max_changes.constrained-int``) are dropped.
    """
    err = exc.errors()[0]
    loc = list(err["loc"]) if raw is None else _input_path(err["loc"], raw)
    row = None
    if rows and loc and isinstance(index := loc[0], int):
        loc.pop(0)
        row = row_numbers[index] if row_numbers is not None else index + 2
    field = ".".join(str(p) for p in loc) or None
    value = err.get("input")
    shown = f" (got {value!r})" if rows and not isinstance(value, dict) and value is not None else ""
    return ScenarioError(f"{err['msg']}{shown}", file=file, sheet=sheet, row=row, field=field)


def _input_path(loc: tuple[int | str, ...], raw: Any) -> list[int | str]:
    """The part of ``loc`` that walks the input: keys of mappings, then nothing below a non-mapping value."""
    path: list[int | str] = []
    node = raw
    for part in loc:
        if isinstance(node, dict):
            path.append(part)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            path.append(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            break
    return path
