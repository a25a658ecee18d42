"""The scenario workbook a planner fills in, read back by :mod:`models.excel`.

One sheet per table with bilingual header cells (the column key bangfu reads, the Chinese name below it) and
drop-down lists on every enumeration and flag; a ``policy`` sheet of key/value rows whose values are YAML text; an
``instructions`` sheet explaining every sheet, column and key in Chinese and English. Filled from a scenario, it
loads back to the same scenario (same fingerprint): numbers stay numbers, text stays text and never a formula.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import Enum
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from models import Policy, Scenario, SolverSettings
from models.excel import INSTRUCTIONS_SHEET, PLAIN_KEYS, POLICY_SHEET
from models.tables import TABLE_ROWS, Row

from .excel import header_cell, workbook_bytes, write_table
from .glossary import COLUMNS, SETTINGS, Entry

LAST_ROW = 1_048_576  # drop-down lists cover the whole column, so rows a planner adds get them too

NOTES = [
    "bangfu 情景模板：每张表一个工作表，填好后运行 bangfu solve 本文件.xlsx --out 输出目录 --excel",
    "bangfu scenario template: one sheet per table; fill them in, then run "
    "bangfu solve THIS.xlsx --out DIR --excel",
    "表头单元格第一行是程序读取的英文列名，第二行是中文名称；请勿修改第一行。可以增加其他列（会原样保留）。",
    "A header cell holds the column key that bangfu reads on its first line and the Chinese name below; keep "
    "the first line. Extra columns are allowed and kept.",
    "空单元格表示缺省值；空行会被跳过；下拉列表给出可选值（true/false 表示是/否）。公式不会被计算，请直接填写数值。",
    "An empty cell takes the default; empty rows are skipped; drop-down lists give the allowed values "
    "(true/false for flags). Formulas are never evaluated: type the values themselves.",
    "policy 工作表每行一个键（key），值（value）用 YAML 写法，如 {prd: 5, provincial: 2, local: 3}；留空即用缺省值。",
    "The policy sheet has one key per row; values are YAML, e.g. {prd: 5, provincial: 2, local: 3}; "
    "empty takes the default.",
    "请勿增加、删除或改名工作表（towns、units 必须有，其他表可为空）。",
    "Do not add or rename sheets (towns and units are needed; the other tables may stay empty).",
]


def template_workbook(scenario: Scenario | None = None) -> bytes:
    """The scenario workbook: empty tables and default settings, or filled with ``scenario``."""
    book = Workbook()
    instructions = book.active
    assert instructions is not None  # a new workbook has one sheet
    instructions.title = INSTRUCTIONS_SHEET
    for table, model in TABLE_ROWS.items():
        rows: tuple[Row, ...] = getattr(scenario, table) if scenario is not None else ()
        columns = [*model.model_fields, *_extras(rows)]
        sheet = book.create_sheet(table)
        write_table(sheet, [header_cell(c, _entry(table, c, model)[0]) for c in columns],
                    ([_cell(_value(row, c)) for c in columns] for row in rows))
        for index, column in enumerate(columns, start=1):
            field = model.model_fields.get(column)
            if field is not None and (options := choices(field.annotation)):
                letter = get_column_letter(index)
                _drop_down(sheet, f"{letter}2:{letter}{LAST_ROW}", options)
    _policy_sheet(book.create_sheet(POLICY_SHEET), scenario)
    _instructions(instructions)
    return workbook_bytes(book)


def choices(annotation: Any) -> list[str]:
    """The values a drop-down list offers for a field: flags, enumerations and literals (optional ones too)."""
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        return next((found for option in get_args(annotation) if (found := choices(option))), [])
    if origin is Literal:
        return [str(a) for a in get_args(annotation)]
    if annotation is bool:
        return ["true", "false"]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(member.value) for member in annotation]
    return []


def _settings_fields() -> Iterator[tuple[str, FieldInfo | None]]:
    """Every policy-sheet key: name, description, then each policy and solver setting."""
    yield from ((key, None) for key in PLAIN_KEYS)
    for section, model in (("policy", Policy), ("solver", SolverSettings)):
        yield from ((f"{section}.{name}", field) for name, field in model.model_fields.items())


def _policy_sheet(sheet: Worksheet, scenario: Scenario | None) -> None:
    policy = (scenario.policy if scenario else Policy()).model_dump(mode="json", exclude_none=True)
    solver = (scenario.solver if scenario else SolverSettings()).model_dump(mode="json", exclude_none=True)
    values = {"name": scenario.name if scenario else "scenario",
              "description": scenario.description if scenario else ""}
    values |= {f"policy.{k}": v for k, v in policy.items()} | {f"solver.{k}": v for k, v in solver.items()}
    keys = list(_settings_fields())
    write_table(sheet, [header_cell("key", "键"), header_cell("value", "值"), header_cell("note", "说明")],
                ((key, _yaml_text(values.get(key)), _settings_entry(key, field)[1]) for key, field in keys))
    for row, (key, field) in enumerate(keys, start=2):
        if field is not None and (options := choices(field.annotation)):
            _drop_down(sheet, f"B{row}", options)


def _instructions(sheet: Worksheet) -> None:
    for note in NOTES:
        sheet.append([note])
    sheet.append([])
    rows: list[tuple[str, str, str, str, str, str]] = []
    for table, model in TABLE_ROWS.items():
        for column, field in model.model_fields.items():
            label, meaning_zh, meaning_en = _entry(table, column, model)
            required = "是 yes" if field.is_required() else "否 no"
            rows.append((table, column, label, required, meaning_zh, meaning_en))
    for key, setting in _settings_fields():
        label, meaning_zh, meaning_en = _settings_entry(key, setting)
        rows.append((POLICY_SHEET, key, label, "否 no", meaning_zh, meaning_en))
    write_table(sheet, [header_cell("sheet", "工作表"), header_cell("column / key", "列 / 键"), "名称",
                        header_cell("required", "必填"), "说明", "meaning"], rows, wrap=True)


def _entry(table: str, column: str, model: type[BaseModel]) -> Entry:
    field = model.model_fields.get(column)
    return COLUMNS.get(table, {}).get(column, ("", "", (field.description or "") if field else ""))


def _settings_entry(key: str, field: FieldInfo | None) -> Entry:
    return SETTINGS.get(key, ("", "", (field.description or "") if field else ""))


def _drop_down(sheet: Worksheet, ref: str, options: list[str]) -> None:
    allowed = ", ".join(options)
    rule = DataValidation(type="list", formula1=f'"{",".join(options)}"', allow_blank=True, showErrorMessage=True,
                          errorTitle="bangfu", error=f"可选值 / allowed: {allowed}")
    rule.add(ref)
    sheet.add_data_validation(rule)


def _extras(rows: Iterable[Row]) -> list[str]:
    """Extra columns of the rows, in the order first seen (they travel with the data, as in the CSV)."""
    seen: dict[str, None] = {}
    for row in rows:
        seen |= dict.fromkeys(row.model_extra or {})
    return list(seen)


def _value(row: Row, column: str) -> object:
    """A row's value in a column, declared or extra (an extra column may share a name with a property)."""
    if column in type(row).model_fields:
        return getattr(row, column)
    return (row.model_extra or {}).get(column)


def _cell(value: object) -> object:
    """A table value as its cell: numbers as numbers, flags as true/false, enumerations as their value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return value.value
    return value


def _yaml_text(value: object) -> str:
    """A setting as the YAML text its cell holds (``10.0`` stays a float: 1.0 and 1 differ for max_changes)."""
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return str(yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, sort_keys=False,
                              width=2**31 - 1)).strip()
