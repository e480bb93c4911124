"""Workbooks the app writes, with openpyxl: one look for every sheet (the ledger, the roster and
its template, each page's download) — a bold header row that stays in view, filters on, column
widths that fit Chinese, dates as dates, numbers as numbers and percentages as percentages."""

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from io import BytesIO
from typing import Any

from flask import send_file
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pilot.database import local_zone

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
NOTE_FONT = Font(italic=True, color="555555")
#: Widest column, in characters (longer text wraps in the cell when opened).
MAX_WIDTH = 60


class Kind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"  # two places
    ONE_PLACE = "one_place"  # scores, hours
    PERCENT = "percent"  # a fraction: 0.85 shows 85.0%
    DATE = "date"
    DATETIME = "datetime"  # shown in the bureau's time zone


FORMATS = {
    Kind.TEXT: "@",
    Kind.INTEGER: "0",
    Kind.DECIMAL: "#,##0.00",
    Kind.ONE_PLACE: "0.0",
    Kind.PERCENT: "0.0%",
    Kind.DATE: "yyyy-mm-dd",
    Kind.DATETIME: "yyyy-mm-dd hh:mm",
}


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = Kind.TEXT


def text_width(value: Any) -> int:
    """Characters a value takes on screen: a Chinese character counts two."""
    text = value if isinstance(value, str) else str(value)
    longest = max(text.split("\n"), key=len) if "\n" in text else text
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in longest)


def cell_value(value: Any, kind: Kind) -> Any:
    """What openpyxl stores: Excel has no time zones, so a UTC timestamp becomes the bureau's
    wall-clock time, to the second (Excel keeps milliseconds at best, and a fraction rounded
    there would show as the next second); text stays text even when it looks like a number."""
    if value is None:
        return None
    if kind == Kind.DATETIME and isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(local_zone()).replace(tzinfo=None, microsecond=0)
    if kind == Kind.TEXT and not isinstance(value, str):
        return str(value)
    return value


def add_sheet(
    workbook: Workbook,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    note: str = "",
) -> Worksheet:
    """A sheet of a table: an optional note line, the header row (frozen, with filters), one row
    per record. The workbook's first, empty sheet is used for the first table."""
    if (
        len(workbook.worksheets) == 1
        and workbook.active.max_row == 1
        and not workbook.active["A1"].value
    ):
        sheet = workbook.active
        sheet.title = title
    else:
        sheet = workbook.create_sheet(title)
    first = 1
    if note:
        sheet.cell(1, 1, note).font = NOTE_FONT
        first = 2
    widths = [text_width(c.title) for c in columns]
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(first, index, column.title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    row_number = first
    for row_number, row in enumerate(rows, start=first + 1):
        for index, (column, value) in enumerate(zip(columns, row, strict=True), start=1):
            stored = cell_value(value, column.kind)
            cell = sheet.cell(row_number, index, stored)
            cell.number_format = FORMATS[column.kind]
            if stored is not None and column.kind == Kind.TEXT:
                widths[index - 1] = max(widths[index - 1], text_width(stored))
    for index, column in enumerate(columns, start=1):
        minimum = {Kind.DATE: 11, Kind.DATETIME: 17}.get(column.kind, 8)
        width = min(max(widths[index - 1], minimum) + 2, MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = sheet.cell(first + 1, 1)
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A{first}:{last}{max(row_number, first)}"
    return sheet


def fraction(percent: Decimal | None) -> Decimal | None:
    """A percentage (85.5) as the fraction a percent cell holds (0.855)."""
    return None if percent is None else percent / 100


def to_bytes(workbook: Workbook) -> bytes:
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def download(workbook: Workbook | bytes, filename: str):
    """A response sending the workbook as a file named `filename`."""
    data = workbook if isinstance(workbook, bytes) else to_bytes(workbook)
    return send_file(
        BytesIO(data), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=filename
    )


def stamp(day: date) -> str:
    """The date part of a download's file name."""
    return day.strftime("%Y%m%d")
