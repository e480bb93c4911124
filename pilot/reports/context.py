"""The report's content as plain data: the PDF template never touches an ORM object.

Only what every reader of the report may see: accepted diagnoses, the approved plan, checked
actuals, the overall (not per-expert) service rating, and the public sign-off trail.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from sqlmodel import Session, func, select

from pilot import reference
from pilot.accounts.models import User
from pilot.audit.labels import event_label
from pilot.audit.models import AuditLog
from pilot.cases.models import Case, ExpertAssignment
from pilot.database import local_zone
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Round
from pilot.diagnosis.scoring import one_decimal
from pilot.evaluation import services as evaluation
from pilot.evaluation.models import Evaluation, ServiceRating
from pilot.files.models import StoredFile
from pilot.frameworks.models import FrameworkItem
from pilot.kpis.models import Kpi
from pilot.plan.services import approved_plan
from pilot.rectification.models import RectificationItem
from pilot.rectification.services import ITEM_STATUS_LABELS
from pilot.stages import STATUS_LABELS, Progress, current_label, progress_of
from pilot.survey.services import WEAK_AREAS, survey_of
from pilot.training.models import Attendance, CoachingRecord, TrainingSession

#: Public events that belong in the sign-off trail: who accepted, approved, verified, closed.
SIGN_OFFS = {
    ("needs_survey", "submit"),
    ("needs_survey", "analysis"),
    ("visit", "confirm"),
    ("diagnosis", "accept"),
    ("rectification_item", "verify"),
    ("rectification_item", "waive"),
    ("follow_up_plan", "approve"),
    ("kpi_actual", "check"),
    ("evaluation", "verdict"),
    ("case", "close"),
    ("case", "reopen"),
}


def num(value: Decimal | None, places: int = 2) -> str:
    """A decimal without trailing zeros: 97.50 → 97.5, 18.0000 → 18."""
    if value is None:
        return "—"
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return text or "0"


def local(dt: datetime | None) -> str:
    return dt.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if dt else ""


@dataclass
class Report:
    title: str
    firm: dict[str, Any]
    batch: dict[str, Any]
    status: str
    is_final: bool
    generated_on: date
    stages: list[dict[str, Any]]
    survey: dict[str, Any] | None = None
    diagnosis: list[dict[str, Any]] = field(default_factory=list)
    diagnosis_strengths: list[dict[str, Any]] = field(default_factory=list)
    accepted_on: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    training: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)
    sign_offs: list[dict[str, str]] = field(default_factory=list)


def build(session: Session, case_id: int, today: date) -> Report:
    case = session.exec(
        select(Case)
        .where(Case.id == case_id)
        .options(
            selectinload(Case.firm),
            selectinload(Case.batch),
            selectinload(Case.assignments).selectinload(ExpertAssignment.expert),
        )
    ).one()
    progress = progress_of(session, case, today)
    report = Report(
        title=_("One firm, one plan: pilot report"),
        firm=_firm(case),
        batch={
            "name": case.batch.name,
            "start": case.batch.start_date,
            "end": case.batch.end_date,
            "provider": case.batch.service_provider,
            "contract": case.batch.contract_ref,
            "experts": [
                {
                    "name": a.expert.display_name,
                    "organisation": a.expert.organisation,
                    "lead": a.is_lead,
                }
                for a in case.assignments
            ],
        },
        status=current_label(progress.current),
        is_final=case.is_closed,
        generated_on=today,
        stages=_stages(progress),
    )
    report.survey = _survey(session, case)
    _diagnosis(session, case, report)
    report.items = _items(session, case)
    report.training = _training(session, case)
    report.plan = _plan(session, case)
    report.evaluation = _evaluation(session, case, report)
    report.sign_offs = _sign_offs(session, case)
    return report


def _firm(case: Case) -> dict[str, Any]:
    f = case.firm
    return {
        "name": f.name,
        "credit_code": f.credit_code,
        "district": reference.district_name(f.district),
        "industry": reference.industry_name(f.industry_code),
        "mujun": f"{f.mujun_class}（{f.mujun_year}）",
        "land": num(f.land_mu),
        "employees": f.employees or "—",
        "revenue": num(f.revenue),
        "address": f.address,
        "contacts": [c for c in f.contacts if c.get("name")],
        "certifications": [str(reference.CERTIFICATIONS.get(c, c)) for c in f.certifications],
        "awards": f.awards,
        "brands": f.brands,
    }


def _stages(progress: Progress) -> list[dict[str, Any]]:
    return [
        {
            "number": s.stage.number,
            "label": str(s.stage.label),
            "due": s.due,
            "status": s.status.value,
            "status_label": str(STATUS_LABELS[s.status]),
        }
        for s in progress.stages
    ]


def _survey(session: Session, case: Case) -> dict[str, Any] | None:
    survey = survey_of(session, case)
    if survey is None or not survey.is_submitted:
        return None
    kpis = {k.id: k for k in session.exec(select(Kpi)).all()}
    return {
        "submitted": local(survey.submitted_at),
        "systems": [str(reference.CERTIFICATIONS.get(c, c)) for c in survey.systems],
        "other_systems": survey.other_systems,
        "weak_areas": [str(WEAK_AREAS[a]) for a in survey.weak_areas if a in WEAK_AREAS],
        "pain_points": survey.pain_points,
        "wanted_help": survey.wanted_help,
        "baselines": [
            {
                "name": kpis[b.kpi_id].name_zh,
                "value": num(b.value, 4),
                "unit": kpis[b.kpi_id].unit,
                "period": b.period,
            }
            for b in survey.baselines
        ],
        "analysis": survey.analysis,
    }


def _diagnosis(session: Session, case: Case, report: Report) -> None:
    from pilot.diagnosis.charts import radar_svg

    baseline = diagnosis.diagnosis_of(session, case, Round.BASELINE)
    if baseline is None or not baseline.is_accepted:
        return
    items = {i.id: i for i in session.exec(select(FrameworkItem)).all()}
    for result in diagnosis.results(session, baseline):
        report.diagnosis.append(
            {
                "name": result.name,
                "total": one_decimal(result.total),
                "max": num(result.max),
                "percent": one_decimal(result.percent),
                "categories": [
                    {
                        "code": c.code,
                        "name": c.name,
                        "score": one_decimal(c.score),
                        "max": num(c.max),
                        "percent": one_decimal(c.percent),
                    }
                    for c in result.categories
                ],
                "radar": radar_svg(result),
            }
        )
    report.diagnosis_strengths = [
        {
            "item": f"{items[s.item_id].code} {items[s.item_id].name}",
            "strengths": s.strengths,
            "opportunities": s.opportunities,
        }
        for s in sorted(baseline.scores, key=lambda s: s.item_id)
        if s.strengths or s.opportunities
    ]
    report.findings = [
        {
            "item": f"{items[f.item_id].code} {items[f.item_id].name}",
            "severity": str(diagnosis.SEVERITY_LABELS[f.severity]),
            "description": f.description,
            "disposition": str(diagnosis.DISPOSITION_LABELS.get(f.disposition, "—")),
        }
        for f in baseline.findings
    ]
    report.accepted_on = local(baseline.accepted_at)


def _items(session: Session, case: Case) -> list[dict[str, Any]]:
    items = session.exec(
        select(RectificationItem)
        .where(RectificationItem.case_id == case.id)
        .order_by(RectificationItem.due_date, RectificationItem.id)
    ).all()
    evidence = dict(
        session.exec(
            select(StoredFile.owner_id, func.count())
            .where(
                StoredFile.owner_type == "item",
                StoredFile.is_current,
                StoredFile.owner_id.in_([i.id for i in items]),
            )
            .group_by(StoredFile.owner_id)
        ).all()
    )
    names = _user_names(session, {i.verified_by_id for i in items})
    return [
        {
            "description": i.description,
            "severity": str(diagnosis.SEVERITY_LABELS.get(i.severity, i.severity)),
            "status": str(ITEM_STATUS_LABELS.get(i.status, i.status)),
            "status_code": i.status,
            "due": i.due_date,
            "verified_by": names.get(i.verified_by_id, ""),
            "verified_at": local(i.verified_at),
            "evidence": evidence.get(i.id, 0),
            "unfinished": i.unfinished_at_closing,
            "reason": i.reason if i.status == "waived" else "",
        }
        for i in items
    ]


def _training(session: Session, case: Case) -> dict[str, Any]:
    attended = session.exec(
        select(TrainingSession, Attendance)
        .join(Attendance, Attendance.session_id == TrainingSession.id)
        .where(Attendance.case_id == case.id, Attendance.count > 0)
        .order_by(TrainingSession.starts_at)
    ).all()
    coaching = session.exec(
        select(CoachingRecord, User)
        .join(User, User.id == CoachingRecord.expert_id)
        .where(CoachingRecord.case_id == case.id)
        .order_by(CoachingRecord.coached_on)
    ).all()
    return {
        "required": case.batch.required_training_sessions,
        "sessions": [
            {
                "topic": t.topic,
                "when": local(t.starts_at),
                "trainer": t.trainer,
                "hours": num(t.hours),
                "names": a.names,
                "count": a.count,
            }
            for t, a in attended
        ],
        "coaching": [
            {
                "date": c.coached_on,
                "topic": c.topic,
                "hours": num(c.hours),
                "expert": u.display_name,
            }
            for c, u in coaching
        ],
    }


def _plan(session: Session, case: Case) -> dict[str, Any] | None:
    plan = approved_plan(session, case)
    if plan is None:
        return None
    targets = {t.id: t for t in diagnosis.targets_of(session, case)}
    return {
        "version": plan.version,
        "approved_at": local(plan.approved_at),
        "approved_by": _user_names(session, {plan.approved_by_id}).get(plan.approved_by_id, ""),
        "summary": plan.summary,
        "further_service": plan.further_service,
        "actions": [
            {"what": a.what, "owner": a.owner, "start": a.start_date, "due": a.due_date}
            for a in plan.actions
        ],
        "revisions": [
            {
                "target": targets[r.target_id].name,
                "from": num(targets[r.target_id].target),
                "to": num(r.new_target),
                "date": r.new_date,
                "reason": r.reason,
            }
            for r in plan.revisions
            if r.target_id in targets
        ],
    }


def _evaluation(session: Session, case: Case, report: Report) -> dict[str, Any]:
    actuals = evaluation.actuals_of(session, case)
    for t in diagnosis.targets_of(session, case):
        row = actuals.get(t.id)
        checked = row is not None and row.checked_at is not None
        achieved = (
            evaluation.achievement(t.direction, t.baseline, t.target, row.actual)
            if checked
            else None
        )
        report.targets.append(
            {
                "name": t.name,
                "unit": t.unit,
                "baseline": num(t.baseline, 4),
                "target": num(t.target, 4),
                "date": t.target_date,
                "direction": t.direction,
                "actual": num(row.actual, 4) if checked else "—",
                "achievement": f"{one_decimal(achieved.percent)}%" if achieved else "—",
                "met": achieved.met if achieved else None,
            }
        )
    out: dict[str, Any] = {}
    final = diagnosis.diagnosis_of(session, case, Round.FINAL)
    baseline = diagnosis.diagnosis_of(session, case, Round.BASELINE)
    if final and final.is_accepted and baseline and baseline.is_accepted:
        before = {r.framework_id: r for r in diagnosis.results(session, baseline)}
        out["before_after"] = []
        for after in diagnosis.results(session, final):
            b = before[after.framework_id]
            out["before_after"].append(
                {
                    "name": after.name,
                    "before": one_decimal(b.total),
                    "after": one_decimal(after.total),
                    "max": num(after.max),
                    "change": one_decimal(after.total - b.total),
                    "categories": [
                        {
                            "name": cb.name,
                            "before": one_decimal(cb.score),
                            "after": one_decimal(ca.score),
                            "max": num(ca.max),
                        }
                        for cb, ca in zip(b.categories, after.categories, strict=True)
                    ],
                    "chart": _before_after_chart(b, after),
                }
            )
    overall = session.exec(
        select(ServiceRating).where(
            ServiceRating.case_id == case.id, ServiceRating.expert_id.is_(None)
        )
    ).first()
    if overall:
        out["rating"] = {a: getattr(overall, a) for a in evaluation.RATING_ASPECTS}
        out["rating"]["average"] = one_decimal(overall.average)
        out["rating"]["comment"] = overall.comment
    row = session.exec(select(Evaluation).where(Evaluation.case_id == case.id)).first()
    if row is not None:
        out["assessment"] = row.assessment
        if row.verdict:
            out["verdict"] = str(evaluation.VERDICT_LABELS[row.verdict])
            out["verdict_comment"] = row.verdict_comment
            out["verdict_at"] = local(row.verdict_at)
    out["unfinished"] = [i for i in report.items if i["unfinished"]]
    return out


def _before_after_chart(before, after) -> str:
    try:
        from pilot.evaluation.charts import before_after_svg
    except ImportError:  # the chart arrives with the evaluation pages
        return ""
    return before_after_svg(before, after)


def _sign_offs(session: Session, case: Case) -> list[dict[str, str]]:
    rows = session.exec(
        select(AuditLog, User)
        .join(User, User.id == AuditLog.actor_id, isouter=True)
        .where(AuditLog.case_id == case.id, AuditLog.public)
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
    return [
        {
            "when": local(entry.at),
            "who": user.display_name if user else "",
            "what": event_label(entry.record_type, entry.action, entry.after, entry.before),
            "reason": entry.reason,
        }
        for entry, user in rows
        if (entry.record_type, entry.action) in SIGN_OFFS
    ]


def _user_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {u.id: u.display_name for u in session.exec(select(User).where(User.id.in_(ids))).all()}
