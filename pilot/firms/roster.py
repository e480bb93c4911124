"""The firm roster in Excel: reading and checking a roster, and importing it into a batch all or
nothing (the template, the marked copy and a batch's roster sheet: `roster_workbooks`).

A roster is the sheet 企业名录: one header row (the headers below, in any order), one firm per
row. Every row is checked before anything is written, with the rules of `firms.services`
(`problems`, `contact_problems`) and against the database; one bad row and nothing is imported.
Then each firm is created (or, in update mode, changed) through `create_firm` / `update_firm`,
and each gets a case in the batch through `open_case`, as the pages do. A row whose firm exists
already with the same values changes nothing: importing the same file again adds nothing.
An empty cell leaves the firm's value as it is (in update mode); the roster's contact is the
firm's first contact person.
"""

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from openpyxl import Workbook, load_workbook
from sqlmodel import Session, select

from pilot import reference
from pilot.accounts.models import User
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.cases.services import CaseError, open_cases
from pilot.firms import credit_code as credit_codes
from pilot.firms import services
from pilot.firms.models import Firm

SHEET = "企业名录"
#: More rows than this is not a roster of a pilot (a batch holds tens or hundreds of firms).
MAX_ROWS = 10_000

#: The three columns of the roster's contact person, and the contact's key each fills.
CONTACT_COLUMNS = {"contact_name": "name", "phone": "phone", "email": "email"}


@dataclass(frozen=True)
class RosterColumn:
    key: str
    #: The header in the workbook: the roster's file format, the same in every language.
    header: str
    required: bool
    note: Any
    example: Any
    width: int


COLUMNS: tuple[RosterColumn, ...] = (
    RosterColumn(
        "credit_code",
        "统一社会信用代码",
        True,
        _l("18 characters; the last one is a check character (GB 32100)."),
        credit_codes.complete("91410105MA45XK8N1"),
        22,
    ),
    RosterColumn(
        "name", "企业名称", True, _l("The registered name."), "郑州示例精密制造有限公司", 30
    ),
    RosterColumn(
        "district",
        "所属区县",
        True,
        _l("A district of Zhengzhou from the list, such as 金水区 (or its code, 410105)."),
        "金水区",
        14,
    ),
    RosterColumn(
        "industry_code",
        "行业代码",
        True,
        _l(
            "The GB/T 4754 division: two digits, such as 34 (a name may follow: 34 通用设备制造业)."
        ),
        "34",
        12,
    ),
    RosterColumn("mujun_class", "亩均评价等级", True, _l("A, B, C or D."), "A", 12),
    RosterColumn(
        "mujun_year",
        "亩均评价年度",
        True,
        _l("The year the class was given, such as 2025."),
        2025,
        12,
    ),
    RosterColumn(
        "land_mu", "用地面积（亩）", False, _l("A number, up to two decimals."), 120.5, 14
    ),
    RosterColumn("employees", "从业人数", False, _l("A whole number."), 350, 10),
    RosterColumn(
        "revenue",
        "营业收入（万元）",
        False,
        _l("Annual revenue in 10,000 RMB, up to two decimals."),
        52000,
        16,
    ),
    RosterColumn(
        "contact_name", "联系人", False, _l("The firm's contact person for the pilot."), "张伟", 10
    ),
    RosterColumn(
        "phone",
        "联系电话",
        False,
        _l("An 11-digit mobile number or a landline such as 0371-12345678."),
        "13803710001",
        16,
    ),
    RosterColumn("email", "电子邮箱", False, _l("An e-mail address."), "zhangwei@example.cn", 24),
    RosterColumn(
        "certifications",
        "认证情况",
        False,
        _l("Codes separated by 、 such as ISO9001、ISO14001 (the list is on the sheet 填写说明)."),
        "ISO9001、ISO14001",
        24,
    ),
)
BY_KEY = {c.key: c for c in COLUMNS}
FIRM_KEYS = [c.key for c in COLUMNS if c.key not in CONTACT_COLUMNS]


class RosterError(ValueError):
    """The file cannot be read as a roster at all (not a workbook, no sheet, wrong headers)."""


@dataclass(frozen=True)
class CellError:
    row: int
    column: str  # a key of COLUMNS
    message: str

    @property
    def header(self) -> str:
        return BY_KEY[self.column].header


@dataclass
class RosterRow:
    number: int  # the row's number in the sheet
    #: Firm fields given in the row (empty cells left out), parsed.
    values: dict[str, Any] = field(default_factory=dict)
    #: The contact person's keys given in the row.
    contact: dict[str, str] = field(default_factory=dict)


@dataclass
class Change:
    row: int
    name: str
    #: header -> (before, after), as shown
    changes: dict[str, tuple[str, str]]


@dataclass
class ImportResult:
    rows: int = 0
    errors: list[CellError] = field(default_factory=list)
    created: list[Change] = field(default_factory=list)
    updated: list[Change] = field(default_factory=list)
    unchanged: list[Change] = field(default_factory=list)
    cases_opened: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return _(
            "%(rows)d rows: %(created)d firms added, %(updated)d changed, %(unchanged)d "
            "unchanged; %(cases)d cases opened.",
            rows=self.rows,
            created=len(self.created),
            updated=len(self.updated),
            unchanged=len(self.unchanged),
            cases=self.cases_opened,
        )


# Reading ----------------------------------------------------------------------------------------

OLD_EXCEL = b"\xd0\xcf\x11\xe0"


def _header_key(text: Any) -> str:
    """A header as matched: spaces, the required mark and the parentheses' width don't count."""
    value = str(text or "").strip().replace("*", "").replace("＊", "")
    return re.sub(r"\s+", "", value).replace("(", "（").replace(")", "）")


HEADER_KEYS = {_header_key(c.header): c.key for c in COLUMNS}


def open_roster(data: bytes) -> Workbook:
    """The workbook, or RosterError saying why the file is not one."""
    if not data:
        raise RosterError(_("The file is empty."))
    if data.startswith(OLD_EXCEL):
        raise RosterError(
            _("This is an old Excel file (.xls): open it in Excel and save it as .xlsx.")
        )
    if not zipfile.is_zipfile(BytesIO(data)):
        raise RosterError(_("This file is not an Excel workbook (.xlsx)."))
    try:
        return load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged or foreign file
        raise RosterError(
            _("This file is not an Excel workbook (.xlsx), or it is damaged.")
        ) from None


def columns_of(header: tuple) -> dict[int, str]:
    """Column index -> key, or RosterError naming the missing, unknown and repeated headers."""
    found: dict[int, str] = {}
    unknown, repeated = [], []
    for index, text in enumerate(header):
        if text is None or not str(text).strip():
            continue
        key = HEADER_KEYS.get(_header_key(text))
        if key is None:
            unknown.append(str(text).strip())
        elif key in found.values():
            repeated.append(str(text).strip())
        else:
            found[index] = key
    missing = [c.header for c in COLUMNS if c.required and c.key not in found.values()]
    if missing or unknown or repeated:
        lines = [_("The headers of the sheet %(sheet)s are not the template's.", sheet=SHEET)]
        if missing:
            lines.append(_("Missing: %(headers)s.", headers="、".join(missing)))
        if unknown:
            lines.append(_("Not known: %(headers)s.", headers="、".join(unknown)))
        if repeated:
            lines.append(_("Given twice: %(headers)s.", headers="、".join(repeated)))
        lines.append(_("Download the template and copy the rows into it."))
        raise RosterError(" ".join(lines))
    return found


def _rows(data: bytes) -> tuple[dict[int, str], Iterator[tuple[int, tuple]]]:
    workbook = open_roster(data)
    if SHEET not in workbook.sheetnames:
        names = "、".join(workbook.sheetnames) or "—"
        raise RosterError(
            _(
                "The workbook has no sheet named %(sheet)s (it has: %(names)s). "
                "Download the template and copy the rows into it.",
                sheet=SHEET,
                names=names,
            )
        )
    cells = workbook[SHEET].iter_rows(values_only=True)
    header = next(cells, None)
    if header is None or all(v is None or str(v).strip() == "" for v in header):
        raise RosterError(_("The sheet %(sheet)s is empty.", sheet=SHEET))
    columns = columns_of(header)
    numbered = (
        (number, row)
        for number, row in enumerate(cells, start=2)
        if any(v is not None and str(v).strip() != "" for v in row)
    )
    return columns, numbered


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return str(value).strip()


class _Refused(ValueError):
    """A cell's value cannot be read as what its column holds."""


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _Refused(_("Enter a number."))
    try:
        number = Decimal(str(value).strip().replace(",", "").replace("，", ""))
    except InvalidOperation:
        raise _Refused(_("Enter a number.")) from None
    if not number.is_finite():
        raise _Refused(_("Enter a number."))
    if number.as_tuple().exponent < -2:
        raise _Refused(
            ngettext("Use at most %(num)d decimal place.", "Use at most %(num)d decimal places.", 2)
        )
    return number


def _whole(value: Any) -> int:
    number = _decimal(value)
    if number != number.to_integral_value():
        raise _Refused(_("Enter a whole number."))
    return int(number)


def _credit_code(value: Any) -> str:
    if isinstance(value, int | float):
        # Typed into a number cell, an all-digit code loses its last digits (Excel keeps 15).
        raise _Refused(
            _("The code was stored as a number and may have lost digits: set the column to text.")
        )
    return credit_codes.normalise(_text(value))


def _district(value: Any) -> str:
    text = _text(value)
    for row in reference.districts():
        if text in (row["code"], row["name_zh"], row["name_en"]):
            return row["code"]
    return text


def _industry(value: Any) -> str:
    text = _text(value).split()[0] if _text(value) else ""
    return text.zfill(2) if text.isdigit() and len(text) < 2 else text


def _certification_key(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", text.upper())


CERTIFICATION_KEYS = {_certification_key(code): code for code in reference.CERTIFICATIONS} | {
    "ISOIEC27001": "ISO27001"
}


def _certifications(value: Any) -> list[str]:
    codes = []
    for part in re.split(r"[、,，;；\n]+", _text(value)):
        if not part.strip():
            continue
        code = CERTIFICATION_KEYS.get(_certification_key(part))
        if code is None:
            raise _Refused(
                _(
                    "Not a known certification: %(name)s (use codes such as ISO9001、ISO14001).",
                    name=part.strip(),
                )
            )
        codes.append(code)
    order = list(reference.CERTIFICATIONS)
    return sorted(set(codes), key=order.index)


PARSERS = {
    "credit_code": _credit_code,
    "name": _text,
    "district": _district,
    "industry_code": _industry,
    "mujun_class": lambda v: _text(v).upper(),
    "mujun_year": _whole,
    "land_mu": _decimal,
    "employees": _whole,
    "revenue": _decimal,
    "certifications": _certifications,
}


def read_rows(data: bytes) -> tuple[list[RosterRow], list[CellError]]:
    """The roster's rows, parsed, with the cells that could not be read; RosterError if the file
    is no roster at all."""
    columns, numbered = _rows(data)
    rows, errors = [], []
    for number, cells in numbered:
        if len(rows) >= MAX_ROWS:
            raise RosterError(
                _(
                    "The roster has more than %(max)d rows: split it into several files.",
                    max=MAX_ROWS,
                )
            )
        row = RosterRow(number)
        for index, key in columns.items():
            value = cells[index] if index < len(cells) else None
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if key in CONTACT_COLUMNS:
                row.contact[CONTACT_COLUMNS[key]] = _text(value)
                continue
            try:
                row.values[key] = PARSERS[key](value)
            except _Refused as refused:
                errors.append(CellError(number, key, str(refused)))
        rows.append(row)
    if not rows:
        raise RosterError(_("The sheet %(sheet)s has headers but no firm.", sheet=SHEET))
    return rows, errors


# Checking ---------------------------------------------------------------------------------------


def _merged(firm: Firm | None, row: RosterRow) -> dict[str, Any]:
    """The firm's values after the row: the row's given cells over the firm's own."""
    values = {name: getattr(firm, name) for name in services.FIELDS} if firm else {}
    values.update(row.values)
    contacts = [dict(c) for c in (values.get("contacts") or [])]
    if row.contact:
        first = contacts[0] if contacts else {"name": "", "title": "", "phone": "", "email": ""}
        first.update(row.contact)
        contacts = [first, *contacts[1:]]
    values["contacts"] = contacts
    values.setdefault("certifications", [])
    return values


def _shown(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "district":
        return reference.district_name(value)
    if key == "certifications":
        return "、".join(value)
    return str(value)


def _differences(firm: Firm, values: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """header -> (before, after) for each roster column the row changes."""
    changes = {}
    for key in FIRM_KEYS:
        before, after = getattr(firm, key), values.get(key)
        same = set(before or []) == set(after or []) if key == "certifications" else before == after
        if not same:
            changes[BY_KEY[key].header] = (_shown(key, before), _shown(key, after))
    old = (firm.contacts or [{}])[0] if firm.contacts else {}
    new = values["contacts"][0] if values["contacts"] else {}
    for column, contact_key in CONTACT_COLUMNS.items():
        if (old.get(contact_key) or "") != (new.get(contact_key) or ""):
            changes[BY_KEY[column].header] = (
                old.get(contact_key) or "",
                new.get(contact_key) or "",
            )
    return changes


def _existing(session: Session, rows: list[RosterRow]) -> tuple[dict[str, Firm], dict[str, Firm]]:
    """The firms already in the database with a credit code or a name of the roster, in two
    queries."""
    codes = list({r.values["credit_code"] for r in rows if r.values.get("credit_code")})
    names = list({r.values["name"] for r in rows if r.values.get("name")})
    by_code = {
        f.credit_code: f
        for f in session.exec(
            select(Firm).where(Firm.credit_code.in_(sa.bindparam("codes", codes, expanding=True)))
        ).all()
    }
    by_name = {
        f.name: f
        for f in session.exec(
            select(Firm).where(Firm.name.in_(sa.bindparam("names", names, expanding=True)))
        ).all()
    }
    return by_code, by_name


def _column_of(field_name: str) -> str:
    return field_name if field_name in BY_KEY else "credit_code"


def _row_errors(row: RosterRow, values: dict[str, Any]) -> list[CellError]:
    """The rules of `firms.services`, reported on the row's columns."""
    errors = []
    for field_name, message in services.problems(values | {"contacts": []}):
        errors.append(CellError(row.number, _column_of(field_name), message))
    contact_columns = {v: k for k, v in CONTACT_COLUMNS.items()}
    for contact in values["contacts"][:1]:
        for key, message in services.contact_problems(contact):
            errors.append(CellError(row.number, contact_columns.get(key, "contact_name"), message))
    for contact in values["contacts"][1:]:  # the firm's other contacts, kept as they are
        for _key, message in services.contact_problems(contact):
            errors.append(CellError(row.number, "contact_name", message))
    return errors


@dataclass
class _Plan:
    row: RosterRow
    firm: Firm | None
    values: dict[str, Any]
    changes: dict[str, tuple[str, str]]


def check(
    session: Session, rows: list[RosterRow], *, update: bool
) -> tuple[list[_Plan], list[CellError]]:
    """What each row would do, and every error: the firm rules, repeats inside the file, and
    firms in the database (a credit code already there is an error unless the row changes
    nothing or `update` is asked for; a name already there under another credit code is
    always one)."""
    by_code, by_name = _existing(session, rows)
    errors: list[CellError] = []
    plans = []
    first_code: dict[str, int] = {}
    first_name: dict[str, int] = {}
    for row in rows:
        code, name = row.values.get("credit_code"), row.values.get("name")
        firm = by_code.get(code) if code else None
        values = _merged(firm, row)
        row_errors = _row_errors(row, values)
        if code and code in first_code:
            row_errors.append(
                CellError(
                    row.number,
                    "credit_code",
                    _("The same credit code as row %(row)d.", row=first_code[code]),
                )
            )
        if name and name in first_name:
            row_errors.append(
                CellError(
                    row.number,
                    "name",
                    _("The same firm name as row %(row)d.", row=first_name[name]),
                )
            )
        if code:
            first_code.setdefault(code, row.number)
        if name:
            first_name.setdefault(name, row.number)
        namesake = by_name.get(name) if name else None
        if namesake is not None and namesake.credit_code != code:
            row_errors.append(
                CellError(
                    row.number,
                    "name",
                    _(
                        "A firm of this name is already registered with the credit code "
                        "%(code)s: check the code.",
                        code=namesake.credit_code,
                    ),
                )
            )
        changes = _differences(firm, values) if firm else {}
        if firm is not None and changes and not update:
            for header, (before, _after) in changes.items():
                key = next(c.key for c in COLUMNS if c.header == header)
                row_errors.append(
                    CellError(
                        row.number,
                        key,
                        _(
                            "%(firm)s is registered already, with %(before)s here: to change it, "
                            "import in update mode.",
                            firm=firm.name,
                            before=before or "—",
                        ),
                    )
                )
        errors += row_errors
        plans.append(_Plan(row, firm, values, changes))
    return plans, errors


# Importing --------------------------------------------------------------------------------------


def import_roster(
    session: Session, actor: User | None, batch: Batch, data: bytes, *, update: bool = False
) -> ImportResult:
    """Check the whole roster, then add (or in update mode change) its firms and open a case
    in the batch for each that has none. On any error nothing is written and the result holds
    every error; RosterError when the file is no roster. Never commits."""
    rows, errors = read_rows(data)
    result = ImportResult(rows=len(rows))
    plans, check_errors = check(session, rows, update=update)
    # A cell that could not be read has its message already; a rule on its value would repeat it.
    unread = {(e.row, e.column) for e in errors}
    check_errors = [e for e in check_errors if (e.row, e.column) not in unread]
    result.errors = sorted(errors + check_errors, key=lambda e: (e.row, column_order(e.column)))
    if result.errors:
        return result
    new = [plan for plan in plans if plan.firm is None]
    try:
        created = services.create_firms(
            session,
            actor,
            [{k: v for k, v in plan.values.items() if k in services.FIELDS} for plan in new],
        )
        for plan in plans:
            if plan.firm is not None and plan.changes:
                fields = {k: v for k, v in plan.values.items() if k in services.FIELDS}
                services.update_firm(session, actor, plan.firm, **fields)
    except services.FirmError as error:  # the service has the last word
        result.errors.append(
            CellError(new[0].row.number if new else 0, _column_of(error.field or ""), str(error))
        )
        return result
    firm_ids = dict(zip((id(plan) for plan in new), created, strict=True))
    for plan in plans:
        change = Change(plan.row.number, plan.values["name"], plan.changes)
        if plan.firm is None:
            result.created.append(change)
        elif plan.changes:
            result.updated.append(change)
        else:
            result.unchanged.append(change)
    in_batch = set(session.exec(select(Case.firm_id).where(Case.batch_id == batch.id)).all())
    wanted = []
    for plan in plans:
        firm_id = plan.firm.id if plan.firm is not None else firm_ids[id(plan)]
        if firm_id not in in_batch:
            wanted.append(firm_id)
            in_batch.add(firm_id)
    try:
        result.cases_opened = len(open_cases(session, actor, batch, wanted))
    except CaseError as error:
        result.errors.append(CellError(plans[0].row.number, "credit_code", str(error)))
    return result


def column_order(key: str) -> int:
    """The place of a column in the template (0 for the first)."""
    return next(i for i, c in enumerate(COLUMNS) if c.key == key)
