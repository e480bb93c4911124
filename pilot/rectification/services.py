"""The rectification item lifecycle: open → in_progress → submitted → verified, with returned
(an expert rejects the evidence with a reason) and waived (staff, with a reason).

Every change raises the item's version with a compare-and-set UPDATE, so a save made on an older
version (the same item open in two tabs) is refused with what changed, on SQLite and PostgreSQL.
"""

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlmodel import Session, select

from pilot.accounts.models import User
from pilot.audit.services import changed, log, snapshot
from pilot.cases.models import Case
from pilot.database import EditConflict, bump_version, utcnow
from pilot.diagnosis.models import Severity
from pilot.diagnosis.services import SEVERITY_LABELS, item_due_date
from pilot.files.models import StoredFile
from pilot.files.store import save_uploads
from pilot.notifications.models import Kind
from pilot.notifications.services import excerpt, firm_users_of, notify
from pilot.rectification.models import EVIDENCE, ItemNote, ItemStatus, RectificationItem
from pilot.submissions.services import claim, made

ITEM_STATUS_LABELS = {
    ItemStatus.OPEN: lazy_pgettext("item status", "Open"),
    ItemStatus.IN_PROGRESS: _l("In progress"),
    ItemStatus.SUBMITTED: _l("Awaiting verification"),
    ItemStatus.VERIFIED: _l("Verified"),
    ItemStatus.RETURNED: _l("Returned"),
    ItemStatus.WAIVED: _l("Waived"),
}
#: The kind of record an item form's token makes (pilot.submissions).
ITEM_KIND = "item"
WORK_FIELDS = ["root_cause", "measure", "owner_name", "owner_dept"]
#: Statuses in which the firm may still work the item: the firm must act.
WORKABLE = (ItemStatus.OPEN, ItemStatus.IN_PROGRESS, ItemStatus.RETURNED)


# An overdue item, in Python and in SQL from the same statuses: past its due date while the firm
# must act. A submitted item waits on the expert and a verified or waived one is finished: neither
# is overdue, however late.
def is_overdue(item: RectificationItem, on: date) -> bool:
    return item.status in WORKABLE and item.due_date < on


def overdue_clause(on: date) -> sa.ColumnElement[bool]:
    """`is_overdue` as a WHERE clause on RectificationItem, for counts grouped in SQL."""
    return sa.and_(RectificationItem.status.in_(WORKABLE), RectificationItem.due_date < on)


class ItemError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ItemConflict(EditConflict, ItemError):
    """The item changed since the user loaded it; `current` holds what it is now."""

    message = _l(
        "Someone else changed this item while you were editing it. "
        "Your input is kept below; check the current values before saving again."
    )


def _bump(session: Session, item: RectificationItem, expected: int | None) -> None:
    """Raise the version, refusing if it is no longer the one the user saw."""
    bump_version(session, item, expected, conflict=ItemConflict)


def evidence_of(session: Session, item: RectificationItem) -> list[StoredFile]:
    return session.exec(
        select(StoredFile)
        .where(StoredFile.owner_type == "item", StoredFile.owner_id == item.id)
        .where(StoredFile.is_current)
        .order_by(StoredFile.uploaded_at)
    ).all()


def add_item(
    session: Session,
    actor: User,
    case: Case,
    *,
    description: str,
    severity: str,
    due_date: date | None,
    today: date,
    framework_item_id: int | None = None,
    token: str | None = None,
) -> RectificationItem:
    """An item added by hand (staff or an assigned expert). `token` is the form page's
    (pilot.submissions): a second send of the same page adds no second item, raising
    AlreadySubmitted with the first one's id."""
    claim(session, ITEM_KIND, token)
    if not description.strip():
        raise ItemError(_("Describe what must be fixed."), "description")
    if severity not in SEVERITY_LABELS or severity == Severity.OBSERVATION:
        raise ItemError(_("An item to rectify is severe or general."), "severity")
    due = due_date or item_due_date(case, severity, today)
    if due < today:
        raise ItemError(_("The due date cannot be in the past."), "due_date")
    item = RectificationItem(
        case_id=case.id,
        description=description.strip(),
        severity=severity,
        due_date=due,
        framework_item_id=framework_item_id,
        created_by_id=actor.id,
    )
    session.add(item)
    session.flush()
    made(session, ITEM_KIND, token, item.id)
    log(
        session,
        actor,
        item,
        "add",
        case_id=case.id,
        after=snapshot(item, ["description", "severity", "due_date"]),
        public=True,
    )
    return item


def work(
    session: Session,
    actor: User,
    item: RectificationItem,
    *,
    version: int | None,
    note: str = "",
    **fields,
) -> None:
    """The firm records root cause, measure, owner and progress."""
    if item.status not in WORKABLE:
        raise ItemError(_("This item can no longer be changed."))
    _bump(session, item, version)
    before = snapshot(item, WORK_FIELDS)
    for key in WORK_FIELDS:
        if key in fields:
            setattr(item, key, (fields[key] or "").strip())
    if note.strip():
        item.notes.append(ItemNote(author_id=actor.id, text=note.strip()))
    if item.status == ItemStatus.OPEN:
        item.status = ItemStatus.IN_PROGRESS
    b, a = changed(before, snapshot(item, WORK_FIELDS))
    if a or note.strip():
        log(
            session,
            actor,
            item,
            "work",
            case_id=item.case_id,
            before=b,
            after={**a, **({"note": note.strip()} if note.strip() else {})},
        )


def add_evidence(
    session: Session, actor: User, item: RectificationItem, uploads: list
) -> list[StoredFile]:
    """The item's evidence, kept with the item as its owner: an open item is now in progress.
    Raises ItemError for an item no longer worked, FileRejected for a file refused."""
    if item.status not in WORKABLE:
        raise ItemError(_("This item can no longer be changed."))
    if item.status == ItemStatus.OPEN:
        _bump(session, item, None)
        item.status = ItemStatus.IN_PROGRESS
    return save_uploads(
        session, actor, uploads, owner_type=EVIDENCE, owner_id=item.id, case_id=item.case_id
    )


def submit(
    session: Session,
    actor: User,
    item: RectificationItem,
    *,
    version: int | None = None,
) -> None:
    """The firm hands the item to the experts; evidence first when the case's batch asks for it."""
    if item.status not in WORKABLE:
        raise ItemError(_("Only an open, in-progress or returned item can be submitted."))
    if not item.measure.strip():
        raise ItemError(_("Describe the corrective measure before submitting."), "measure")
    case = session.get(Case, item.case_id)
    if case.batch.evidence_required and not evidence_of(session, item):
        raise ItemError(_("Upload evidence before submitting: this batch requires it."))
    _bump(session, item, version)
    before = item.status
    item.status = ItemStatus.SUBMITTED
    item.submitted_at = utcnow()
    log(
        session,
        actor,
        item,
        "submit",
        case_id=item.case_id,
        before={"status": before},
        after={"status": item.status},
        public=True,
    )


def verify(session: Session, actor: User, item: RectificationItem) -> None:
    if item.status != ItemStatus.SUBMITTED:
        raise ItemError(_("Only a submitted item can be verified."))
    _bump(session, item, None)
    item.status = ItemStatus.VERIFIED
    item.verified_at = utcnow()
    item.verified_by_id = actor.id
    item.reason = ""
    log(
        session,
        actor,
        item,
        "verify",
        case_id=item.case_id,
        after={"status": item.status},
        public=True,
    )
    _tell_the_firm(session, actor, item, Kind.ITEM_VERIFIED)


def return_item(session: Session, actor: User, item: RectificationItem, reason: str) -> None:
    if item.status != ItemStatus.SUBMITTED:
        raise ItemError(_("Only a submitted item can be returned."))
    if not reason.strip():
        raise ItemError(_("Say why the evidence is not enough."), "reason")
    _bump(session, item, None)
    item.status = ItemStatus.RETURNED
    item.reason = reason.strip()
    log(
        session,
        actor,
        item,
        "return",
        case_id=item.case_id,
        reason=item.reason,
        after={"status": item.status},
        public=True,
    )
    _tell_the_firm(session, actor, item, Kind.ITEM_RETURNED)


def _tell_the_firm(session: Session, actor: User, item: RectificationItem, kind: Kind) -> None:
    case = session.get(Case, item.case_id)
    notify(
        session,
        firm_users_of(session, case),
        kind,
        case,
        actor=actor,
        record_id=item.id,
        what=excerpt(item.description),
    )


def waive(session: Session, actor: User, item: RectificationItem, reason: str) -> None:
    if item.is_closed:
        raise ItemError(_("The item is already closed."))
    if not reason.strip():
        raise ItemError(_("Give a reason for waiving the item."), "reason")
    _bump(session, item, None)
    before = item.status
    item.status = ItemStatus.WAIVED
    item.reason = reason.strip()
    log(
        session,
        actor,
        item,
        "waive",
        case_id=item.case_id,
        reason=item.reason,
        before={"status": before},
        after={"status": item.status},
        public=True,
    )


def items_of(session: Session, case_id: int) -> list[RectificationItem]:
    return session.exec(
        select(RectificationItem)
        .where(RectificationItem.case_id == case_id)
        .order_by(RectificationItem.due_date, RectificationItem.id)
    ).all()
