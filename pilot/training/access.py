"""Who sees which training sessions.

Staff see every session; anyone else sees a batch's sessions only with a case of the batch in
sight: an expert all of them, a firm user those its firm was invited to or attended.
"""

from flask import abort
from flask_login import current_user
from sqlmodel import or_, select

from pilot.accounts.models import Role, User
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.extensions import db
from pilot.permissions import visible_cases_query
from pilot.training.models import Attendance, SessionInvite, TrainingSession


def sees_every_session(user: User) -> bool:
    return user.is_staff or user.role == Role.EXPERT


def visible_case_ids(batch_id: int) -> set[int] | None:
    """Ids of the batch's cases the current user may see; None for staff (every case).

    Aborts 404 when the user sees no case of the batch: its training is none of their business.
    """
    if current_user.is_staff:
        return None
    query = visible_cases_query(current_user).where(Case.batch_id == batch_id)
    ids = {case.id for case in db.session.exec(query).all()}
    if not ids:
        abort(404)
    return ids


def firm_sessions(case_ids: set[int]):
    """Ids of the sessions the firm's cases were invited to or attended, as a subquery."""
    invited = select(SessionInvite.session_id).where(SessionInvite.case_id.in_(case_ids))
    attended = select(Attendance.session_id).where(
        Attendance.case_id.in_(case_ids), Attendance.count > 0
    )
    return or_(TrainingSession.id.in_(invited), TrainingSession.id.in_(attended))


def load_session(session_id: int) -> tuple[TrainingSession, Batch, set[int] | None]:
    """The session, its batch and the case ids the user may see in it; 404 if they may not see
    the session at all."""
    training = db.session.get(TrainingSession, session_id)
    if training is None:
        abort(404)
    case_ids = visible_case_ids(training.batch_id)
    if not sees_every_session(current_user):
        visible = db.session.exec(
            select(TrainingSession.id).where(
                TrainingSession.id == training.id, firm_sessions(case_ids)
            )
        ).first()
        if visible is None:
            abort(404)
    return training, db.session.get(Batch, training.batch_id), case_ids
