"""Stage 6's routes: KPI actuals and achievement, the before/after comparison of the final
re-scoring, the service rating, the closing assessment, staff's verdict, closing and reopening
the case; the batch's results.

Who sees what: the firm sees actuals once staff checked them, and its own ratings; an expert sees
the actuals and, of ratings, only their own aggregate over the cases they served (never one
firm's); staff see everything. The services refuse stage 6 input until the stages it needs
(the plan, the training) are done; closing archives the final report as it commits.

What the pages show is built elsewhere: `queries` (one case's stage 6), `pages` (the evaluation
page and the batch's results page), `sections` (the case page's card), `batch_results` (what the
batch's results page reads).
"""

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms import Field
from wtforms.form import BaseForm

from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.cases.services import CaseError, close_case, reopen_case
from pilot.database import today
from pilot.diagnosis.models import WorkTarget
from pilot.evaluation import pages, services
from pilot.evaluation.forms import (
    ActualForm,
    AssessmentForm,
    CheckForm,
    CloseForm,
    RatingForm,
    ReopenForm,
    VerdictForm,
)
from pilot.evaluation.models import KpiActual
from pilot.evaluation.pages import actual_prefix, rating_prefix, render_page
from pilot.evaluation.queries import ACTUAL_OWNER, seen_stamp
from pilot.extensions import db
from pilot.files.store import FileRejected, save_uploads
from pilot.kept import kept_page
from pilot.permissions import get_case_or_404, require

bp = Blueprint("evaluation", __name__)


# Shared steps -----------------------------------------------------------------------------------


def _back(case: Case, anchor: str = ""):
    return redirect(url_for("evaluation.show", case_id=case.id) + anchor)


def _refuse_unless_open(case: Case):
    """Ask the service's stage 6 gate before reading the form, whose fields are not offered
    yet: a redirect with its reason, else None."""
    try:
        services.require_open(db.session, case)
    except services.StageNotOpen as error:
        flash(str(error), "error")
        return _back(case)
    return None


def _flash_invalid() -> None:
    flash(_("Nothing was saved: correct the marked fields."), "error")


def _reject(field: Field, message: str) -> None:
    """Undo what the refused change did and show why on the form's field."""
    db.session.rollback()
    field.errors.append(message)


def _refused(form: BaseForm, error: services.EvaluationError, default: str) -> None:
    """`_reject` on the field the service named, or on `default`."""
    _reject(form[error.field if error.field in form else default], str(error))


# The page ---------------------------------------------------------------------------------------


@bp.get("/cases/<int:case_id>/evaluation")
@login_required
def show(case_id: int):
    case = get_case_or_404(case_id)
    return render_page(case)


# Actuals ----------------------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/evaluation/targets/<int:target_id>/actual")
@login_required
def enter_actual(case_id: int, target_id: int):
    case = get_case_or_404(case_id, "enter_actuals")
    refusal = _refuse_unless_open(case)
    if refusal:
        return refusal
    target = db.session.get(WorkTarget, target_id)
    if target is None or target.case_id != case.id:
        flash(_("There is no such work target in this case."), "error")
        return _back(case, "#targets")
    form = ActualForm(prefix=actual_prefix(target.id))
    if not form.validate_on_submit():
        _flash_invalid()
        return render_page(case, actual_forms={target.id: form}, status=400)
    try:
        row = services.enter_actual(
            db.session,
            current_user,
            target,
            actual=form.number,
            period=form.period.data or "",
            note=form.note.data or "",
        )
        if form.evidence.data:
            save_uploads(
                db.session,
                current_user,
                [form.evidence.data],
                owner_type=ACTUAL_OWNER,
                owner_id=row.id,
                case_id=case.id,
            )
    except services.EvaluationError as error:
        _refused(form, error, "actual")
        return render_page(case, actual_forms={target.id: form}, status=400)
    except FileRejected as error:
        _reject(
            form.evidence, _("%(error)s Nothing was saved: enter the actual again.", error=error)
        )
        return render_page(case, actual_forms={target.id: form}, status=400)
    db.session.commit()
    flash(_("The actual was saved; staff will check it."), "success")
    return _back(case, f"#target-{target.id}")


@bp.post("/cases/<int:case_id>/evaluation/actuals/<int:actual_id>/check")
@login_required
def check_actual(case_id: int, actual_id: int):
    case = get_case_or_404(case_id, "check_actuals")
    row = db.session.get(KpiActual, actual_id)
    form = CheckForm()
    if row is None or row.case_id != case.id or not form.validate_on_submit():
        flash(_("There is no such actual in this case."), "error")
        return _back(case, "#targets")
    if form.seen.data != seen_stamp(row):
        flash(_("The actual was changed after you opened the page: check the new value."), "error")
        return _back(case, f"#target-{row.target_id}")
    try:
        services.check_actual(db.session, current_user, row)
    except services.EvaluationError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The actual is checked."), "success")
    return _back(case, f"#target-{row.target_id}")


# The service rating -----------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/evaluation/ratings/<who>")
@login_required
def rate(case_id: int, who: str):
    if who != "overall" and not who.isdigit():
        abort(404)
    case = get_case_or_404(case_id, "rate_service")
    refusal = _refuse_unless_open(case)
    if refusal:
        return refusal
    expert_id = None if who == "overall" else int(who)
    if expert_id is not None and expert_id not in {a.expert_id for a in case.assignments}:
        flash(_("Rate one of the experts who served the firm."), "error")
        return _back(case, "#rating")
    form = RatingForm(prefix=rating_prefix(who))
    if not form.validate_on_submit():
        _flash_invalid()
        return render_page(case, rating_forms={who: form}, status=400)
    # The firm rates for itself; only staff, rating on its behalf, give a reason.
    reason = (form.on_behalf_reason.data or "") if services.rates_for_the_firm(current_user) else ""
    try:
        services.rate(
            db.session,
            current_user,
            case,
            expert_id=expert_id,
            scores=form.scores(),
            comment=form.comment.data or "",
            on_behalf_reason=reason,
        )
    except services.EvaluationError as error:
        _refused(form, error, "comment")
        return render_page(case, rating_forms={who: form}, status=400)
    db.session.commit()
    flash(_("Thank you: the rating was saved."), "success")
    return _back(case, "#rating")


# The closing assessment and the verdict ---------------------------------------------------------


@bp.post("/cases/<int:case_id>/evaluation/assessment")
@login_required
def assessment(case_id: int):
    case = get_case_or_404(case_id, "write_assessment")
    refusal = _refuse_unless_open(case)
    if refusal:
        return refusal
    form = AssessmentForm(prefix="assessment")
    if form.validate_on_submit():
        try:
            services.write_assessment(db.session, current_user, case, form.assessment.data or "")
        except services.EvaluationError as error:
            _reject(form.assessment, str(error))
        else:
            db.session.commit()
            flash(_("The closing assessment was saved."), "success")
            return _back(case, "#assessment")
    return render_page(case, assessment_form=form, status=400)


@bp.post("/cases/<int:case_id>/evaluation/verdict")
@login_required
def verdict(case_id: int):
    case = get_case_or_404(case_id, "give_verdict")
    form = VerdictForm(prefix="verdict")
    if form.validate_on_submit():
        try:
            services.give_verdict(
                db.session, current_user, case, form.verdict.data, form.comment.data or ""
            )
        except services.EvaluationError as error:
            _refused(form, error, "verdict")
        else:
            db.session.commit()
            flash(_("The verdict was given."), "success")
            return _back(case, "#verdict")
    return render_page(case, verdict_form=form, status=400)


# Closing and reopening --------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/evaluation/close")
@login_required
def close(case_id: int):
    case = get_case_or_404(case_id, "close_case")
    if not CloseForm().validate_on_submit():
        abort(400)
    try:
        unfinished = close_case(db.session, current_user, case, today())
    except CaseError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(case, "#closing")
    db.session.commit()  # the final report is archived as the closing commits
    if unfinished:
        flash(
            ngettext(
                "The case is closed; %(num)d item still open was recorded as unfinished.",
                "The case is closed; %(num)d items still open were recorded as unfinished.",
                len(unfinished),
            ),
            "success",
        )
    else:
        flash(_("The case is closed."), "success")
    return _back(case)


@bp.post("/cases/<int:case_id>/evaluation/reopen")
@login_required
def reopen(case_id: int):
    case = get_case_or_404(case_id, "reopen_case")
    if not case.is_closed:
        flash(_("The case is not closed."), "error")
        return _back(case)
    form = ReopenForm(prefix="reopen")
    if form.validate_on_submit():
        try:
            reopen_case(db.session, current_user, case, form.reason.data or "")
        except CaseError as error:
            _reject(form.reason, str(error))
        else:
            db.session.commit()
            flash(_("The case is reopened."), "success")
            return _back(case)
    return render_page(case, reopen_form=form, status=400)


# The batch's results ----------------------------------------------------------------------------


@bp.get("/batches/<int:batch_id>/results")
@login_required
@require("view_expert_ratings")
@kept_page("batch_results", 16)
def batch_results(batch_id: int):
    batch = db.get_or_abort(Batch, batch_id)
    return pages.render_batch_results(batch)
