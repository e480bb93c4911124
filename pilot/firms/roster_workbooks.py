"""The roster's workbooks: the template, the copy of a refused roster with its bad cells marked
and commented, and a roster sheet of firms (the ledger's first sheet, which imports again)."""

from collections.abc import Iterable
from io import BytesIO
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlmodel import Session, select

from pilot import reference
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.excel import HEADER_FILL, HEADER_FONT, text_width, to_bytes
from pilot.firms.models import Firm
from pilot.firms.roster import COLUMNS, MAX_ROWS, SHEET, CellError, column_order, columns_of

ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_FONT = Font(color="9C0006")
REQUIRED_FILL = PatternFill("solid", fgColor="F8CBAD")
AUTHOR = "Pilot"


def marked_copy(data: bytes, errors: Iterable[CellError]) -> bytes:
    """The uploaded workbook with each bad cell filled red and commented with its errors, and a
    sheet 错误清单 listing them all."""
    workbook = load_workbook(BytesIO(data))
    sheet = workbook[SHEET]
    header = [cell.value for cell in sheet[1]]
    index_of = {key: i + 1 for i, key in columns_of(tuple(header)).items()}
    by_cell: dict[tuple[int, int], list[str]] = {}
    errors = list(errors)
    for error in errors:
        by_cell.setdefault((error.row, index_of[error.column]), []).append(error.message)
    for (row, column), messages in by_cell.items():
        cell = sheet.cell(row, column)
        cell.fill, cell.font = ERROR_FILL, ERROR_FONT
        cell.comment = Comment(
            "\n".join(messages), AUTHOR, width=300, height=40 + 30 * len(messages)
        )
    if "错误清单" in workbook.sheetnames:
        del workbook["错误清单"]
    listing = workbook.create_sheet("错误清单", 0)
    for column, (title, width) in enumerate((("行", 6), ("列", 18), ("问题", 80)), start=1):
        cell = listing.cell(1, column, title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        listing.column_dimensions[get_column_letter(column)].width = width
    for number, error in enumerate(errors, start=2):
        listing.cell(number, 1, error.row)
        listing.cell(number, 2, f"{get_column_letter(index_of[error.column])} {error.header}")
        listing.cell(number, 3, error.message)
    listing.freeze_panes = "A2"
    listing.auto_filter.ref = f"A1:C{len(errors) + 1}"
    workbook.active = workbook.index(sheet)
    return to_bytes(workbook)


def _roster_row(firm: Firm) -> list[Any]:
    contact = (firm.contacts or [{}])[0] if firm.contacts else {}
    values = {
        "credit_code": firm.credit_code,
        "name": firm.name,
        "district": reference.district_name(firm.district),
        "industry_code": firm.industry_code,
        "mujun_class": firm.mujun_class,
        "mujun_year": firm.mujun_year,
        "land_mu": firm.land_mu,
        "employees": firm.employees,
        "revenue": firm.revenue,
        "contact_name": contact.get("name") or None,
        "phone": contact.get("phone") or None,
        "email": contact.get("email") or None,
        "certifications": "、".join(firm.certifications or []) or None,
    }
    return [values[c.key] for c in COLUMNS]


TEXT_COLUMNS = {"credit_code", "industry_code", "phone"}
NUMBER_FORMATS = {"land_mu": "#,##0.00", "revenue": "#,##0.00", "employees": "0", "mujun_year": "0"}


def roster_sheet(workbook: Workbook, rows: Iterable[list[Any]], *, notes: bool = False) -> None:
    """The sheet 企业名录 with these rows; with `notes`, each header carries its note as a
    comment and the district, industry and class cells offer their lists."""
    sheet = workbook.create_sheet(SHEET, 0)
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(1, index, column.header)
        cell.font = HEADER_FONT
        cell.fill = REQUIRED_FILL if column.required else HEADER_FILL
        if notes:
            required = _("Required.") if column.required else _("Optional.")
            cell.comment = Comment(f"{required} {column.note}", AUTHOR, width=260, height=110)
    number = 1
    widths = [max(c.width, text_width(c.header) + 2) for c in COLUMNS]
    for number, values in enumerate(rows, start=2):
        for index, (column, value) in enumerate(zip(COLUMNS, values, strict=True), start=1):
            cell = sheet.cell(number, index, value)
            if column.key in TEXT_COLUMNS:
                cell.number_format = "@"
            elif column.key in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.key]
            if isinstance(value, str):
                widths[index - 1] = max(widths[index - 1], min(text_width(value) + 2, 60))
    for index, width in enumerate(widths, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        if COLUMNS[index - 1].key in TEXT_COLUMNS:
            # New rows typed under the header stay text too (an all-digit code keeps its digits).
            sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{max(number, 1)}"
    workbook.active = workbook.index(sheet)


def _lists_sheet(workbook: Workbook) -> dict[str, str]:
    """The sheet 填写说明: each column's note, and the lists the cells choose from; returns the
    ranges of those lists for the data validations."""
    sheet = workbook.create_sheet("填写说明")
    titles = (("列名", 20), ("必填", 8), ("说明", 70))
    for index, (title, width) in enumerate(titles, start=1):
        cell = sheet.cell(1, index, title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        sheet.column_dimensions[get_column_letter(index)].width = width
    for number, column in enumerate(COLUMNS, start=2):
        sheet.cell(number, 1, column.header)
        sheet.cell(number, 2, "是" if column.required else "")
        sheet.cell(number, 3, str(column.note))
    lists = {
        "district": ("区县", [r["name_zh"] for r in reference.districts()]),
        "industry_code": (
            "行业代码",
            [f"{r['code']} {r['name_zh']}" for r in reference.industries()],
        ),
        "mujun_class": ("亩均评价等级", list(reference.MUJUN_CLASSES)),
        "certifications": (
            "认证代码",
            [f"{code} {label}" for code, label in reference.CERTIFICATIONS.items()],
        ),
    }
    ranges = {}
    for offset, (key, (title, values)) in enumerate(lists.items()):
        column = 5 + offset
        letter = get_column_letter(column)
        cell = sheet.cell(1, column, title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        sheet.column_dimensions[letter].width = max(text_width(v) for v in values) + 2
        for number, value in enumerate(values, start=2):
            sheet.cell(number, column, value)
        ranges[key] = f"'填写说明'!${letter}$2:${letter}${len(values) + 1}"
    sheet.freeze_panes = "A2"
    return ranges


def template() -> bytes:
    """The roster template: the headers with their notes, one valid example row, the lists."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    roster_sheet(workbook, [[c.example for c in COLUMNS]], notes=True)
    ranges = _lists_sheet(workbook)
    sheet = workbook[SHEET]
    for key in ("district", "industry_code", "mujun_class"):
        letter = get_column_letter(column_order(key) + 1)
        validation = DataValidation(type="list", formula1=ranges[key], allow_blank=True)
        # Typing a code instead of choosing is allowed: the import checks the value.
        validation.showErrorMessage = False
        validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        sheet.add_data_validation(validation)
    return to_bytes(workbook)


def firms_of(session: Session, batch: Batch) -> list[Firm]:
    """The batch's firms, by name, in one query."""
    return session.exec(
        select(Firm)
        .join(Case, Case.firm_id == Firm.id)
        .where(Case.batch_id == batch.id)
        .order_by(Firm.name, Firm.id)
    ).all()


def roster_rows(firms: Iterable[Firm]) -> list[list[Any]]:
    return [_roster_row(firm) for firm in firms]
