"""The one error type bad input raises: it always says where (file, sheet, row, field) and what."""

from __future__ import annotations


class ScenarioError(Exception):
    """Invalid scenario input, located as precisely as the input allows.

    ``row`` is the spreadsheet row number (the header is row 1, the first data row is row 2), so a
    planner can jump to it in Excel; ``sheet`` names the worksheet when the input is a workbook.
    Not a ``ValueError`` on purpose: pydantic must not swallow it.
    """

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 field: str | None = None, sheet: str | None = None) -> None:
        self.message = message
        self.file = file
        self.sheet = sheet
        self.row = row
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [part for part in (
            f"{self.file} [{self.sheet}]" if self.sheet else self.file,
            f"row {self.row}" if self.row is not None else None,
            f"field '{self.field}'" if self.field else None,
        ) if part]
        return f"{', '.join(where)}: {self.message}" if where else self.message
