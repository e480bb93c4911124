"""Pages of the diagnosis: scoring, findings, work targets, submitting, returning, accepting.

Experts assigned to the case file it (the lead submits); staff return or accept it. The firm sees
an accepted diagnosis only: a draft answers 404 to the firm, as a case they may not see does.

What the page reads is in queries.py, what it shows in pages.py, its words in labels.py, the case
page's card in sections.py.
"""

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from pilot.cases.models import Case
from pilot.database import today
from pilot.diagnosis import scoring, services
from pilot.diagnosis.forms import (
    ActionForm,
    FindingForm,
    ReturnForm,
    TargetForm,
    accept_form,
    item_options,
    scores_form,
)
from pilot.diagnosis.labels import ROUND_LABELS
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Round, WorkTarget
from pilot.diagnosis.pages import kpi_options, render_page
from pilot.diagnosis.queries import FINDING_OWNER, frameworks_to_score, load_diagnosis
from pilot.extensions import db
from pilot.files.store import FileRejected, save_uploads
from pilot.frameworks.models import Framework, Scale
from pilot.permissions import can_read_diagnosis, get_case_or_404

bp = Blueprint("diagnosis", __name__)


def _case(case_id: int, round_: str, action: str = "view_case") -> Case:
    if round_ not in ROUND_LABELS:
        abort(404)
    return get_case_or_404(case_id, action)


def _back(case: Case, round_: str, anchor: str = ""):
    return redirect(url_for("diagnosis.edit", case_id=case.id, round_=round_) + anchor)


def _open_for_filing(
    case: Case, round_: str
) -> tuple[Diagnosis | None, list[Framework], Response | None]:
    """The diagnosis to write to (None: not started yet) and the frameworks it scores; or, when
    nothing can be written now, the way back to the page with the reason flashed."""
    diagnosis = load_diagnosis(case, round_)
    if diagnosis is not None and diagnosis.status not in services.EDITABLE:
        flash(_("The diagnosis has been submitted and cannot be changed now."), "error")
        return diagnosis, [], _back(case, round_)
    frameworks = frameworks_to_score(case, round_, diagnosis)
    if not frameworks:
        flash(_("There is no framework to score against yet."), "error")
        return diagnosis, frameworks, _back(case, round_)
    return diagnosis, frameworks, None


# The page ---------------------------------------------------------------------------------------


@bp.get("/cases/<int:case_id>/diagnosis/<round_>")
@login_required
def edit(case_id: int, round_: str):
    case = _case(case_id, round_)
    diagnosis = load_diagnosis(case, round_)
    if not can_read_diagnosis(current_user, case, diagnosis):
        abort(404)
    return render_page(case, round_, diagnosis)


# Scores -----------------------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/scores")
@login_required
def save_scores(case_id: int, round_: str):
    case = _case(case_id, round_, "file_diagnosis")
    diagnosis, frameworks, refused = _open_for_filing(case, round_)
    if refused:
        return refused
    saved = {s.item_id: s for s in diagnosis.scores} if diagnosis else {}
    form = scores_form(frameworks, saved, formdata=request.form)
    if not form.validate_on_submit():
        flash(_("Nothing was saved: correct the marked scores."), "error")
        return render_page(case, round_, diagnosis, score_form=form)
    entries = [
        services.ScoreInput(
            item_id=item_id,
            percent=form[f"score_{item_id}"].value if scale == Scale.BAND else None,
            level=form[f"score_{item_id}"].value if scale != Scale.BAND else None,
            strengths=form[f"strengths_{item_id}"].data or "",
            opportunities=form[f"opportunities_{item_id}"].data or "",
        )
        for framework in frameworks
        for item_id, scale in ((item.id, framework.scale) for item in framework.items)
    ]
    try:
        diagnosis = diagnosis or services.start(db.session, current_user, case, round_)
        services.save_scores(db.session, current_user, diagnosis, entries)
    except (services.DiagnosisError, scoring.ScoreError) as error:
        db.session.rollback()
        flash(_("Nothing was saved: %(reason)s", reason=error), "error")
        return render_page(case, round_, load_diagnosis(case, round_), score_form=form)
    db.session.commit()
    flash(_("Scores saved."), "success")
    return _back(case, round_, "#scores")


# Findings ---------------------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/findings")
@login_required
def add_finding(case_id: int, round_: str):
    case = _case(case_id, round_, "file_diagnosis")
    diagnosis, frameworks, refused = _open_for_filing(case, round_)
    if refused:
        return refused
    form = FindingForm(prefix="finding")
    form.item_id.choices = item_options(frameworks)
    if not form.validate_on_submit():
        return render_page(case, round_, diagnosis, finding_form=form)
    try:
        diagnosis = diagnosis or services.start(db.session, current_user, case, round_)
        finding = services.add_finding(
            db.session,
            current_user,
            diagnosis,
            item_id=form.item_id.data,
            description=form.description.data,
            severity=form.severity.data,
        )
        if form.evidence.data:
            save_uploads(
                db.session,
                current_user,
                [form.evidence.data],
                owner_type=FINDING_OWNER,
                owner_id=finding.id,
                case_id=case.id,
            )
    except services.DiagnosisError as error:
        db.session.rollback()
        getattr(form, error.field or "description").errors.append(str(error))
        return render_page(case, round_, load_diagnosis(case, round_), finding_form=form)
    except FileRejected as error:
        db.session.rollback()
        form.evidence.errors.append(str(error))
        return render_page(case, round_, load_diagnosis(case, round_), finding_form=form)
    db.session.commit()
    flash(_("Finding added."), "success")
    return _back(case, round_, "#findings")


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/findings/<int:finding_id>/remove")
@login_required
def remove_finding(case_id: int, round_: str, finding_id: int):
    case = _case(case_id, round_, "file_diagnosis")
    diagnosis = load_diagnosis(case, round_)
    findings = diagnosis.findings if diagnosis else []
    finding = next((f for f in findings if f.id == finding_id), None)
    # A finding gone meanwhile (removed in another tab) gets a message, not an error page.
    if finding is None or not ActionForm().validate_on_submit():
        flash(_("There is no such finding in this diagnosis."), "error")
        return _back(case, round_, "#findings")
    try:
        services.remove_finding(db.session, current_user, finding)
    except services.DiagnosisError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Finding removed."), "success")
    return _back(case, round_, "#findings")


# Work targets -----------------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/targets")
@login_required
def add_target(case_id: int, round_: str):
    case = _case(case_id, round_, "file_diagnosis")
    if round_ != Round.BASELINE:
        flash(_("Work targets are set with the baseline diagnosis."), "error")
        return _back(case, round_)
    diagnosis, _frameworks, refused = _open_for_filing(case, round_)
    if refused:
        return refused
    form = TargetForm(prefix="target")
    form.kpi_id.choices = kpi_options(case)
    if not form.validate_on_submit():
        return render_page(case, round_, diagnosis, target_form=form)
    data = services.TargetInput(
        target=form.target.data,
        target_date=form.target_date.data,
        kpi_id=form.kpi_id.data or None,
        name=form.name.data or "",
        unit=form.unit.data or "",
        direction=form.direction.data or "",
        baseline=form.baseline.data,
        confirmed_wrong_side=form.confirm_wrong_side.data,
    )
    try:
        diagnosis = diagnosis or services.start(db.session, current_user, case, round_)
        services.add_target(db.session, current_user, diagnosis, data)
    except services.DiagnosisError as error:
        db.session.rollback()
        getattr(form, error.field or "target").errors.append(str(error))
        return render_page(case, round_, load_diagnosis(case, round_), target_form=form)
    db.session.commit()
    flash(_("Work target added."), "success")
    return _back(case, round_, "#targets")


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/targets/<int:target_id>/remove")
@login_required
def remove_target(case_id: int, round_: str, target_id: int):
    case = _case(case_id, round_, "file_diagnosis")
    diagnosis = load_diagnosis(case, round_)
    target = db.session.get(WorkTarget, target_id)
    if (
        target is None
        or diagnosis is None
        or target.diagnosis_id != diagnosis.id
        or not ActionForm().validate_on_submit()
    ):
        flash(_("There is no such work target in this diagnosis."), "error")
        return _back(case, round_, "#targets")
    try:
        services.remove_target(db.session, current_user, target, diagnosis)
    except services.DiagnosisError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Work target removed."), "success")
    return _back(case, round_, "#targets")


# Submitting and reviewing -----------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/submit")
@login_required
def submit(case_id: int, round_: str):
    case = _case(case_id, round_, "submit_diagnosis")
    diagnosis = load_diagnosis(case, round_)
    if not ActionForm().validate_on_submit():
        abort(400)
    if diagnosis is None:
        flash(_("Score the items before submitting."), "error")
        return _back(case, round_)
    try:
        services.submit(db.session, current_user, diagnosis)
    except services.DiagnosisError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        if round_ == Round.FINAL:
            flash(_("The final re-scoring was submitted to the bureau."), "success")
        else:
            flash(_("The diagnosis was submitted to the bureau."), "success")
    return _back(case, round_)


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/return")
@login_required
def return_diagnosis(case_id: int, round_: str):
    case = _case(case_id, round_, "accept_diagnosis")
    diagnosis = load_diagnosis(case, round_)
    if diagnosis is None or diagnosis.status != DiagnosisStatus.SUBMITTED:
        flash(_("Only a submitted diagnosis can be returned."), "error")
        return _back(case, round_)
    form = ReturnForm(prefix="return")
    if not form.validate_on_submit():
        return render_page(case, round_, diagnosis, return_form=form)
    try:
        services.return_diagnosis(db.session, current_user, diagnosis, form.comment.data)
    except services.DiagnosisError as error:
        db.session.rollback()
        form.comment.errors.append(str(error))
        return render_page(case, round_, load_diagnosis(case, round_), return_form=form)
    db.session.commit()
    flash(_("The diagnosis was returned to the experts."), "success")
    return _back(case, round_)


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/accept")
@login_required
def accept(case_id: int, round_: str):
    case = _case(case_id, round_, "accept_diagnosis")
    diagnosis = load_diagnosis(case, round_)
    if diagnosis is None or diagnosis.status != DiagnosisStatus.SUBMITTED:
        flash(_("Only a submitted diagnosis can be accepted."), "error")
        return _back(case, round_)
    form = accept_form(diagnosis.findings if round_ == Round.BASELINE else [], prefix="accept")
    if not form.validate_on_submit():
        return render_page(case, round_, diagnosis, review_form=form)
    try:
        items = services.accept(db.session, current_user, diagnosis, form.dispositions(), today())
    except services.DiagnosisError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(case, round_)
    db.session.commit()
    if round_ == Round.FINAL:
        flash(
            _("The final re-scoring was accepted: stage 6 compares it with the baseline."),
            "success",
        )
        return redirect(url_for("evaluation.show", case_id=case.id) + "#comparison")
    flash(
        ngettext(
            "The diagnosis was accepted; %(num)d rectification item was created.",
            "The diagnosis was accepted; %(num)d rectification items were created.",
            len(items),
        ),
        "success",
    )
    return redirect(url_for("cases.show", case_id=case.id) + "#diagnosis")
