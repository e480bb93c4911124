"""Adding and changing firms."""

from flask_babel import gettext as _
from sqlmodel import Session, select

from pilot import reference
from pilot.accounts.models import User
from pilot.audit.services import changed, log, snapshot
from pilot.database import bump_version
from pilot.firms import credit_code
from pilot.firms.models import Firm

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


class FirmError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _check(session: Session, firm: Firm) -> None:
    if not (firm.name or "").strip():
        raise FirmError(_("Give the firm's name."), "name")
    firm.credit_code = credit_code.normalise(firm.credit_code or "")
    if not credit_code.is_valid(firm.credit_code):
        raise FirmError(
            _("This is not a valid unified social credit code (check character wrong)."),
            "credit_code",
        )
    # No autoflush: flushing the changed firm first would hit the unique index, not this check.
    with session.no_autoflush:
        taken = session.exec(
            select(Firm).where(Firm.credit_code == firm.credit_code, Firm.id != firm.id)
        ).first()
    if taken:
        raise FirmError(
            _("Another firm has this credit code: %(name)s.", name=taken.name), "credit_code"
        )
    if firm.district not in {r["code"] for r in reference.districts()}:
        raise FirmError(_("Choose a district from the list."), "district")
    if firm.industry_code not in {r["code"] for r in reference.industries()}:
        raise FirmError(_("Choose an industry from the list."), "industry_code")
    if firm.mujun_class not in reference.MUJUN_CLASSES:
        raise FirmError(_("Choose a class from A to D."), "mujun_class")


def create_firm(session: Session, actor: User | None, **fields) -> Firm:
    firm = Firm(**{k: v for k, v in fields.items() if k in FIELDS})
    _check(session, firm)
    session.add(firm)
    log(session, actor, firm, "create", after=snapshot(firm, FIELDS))
    return firm


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
