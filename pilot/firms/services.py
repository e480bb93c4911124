"""Adding and changing firms, and the rules a firm's values follow (the form, the roster import
and any other door ask the same `problems`)."""

import re
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, select

from pilot import reference
from pilot.accounts.models import User
from pilot.audit.services import changed, log, log_many, snapshot
from pilot.database import bump_version, utcnow
from pilot.firms import credit_code
from pilot.firms.models import Firm
from pilot.forms import FIRST_YEAR, LAST_YEAR

FIELDS = [
    "name",
    "credit_code",
    "district",
    "industry_code",
    "mujun_class",
    "mujun_year",
    "land_mu",
    "employees",
    "revenue",
    "address",
    "contacts",
    "certifications",
    "awards",
    "brands",
]

NAME_MAX = 200
#: The largest values the columns hold (land in mu, revenue in 10,000 RMB).
LAND_MAX = Decimal("9999999999.99")
REVENUE_MAX = Decimal("999999999999.99")
EMPLOYEES_MAX = 10_000_000

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: A mainland mobile (11 digits, +86 allowed), a landline with or without its area code and
#: extension (0371-12345678-801), or a 400/800 service number. Spaces are ignored.
PHONE_PATTERN = re.compile(
    r"^(?:(?:\+?86-?)?1[3-9]\d{9}|(?:0\d{2,3}-?)?[2-9]\d{6,7}(?:-\d{1,6})?|[48]00-?\d{3}-?\d{4})$"
)


class FirmError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def phone_problem(phone: str) -> str | None:
    if phone and not PHONE_PATTERN.match(phone.replace(" ", "")):
        return _(
            "This is not a phone number: give an 11-digit mobile number or a landline such as "
            "0371-12345678."
        )
    return None


def email_problem(email: str) -> str | None:
    if email and not EMAIL_PATTERN.match(email):
        return _("This is not an e-mail address.")
    return None


def contact_problems(contact: dict) -> list[tuple[str, str]]:
    """(key, message) for each wrong value of one contact person."""
    found = []
    if not (contact.get("name") or "").strip() and any(
        contact.get(key) for key in ("title", "phone", "email")
    ):
        found.append(("name", _("Give the contact's name.")))
    if message := phone_problem(contact.get("phone") or ""):
        found.append(("phone", message))
    if message := email_problem(contact.get("email") or ""):
        found.append(("email", message))
    return found


def _number_problem(value, maximum) -> str | None:
    if value is None:
        return None
    if not 0 <= value <= maximum:
        if maximum == EMPLOYEES_MAX:
            return _("Give a number from 0 to 10,000,000.")
        return _("Give a number from 0 to %(max)s.", max=str(maximum))
    return None


def problems(values: dict) -> list[tuple[str, str]]:
    """(field, message) for each value of a firm that breaks a rule, without the database (the
    credit code's uniqueness is `_check`'s). Contacts are checked one by one
    (`contact_problems`) and reported under "contacts"."""
    found = []
    name = (values.get("name") or "").strip()
    if not name:
        found.append(("name", _("Give the firm's name.")))
    elif len(name) > NAME_MAX:
        found.append(("name", _("Use at most %(num)d characters.", num=NAME_MAX)))
    if not credit_code.is_valid(values.get("credit_code") or ""):
        found.append(
            (
                "credit_code",
                _("This is not a valid unified social credit code (check character wrong)."),
            )
        )
    if values.get("district") not in {r["code"] for r in reference.districts()}:
        found.append(("district", _("Choose a district from the list.")))
    if values.get("industry_code") not in {r["code"] for r in reference.industries()}:
        found.append(("industry_code", _("Choose an industry from the list.")))
    if values.get("mujun_class") not in reference.MUJUN_CLASSES:
        found.append(("mujun_class", _("Choose a class from A to D.")))
    year = values.get("mujun_year")
    if not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        found.append(
            (
                "mujun_year",
                _("Give a year between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR),
            )
        )
    for field, maximum in (
        ("land_mu", LAND_MAX),
        ("employees", EMPLOYEES_MAX),
        ("revenue", REVENUE_MAX),
    ):
        if message := _number_problem(values.get(field), maximum):
            found.append((field, message))
    for contact in values.get("contacts") or []:
        found += [("contacts", message) for _key, message in contact_problems(contact)]
    return found


def taken_by(session: Session, firm: Firm) -> Firm | None:
    """Another firm with this firm's credit code."""
    # No autoflush: flushing the changed firm first would hit the unique index, not this check.
    with session.no_autoflush:
        return session.exec(
            select(Firm).where(Firm.credit_code == firm.credit_code, Firm.id != firm.id)
        ).first()


def _check(session: Session, firm: Firm) -> None:
    firm.credit_code = credit_code.normalise(firm.credit_code or "")
    found = problems({name: getattr(firm, name) for name in FIELDS})
    if found:
        field, message = found[0]
        raise FirmError(message, field)
    taken = taken_by(session, firm)
    if taken:
        raise FirmError(
            _("Another firm has this credit code: %(name)s.", name=taken.name), "credit_code"
        )


def create_firm(session: Session, actor: User | None, **fields) -> Firm:
    firm = Firm(**{k: v for k, v in fields.items() if k in FIELDS})
    _check(session, firm)
    session.add(firm)
    log(session, actor, firm, "create", after=snapshot(firm, FIELDS))
    return firm


def create_firms(session: Session, actor: User | None, rows: list[dict]) -> list[int]:
    """Many firms at once (the roster import): the rules of `create_firm` — `problems`, and a
    credit code no other firm has, here or in `rows` — checked for every row first, then one
    insert for the firms and one for their log entries. FirmError on the first row
    refused. Returns the new ids in the rows' order."""
    if not rows:
        return []
    values = []
    for row in rows:
        firm = {name: row.get(name) for name in FIELDS}
        firm["credit_code"] = credit_code.normalise(firm["credit_code"] or "")
        for name, empty in (("address", ""), ("awards", ""), ("brands", "")):
            firm[name] = firm[name] or empty
        firm["contacts"] = firm["contacts"] or []
        firm["certifications"] = firm["certifications"] or []
        found = problems(firm)
        if found:
            raise FirmError(found[0][1], found[0][0])
        values.append(firm)
    codes = [v["credit_code"] for v in values]
    if len(set(codes)) != len(codes):
        raise FirmError(_("Another firm has this credit code."), "credit_code")
    with session.no_autoflush:
        taken = session.exec(
            select(Firm).where(Firm.credit_code.in_(sa.bindparam("codes", codes, expanding=True)))
        ).first()
    if taken:
        raise FirmError(
            _("Another firm has this credit code: %(name)s.", name=taken.name), "credit_code"
        )
    now = utcnow()
    ids = list(
        session.scalars(
            sa.insert(Firm).returning(Firm.id, sort_by_parameter_order=True),
            [v | {"created_at": now, "version": 1} for v in values],
        )
    )
    log_many(
        session,
        actor,
        Firm.__tablename__,
        "create",
        [
            (firm_id, None, {k: v[k] for k in FIELDS})
            for firm_id, v in zip(ids, values, strict=True)
        ],
    )
    return ids


def update_firm(
    session: Session, actor: User, firm: Firm, *, version: int | None = None, **fields
) -> Firm:
    """Change a firm; EditConflict when `version` (the one the form showed) is not the firm's."""
    bump_version(session, firm, version)
    before = snapshot(firm, FIELDS)
    for key in FIELDS:
        if key in fields:
            setattr(firm, key, fields[key])
    _check(session, firm)
    b, a = changed(before, snapshot(firm, FIELDS))
    if a:
        log(session, actor, firm, "update", before=b, after=a)
    return firm
