"""Stage 4's pages: the batch's training calendar, sessions with their attendance sheet and
materials, and experts' one-to-one coaching records.

Staff see and manage every session. Anyone else sees a batch's calendar only with a case of the
batch in sight: an expert sees all of the batch's sessions, a firm user the sessions its firm was
invited to or attended (permissions.py). Firm names, findings and attendance are shown only for the
cases the user may see. What the pages read is in queries.py, what they show in pages.py, the
session form's choices in forms.py, the case page's card in sections.py.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from pilot.batches.models import Batch
from pilot.database import EditConflict, today
from pilot.extensions import db
from pilot.files.store import FileRejected
from pilot.forms import keep_input
from pilot.permissions import (
    get_case_or_404,
    get_training_session_or_404,
    require,
    sees_every_session,
    training_case_ids,
)
from pilot.training import pages, services
from pilot.training.forms import CoachingForm, session_fields, session_form, sheet_form
from pilot.training.models import TrainingSession
from pilot.training.pages import render_show
from pilot.training.queries import sheet
from pilot.training.services import save_materials
from pilot.training.times import sheet_open

bp = Blueprint("training", __name__)

#: Session fields a TrainingError may point at; others are shown against the topic.
FORM_FIELDS = ("topic", "trainer", "place", "hours", "areas", "case_ids", "finding_ids")


# The calendar -----------------------------------------------------------------------------------


@bp.get("/batches/<int:batch_id>/training")
@login_required
def calendar(batch_id: int):
    batch = db.get_or_abort(Batch, batch_id)
    case_ids = training_case_ids(batch.id)
    firm_view = not sees_every_session(current_user)
    return pages.render_calendar(batch, case_ids, firm_view)


# Creating and changing a session ----------------------------------------------------------------


def _session_page(batch: Batch, training: TrainingSession | None):
    """The new/edit page: validate, save the session and its materials, commit, redirect."""
    form = session_form(batch, training)
    if form.validate_on_submit():
        fields = session_fields(form)
        try:
            saved = services.save_session(
                db.session,
                current_user,
                batch,
                training,
                case_ids=list(form.case_ids.data or []),
                finding_ids=list(form.finding_ids.data or []),
                version=form.version.data if training is not None else None,
                **fields,
            )
            save_materials(db.session, current_user, saved, form.chosen_materials())
        except EditConflict as conflict:
            db.session.rollback()
            keep_input(form.version, conflict)
            return pages.render_session_form(batch, training, form, 409)
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
    return pages.render_session_form(batch, training, form, status)


@bp.route("/batches/<int:batch_id>/training/new", methods=["GET", "POST"])
@login_required
@require("manage_training")
def new(batch_id: int):
    return _session_page(db.get_or_abort(Batch, batch_id), None)


@bp.route("/training/<int:session_id>/edit", methods=["GET", "POST"])
@login_required
@require("manage_training")
def edit(session_id: int):
    training = db.get_or_abort(TrainingSession, session_id)
    return _session_page(db.session.get(Batch, training.batch_id), training)


# One session and its attendance sheet -----------------------------------------------------------


@bp.get("/training/<int:session_id>")
@login_required
def show(session_id: int):
    training, batch, case_ids = get_training_session_or_404(session_id)
    return render_show(training, batch, case_ids)


@bp.post("/training/<int:session_id>/attendance")
@login_required
@require("manage_training")
def attendance(session_id: int):
    training = db.get_or_abort(TrainingSession, session_id)
    batch = db.session.get(Batch, training.batch_id)
    if not sheet_open(training):
        flash(_("Attendance can be recorded from the day of the session."), "error")
        return redirect(url_for("training.show", session_id=training.id))
    rows = sheet(current_user, training, None)
    form = sheet_form(rows, formdata=request.form)
    if not form.validate_on_submit():
        flash(_("Nothing was saved: correct the marked rows."), "error")
        return render_show(training, batch, None, rows, form, status=400)
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
                db.session,
                current_user,
                training,
                row.case,
                names=names,
                count=count,
                today=today(),
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
        return render_show(
            training, batch, None, sheet(current_user, training, None), form, status=400
        )
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
