"""The report's later sections as plain data: items, training, plan, evaluation, sign-offs."""

from datetime import datetime
from typing import Any

from sqlmodel import Session, func, select

from pilot.accounts.models import User
from pilot.accounts.queries import people_by_id
from pilot.audit.entries import readable_log
from pilot.audit.models import AuditLog
from pilot.cases.models import Case
from pilot.database import local_zone
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.models import Round
from pilot.evaluation import services as evaluation
from pilot.evaluation.models import Evaluation, ServiceRating
from pilot.files.models import StoredFile
from pilot.numbers import decimal_text, plain_text
from pilot.plan.services import approved_plan
from pilot.rectification.models import ItemStatus, RectificationItem
from pilot.rectification.services import ITEM_STATUS_LABELS
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


def local(dt: datetime | None) -> str:
    return dt.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if dt else ""


def items_section(session: Session, case: Case) -> list[dict[str, Any]]:
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
    names = user_names(session, {i.verified_by_id for i in items})
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
            "reason": i.reason if i.status == ItemStatus.WAIVED else "",
        }
        for i in items
    ]


def training_section(session: Session, case: Case) -> dict[str, Any]:
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
                "hours": plain_text(t.hours, 2),
                "names": a.names,
                "count": a.count,
            }
            for t, a in attended
        ],
        "coaching": [
            {
                "date": c.coached_on,
                "topic": c.topic,
                "hours": plain_text(c.hours, 2),
                "expert": u.display_name,
            }
            for c, u in coaching
        ],
    }


def plan_section(session: Session, case: Case) -> dict[str, Any] | None:
    plan = approved_plan(session, case)
    if plan is None:
        return None
    targets = {t.id: t for t in diagnosis.targets_of(session, case)}
    return {
        "version": plan.version,
        "approved_at": local(plan.approved_at),
        "approved_by": user_names(session, {plan.approved_by_id}).get(plan.approved_by_id, ""),
        "summary": plan.summary,
        "further_service": plan.further_service,
        "actions": [
            {"what": a.what, "owner": a.owner, "start": a.start_date, "due": a.due_date}
            for a in plan.actions
        ],
        "revisions": [
            {
                "target": targets[r.target_id].name,
                "from": plain_text(targets[r.target_id].target, 4),
                "to": plain_text(r.new_target, 4),
                "date": r.new_date,
                "reason": r.reason,
            }
            for r in plan.revisions
            if r.target_id in targets
        ],
    }


def evaluation_section(
    session: Session, case: Case, items: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The targets with checked actuals and achievement, and the rest of stage 6."""
    targets: list[dict[str, Any]] = []
    actuals = evaluation.actuals_of(session, case)
    for t in diagnosis.targets_of(session, case):
        row = actuals.get(t.id)
        checked = row is not None and row.checked_at is not None
        achieved = (
            evaluation.achievement(t.direction, t.baseline, t.target, row.actual)
            if checked
            else None
        )
        targets.append(
            {
                "name": t.name,
                "unit": t.unit,
                "baseline": plain_text(t.baseline, 4),
                "target": plain_text(t.target, 4),
                "date": t.target_date,
                "direction": t.direction,
                "actual": plain_text(row.actual, 4) if checked else "—",
                "achievement": f"{decimal_text(achieved.percent)}%" if achieved else "—",
                "met": achieved.met if achieved else None,
            }
        )
    out: dict[str, Any] = {}
    final = diagnosis.diagnosis_of(session, case, Round.FINAL)
    baseline = diagnosis.diagnosis_of(session, case, Round.BASELINE)
    if final and final.is_accepted and baseline and baseline.is_accepted:
        before = {r.framework_id: r for r in diagnosis.framework_results(session, baseline)}
        out["before_after"] = []
        for after in diagnosis.framework_results(session, final):
            b = before[after.framework_id]
            out["before_after"].append(
                {
                    "name": after.name,
                    "before": decimal_text(b.total),
                    "after": decimal_text(after.total),
                    "max": plain_text(after.max, 2),
                    "change": decimal_text(after.total - b.total),
                    "categories": [
                        {
                            "name": cb.name,
                            "before": decimal_text(cb.score),
                            "after": decimal_text(ca.score),
                            "max": plain_text(ca.max, 2),
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
        out["rating"]["average"] = decimal_text(overall.average)
        out["rating"]["comment"] = overall.comment
    row = session.exec(select(Evaluation).where(Evaluation.case_id == case.id)).first()
    if row is not None:
        out["assessment"] = row.assessment
        if row.verdict:
            out["verdict"] = str(evaluation.VERDICT_LABELS[row.verdict])
            out["verdict_comment"] = row.verdict_comment
            out["verdict_at"] = local(row.verdict_at)
    out["unfinished"] = [i for i in items if i["unfinished"]]
    return targets, out


def _before_after_chart(before, after) -> str:
    try:
        from pilot.evaluation.charts import before_after_svg
    except ImportError:  # the chart arrives with the evaluation pages
        return ""
    return before_after_svg(before, after)


def sign_offs(session: Session, case: Case) -> list[dict[str, str]]:
    rows = session.exec(
        select(AuditLog, User)
        .join(User, User.id == AuditLog.actor_id, isouter=True)
        .where(AuditLog.case_id == case.id, AuditLog.public)
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
    rows = [(entry, user) for entry, user in rows if (entry.record_type, entry.action) in SIGN_OFFS]
    return [
        {"when": local(line.at), "who": line.who, "what": line.what, "reason": line.reason}
        for line in readable_log(session, rows)
    ]


def user_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    return {i: u.display_name for i, u in people_by_id(session, ids).items()}
