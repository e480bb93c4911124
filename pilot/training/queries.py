"""What the training pages and card read: the calendar, the attendance sheet, linked findings,
materials and the batch's firms, in grouped queries."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import func, select

from pilot.accounts.models import User
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.database import today
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Finding
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.firms.models import Firm
from pilot.frameworks.models import FrameworkItem
from pilot.permissions import can, firm_sessions
from pilot.stages import progress
from pilot.training.labels import finding_label
from pilot.training.models import Attendance, SessionFinding, SessionInvite, TrainingSession
from pilot.training.services import MATERIAL_TYPE
from pilot.training.times import ends_at, local, sheet_open, start_of_today


@dataclass
class CalendarRow:
    session: TrainingSession
    starts: datetime
    ends: datetime
    past: bool
    invited: int
    attended: int
    #: The firm user's own status: "attended", "absent", "invited" (upcoming); None for others.
    own: str | None = None
    own_count: int = 0


def _counts(column, session_ids: list[int], *conditions) -> dict[int, int]:
    rows = db.session.exec(
        select(column, func.count()).where(column.in_(session_ids), *conditions).group_by(column)
    ).all()
    return dict(rows)


def calendar_rows(batch: Batch, case_ids: set[int] | None, firm_view: bool) -> list[CalendarRow]:
    """The batch's sessions in time order; for a firm's view only its own, with its status."""
    query = select(TrainingSession).where(TrainingSession.batch_id == batch.id)
    if firm_view:
        query = query.where(firm_sessions(case_ids))
    sessions = db.session.exec(query.order_by(TrainingSession.starts_at, TrainingSession.id)).all()
    ids = [s.id for s in sessions]
    invited = _counts(SessionInvite.session_id, ids)
    attended = _counts(Attendance.session_id, ids, Attendance.count > 0)
    own_counts: dict[int, int] = {}
    if firm_view:
        for session_id, count in db.session.exec(
            select(Attendance.session_id, Attendance.count).where(
                Attendance.session_id.in_(ids), Attendance.case_id.in_(case_ids)
            )
        ).all():
            own_counts[session_id] = own_counts.get(session_id, 0) + count
    since = start_of_today()
    rows = []
    for s in sessions:
        row = CalendarRow(
            session=s,
            starts=local(s.starts_at),
            ends=local(ends_at(s)),
            past=s.starts_at < since,
            invited=invited.get(s.id, 0),
            attended=attended.get(s.id, 0),
        )
        if firm_view:
            row.own_count = own_counts.get(s.id, 0)
            row.own = "attended" if row.own_count else ("absent" if row.past else "invited")
        rows.append(row)
    return rows


def firms_meeting_requirement(batch: Batch) -> tuple[int, int]:
    """(running cases whose training stage is done, running cases) of the batch: done by the
    stage rule, so staff's manual mark counts as much as attendance."""
    running = db.session.exec(
        select(Case).where(
            Case.batch_id == batch.id, Case.withdrawn_at.is_(None), Case.closed_at.is_(None)
        )
    ).all()
    states = progress(db.session, running, today()).values()
    return sum(1 for state in states if state["training"].is_done), len(running)


@dataclass
class SheetRow:
    case: Case
    firm: Firm
    invited: bool
    attendance: Attendance | None
    editable: bool


def sheet(user: User, training: TrainingSession, case_ids: set[int] | None) -> list[SheetRow]:
    """A row per firm invited or recorded, of the cases the user may see, by firm name."""
    invited = set(
        db.session.exec(
            select(SessionInvite.case_id).where(SessionInvite.session_id == training.id)
        ).all()
    )
    attendances = {
        a.case_id: a
        for a in db.session.exec(
            select(Attendance).where(Attendance.session_id == training.id)
        ).all()
    }
    wanted = invited | set(attendances)
    if case_ids is not None:
        wanted &= case_ids
    if not wanted:
        return []
    cases = db.session.exec(
        select(Case, Firm)
        .join(Firm, Case.firm_id == Firm.id)
        .where(Case.id.in_(wanted))
        .order_by(Firm.name, Case.id)
    ).all()
    may_record = can(user, "manage_training") and sheet_open(training)
    return [
        SheetRow(
            case=case,
            firm=firm,
            invited=case.id in invited,
            attendance=attendances.get(case.id),
            editable=may_record and not case.is_read_only,
        )
        for case, firm in cases
    ]


def linked_finding_rows(training: TrainingSession, case_ids: set[int] | None) -> list[dict]:
    query = (
        select(Finding, FrameworkItem, Firm)
        .join(SessionFinding, SessionFinding.finding_id == Finding.id)
        .join(Diagnosis, Finding.diagnosis_id == Diagnosis.id)
        .join(Case, Diagnosis.case_id == Case.id)
        .join(Firm, Case.firm_id == Firm.id)
        .join(FrameworkItem, Finding.item_id == FrameworkItem.id)
        .where(SessionFinding.session_id == training.id)
        # A firm never sees a draft; links are made to accepted findings only, but be sure.
        .where(Diagnosis.status == DiagnosisStatus.ACCEPTED)
        .order_by(Firm.name, Finding.id)
    )
    if case_ids is not None:
        query = query.where(Case.id.in_(case_ids))
    return [
        {"firm": firm.name, "label": finding_label(finding, item)}
        for finding, item, firm in db.session.exec(query).all()
    ]


def materials(training: TrainingSession | None) -> list[StoredFile]:
    if training is None or training.id is None:
        return []
    return db.session.exec(
        select(StoredFile)
        .where(StoredFile.owner_type == MATERIAL_TYPE, StoredFile.owner_id == training.id)
        .where(StoredFile.is_current)
        .order_by(StoredFile.name)
    ).all()


def batch_cases(batch: Batch) -> list[tuple[Case, Firm]]:
    return db.session.exec(
        select(Case, Firm)
        .join(Firm, Case.firm_id == Firm.id)
        .where(Case.batch_id == batch.id)
        .order_by(Firm.name, Case.id)
    ).all()


def linked_finding_ids(training: TrainingSession | None) -> list[int]:
    if training is None or training.id is None:
        return []
    return list(
        db.session.exec(
            select(SessionFinding.finding_id).where(SessionFinding.session_id == training.id)
        ).all()
    )
