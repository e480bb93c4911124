"""Stage 4's pages: the batch's training calendar, sessions with their attendance sheet and
materials, and experts' one-to-one coaching records.

Staff see and manage every session. Anyone else sees a batch's calendar only with a case of the
batch in sight: an expert sees all of the batch's sessions, a firm user the sessions its firm was
invited to or attended. Firm names, findings and attendance are shown only for the cases the user
may see.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import PurePath

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlmodel import func, or_, select
from werkzeug.datastructures import FileStorage
from wtforms import SelectChoice

from pilot.accounts.models import Role, User
from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.database import local_zone, today
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Finding
from pilot.diagnosis.services import SEVERITY_LABELS
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.files.store import FileRejected, save_upload
from pilot.firms.models import Firm
from pilot.forms import choices
from pilot.frameworks.models import FrameworkItem
from pilot.permissions import can, get_case_or_404, require, visible_cases_query
from pilot.survey.services import WEAK_AREAS, survey_of
from pilot.survey.views import may_see_answers
from pilot.training import services
from pilot.training.forms import CoachingForm, SessionForm, attendance_form
from pilot.training.models import (
    Attendance,
    CoachingRecord,
    SessionFinding,
    SessionInvite,
    TrainingSession,
)

bp = Blueprint("training", __name__)

#: StoredFile.owner_type of a session's materials (batch-wide files).
MATERIAL_TYPE = "training"
#: Session fields a TrainingError may point at; others are shown against the topic.
FORM_FIELDS = ("topic", "trainer", "place", "hours", "areas", "case_ids", "finding_ids")


# Time -------------------------------------------------------------------------------------------


def local(moment: datetime) -> datetime:
    return moment.astimezone(local_zone())


def start_of_today() -> datetime:
    """Midnight of today (the app's today, in the bureau's time zone): "upcoming" starts here."""
    return datetime.combine(today(), time.min, tzinfo=local_zone())


def ends_at(training: TrainingSession) -> datetime:
    return training.starts_at + timedelta(hours=float(training.hours))


def area_labels(codes: list[str]) -> list[str]:
    # A code no longer offered is still shown, as itself.
    return [str(WEAK_AREAS.get(code, code)) for code in codes]


# Who sees which sessions ------------------------------------------------------------------------


def _sees_every_session(user: User) -> bool:
    return user.is_staff or user.role == Role.EXPERT


def _visible_case_ids(batch_id: int) -> set[int] | None:
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


def _firm_sessions(case_ids: set[int]):
    """Ids of the sessions the firm's cases were invited to or attended, as a subquery."""
    invited = select(SessionInvite.session_id).where(SessionInvite.case_id.in_(case_ids))
    attended = select(Attendance.session_id).where(
        Attendance.case_id.in_(case_ids), Attendance.count > 0
    )
    return or_(TrainingSession.id.in_(invited), TrainingSession.id.in_(attended))


def _load_session(session_id: int) -> tuple[TrainingSession, Batch, set[int] | None]:
    """The session, its batch and the case ids the user may see in it; 404 if they may not see
    the session at all."""
    training = db.session.get(TrainingSession, session_id)
    if training is None:
        abort(404)
    case_ids = _visible_case_ids(training.batch_id)
    if not _sees_every_session(current_user):
        visible = db.session.exec(
            select(TrainingSession.id).where(
                TrainingSession.id == training.id, _firm_sessions(case_ids)
            )
        ).first()
        if visible is None:
            abort(404)
    return training, db.session.get(Batch, training.batch_id), case_ids


# The calendar -----------------------------------------------------------------------------------


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


@bp.get("/batches/<int:batch_id>/training")
@login_required
def calendar(batch_id: int):
    batch = db.get_or_abort(Batch, batch_id)
    case_ids = _visible_case_ids(batch.id)
    query = select(TrainingSession).where(TrainingSession.batch_id == batch.id)
    if not _sees_every_session(current_user):
        query = query.where(_firm_sessions(case_ids))
    sessions = db.session.exec(query.order_by(TrainingSession.starts_at, TrainingSession.id)).all()
    ids = [s.id for s in sessions]
    invited = _counts(SessionInvite.session_id, ids)
    attended = _counts(Attendance.session_id, ids, Attendance.count > 0)
    own_counts: dict[int, int] = {}
    firm_view = not _sees_every_session(current_user)
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
    return render_template(
        "training/calendar.html",
        batch=batch,
        rows=rows,
        firm_view=firm_view,
        met=_firms_meeting_requirement(batch) if current_user.is_staff else None,
        area_labels=area_labels,
    )


def _firms_meeting_requirement(batch: Batch) -> tuple[int, int]:
    """(cases that attended the required number of sessions, active cases) of the batch."""
    active = db.session.exec(
        select(Case.id).where(
            Case.batch_id == batch.id, Case.withdrawn_at.is_(None), Case.closed_at.is_(None)
        )
    ).all()
    per_case = db.session.exec(
        select(Attendance.case_id, func.count())
        .where(Attendance.case_id.in_(active), Attendance.count > 0)
        .group_by(Attendance.case_id)
    ).all()
    met = sum(1 for _case_id, count in per_case if count >= batch.required_training_sessions)
    return met, len(active)


# Creating and changing a session ----------------------------------------------------------------


def _batch_cases(batch: Batch) -> list[tuple[Case, Firm]]:
    return db.session.exec(
        select(Case, Firm)
        .join(Firm, Case.firm_id == Firm.id)
        .where(Case.batch_id == batch.id)
        .order_by(Firm.name, Case.id)
    ).all()


def _finding_label(finding: Finding, item: FrameworkItem) -> str:
    text = finding.description if len(finding.description) <= 60 else finding.description[:59] + "…"
    severity = SEVERITY_LABELS.get(finding.severity, finding.severity)
    return f"{item.code} {item.name} · {severity} · {text}"


def _finding_choices(batch: Batch, linked: set[int]) -> list[SelectChoice]:
    """Findings of the batch's accepted diagnoses (and any already linked), grouped by firm."""
    rows = db.session.exec(
        select(Finding, FrameworkItem, Firm)
        .join(Diagnosis, Finding.diagnosis_id == Diagnosis.id)
        .join(Case, Diagnosis.case_id == Case.id)
        .join(Firm, Case.firm_id == Firm.id)
        .join(FrameworkItem, Finding.item_id == FrameworkItem.id)
        .where(Case.batch_id == batch.id)
        .where(
            or_(
                Diagnosis.status == DiagnosisStatus.ACCEPTED,
                Finding.id.in_(linked or [-1]),
            )
        )
        .order_by(
            Firm.name, Diagnosis.id, FrameworkItem.framework_id, FrameworkItem.position, Finding.id
        )
    ).all()
    return [
        SelectChoice(finding.id, _finding_label(finding, item), optgroup=firm.name)
        for finding, item, firm in rows
    ]


def _initial(training: TrainingSession | None, cases: list[tuple[Case, Firm]]) -> dict:
    if training is None:
        return {
            "hours": Decimal(3),
            "start_time": time(9, 0),
            # Every firm still in the pilot is invited unless staff untick it.
            "case_ids": [case.id for case, _firm in cases if not case.is_read_only],
        }
    starts = local(training.starts_at)
    invited = db.session.exec(
        select(SessionInvite.case_id).where(SessionInvite.session_id == training.id)
    ).all()
    return {
        "topic": training.topic,
        "day": starts.date(),
        "start_time": starts.time().replace(tzinfo=None),
        "hours": training.hours,
        "place": training.place,
        "online_link": training.online_link,
        "trainer": training.trainer,
        "areas": list(training.areas),
        "description": training.description,
        "case_ids": list(invited),
        "finding_ids": _linked_findings(training),
    }


def _linked_findings(training: TrainingSession | None) -> list[int]:
    if training is None or training.id is None:
        return []
    return list(
        db.session.exec(
            select(SessionFinding.finding_id).where(SessionFinding.session_id == training.id)
        ).all()
    )


def _distinct_names(uploads: list[FileStorage]) -> None:
    """Two files of the same name in one upload are kept as two files, not as two versions."""
    used: set[str] = set()
    for upload in uploads:
        name = PurePath((upload.filename or "").replace("\\", "/")).name
        stem, dot, suffix = name.rpartition(".")
        stem, suffix = (stem, dot + suffix) if dot and stem else (name, "")
        candidate, number = name, 1
        while candidate.lower() in used:
            number += 1
            candidate = f"{stem} ({number}){suffix}"
        used.add(candidate.lower())
        upload.filename = candidate


def _save_materials(training: TrainingSession, uploads: list[FileStorage]) -> None:
    _distinct_names(uploads)
    for upload in uploads:
        shown = upload.filename
        try:
            save_upload(
                db.session,
                current_user,
                upload,
                owner_type=MATERIAL_TYPE,
                owner_id=training.id,
                batch_id=training.batch_id,
            )
        except FileRejected as error:
            raise FileRejected(f"{shown}: {error}") from error


def _materials(training: TrainingSession | None) -> list[StoredFile]:
    if training is None or training.id is None:
        return []
    return db.session.exec(
        select(StoredFile)
        .where(StoredFile.owner_type == MATERIAL_TYPE, StoredFile.owner_id == training.id)
        .where(StoredFile.is_current)
        .order_by(StoredFile.name)
    ).all()


def _session_form(batch: Batch, training: TrainingSession | None):
    """The new/edit page: validate, save the session and its materials, commit, redirect."""
    cases = _batch_cases(batch)
    linked = set(_linked_findings(training))
    # On GET the form shows the saved session (or a new one's defaults); on POST what was sent.
    form = SessionForm(data=_initial(training, cases) if request.method == "GET" else None)
    form.case_ids.choices = choices(
        (case.id, firm.name + (" " + _("(withdrawn)") if case.is_withdrawn else ""))
        for case, firm in cases
    )
    form.finding_ids.choices = _finding_choices(batch, linked)
    if form.validate_on_submit():
        fields = {
            "topic": form.topic.data,
            "starts_at": datetime.combine(form.day.data, form.start_time.data, tzinfo=local_zone()),
            "hours": form.hours.data,
            "place": form.place.data or "",
            "online_link": form.online_link.data or "",
            "trainer": form.trainer.data,
            "areas": list(form.areas.data or []),
            "description": form.description.data or "",
        }
        try:
            saved = services.save_session(
                db.session,
                current_user,
                batch,
                training,
                case_ids=list(form.case_ids.data or []),
                finding_ids=list(form.finding_ids.data or []),
                **fields,
            )
            _save_materials(saved, form.chosen_materials())
        except services.TrainingError as error:
            db.session.rollback()
            form[error.field if error.field in FORM_FIELDS else "topic"].errors.append(str(error))
        except FileRejected as error:
            db.session.rollback()
            form.materials.errors.append(
                _("%(error)s Nothing was saved: choose the files again.", error=error)
            )
        else:
            db.session.commit()
            flash(
                _("The session was created.") if training is None else _("The session was saved."),
                "success",
            )
            return redirect(url_for("training.show", session_id=saved.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "training/form.html",
        batch=batch,
        training=training,
        form=form,
        materials=_materials(training),
    ), status


@bp.route("/batches/<int:batch_id>/training/new", methods=["GET", "POST"])
@login_required
@require("manage_training")
def new(batch_id: int):
    return _session_form(db.get_or_abort(Batch, batch_id), None)


@bp.route("/training/<int:session_id>/edit", methods=["GET", "POST"])
@login_required
@require("manage_training")
def edit(session_id: int):
    training = db.get_or_abort(TrainingSession, session_id)
    return _session_form(db.session.get(Batch, training.batch_id), training)


# One session and its attendance sheet -----------------------------------------------------------


@dataclass
class SheetRow:
    case: Case
    firm: Firm
    invited: bool
    attendance: Attendance | None
    editable: bool


def _sheet(training: TrainingSession, case_ids: set[int] | None) -> list[SheetRow]:
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
    may_record = can(current_user, "manage_training") and sheet_open(training)
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


def sheet_open(training: TrainingSession) -> bool:
    """Attendance is recorded from the session's day on, never ahead of it."""
    return local(training.starts_at).date() <= today()


def _sheet_form(rows: list[SheetRow], formdata=None):
    return attendance_form(
        {
            r.case.id: (r.attendance.names, r.attendance.count) if r.attendance else ("", 0)
            for r in rows
            if r.editable
        },
        formdata=formdata,
    )


def _linked_finding_rows(training: TrainingSession, case_ids: set[int] | None) -> list[dict]:
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
        {"firm": firm.name, "label": _finding_label(finding, item)}
        for finding, item, firm in db.session.exec(query).all()
    ]


def _render_show(
    training: TrainingSession,
    batch: Batch,
    case_ids: set[int] | None,
    rows: list[SheetRow] | None = None,
    form=None,
    status: int = 200,
):
    rows = rows if rows is not None else _sheet(training, case_ids)
    return render_template(
        "training/show.html",
        training=training,
        batch=batch,
        starts=local(training.starts_at),
        ends=local(ends_at(training)),
        past=training.starts_at < start_of_today(),
        areas=area_labels(training.areas),
        materials=_materials(training),
        findings=_linked_finding_rows(training, case_ids),
        rows=rows,
        form=form or _sheet_form(rows),
        sheet_open=sheet_open(training),
        attended=sum(1 for r in rows if r.attendance and r.attendance.count > 0),
        invited=sum(1 for r in rows if r.invited),
    ), status


@bp.get("/training/<int:session_id>")
@login_required
def show(session_id: int):
    training, batch, case_ids = _load_session(session_id)
    return _render_show(training, batch, case_ids)


@bp.post("/training/<int:session_id>/attendance")
@login_required
@require("manage_training")
def attendance(session_id: int):
    training = db.get_or_abort(TrainingSession, session_id)
    batch = db.session.get(Batch, training.batch_id)
    if not sheet_open(training):
        flash(_("Attendance can be recorded from the day of the session."), "error")
        return redirect(url_for("training.show", session_id=training.id))
    rows = _sheet(training, None)
    form = _sheet_form(rows, formdata=request.form)
    if not form.validate_on_submit():
        flash(_("Nothing was saved: correct the marked rows."), "error")
        return _render_show(training, batch, None, rows, form, status=400)
    by_case = {r.case.id: r for r in rows}
    saved = 0
    try:
        for case_id, (names, count) in form.counts().items():
            row = by_case[case_id]
            current = row.attendance
            if current is None and not count and not names:
                continue
            if current is not None and (current.names, current.count) == (names, count):
                continue
            services.record_attendance(
                db.session, current_user, training, row.case, names=names, count=count
            )
            saved += 1
    except services.TrainingError as error:
        db.session.rollback()
        flash(
            _(
                "Nothing was saved: %(firm)s: %(error)s",
                firm=by_case[case_id].firm.name,
                error=error,
            ),
            "error",
        )
        return _render_show(training, batch, None, _sheet(training, None), form, status=400)
    db.session.commit()
    if saved:
        flash(
            ngettext(
                "Attendance saved for %(num)d firm.", "Attendance saved for %(num)d firms.", saved
            ),
            "success",
        )
    else:
        flash(_("Nothing had changed."), "success")
    return redirect(url_for("training.show", session_id=training.id) + "#attendance")


# One-to-one coaching ----------------------------------------------------------------------------


@bp.route("/cases/<int:case_id>/coaching", methods=["GET", "POST"])
@login_required
def add_coaching(case_id: int):
    case = get_case_or_404(case_id, "record_coaching")
    form = CoachingForm(today=today())
    if request.method == "GET":
        form.coached_on.data = form.coached_on.data or today()
    if form.validate_on_submit():
        try:
            services.add_coaching(
                db.session,
                current_user,
                case,
                coached_on=form.coached_on.data,
                hours=form.hours.data,
                topic=form.topic.data,
                notes=form.notes.data or "",
                today=today(),
            )
        except services.TrainingError as error:
            db.session.rollback()
            form[error.field if error.field in form else "topic"].errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The coaching was recorded."), "success")
            return redirect(url_for("cases.show", case_id=case.id) + "#training")
    status = 400 if request.method == "POST" else 200
    return render_template("training/coaching.html", case=case, form=form), status


# The case page's card ---------------------------------------------------------------------------


def _coverage(case: Case, attended: list[TrainingSession]) -> tuple[list[dict], list[dict]]:
    """The firm's weak areas (from its survey) and the framework items of its accepted findings,
    each with the attended sessions that covered it."""
    survey = survey_of(db.session, case)
    areas = []
    if survey is not None and may_see_answers(current_user, survey):
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
