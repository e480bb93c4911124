"""On-site visits: experts log them, the firm confirms or disputes, staff see hours delivered."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from sqlmodel import select

from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.database import today
from pilot.extensions import db
from pilot.files.store import FileRejected
from pilot.forms import choices
from pilot.permissions import get_case_or_404, require
from pilot.submissions.services import AlreadySubmitted
from pilot.visits import pages, services
from pilot.visits.forms import ConfirmVisitForm, DisputeVisitForm, VisitForm
from pilot.visits.models import Visit

bp = Blueprint("visits", __name__)


# Logging a visit --------------------------------------------------------------------------------


@bp.route("/cases/<int:case_id>/visits/new", methods=["GET", "POST"])
@login_required
def new(case_id: int):
    case = get_case_or_404(case_id, "log_visit")
    form = VisitForm(batch_start=case.batch.start_date)
    form.expert_ids.choices = choices(
        (a.expert_id, a.expert.display_name)
        for a in case.assignments
        if a.expert_id != current_user.id
    )
    if form.validate_on_submit():
        try:
            visit = services.log_visit(
                db.session,
                current_user,
                case,
                visit_date=form.visit_date.data,
                hours=form.hours.data,
                expert_ids=form.expert_ids.data or [],
                activities=form.activities.data or "",
                firm_participants=form.firm_participants.data or "",
                today=today(),
                token=form.token.data,
            )
            services.add_photos(db.session, current_user, visit, form.chosen_photos())
        except AlreadySubmitted as sent:
            # A double click or a resent page: the first send made the visit; show it.
            db.session.rollback()
            flash(_("This form was already sent: here is the visit it logged."), "success")
            return redirect(url_for("visits.show", visit_id=sent.record_id))
        except services.VisitError as error:
            db.session.rollback()
            form[error.field if error.field in form else "activities"].errors.append(str(error))
        except FileRejected as error:
            db.session.rollback()
            form.photos.errors.append(
                _("%(error)s Nothing was saved: choose the photos again.", error=error)
            )
        else:
            db.session.commit()
            flash(_("The visit was logged; the firm is asked to confirm it."), "success")
            return redirect(url_for("visits.show", visit_id=visit.id))
    return render_template("visits/form.html", case=case, form=form)


# One visit and the answer to it -----------------------------------------------------------------


def _load(visit_id: int, action: str = "view_case") -> tuple[Visit, Case]:
    """The visit and its case for the current user: 404 if they may not see it, 403 if they
    may not act."""
    visit = db.session.exec(
        select(Visit).where(Visit.id == visit_id).options(selectinload(Visit.experts))
    ).first()
    if visit is None:
        abort(404)
    return visit, get_case_or_404(visit.case_id, action)


@bp.get("/visits/<int:visit_id>")
@login_required
def show(visit_id: int):
    visit, case = _load(visit_id)
    return pages.render_show(visit, case)


def _answer(visit: Visit, case: Case, form, run, done_message: str):
    """Validate the form, call the service, commit and go back to the visit."""
    if form.validate_on_submit():
        try:
            run()
        except services.VisitError as error:
            db.session.rollback()
            if error.field not in form:
                flash(str(error), "error")
                return redirect(url_for("visits.show", visit_id=visit.id))
            form[error.field].errors.append(str(error))
        else:
            db.session.commit()
            flash(done_message, "success")
            return redirect(url_for("visits.show", visit_id=visit.id))
    if isinstance(form, ConfirmVisitForm):
        return pages.render_show(visit, case, confirm_form=form, status=400)
    return pages.render_show(visit, case, dispute_form=form, status=400)


@bp.post("/visits/<int:visit_id>/confirm")
@login_required
def confirm(visit_id: int):
    visit, case = _load(visit_id, "confirm_visit")
    form = ConfirmVisitForm()
    return _answer(
        visit,
        case,
        form,
        lambda: services.confirm_visit(
            db.session, current_user, visit, reason=form.reason.data or ""
        ),
        _("The visit is confirmed."),
    )


@bp.post("/visits/<int:visit_id>/dispute")
@login_required
def dispute(visit_id: int):
    visit, case = _load(visit_id, "dispute_visit")
    form = DisputeVisitForm()
    return _answer(
        visit,
        case,
        form,
        lambda: services.dispute_visit(db.session, current_user, visit, form.comment.data or ""),
        _("The visit is disputed; the expert and the bureau see your comment."),
    )


# Hours delivered against hours bought -----------------------------------------------------------


@bp.get("/batches/<int:batch_id>/hours")
@login_required
@require("view_service_hours")
def hours(batch_id: int):
    batch = db.get_or_abort(Batch, batch_id)
    return pages.render_hours(batch)
