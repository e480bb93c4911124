"""Logging on-site visits and their photos, and the firm's confirmation or dispute."""

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session
from werkzeug.datastructures import FileStorage

from pilot.accounts.models import Role, User
from pilot.audit.services import log, snapshot
from pilot.cases.models import Case
from pilot.database import utcnow
from pilot.files.models import StoredFile
from pilot.files.store import FileRejected, KindNotAllowed, save_uploads
from pilot.notifications.models import Kind
from pilot.notifications.services import firm_users_of, notify
from pilot.submissions.services import claim, made
from pilot.visits.models import Visit, VisitStatus

#: The owner type of a visit's photos in the file store, and the kinds a photo may be.
PHOTO_TYPE = "visit"
PHOTO_CONTENT_TYPES = frozenset({"image/jpeg", "image/png"})
#: The kind of record a visit form's token makes (pilot.submissions).
VISIT_KIND = "visit"
VISIT_STATUS_LABELS = {
    VisitStatus.LOGGED: _l("Awaiting confirmation"),
    VisitStatus.CONFIRMED: _l("Confirmed"),
    VisitStatus.DISPUTED: _l("Disputed"),
}
VISIT_FIELDS = ["visit_date", "hours", "firm_participants", "activities", "status"]
VISIT_STATUS_LABELS = {
    VisitStatus.LOGGED: _l("Awaiting confirmation"),
    VisitStatus.CONFIRMED: _l("Confirmed"),
    VisitStatus.DISPUTED: _l("Disputed"),
}


class VisitError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def log_visit(
    session: Session,
    actor: User,
    case: Case,
    *,
    visit_date: date,
    hours: Decimal,
    expert_ids: list[int],
    activities: str,
    firm_participants: str = "",
    today: date,
    token: str | None = None,
) -> Visit:
    """Log a visit. `token` is the form page's (pilot.submissions): a second send of the same
    page makes no second visit, raising AlreadySubmitted with the first one's id."""
    claim(session, VISIT_KIND, token)
    if visit_date > today:
        raise VisitError(_("A visit cannot be in the future."), "visit_date")
    if not (Decimal(0) < hours <= Decimal(24)):
        raise VisitError(_("Hours must be more than 0 and at most 24."), "hours")
    if not activities.strip():
        raise VisitError(_("Say what was done during the visit."), "activities")
    assigned = {a.expert_id: a.expert for a in case.assignments}
    expert_ids = list(dict.fromkeys([actor.id, *expert_ids]))
    if any(e not in assigned for e in expert_ids):
        raise VisitError(_("Only experts assigned to this firm can be listed."), "expert_ids")
    visit = Visit(
        case_id=case.id,
        visit_date=visit_date,
        hours=hours,
        firm_participants=firm_participants.strip(),
        activities=activities.strip(),
        logged_by_id=actor.id,
        experts=[assigned[e] for e in expert_ids],
    )
    session.add(visit)
    session.flush()
    made(session, VISIT_KIND, token, visit.id)
    log(
        session,
        actor,
        visit,
        "log",
        case_id=case.id,
        after=snapshot(visit, VISIT_FIELDS),
        public=True,
    )
    # The firm confirms the visit; the experts named on it learn that a record cites them.
    notify(
        session,
        [*firm_users_of(session, case), *expert_ids],
        Kind.VISIT_LOGGED,
        case,
        actor=actor,
        record_id=visit.id,
        date=visit_date.isoformat(),
    )
    return visit


def add_photos(
    session: Session, actor: User, visit: Visit, uploads: list[FileStorage]
) -> list[StoredFile]:
    """Keep photos of the visit: JPEG or PNG images only. Raises FileRejected naming the file."""
    if visit.id is None:
        session.flush()
    try:
        return save_uploads(
            session,
            actor,
            uploads,
            owner_type=PHOTO_TYPE,
            owner_id=visit.id,
            case_id=visit.case_id,
            content_types=PHOTO_CONTENT_TYPES,
        )
    except KindNotAllowed as error:
        raise FileRejected(
            _("%(name)s is not a photo: only JPEG or PNG images can be added.", name=error.name),
            name=error.name,
        ) from error


def confirms_for_the_firm(user: User) -> bool:
    """Anyone but the firm's own user who confirms a visit does so on the firm's behalf."""
    return user.role != Role.FIRM


def confirm_visit(session: Session, actor: User, visit: Visit, reason: str = "") -> None:
    """The firm confirms the visit took place; staff may confirm for the firm with a reason.

    The firm confirming for itself gives no reason: anything given is not kept.
    """
    if visit.status == VisitStatus.CONFIRMED:
        raise VisitError(_("The visit is already confirmed."))
    if not confirms_for_the_firm(actor):
        reason = ""
    elif not reason.strip():
        raise VisitError(_("Give a reason for confirming on the firm's behalf."), "reason")
    visit.status = VisitStatus.CONFIRMED
    visit.answered_by_id = actor.id
    visit.answered_at = utcnow()
    visit.answer_comment = reason.strip()
    log(
        session,
        actor,
        visit,
        "confirm",
        case_id=visit.case_id,
        reason=reason.strip(),
        after={"status": visit.status},
        public=True,
    )


def dispute_visit(session: Session, actor: User, visit: Visit, comment: str) -> None:
    if visit.status == VisitStatus.CONFIRMED:
        raise VisitError(_("A confirmed visit cannot be disputed."))
    if not comment.strip():
        raise VisitError(_("Say what is wrong with the record."), "comment")
    visit.status = VisitStatus.DISPUTED
    visit.answered_by_id = actor.id
    visit.answered_at = utcnow()
    visit.answer_comment = comment.strip()
    log(
        session,
        actor,
        visit,
        "dispute",
        case_id=visit.case_id,
        reason=comment.strip(),
        after={"status": visit.status},
        public=True,
    )
