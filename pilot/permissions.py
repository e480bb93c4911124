"""Who may do what: the one place every page, template, export and API call asks.

The table follows DESIGN.md's "Who may do what". A role listed for an action may do it; an expert
only on cases they are assigned to (or lead, where the action says so), a firm user only on their
own firm's cases. Closed and withdrawn cases are read-only except for being reopened.
"""

from enum import StrEnum
from functools import wraps

from flask import abort
from flask_login import current_user
from sqlalchemy.orm import selectinload
from sqlmodel import Session, or_, select

from pilot.accounts.models import Role, User
from pilot.batches.models import Batch
from pilot.cases.models import Case, ExpertAssignment
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Finding
from pilot.evaluation.models import KpiActual
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.plan.models import FollowUpPlan, PlanStatus
from pilot.survey.models import NeedsSurvey
from pilot.training.models import Attendance, SessionInvite, TrainingSession


class Scope(StrEnum):
    ANY = "any"  # the role may, on any case
    ASSIGNED = "assigned"  # an expert assigned to the case
    LEAD = "lead"  # the case's lead expert
    OWN = "own"  # a user of the case's firm


A, S = Role.ADMIN, Role.STAFF
_STAFF = {A: Scope.ANY, S: Scope.ANY}

ACTIONS: dict[str, dict[Role, Scope]] = {
    "manage_users": {A: Scope.ANY},
    "manage_frameworks": {A: Scope.ANY},
    "manage_cases": _STAFF,  # batches, firms, cases; assign experts; withdraw, close, reopen
    "import_firms": _STAFF,  # the roster import (Excel) and its template
    "export_ledger": _STAFF,  # the ledger (台账) and the board as workbooks
    "mark_stage": _STAFF,
    "view_case": {**_STAFF, Role.EXPERT: Scope.ASSIGNED, Role.FIRM: Scope.OWN},
    "download_report": {**_STAFF, Role.EXPERT: Scope.ASSIGNED, Role.FIRM: Scope.OWN},
    "view_audit_log": _STAFF,
    "upload_case_document": _STAFF,
    "fill_survey": {**_STAFF, Role.FIRM: Scope.OWN},
    "write_needs_analysis": _STAFF,
    "log_visit": {Role.EXPERT: Scope.ASSIGNED},
    "confirm_visit": {**_STAFF, Role.FIRM: Scope.OWN},
    "dispute_visit": {Role.FIRM: Scope.OWN},
    "view_service_hours": _STAFF,
    "file_diagnosis": {Role.EXPERT: Scope.ASSIGNED},
    "submit_diagnosis": {Role.EXPERT: Scope.LEAD},
    #: Drafts (an unaccepted diagnosis, an unapproved plan): never the firm.
    "view_drafts": {**_STAFF, Role.EXPERT: Scope.ASSIGNED},
    "accept_diagnosis": _STAFF,
    "work_item": {Role.FIRM: Scope.OWN},
    "verify_item": {Role.EXPERT: Scope.ASSIGNED},
    "waive_item": _STAFF,
    "add_item": {**_STAFF, Role.EXPERT: Scope.ASSIGNED},
    "manage_training": _STAFF,
    "record_coaching": {Role.EXPERT: Scope.ASSIGNED},
    "draft_plan": {Role.EXPERT: Scope.LEAD},
    "approve_plan": _STAFF,
    "enter_actuals": {Role.EXPERT: Scope.ASSIGNED},
    "write_assessment": {Role.EXPERT: Scope.LEAD},
    "close_case": _STAFF,
    "check_actuals": _STAFF,
    "give_verdict": _STAFF,
    "rate_service": {**_STAFF, Role.FIRM: Scope.OWN},
    "view_expert_ratings": _STAFF,
    #: The ratings given on a case: staff all of them, the firm those of its own case.
    "view_case_ratings": {**_STAFF, Role.FIRM: Scope.OWN},
    #: An expert's own average over the cases they served (never one firm's ratings).
    "view_own_rating_average": {Role.EXPERT: Scope.ANY},
    "reopen_case": _STAFF,
}

#: Actions that change nothing, so they stay open on a closed or withdrawn case.
READ_ACTIONS = {
    "view_case",
    "download_report",
    "view_audit_log",
    "view_expert_ratings",
    "view_case_ratings",
    "view_own_rating_average",
    "view_drafts",
    "view_service_hours",
}


def is_assigned(user: User, case: Case, lead: bool = False) -> bool:
    return any(a.expert_id == user.id and (a.is_lead or not lead) for a in case.assignments)


def can(user: User, action: str, case: Case | None = None) -> bool:
    """May this user do this action (on this case, when the action concerns one)?"""
    if not user or not user.is_authenticated:
        return False
    scope = ACTIONS[action].get(Role(user.role))
    if scope is None:
        return False
    if case is None:
        return scope == Scope.ANY
    if action == "reopen_case":
        return case.is_read_only
    if action not in READ_ACTIONS and case.is_read_only:
        return False
    match scope:
        case Scope.ANY:
            return True
        case Scope.ASSIGNED:
            return is_assigned(user, case)
        case Scope.LEAD:
            return is_assigned(user, case, lead=True)
        case Scope.OWN:
            return user.firm_id is not None and user.firm_id == case.firm_id
    return False


def home_of(user: User) -> str:
    """Which home page a user gets: staff the cohort board, an expert "my firms", a firm user
    their own case."""
    if user.is_staff:
        return "board"
    return "expert" if user.role == Role.EXPERT else "firm"


def may_act_somewhere(user: User, action: str) -> bool:
    """Does the role hold this action at all (for menus); the case check still follows."""
    return user.is_authenticated and Role(user.role) in ACTIONS[action]


def case_query():
    return select(Case).options(
        selectinload(Case.firm),
        selectinload(Case.batch),
        selectinload(Case.assignments).selectinload(ExpertAssignment.expert),
    )


def get_case_or_404(case_id: int, action: str = "view_case") -> Case:
    """Load a case for the current user: 404 if they may not see it, 403 if they may not act."""
    case = db.session.exec(case_query().where(Case.id == case_id)).first()
    if case is None or not can(current_user, "view_case", case):
        abort(404)
    if action != "view_case" and not can(current_user, action, case):
        abort(403)
    return case


def get_on_case_or_404(model, record_id: int, action: str = "view_case"):
    """A record that belongs to a case (an item, a visit), with its case, for the current user:
    404 if they may not see the case, 403 if they may not act on it."""
    record = db.session.get(model, record_id)
    if record is None:
        abort(404)
    return record, get_case_or_404(record.case_id, action)


def visible_cases_query(user: User):
    """The cases a user may see, as a query to refine."""
    query = case_query()
    if user.role == Role.EXPERT:
        assigned = select(ExpertAssignment.case_id).where(ExpertAssignment.expert_id == user.id)
        query = query.where(Case.id.in_(assigned))
    elif user.role == Role.FIRM:
        query = query.where(Case.firm_id == (user.firm_id or -1))
    elif not user.is_staff:
        query = query.where(False)
    return query


def can_download_file(session: Session, user: User, stored: StoredFile) -> bool:
    if not user.is_authenticated:
        return False
    if stored.case_id is not None:
        case = session.exec(case_query().where(Case.id == stored.case_id)).first()
        if case is None or not can(user, "view_case", case):
            return False
        if stored.owner_type in ("finding", "actual") and not can(user, "view_drafts", case):
            return _published(session, stored)
        return True
    if stored.batch_id is not None:
        # Batch-wide material (training): anyone with a case of the batch in sight.
        if user.is_staff:
            return True
        visible = visible_cases_query(user).where(Case.batch_id == stored.batch_id)
        return session.exec(visible.limit(1)).first() is not None
    return user.is_staff


def _published(session: Session, stored: StoredFile) -> bool:
    """Evidence of a finding shows once its diagnosis is accepted, of an actual once checked."""
    if stored.owner_type == "finding":
        query = (
            select(Finding.id)
            .join(Diagnosis, Diagnosis.id == Finding.diagnosis_id)
            .where(Finding.id == stored.owner_id, Diagnosis.status == DiagnosisStatus.ACCEPTED)
        )
    else:
        query = select(KpiActual.id).where(
            KpiActual.id == stored.owner_id, KpiActual.checked_at.is_not(None)
        )
    return session.exec(query).first() is not None


def can_read_diagnosis(user: User, case: Case, diagnosis: Diagnosis | None) -> bool:
    """Drafts for staff and the assigned experts; an accepted diagnosis for every case reader."""
    if can(user, "view_drafts", case):
        return True
    return diagnosis is not None and diagnosis.is_accepted and can(user, "view_case", case)


def can_read_plan_version(user: User, case: Case, plan: FollowUpPlan) -> bool:
    """Every version for staff and the assigned experts; the firm reads approved versions only."""
    if can(user, "view_drafts", case):
        return True
    return plan.status == PlanStatus.APPROVED and can(user, "view_case", case)


def can_see_verification_queue(user: User) -> bool:
    """Experts see the submitted items of their cases waiting for them; staff see every case's,
    read-only, to follow up on experts."""
    return user.is_authenticated and (user.is_staff or user.role == Role.EXPERT)


# The needs survey --------------------------------------------------------------------------------


def can_edit_survey(user: User, case: Case, survey: NeedsSurvey | None) -> bool:
    """May fill the survey, and it is still open to them: once submitted, only staff correct it."""
    if not can(user, "fill_survey", case):
        return False
    return survey is None or not survey.is_submitted or user.is_staff


def can_see_survey_answers(user: User, survey: NeedsSurvey | None) -> bool:
    """Experts see the firm's answers once submitted; staff and the firm see the draft too."""
    return survey is not None and (survey.is_submitted or user.role != Role.EXPERT)


# Training sessions ------------------------------------------------------------------------------
# Staff see every session; anyone else sees a batch's sessions only with a case of the batch in
# sight: an expert all of them, a firm user those its firm was invited to or attended.


def sees_every_session(user: User) -> bool:
    return user.is_staff or user.role == Role.EXPERT


def training_case_ids(batch_id: int) -> set[int] | None:
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
    """The sessions the firm's cases were invited to or attended, as a filter on sessions."""
    invited = select(SessionInvite.session_id).where(SessionInvite.case_id.in_(case_ids))
    attended = select(Attendance.session_id).where(
        Attendance.case_id.in_(case_ids), Attendance.count > 0
    )
    return or_(TrainingSession.id.in_(invited), TrainingSession.id.in_(attended))


def get_training_session_or_404(session_id: int) -> tuple[TrainingSession, Batch, set[int] | None]:
    """The session, its batch and the case ids the current user may see in it; 404 if they may
    not see the session at all."""
    training = db.session.get(TrainingSession, session_id)
    if training is None:
        abort(404)
    case_ids = training_case_ids(training.batch_id)
    if not sees_every_session(current_user):
        visible = db.session.exec(
            select(TrainingSession.id).where(
                TrainingSession.id == training.id, firm_sessions(case_ids)
            )
        ).first()
        if visible is None:
            abort(404)
    return training, db.session.get(Batch, training.batch_id), case_ids


def require(action: str):
    """View decorator for actions not tied to one case (users, batches, firms)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not can(current_user, action):
                abort(404 if not current_user.is_staff else 403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
