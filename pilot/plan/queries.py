"""What the plan pages and card read: the versions, the one in force, who wrote and approved them,
and whether the baseline diagnosis is accepted."""

from sqlmodel import select

from pilot.accounts.models import User
from pilot.accounts.queries import people_by_id
from pilot.cases.models import Case
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Round
from pilot.extensions import db
from pilot.plan import services
from pilot.plan.models import FollowUpPlan, PlanStatus


def versions_of(case: Case) -> list[FollowUpPlan]:
    """Every version, newest first, with actions and revisions (three queries)."""
    return services.versions_of(db.session, case)


def in_force(versions: list[FollowUpPlan]) -> FollowUpPlan | None:
    return next((v for v in versions if v.status == PlanStatus.APPROVED), None)


def baseline_accepted(case: Case) -> bool:
    status = db.session.exec(
        select(Diagnosis.status).where(
            Diagnosis.case_id == case.id, Diagnosis.round == Round.BASELINE
        )
    ).first()
    return status == DiagnosisStatus.ACCEPTED


def people(versions: list[FollowUpPlan]) -> dict[int, User]:
    """Who drafted and who approved each version, in one query."""
    ids = {v.created_by_id for v in versions} | {v.approved_by_id for v in versions}
    return people_by_id(db.session, ids)
