"""plan.xlsx, and the sheet layout the scenario template shares: bold frozen headers, fitted columns, no formulas.

Text never becomes a formula: a string cell starting with ``=`` is stored as text, and plan.xlsx also passes every
cell through :func:`optimizer.report.neutralise` (a leading ``'`` on text starting with ``= + - @``), so that
names coming from the input cannot run as formulas when a planner edits a cell or saves the sheet as CSV.
"""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from models import AuditReport, Scenario, SolveResult, Tier

from .glossary import PLAN_LABELS, SUMMARY_LABELS, TIER_SHEETS
from .report import neutralise, plan_frame, summary, write_outputs

MAX_WIDTH = 60
TITLE_LIMIT = 31  # Excel's longest sheet name
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
NOT_IN_TITLES = str.maketrans({c: " " for c in "[]:*?/\\"})


def plan_workbook(scenario: Scenario, result: SolveResult, report: AuditReport | None = None) -> bytes:
    """plan.xlsx of a solve: the summary, the whole plan, one sheet per target city and one per helper tier."""
    if result.plan is None:
        raise ValueError(f"a {result.status.value} result has no plan to write")
    frame = plan_frame(scenario, result.plan)
    header = [header_cell(c, PLAN_LABELS.get(c, "")) for c in frame.columns]
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "summary"
    write_table(sheet, [header_cell("key", "项目"), header_cell("label", "名称"), header_cell("value", "值")],
                ((key, SUMMARY_LABELS.get(key, ""), neutralise(value))
                 for key, value in _flat(summary(scenario, result, report))))
    taken = {"summary"}
    parts = [("plan", frame)]
    parts += [(str(city), group) for city, group in frame.groupby("city", sort=True)]
    parts += [(TIER_SHEETS[t.value], frame[frame["tier"] == t.value]) for t in Tier]
    for name, part in parts:
        rows = part.astype(object).values.tolist()
        write_table(book.create_sheet(sheet_title(name, taken)), header,
                    ([neutralise(v) for v in row] for row in rows))
    return workbook_bytes(book)


def write_plan_workbook(path: Path, scenario: Scenario, result: SolveResult,
                        report: AuditReport | None = None) -> None:
    """Write :func:`plan_workbook` to ``path`` atomically (temporary file, then rename)."""
    write_outputs(path.parent, {path.name: plan_workbook(scenario, result, report)}, stale=())


def header_cell(key: str, label: str) -> str:
    """A header cell: the column key that bangfu reads on the first line, the Chinese label below it."""
    return f"{key}\n{label}" if label else key


def write_table(sheet: Worksheet, header: Sequence[str], rows: Iterable[Sequence[object]],
                wrap: bool = False) -> None:
    """Append a bold header row and the rows, fit the column widths; a header in row 1 is frozen and filtered."""
    widths = [_width(h) for h in header]
    sheet.append(list(header))
    top = sheet.max_row
    for cell in sheet[top]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for values in rows:
        sheet.append(list(values))
        for column, cell in enumerate(sheet[sheet.max_row]):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
                if wrap:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            if column < len(widths):
                widths[column] = max(widths[column], _width(cell.value))
    if top == 1:
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(header), 1))}{sheet.max_row}"
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = min(width + 2, MAX_WIDTH)


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unused sheet name for ``name`` (Excel forbids some characters and names over 31 characters)."""
    base = name.translate(NOT_IN_TITLES).strip(" '")[:TITLE_LIMIT] or "sheet"
    title, n = base, 1
    while title.casefold() in {t.casefold() for t in taken}:
        n += 1
        suffix = f" ({n})"
        title = base[:TITLE_LIMIT - len(suffix)] + suffix
    taken.add(title)
    return title


def workbook_bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _flat(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, object]]:
    """The summary as key/value rows: nested figures as dotted keys, lists (conflicts, violations) as JSON."""
    for key, value in data.items():
        if isinstance(value, dict) and value:
            yield from _flat(value, f"{prefix}{key}.")
        elif isinstance(value, dict | list):
            yield f"{prefix}{key}", json.dumps(value, ensure_ascii=False)
        else:
            yield f"{prefix}{key}", value


def _width(value: object) -> int:
    """Display width of a cell's longest line; CJK characters take two columns."""
    if value is None:
        return 0
    lines = str(value).split("\n")
    return max(sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line) for line in lines)
