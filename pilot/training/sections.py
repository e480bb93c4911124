"""Stage 4 on the case page: sessions attended, upcoming and missed, one-to-one coaching, and
what of the firm's weak areas and findings the sessions it attended covered."""

from decimal import Decimal

from flask_login import current_user
from sqlmodel import select

from pilot.accounts.models import User
from pilot.cases.models import Case
from pilot.database import today
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Finding
from pilot.extensions import db
from pilot.frameworks.models import FrameworkItem
from pilot.permissions import can, can_see_survey_answers
from pilot.survey.services import survey_of
from pilot.training.forms import CoachingForm
from pilot.training.labels import area_labels
from pilot.training.models import (
    Attendance,
    CoachingRecord,
    SessionFinding,
    SessionInvite,
    TrainingSession,
)
from pilot.training.times import local, start_of_today


def _coverage(case: Case, attended: list[TrainingSession]) -> tuple[list[dict], list[dict]]:
    """The firm's weak areas (from its survey) and the framework items of its accepted findings,
    each with the attended sessions that covered it."""
    survey = survey_of(db.session, case)
    areas = []
    if survey is not None and can_see_survey_answers(current_user, survey):
        for code in survey.weak_areas:
            topics = [s.topic for s in attended if code in (s.areas or [])]
            areas.append({"label": area_labels([code])[0], "sessions": topics})
    findings = db.session.exec(
        select(Finding.id, FrameworkItem)
        .join(Diagnosis, Finding.diagnosis_id == Diagnosis.id)
        .join(FrameworkItem, Finding.item_id == FrameworkItem.id)
        .where(Diagnosis.case_id == case.id, Diagnosis.status == DiagnosisStatus.ACCEPTED)
        .order_by(FrameworkItem.framework_id, FrameworkItem.position, Finding.id)
    ).all()
    topics_by_session = {s.id: s.topic for s in attended}
    links = db.session.exec(
        select(SessionFinding.finding_id, SessionFinding.session_id).where(
            SessionFinding.finding_id.in_([fid for fid, _item in findings] or [-1]),
            SessionFinding.session_id.in_(list(topics_by_session) or [-1]),
        )
    ).all()
    covered_by: dict[int, list[int]] = {}
    for finding_id, session_id in links:
        covered_by.setdefault(finding_id, []).append(session_id)
    items: dict[int, dict] = {}
    for finding_id, item in findings:
        entry = items.setdefault(
            item.id, {"label": f"{item.code} {item.name}", "session_ids": set()}
        )
        entry["session_ids"].update(covered_by.get(finding_id, []))
    item_rows = [
        {
            "label": entry["label"],
            "sessions": [topics_by_session[sid] for sid in sorted(entry["session_ids"])],
        }
        for entry in items.values()
    ]
    return areas, item_rows


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None."""
    attended_rows = db.session.exec(
        select(TrainingSession, Attendance)
        .join(Attendance, Attendance.session_id == TrainingSession.id)
        .where(Attendance.case_id == case.id, Attendance.count > 0)
        .order_by(TrainingSession.starts_at, TrainingSession.id)
    ).all()
    attended = [s for s, _a in attended_rows]
    since = start_of_today()
    invitations = db.session.exec(
        select(TrainingSession)
        .join(SessionInvite, SessionInvite.session_id == TrainingSession.id)
        .where(SessionInvite.case_id == case.id)
        .order_by(TrainingSession.starts_at, TrainingSession.id)
    ).all()
    attended_ids = {s.id for s in attended}
    upcoming = [s for s in invitations if s.starts_at >= since and s.id not in attended_ids]
    missed = [s for s in invitations if s.starts_at < since and s.id not in attended_ids]
    coaching = db.session.exec(
        select(CoachingRecord, User)
        .join(User, CoachingRecord.expert_id == User.id)
        .where(CoachingRecord.case_id == case.id)
        .order_by(CoachingRecord.coached_on.desc(), CoachingRecord.id.desc())
    ).all()
    areas, items = _coverage(case, attended)
    coaching_form = None
    if can(current_user, "record_coaching", case):
        coaching_form = CoachingForm(formdata=None, data={"coached_on": today()})
    return {
        "template": "training/_section.html",
        "case": case,
        "required": case.batch.required_training_sessions,
        "attended": [
            {"session": s, "starts": local(s.starts_at), "attendance": a} for s, a in attended_rows
        ],
        "upcoming": [{"session": s, "starts": local(s.starts_at)} for s in upcoming],
        "missed": [{"session": s, "starts": local(s.starts_at)} for s in missed],
        "coaching": coaching,
        "coaching_hours": sum((r.hours for r, _u in coaching), Decimal(0)),
        "areas": areas,
        "framework_items": items,
        "coaching_form": coaching_form,
    }
