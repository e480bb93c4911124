"""Pages of the diagnosis: scoring, findings, work targets, submitting, returning, accepting.

Experts assigned to the case file it (the lead submits); staff return or accept it. The firm sees
an accepted diagnosis only: a draft answers 404 to the firm, as a case they may not see does.
"""

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from sqlmodel import select

from pilot.cases.models import Case
from pilot.database import today
from pilot.diagnosis import scoring, services
from pilot.diagnosis.charts import radar_svg
from pilot.diagnosis.forms import (
    DIRECTION_LABELS,
    ActionForm,
    FindingForm,
    ReturnForm,
    TargetForm,
    accept_form,
    item_options,
    score_label,
    scores_form,
)
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Round, WorkTarget
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.files.store import FileRejected, save_upload
from pilot.forms import choices
from pilot.frameworks.models import BatchFramework, Framework, FrameworkCategory, Scale
from pilot.kpis.models import Kpi
from pilot.permissions import can, get_case_or_404
from pilot.rectification.models import ItemStatus, RectificationItem
from pilot.survey.services import baseline_values

bp = Blueprint("diagnosis", __name__)

ROUND_LABELS = {
    Round.BASELINE: _l("Baseline diagnosis"),
    Round.FINAL: _l("Final re-scoring"),
}
STATUS_LABELS = {
    DiagnosisStatus.DRAFT: _l("Draft"),
    DiagnosisStatus.SUBMITTED: _l("Submitted"),
    DiagnosisStatus.RETURNED: _l("Returned"),
    DiagnosisStatus.ACCEPTED: _l("Accepted"),
}
ITEM_STATUS_LABELS = {
    ItemStatus.OPEN: _l("Open"),
    ItemStatus.IN_PROGRESS: _l("In progress"),
    ItemStatus.SUBMITTED: _l("Submitted"),
    ItemStatus.VERIFIED: _l("Verified"),
    ItemStatus.RETURNED: _l("Returned"),
    ItemStatus.WAIVED: _l("Waived"),
}
FINDING_OWNER = "finding"


def _labels() -> dict:
    """Words and formatters the diagnosis templates use."""
    return {
        "severity_labels": services.SEVERITY_LABELS,
        "disposition_labels": services.DISPOSITION_LABELS,
        "status_labels": STATUS_LABELS,
        "direction_labels": DIRECTION_LABELS,
        "item_status_labels": ITEM_STATUS_LABELS,
        "one_decimal": scoring.one_decimal,
        "number": number,
        "score_label": score_label,
    }


def number(value: Decimal | None) -> str:
    """A stored decimal without its padding zeros: 96.5000 → 96.5, 100.0000 → 100."""
    if value is None:
        return "—"
    return format(value.normalize(), "f")


# Loading ----------------------------------------------------------------------------------------


def _case(case_id: int, round_: str, action: str = "view_case") -> Case:
    if round_ not in ROUND_LABELS:
        abort(404)
    return get_case_or_404(case_id, action)


def _diagnosis(case: Case, round_: str) -> Diagnosis | None:
    return services.diagnosis_of(db.session, case, round_)


def _frameworks(case: Case, round_: str, diagnosis: Diagnosis | None) -> list[Framework]:
    """The frameworks scored: the diagnosis's own, or those it will start on."""
    if diagnosis is not None:
        return services.frameworks_of(db.session, diagnosis)
    if round_ == Round.FINAL:
        baseline = _diagnosis(case, Round.BASELINE)
        if baseline is None or not baseline.is_accepted:
            return []
        return services.frameworks_of(db.session, baseline)
    return db.session.exec(
        select(Framework)
        .join(BatchFramework, BatchFramework.framework_id == Framework.id)
        .where(BatchFramework.batch_id == case.batch_id)
        .order_by(Framework.domain.desc(), Framework.id)
        .options(selectinload(Framework.categories).selectinload(FrameworkCategory.items))
    ).all()


def _readable(case: Case, diagnosis: Diagnosis | None) -> bool:
    """Drafts for staff and the assigned experts; an accepted diagnosis for every case reader."""
    if can(current_user, "view_drafts", case):
        return True
    return diagnosis is not None and diagnosis.is_accepted


def _editable(case: Case, diagnosis: Diagnosis | None) -> bool:
    return can(current_user, "file_diagnosis", case) and (
        diagnosis is None or diagnosis.status in services.EDITABLE
    )


def _targets(diagnosis: Diagnosis | None) -> list[WorkTarget]:
    if diagnosis is None:
        return []
    return db.session.exec(
        select(WorkTarget).where(WorkTarget.diagnosis_id == diagnosis.id).order_by(WorkTarget.id)
    ).all()


def _evidence(diagnosis: Diagnosis | None) -> dict[int, list[StoredFile]]:
    """Current evidence files per finding id."""
    if diagnosis is None or not diagnosis.findings:
        return {}
    files = db.session.exec(
        select(StoredFile)
        .where(
            StoredFile.owner_type == FINDING_OWNER,
            StoredFile.owner_id.in_([f.id for f in diagnosis.findings]),
            StoredFile.is_current,
        )
        .order_by(StoredFile.id)
    ).all()
    by_finding: dict[int, list[StoredFile]] = {}
    for stored in files:
        by_finding.setdefault(stored.owner_id, []).append(stored)
    return by_finding


def _item_labels(frameworks: list[Framework]) -> dict[int, str]:
    return {item.id: f"{item.code} {item.name}" for f in frameworks for item in f.items}


def _results(frameworks: list[Framework], diagnosis: Diagnosis | None):
    scores = {s.item_id: (s.percent, s.level) for s in diagnosis.scores} if diagnosis else {}
    return [scoring.result(f, scores) for f in frameworks]


def _kpi_options(case: Case) -> list:
    """The catalogue, each KPI with the survey's baseline when the firm gave one."""
    baselines = baseline_values(db.session, case)
    options = [(0, _("— a custom target (name, unit and direction below) —"))]
    for kpi in db.session.exec(select(Kpi).order_by(Kpi.position, Kpi.id)).all():
        label = f"{kpi.name_zh}（{kpi.unit}）"
        if kpi.id in baselines:
            label = _(
                "%(kpi)s · survey baseline %(value)s",
                kpi=label,
                value=number(baselines[kpi.id]),
            )
        options.append((kpi.id, label))
    return choices(options)


# The page ---------------------------------------------------------------------------------------


def _render(
    case: Case,
    round_: str,
    diagnosis: Diagnosis | None,
    *,
    score_form=None,
    finding_form=None,
    target_form=None,
    return_form=None,
    review_form=None,
):
    frameworks = _frameworks(case, round_, diagnosis)
    results = _results(frameworks, diagnosis)
    editable = _editable(case, diagnosis) and bool(frameworks)
    reviewable = (
        diagnosis is not None
        and diagnosis.status == DiagnosisStatus.SUBMITTED
        and can(current_user, "accept_diagnosis", case)
    )
    findings = diagnosis.findings if diagnosis else []
    context = {
        "L": _labels(),
        "case": case,
        "round": round_,
        "round_label": ROUND_LABELS[round_],
        "diagnosis": diagnosis,
        "frameworks": frameworks,
        "results": results,
        "charts": {r.framework_id: radar_svg(r) for r in results if r.categories},
        "scores": {s.item_id: s for s in diagnosis.scores} if diagnosis else {},
        "findings": findings,
        "evidence": _evidence(diagnosis),
        "item_labels": _item_labels(frameworks),
        "targets": _targets(diagnosis),
        "editable": editable,
        "can_submit": editable
        and diagnosis is not None
        and can(current_user, "submit_diagnosis", case),
        "reviewable": reviewable,
    }
    if editable:
        context["score_form"] = score_form or scores_form(frameworks, context["scores"])
        if finding_form is None:
            finding_form = FindingForm(formdata=None, prefix="finding")
            finding_form.item_id.choices = item_options(frameworks)
        context["finding_form"] = finding_form
        if round_ == Round.BASELINE:
            if target_form is None:
                target_form = TargetForm(formdata=None, prefix="target")
                target_form.kpi_id.choices = _kpi_options(case)
            context["target_form"] = target_form
        context["action_form"] = ActionForm(formdata=None)
    if reviewable:
        context["return_form"] = return_form or ReturnForm(formdata=None, prefix="return")
        context["review_form"] = review_form or accept_form(
            findings, formdata=None, prefix="accept"
        )
    return render_template("diagnosis/edit.html", **context)


def _back(case: Case, round_: str, anchor: str = ""):
    return redirect(url_for("diagnosis.edit", case_id=case.id, round_=round_) + anchor)


@bp.get("/cases/<int:case_id>/diagnosis/<round_>")
@login_required
def edit(case_id: int, round_: str):
    case = _case(case_id, round_)
    diagnosis = _diagnosis(case, round_)
    if not _readable(case, diagnosis):
        abort(404)
    return _render(case, round_, diagnosis)


def _open_for_filing(case: Case, round_: str) -> tuple[Diagnosis | None, str | None]:
    """The diagnosis to write to (None: not started yet), or why it cannot be written."""
    diagnosis = _diagnosis(case, round_)
    if diagnosis is not None and diagnosis.status not in services.EDITABLE:
        return diagnosis, _("The diagnosis has been submitted and cannot be changed now.")
    return diagnosis, None


# Scores -----------------------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/scores")
@login_required
def save_scores(case_id: int, round_: str):
    case = _case(case_id, round_, "file_diagnosis")
    diagnosis, refusal = _open_for_filing(case, round_)
    if refusal:
        flash(refusal, "error")
        return _back(case, round_)
    frameworks = _frameworks(case, round_, diagnosis)
    if not frameworks:
        flash(_("There is no framework to score against yet."), "error")
        return _back(case, round_)
    saved = {s.item_id: s for s in diagnosis.scores} if diagnosis else {}
    form = scores_form(frameworks, saved, formdata=request.form)
    if not form.validate_on_submit():
        flash(_("Nothing was saved: correct the marked scores."), "error")
        return _render(case, round_, diagnosis, score_form=form)
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
        return _render(case, round_, _diagnosis(case, round_), score_form=form)
    db.session.commit()
    flash(_("Scores saved."), "success")
    return _back(case, round_, "#scores")


# Findings ---------------------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/findings")
@login_required
def add_finding(case_id: int, round_: str):
    case = _case(case_id, round_, "file_diagnosis")
    diagnosis, refusal = _open_for_filing(case, round_)
    if refusal:
        flash(refusal, "error")
        return _back(case, round_)
    frameworks = _frameworks(case, round_, diagnosis)
    if not frameworks:
        flash(_("There is no framework to score against yet."), "error")
        return _back(case, round_)
    form = FindingForm(prefix="finding")
    form.item_id.choices = item_options(frameworks)
    if not form.validate_on_submit():
        return _render(case, round_, diagnosis, finding_form=form)
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
            save_upload(
                db.session,
                current_user,
                form.evidence.data,
                owner_type=FINDING_OWNER,
                owner_id=finding.id,
                case_id=case.id,
            )
    except services.DiagnosisError as error:
        db.session.rollback()
        getattr(form, error.field or "description").errors.append(str(error))
        return _render(case, round_, _diagnosis(case, round_), finding_form=form)
    except FileRejected as error:
        db.session.rollback()
        form.evidence.errors.append(str(error))
        return _render(case, round_, _diagnosis(case, round_), finding_form=form)
    db.session.commit()
    flash(_("Finding added."), "success")
    return _back(case, round_, "#findings")


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/findings/<int:finding_id>/remove")
@login_required
def remove_finding(case_id: int, round_: str, finding_id: int):
    case = _case(case_id, round_, "file_diagnosis")
    diagnosis = _diagnosis(case, round_)
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
    diagnosis, refusal = _open_for_filing(case, round_)
    if refusal:
        flash(refusal, "error")
        return _back(case, round_)
    if not _frameworks(case, round_, diagnosis):
        flash(_("There is no framework to score against yet."), "error")
        return _back(case, round_)
    form = TargetForm(prefix="target")
    form.kpi_id.choices = _kpi_options(case)
    if not form.validate_on_submit():
        return _render(case, round_, diagnosis, target_form=form)
    baseline = form.baseline.data
    if baseline is None and form.kpi_id.data:
        baseline = baseline_values(db.session, case).get(form.kpi_id.data)
    data = services.TargetInput(
        target=form.target.data,
        target_date=form.target_date.data,
        kpi_id=form.kpi_id.data or None,
        name=form.name.data or "",
        unit=form.unit.data or "",
        direction=form.direction.data or "",
        baseline=baseline,
    )
    try:
        diagnosis = diagnosis or services.start(db.session, current_user, case, round_)
        services.add_target(db.session, current_user, diagnosis, data)
    except services.DiagnosisError as error:
        db.session.rollback()
        getattr(form, error.field or "target").errors.append(str(error))
        return _render(case, round_, _diagnosis(case, round_), target_form=form)
    db.session.commit()
    flash(_("Work target added."), "success")
    return _back(case, round_, "#targets")


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/targets/<int:target_id>/remove")
@login_required
def remove_target(case_id: int, round_: str, target_id: int):
    case = _case(case_id, round_, "file_diagnosis")
    diagnosis = _diagnosis(case, round_)
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
    diagnosis = _diagnosis(case, round_)
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
        flash(_("The diagnosis was submitted to the bureau."), "success")
    return _back(case, round_)


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/return")
@login_required
def return_diagnosis(case_id: int, round_: str):
    case = _case(case_id, round_, "accept_diagnosis")
    diagnosis = _diagnosis(case, round_)
    if diagnosis is None or diagnosis.status != DiagnosisStatus.SUBMITTED:
        flash(_("Only a submitted diagnosis can be returned."), "error")
        return _back(case, round_)
    form = ReturnForm(prefix="return")
    if not form.validate_on_submit():
        return _render(case, round_, diagnosis, return_form=form)
    try:
        services.return_diagnosis(db.session, current_user, diagnosis, form.comment.data)
    except services.DiagnosisError as error:
        db.session.rollback()
        form.comment.errors.append(str(error))
        return _render(case, round_, _diagnosis(case, round_), return_form=form)
    db.session.commit()
    flash(_("The diagnosis was returned to the experts."), "success")
    return _back(case, round_)


@bp.post("/cases/<int:case_id>/diagnosis/<round_>/accept")
@login_required
def accept(case_id: int, round_: str):
    case = _case(case_id, round_, "accept_diagnosis")
    diagnosis = _diagnosis(case, round_)
    if diagnosis is None or diagnosis.status != DiagnosisStatus.SUBMITTED:
        flash(_("Only a submitted diagnosis can be accepted."), "error")
        return _back(case, round_)
    form = accept_form(diagnosis.findings, prefix="accept")
    if not form.validate_on_submit():
        return _render(case, round_, diagnosis, review_form=form)
    try:
        items = services.accept(db.session, current_user, diagnosis, form.dispositions(), today())
    except services.DiagnosisError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(case, round_)
    db.session.commit()
    flash(
        ngettext(
            "The diagnosis was accepted; %(num)d rectification item was created.",
            "The diagnosis was accepted; %(num)d rectification items were created.",
            len(items),
        ),
        "success",
    )
    return redirect(url_for("cases.show", case_id=case.id) + "#diagnosis")


# The case page ----------------------------------------------------------------------------------


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None.

    Every reader of the case sees the accepted baseline: totals, radar charts, findings with
    their dispositions, work targets, the rectification items made from it. Staff and the
    assigned experts also see a draft's status and a link to it; the firm sees no draft at all.
    """
    diagnosis = _diagnosis(case, Round.BASELINE)
    sees_drafts = can(current_user, "view_drafts", case)
    if not sees_drafts and (diagnosis is None or not diagnosis.is_accepted):
        return None
    data = {
        "L": _labels(),
        "template": "diagnosis/_section.html",
        "diagnosis": diagnosis,
        "round": Round.BASELINE,
        "can_file": can(current_user, "file_diagnosis", case),
        "can_review": can(current_user, "accept_diagnosis", case),
    }
    if diagnosis is None or not diagnosis.is_accepted:
        return data
    frameworks = services.frameworks_of(db.session, diagnosis)
    results = _results(frameworks, diagnosis)
    items = db.session.exec(
        select(RectificationItem)
        .where(RectificationItem.case_id == case.id)
        .order_by(RectificationItem.due_date, RectificationItem.id)
    ).all()
    return data | {
        "results": results,
        "charts": {r.framework_id: radar_svg(r) for r in results if r.categories},
        "findings": diagnosis.findings,
        "evidence": _evidence(diagnosis),
        "item_labels": _item_labels(frameworks),
        "targets": _targets(diagnosis),
        "rectification_items": items,
    }
