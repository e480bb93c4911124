"""The stage facts as they stood at a past moment, read from the records' own timestamps, so
that `pilot.stages.evaluate` (the one place the rules live) says what was done then: staff's
weekly review lists a stage as finished in a week when it was done at the week's end and not at
its start.

Each fact counts from the moment its record says it happened: a survey from `submitted_at`, the
analysis from `analysis_at`, a visit from its confirmation, a diagnosis or plan from its
acceptance or approval, an item from its creation until it was verified (`verified_at`) or
waived (the audit log's entry), attendance from when it was recorded, and so on. What the records
no longer hold (a manual mark taken back) is not seen.
"""

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, func, select

from pilot.audit.models import AuditLog
from pilot.batches.models import Batch
from pilot.cases.models import Case, StageMark
from pilot.diagnosis.models import Diagnosis, Round, WorkTarget
from pilot.evaluation.models import Evaluation, KpiActual, ServiceRating
from pilot.plan.models import FollowUpPlan
from pilot.rectification.models import RectificationItem
from pilot.stages import STAGE_CODES, CaseFacts
from pilot.survey.models import NeedsSurvey
from pilot.training.models import Attendance
from pilot.visits.models import Visit, VisitStatus


def waived_at():
    """When each waived item was waived, from the audit log: (record_id, at)."""
    return (
        select(AuditLog.record_id, func.max(AuditLog.at).label("at"))
        .where(AuditLog.record_type == "rectification_item", AuditLog.action == "waive")
        .group_by(AuditLog.record_id)
        .subquery()
    )


def facts_at(session: Session, cases: Iterable[Case], at: datetime) -> dict[int, CaseFacts]:
    """Each case's facts as they stood at `at`, in a fixed number of grouped queries."""
    cases = list(cases)
    facts = {
        c.id: CaseFacts(
            case_id=c.id,
            due={code: c.due(code) for code in STAGE_CODES},
            withdrawn=c.withdrawn_at is not None and c.withdrawn_at <= at,
            closed=c.closed_at is not None and c.closed_at <= at,
        )
        for c in cases
    }
    if not facts:
        return facts
    ids = sa.bindparam("case_ids", list(facts), expanding=True)
    for case_id, stage, reason in session.exec(
        select(StageMark.case_id, StageMark.stage, StageMark.reason).where(
            StageMark.case_id.in_(ids), StageMark.marked_at <= at
        )
    ).all():
        facts[case_id].marks[stage] = reason
    for case_id, submitted_at, analysis, analysis_at in session.exec(
        select(
            NeedsSurvey.case_id,
            NeedsSurvey.submitted_at,
            NeedsSurvey.analysis,
            NeedsSurvey.analysis_at,
        ).where(NeedsSurvey.case_id.in_(ids))
    ).all():
        facts[case_id].survey_submitted = submitted_at is not None and submitted_at <= at
        facts[case_id].analysis_written = (
            bool(analysis.strip()) and analysis_at is not None and analysis_at <= at
        )
    for case_id, count in session.exec(
        select(Visit.case_id, func.count())
        .where(
            Visit.case_id.in_(ids),
            Visit.status == VisitStatus.CONFIRMED,
            Visit.answered_at <= at,
        )
        .group_by(Visit.case_id)
    ).all():
        facts[case_id].confirmed_visits = count
    for case_id, round_ in session.exec(
        select(Diagnosis.case_id, Diagnosis.round).where(
            Diagnosis.case_id.in_(ids), Diagnosis.accepted_at <= at
        )
    ).all():
        if round_ == Round.BASELINE:
            facts[case_id].baseline_accepted = True
        else:
            facts[case_id].final_accepted = True
    waived = waived_at()
    for case_id, count in session.exec(
        select(RectificationItem.case_id, func.count())
        .join(waived, waived.c.record_id == RectificationItem.id, isouter=True)
        .where(
            RectificationItem.case_id.in_(ids),
            RectificationItem.created_at <= at,
            sa.or_(RectificationItem.verified_at.is_(None), RectificationItem.verified_at > at),
            sa.or_(waived.c.at.is_(None), waived.c.at > at),
        )
        .group_by(RectificationItem.case_id)
    ).all():
        facts[case_id].open_items = count
    for case_id, count in session.exec(
        select(Case.id, Batch.required_training_sessions)
        .join(Batch, Batch.id == Case.batch_id)
        .where(Case.id.in_(ids))
    ).all():
        facts[case_id].sessions_required = count
    for case_id, count in session.exec(
        select(Attendance.case_id, func.count())
        .where(Attendance.case_id.in_(ids), Attendance.count > 0, Attendance.recorded_at <= at)
        .group_by(Attendance.case_id)
    ).all():
        facts[case_id].sessions_attended = count
    _evaluation_facts_at(session, facts, ids, at)
    return facts


def _evaluation_facts_at(
    session: Session, facts: dict[int, CaseFacts], ids: sa.BindParameter, at: datetime
) -> None:
    for case_id in session.exec(
        select(FollowUpPlan.case_id).where(
            FollowUpPlan.case_id.in_(ids), FollowUpPlan.approved_at <= at
        )
    ).all():
        facts[case_id].plan_approved = True
    checked = sa.and_(KpiActual.checked_at.is_not(None), KpiActual.checked_at <= at)
    for case_id, count, done in session.exec(
        select(
            WorkTarget.case_id,
            func.count(WorkTarget.id),
            func.count(KpiActual.id).filter(checked),
        )
        .join(KpiActual, KpiActual.target_id == WorkTarget.id, isouter=True)
        .where(WorkTarget.case_id.in_(ids), WorkTarget.created_at <= at)
        .group_by(WorkTarget.case_id)
    ).all():
        facts[case_id].targets, facts[case_id].checked_actuals = count, done
    for case_id in session.exec(
        select(ServiceRating.case_id).where(
            ServiceRating.case_id.in_(ids),
            ServiceRating.expert_id.is_(None),
            ServiceRating.rated_at <= at,
        )
    ).all():
        facts[case_id].service_rated = True
    for case_id, assessment, assessed_at, verdict_at in session.exec(
        select(
            Evaluation.case_id, Evaluation.assessment, Evaluation.assessed_at, Evaluation.verdict_at
        ).where(Evaluation.case_id.in_(ids))
    ).all():
        facts[case_id].assessment_written = (
            bool(assessment.strip()) and assessed_at is not None and assessed_at <= at
        )
        facts[case_id].verdict_given = verdict_at is not None and verdict_at <= at
