"""Training sessions of a batch, attendance per firm, and one-to-one coaching records."""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlmodel import Session, select
from werkzeug.datastructures import FileStorage

from pilot.accounts.models import User
from pilot.audit.services import log, snapshot
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.database import bump_version, local_zone
from pilot.diagnosis.models import Diagnosis, Finding
from pilot.files.store import save_uploads
from pilot.notifications.models import Kind
from pilot.notifications.services import excerpt, firm_users, notify
from pilot.survey.services import WEAK_AREAS
from pilot.training.models import (
    Attendance,
    CoachingRecord,
    SessionFinding,
    SessionInvite,
    TrainingSession,
)

SESSION_FIELDS = [
    "topic",
    "starts_at",
    "hours",
    "place",
    "online_link",
    "trainer",
    "areas",
    "description",
]


class TrainingError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _check(
    session: Session, training: TrainingSession, case_ids: list[int], finding_ids: list[int]
) -> None:
    if not training.topic.strip():
        raise TrainingError(_("Give the session a topic."), "topic")
    if not training.trainer.strip():
        raise TrainingError(_("Name the trainer."), "trainer")
    if not (training.place.strip() or training.online_link.strip()):
        raise TrainingError(_("Give a place or an online link."), "place")
    if not Decimal(0) < training.hours <= Decimal(24):
        raise TrainingError(_("Hours must be more than 0 and at most 24."), "hours")
    if set(training.areas) - set(WEAK_AREAS):
        raise TrainingError(_("Unknown area."), "areas")
    in_batch = set(session.exec(select(Case.id).where(Case.batch_id == training.batch_id)).all())
    if set(case_ids) - in_batch:
        raise TrainingError(_("Only firms of this batch can be invited."), "case_ids")
    if finding_ids:
        cases_of_findings = session.exec(
            select(Diagnosis.case_id)
            .join(Finding, Finding.diagnosis_id == Diagnosis.id)
            .where(Finding.id.in_(finding_ids))
        ).all()
        if len(cases_of_findings) != len(set(finding_ids)) or set(cases_of_findings) - in_batch:
            raise TrainingError(_("Only findings of this batch can be linked."), "finding_ids")


def save_session(
    session: Session,
    actor: User,
    batch: Batch,
    training: TrainingSession | None,
    *,
    case_ids: list[int],
    finding_ids: list[int],
    version: int | None = None,
    **fields,
) -> TrainingSession:
    """Create or change a session, with the firms invited and the findings it addresses.
    Changing it: EditConflict when `version` (the one the form showed) is not the session's."""
    creating = training is None
    if creating:
        training = TrainingSession(batch_id=batch.id, created_by_id=actor.id, **fields)
        before = None
    else:
        bump_version(session, training, version)
        before = snapshot(training, SESSION_FIELDS)
        for key in SESSION_FIELDS:
            if key in fields:
                setattr(training, key, fields[key])
    _check(session, training, case_ids, finding_ids)
    session.add(training)
    session.flush()
    added: dict[type, set[int]] = {}
    for link, column, wanted in (
        (SessionInvite, SessionInvite.case_id, case_ids),
        (SessionFinding, SessionFinding.finding_id, finding_ids),
    ):
        current = session.exec(select(link).where(link.session_id == training.id)).all()
        have = {getattr(row, column.key) for row in current}
        for row in current:
            if getattr(row, column.key) not in wanted:
                session.delete(row)
        added[link] = set(wanted) - have
        for value in added[link]:
            session.add(link(session_id=training.id, **{column.key: value}))
    log(
        session,
        actor,
        training,
        "create" if creating else "update",
        before=before,
        after={**snapshot(training, SESSION_FIELDS), "invited": sorted(case_ids)},
    )
    _tell_the_invited(session, actor, training, added[SessionInvite])
    return training


def _tell_the_invited(
    session: Session, actor: User, training: TrainingSession, case_ids: set[int]
) -> None:
    """Each newly invited firm's users learn of the session (once: not again at each edit)."""
    if not case_ids:
        return
    cases = {
        c.id: c
        for c in session.exec(select(Case).where(Case.id.in_(case_ids)).order_by(Case.id)).all()
    }
    for case_id, users in firm_users(session, cases.values()).items():
        notify(
            session,
            users,
            Kind.TRAINING_INVITED,
            cases[case_id],
            actor=actor,
            record_id=training.id,
            topic=excerpt(training.topic),
            starts_at=training.starts_at.isoformat(),
        )


def sheet_open(training: TrainingSession, today: date) -> bool:
    """Attendance is recorded from the session's day on, never ahead of it."""
    return training.starts_at.astimezone(local_zone()).date() <= today


def record_attendance(
    session: Session,
    actor: User,
    training: TrainingSession,
    case: Case,
    *,
    names: str,
    count: int,
    today: date,
) -> Attendance:
    """Record (or correct) who of a firm attended; a count of 0 records the firm as absent."""
    if not sheet_open(training, today):
        raise TrainingError(_("Attendance can be recorded from the day of the session."))
    if case.batch_id != training.batch_id:
        raise TrainingError(_("The firm is not in this session's batch."))
    if count < 0 or count > 500:
        raise TrainingError(_("Give a number of attendees between 0 and 500."), "count")
    if count and not names.strip():
        raise TrainingError(_("Name who attended."), "names")
    attendance = session.exec(
        select(Attendance).where(
            Attendance.session_id == training.id, Attendance.case_id == case.id
        )
    ).first()
    before = {"count": attendance.count, "names": attendance.names} if attendance else None
    if attendance is None:
        attendance = Attendance(session_id=training.id, case_id=case.id, recorded_by_id=actor.id)
        session.add(attendance)
    attendance.names, attendance.count = names.strip(), count
    attendance.recorded_by_id = actor.id
    session.flush()
    log(
        session,
        actor,
        attendance,
        "attendance",
        case_id=case.id,
        before=before,
        after={"session": training.topic, "count": count, "names": attendance.names},
        public=True,
    )
    return attendance


def add_coaching(
    session: Session,
    actor: User,
    case: Case,
    *,
    coached_on: date,
    hours: Decimal,
    topic: str,
    notes: str,
    today: date,
) -> CoachingRecord:
    if coached_on > today:
        raise TrainingError(_("Coaching cannot be recorded ahead of time."), "coached_on")
    if not Decimal(0) < hours <= Decimal(24):
        raise TrainingError(_("Hours must be more than 0 and at most 24."), "hours")
    if not topic.strip():
        raise TrainingError(_("Give the coaching a topic."), "topic")
    record = CoachingRecord(
        case_id=case.id,
        expert_id=actor.id,
        coached_on=coached_on,
        hours=hours,
        topic=topic.strip(),
        notes=notes.strip(),
    )
    session.add(record)
    session.flush()
    log(
        session,
        actor,
        record,
        "add",
        case_id=case.id,
        after=snapshot(record, ["coached_on", "hours", "topic"]),
        public=True,
    )
    return record


def attended_sessions(session: Session, case: Case) -> list[TrainingSession]:
    return session.exec(
        select(TrainingSession)
        .join(Attendance, Attendance.session_id == TrainingSession.id)
        .where(Attendance.case_id == case.id, Attendance.count > 0)
        .order_by(TrainingSession.starts_at)
    ).all()


def sessions_of(session: Session, batch_id: int, since: datetime | None = None):
    query = select(TrainingSession).where(TrainingSession.batch_id == batch_id)
    if since:
        query = query.where(TrainingSession.starts_at >= since)
    return session.exec(query.order_by(TrainingSession.starts_at)).all()


#: StoredFile.owner_type of a session's materials (batch-wide files).
MATERIAL_TYPE = "training"


def save_materials(
    session: Session, actor: User, training: TrainingSession, uploads: list[FileStorage]
) -> None:
    """Keep the uploaded files; FileRejected (naming the file) when one is refused."""
    save_uploads(
        session,
        actor,
        uploads,
        owner_type=MATERIAL_TYPE,
        owner_id=training.id,
        batch_id=training.batch_id,
    )
