"""What the ledger (台账) reads: every record of a batch's cases, each concern in one or two
grouped queries (never a query per case), as plain rows for the sheets."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlmodel import Session, func, select

from pilot.accounts.models import User
from pilot.accounts.queries import people_by_id
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.cases.queries import CaseRow, case_rows, case_rows_query
from pilot.diagnosis import scoring
from pilot.diagnosis.models import (
    Diagnosis,
    DiagnosisFramework,
    Finding,
    ItemScore,
    Round,
    WorkTarget,
)
from pilot.evaluation.models import Evaluation, KpiActual, ServiceRating
from pilot.evaluation.services import achievement
from pilot.firms.models import Firm
from pilot.frameworks.models import Framework, FrameworkCategory, FrameworkItem
from pilot.plan.models import FollowUpPlan, PlanAction, TargetRevision
from pilot.rectification.models import RectificationItem
from pilot.rectification.queries import counts_by_case
from pilot.rectification.services import is_overdue
from pilot.stages import Progress, progress
from pilot.training.models import Attendance, CoachingRecord, SessionInvite, TrainingSession
from pilot.visits.models import Visit, VisitExpert


@dataclass
class LedgerCases:
    """The batch's cases with their progress, by firm name; `ids` binds them in one parameter."""

    batch: Batch
    day: date
    rows: list[CaseRow]
    progress: dict[int, Progress]

    @property
    def ids(self) -> sa.BindParameter:
        return sa.bindparam("case_ids", [c.id for c in self.rows] or [-1], expanding=True)

    def firm(self, case_id: int) -> str:
        return self.by_id[case_id].firm_name

    def __post_init__(self) -> None:
        self.by_id = {c.id: c for c in self.rows}


def ledger_cases(session: Session, batch: Batch, day: date) -> LedgerCases:
    rows = case_rows(
        session, case_rows_query(select(Case).where(Case.batch_id == batch.id), Firm.name)
    )
    return LedgerCases(batch, day, rows, progress(session, rows, day))


def firm_details(session: Session, cases: LedgerCases) -> dict[int, Firm]:
    """firm id -> firm, in one query."""
    ids = [c.firm_id for c in cases.rows]
    return {
        f.id: f
        for f in session.exec(
            select(Firm).where(Firm.id.in_(sa.bindparam("firm_ids", ids, expanding=True)))
        ).all()
    }


def item_counts(session: Session, cases: LedgerCases):
    return counts_by_case(session, [c.id for c in cases.rows], cases.day)


def visits(session: Session, cases: LedgerCases) -> list[tuple[Visit, list[str], User | None]]:
    """Each visit, by firm and date, with the experts present and who answered for the firm."""
    found = session.exec(
        select(Visit).where(Visit.case_id.in_(cases.ids)).order_by(Visit.visit_date, Visit.id)
    ).all()
    present: dict[int, list[str]] = defaultdict(list)
    for visit_id, name in session.exec(
        select(VisitExpert.visit_id, User.display_name)
        .join(User, User.id == VisitExpert.expert_id)
        .where(VisitExpert.visit_id.in_([v.id for v in found] or [-1]))
        .order_by(User.display_name)
    ).all():
        present[visit_id].append(name)
    people = people_by_id(session, {v.answered_by_id for v in found})
    order = {c.id: i for i, c in enumerate(cases.rows)}
    found = sorted(found, key=lambda v: (order[v.case_id], v.visit_date, v.id))
    return [(v, present[v.id], people.get(v.answered_by_id)) for v in found]


def coaching(session: Session, cases: LedgerCases) -> list[tuple[CoachingRecord, str]]:
    return session.exec(
        select(CoachingRecord, User.display_name)
        .join(User, User.id == CoachingRecord.expert_id)
        .where(CoachingRecord.case_id.in_(cases.ids))
        .order_by(CoachingRecord.coached_on, CoachingRecord.id)
    ).all()


@dataclass
class ScoreRow:
    case_id: int
    framework: str
    code: str
    category: str
    max: Decimal
    baseline: Decimal | None = None
    final: Decimal | None = None
    baseline_status: str | None = None
    final_status: str | None = None


def scores(session: Session, cases: LedgerCases) -> list[ScoreRow]:
    """Per case, framework and category (then the framework's total): the baseline's and the
    final round's scores, whatever their status (the status is shown beside them)."""
    diagnoses = session.exec(
        select(Diagnosis.id, Diagnosis.case_id, Diagnosis.round, Diagnosis.status).where(
            Diagnosis.case_id.in_(cases.ids)
        )
    ).all()
    if not diagnoses:
        return []
    ids = sa.bindparam("diagnosis_ids", [d[0] for d in diagnoses], expanding=True)
    item_scores: dict[int, dict[int, tuple[int | None, int | None]]] = defaultdict(dict)
    for diagnosis_id, item_id, percent, level in session.exec(
        select(ItemScore.diagnosis_id, ItemScore.item_id, ItemScore.percent, ItemScore.level).where(
            ItemScore.diagnosis_id.in_(ids)
        )
    ).all():
        item_scores[diagnosis_id][item_id] = (percent, level)
    links = session.exec(
        select(DiagnosisFramework.diagnosis_id, DiagnosisFramework.framework_id).where(
            DiagnosisFramework.diagnosis_id.in_(ids)
        )
    ).all()
    frameworks = {
        f.id: f
        for f in session.exec(
            select(Framework)
            .where(Framework.id.in_({framework_id for _d, framework_id in links} or {-1}))
            .options(selectinload(Framework.categories).selectinload(FrameworkCategory.items))
        ).all()
    }
    used: dict[int, list[int]] = defaultdict(list)
    for diagnosis_id, framework_id in links:
        used[diagnosis_id].append(framework_id)
    rows: dict[tuple[int, int, str], ScoreRow] = {}
    for diagnosis_id, case_id, round_, status in diagnoses:
        for framework_id in sorted(
            used[diagnosis_id], key=lambda i: (frameworks[i].domain != "quality", i)
        ):
            framework = frameworks[framework_id]
            result = scoring.result(framework, item_scores[diagnosis_id])
            parts = [(p.code, p.name, p.score, p.max) for p in result.categories]
            parts.append(("", None, result.total, result.max))
            for code, name, score, maximum in parts:
                key = (case_id, framework_id, code)
                row = rows.setdefault(key, ScoreRow(case_id, framework.name, code, name, maximum))
                if round_ == Round.BASELINE:
                    row.baseline, row.baseline_status = score, status
                else:
                    row.final, row.final_status = score, status
    order = {c.id: i for i, c in enumerate(cases.rows)}
    return sorted(rows.values(), key=lambda r: order[r.case_id])


def findings(session: Session, cases: LedgerCases) -> list[tuple[Finding, str, str, str, str]]:
    """(finding, round, diagnosis status, item code, item name) of every diagnosis."""
    return session.exec(
        select(
            Finding,
            Diagnosis.case_id,
            Diagnosis.round,
            Diagnosis.status,
            FrameworkItem.code,
            FrameworkItem.name,
        )
        .join(Diagnosis, Diagnosis.id == Finding.diagnosis_id)
        .join(FrameworkItem, FrameworkItem.id == Finding.item_id)
        .where(Diagnosis.case_id.in_(cases.ids))
        .order_by(Diagnosis.case_id, Diagnosis.round, Finding.id)
    ).all()


def items(session: Session, cases: LedgerCases) -> list[dict[str, Any]]:
    """Every rectification item with its clause, overdue flag and who verified it."""
    found = session.exec(
        select(RectificationItem, FrameworkItem.code)
        .join(FrameworkItem, FrameworkItem.id == RectificationItem.framework_item_id, isouter=True)
        .where(RectificationItem.case_id.in_(cases.ids))
        .order_by(RectificationItem.case_id, RectificationItem.due_date, RectificationItem.id)
    ).all()
    people = people_by_id(session, {item.verified_by_id for item, _code in found})
    return [
        {
            "item": item,
            "clause": code,
            "overdue": is_overdue(item, cases.day),
            "verified_by": people.get(item.verified_by_id),
        }
        for item, code in found
    ]


def attendance(session: Session, cases: LedgerCases) -> list[dict[str, Any]]:
    """A row per session and case invited or recorded, by session time then firm."""
    sessions = session.exec(
        select(TrainingSession)
        .where(TrainingSession.batch_id == cases.batch.id)
        .order_by(TrainingSession.starts_at, TrainingSession.id)
    ).all()
    ids = [s.id for s in sessions] or [-1]
    invited = set(
        session.exec(
            select(SessionInvite.session_id, SessionInvite.case_id).where(
                SessionInvite.session_id.in_(ids)
            )
        ).all()
    )
    records = {
        (a.session_id, a.case_id): a
        for a in session.exec(select(Attendance).where(Attendance.session_id.in_(ids))).all()
    }
    order = {c.id: i for i, c in enumerate(cases.rows)}
    rows = []
    for training in sessions:
        case_ids = {c for s, c in invited if s == training.id} | {
            c for s, c in records if s == training.id
        }
        for case_id in sorted((c for c in case_ids if c in order), key=order.__getitem__):
            rows.append(
                {
                    "session": training,
                    "case_id": case_id,
                    "invited": (training.id, case_id) in invited,
                    "attendance": records.get((training.id, case_id)),
                }
            )
    return rows


def targets(session: Session, cases: LedgerCases) -> list[dict[str, Any]]:
    """Every work target with its diagnosis's status, its actual and the achievement."""
    found = session.exec(
        select(WorkTarget, Diagnosis.status, KpiActual)
        .join(Diagnosis, Diagnosis.id == WorkTarget.diagnosis_id)
        .join(KpiActual, KpiActual.target_id == WorkTarget.id, isouter=True)
        .where(WorkTarget.case_id.in_(cases.ids))
        .order_by(WorkTarget.case_id, WorkTarget.id)
    ).all()
    rows = []
    for target, status, actual in found:
        reached = (
            achievement(target.direction, target.baseline, target.target, actual.actual)
            if actual is not None
            else None
        )
        rows.append({"target": target, "status": status, "actual": actual, "reached": reached})
    return rows


def plans(session: Session, cases: LedgerCases) -> list[dict[str, Any]]:
    found = session.exec(
        select(FollowUpPlan)
        .where(FollowUpPlan.case_id.in_(cases.ids))
        .order_by(FollowUpPlan.case_id, FollowUpPlan.version)
    ).all()
    ids = [p.id for p in found] or [-1]
    actions = dict(
        session.exec(
            select(PlanAction.plan_id, func.count())
            .where(PlanAction.plan_id.in_(ids))
            .group_by(PlanAction.plan_id)
        ).all()
    )
    revisions = dict(
        session.exec(
            select(TargetRevision.plan_id, func.count())
            .where(TargetRevision.plan_id.in_(ids))
            .group_by(TargetRevision.plan_id)
        ).all()
    )
    people = people_by_id(
        session, {p.created_by_id for p in found} | {p.approved_by_id for p in found}
    )
    return [
        {
            "plan": p,
            "actions": actions.get(p.id, 0),
            "revisions": revisions.get(p.id, 0),
            "drafted_by": people.get(p.created_by_id),
            "approved_by": people.get(p.approved_by_id),
        }
        for p in found
    ]


def ratings(session: Session, cases: LedgerCases) -> list[tuple[ServiceRating, User | None]]:
    found = session.exec(
        select(ServiceRating)
        .where(ServiceRating.case_id.in_(cases.ids))
        .order_by(ServiceRating.case_id, ServiceRating.expert_id.is_not(None), ServiceRating.id)
    ).all()
    people = people_by_id(session, {r.expert_id for r in found})
    return [(r, people.get(r.expert_id)) for r in found]


def evaluations(session: Session, cases: LedgerCases) -> tuple[dict[int, Evaluation], dict]:
    """case id -> evaluation, and the people who wrote them."""
    found = {
        e.case_id: e
        for e in session.exec(select(Evaluation).where(Evaluation.case_id.in_(cases.ids))).all()
    }
    people = people_by_id(
        session,
        {e.assessed_by_id for e in found.values()} | {e.verdict_by_id for e in found.values()},
    )
    return found, people
