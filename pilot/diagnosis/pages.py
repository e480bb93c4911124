"""What the diagnosis page shows: the diagnosis with its scores, findings and targets, and the
forms its reader may use."""

from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from pilot.cases.models import Case
from pilot.diagnosis import scoring, services
from pilot.diagnosis.charts import radar_svg
from pilot.diagnosis.forms import (
    ActionForm,
    FindingForm,
    ReturnForm,
    TargetForm,
    accept_form,
    item_options,
    scores_form,
)
from pilot.diagnosis.labels import ROUND_LABELS, diagnosis_state, labels
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Round
from pilot.diagnosis.queries import (
    evidence_by_finding,
    frameworks_to_score,
    item_labels,
    load_diagnosis,
    work_targets,
)
from pilot.extensions import db
from pilot.forms import choices
from pilot.frameworks.models import Framework, Scale
from pilot.kpis.models import Kpi
from pilot.numbers import decimal_text, plain_text
from pilot.permissions import can
from pilot.survey.services import baseline_values


def editable(case: Case, diagnosis: Diagnosis | None) -> bool:
    return can(current_user, "file_diagnosis", case) and (
        diagnosis is None or diagnosis.status in services.EDITABLE
    )


def kpi_options(case: Case) -> list:
    """The catalogue, each KPI with the survey's baseline when the firm gave one."""
    baselines = baseline_values(db.session, case)
    options = [(0, _("— a custom target (name, unit and direction below) —"))]
    for kpi in db.session.exec(select(Kpi).order_by(Kpi.position, Kpi.id)).all():
        label = f"{kpi.name_zh}（{kpi.unit}）"
        if kpi.id in baselines:
            label = _(
                "%(kpi)s · survey baseline %(value)s",
                kpi=label,
                value=plain_text(baselines[kpi.id]),
            )
        options.append((kpi.id, label))
    return choices(options)


def baseline_scores(case: Case, frameworks: list[Framework]) -> dict[int, str]:
    """Each item's accepted baseline score in words ("70% (7.7 points)"), shown beside the new
    one while the final round is scored and read."""
    baseline = load_diagnosis(case, Round.BASELINE)
    if baseline is None or not baseline.is_accepted:
        return {}
    saved = {s.item_id: s for s in baseline.scores}
    shown = {}
    for framework, result in zip(
        frameworks, scoring.framework_results(frameworks, baseline), strict=True
    ):
        for item in framework.items:
            score = saved.get(item.id)
            value = (
                (score.percent if framework.scale == Scale.BAND else score.level) if score else None
            )
            if value is None:
                continue
            if framework.scale == Scale.BAND:
                words = f"{value}%"
            else:
                words = _("level %(level)d", level=value)
            shown[item.id] = _(
                "%(score)s (%(points)s points)",
                score=words,
                points=decimal_text(result.items[item.id].score),
            )
    return shown


# The page ---------------------------------------------------------------------------------------


def render_page(
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
    """The diagnosis page; a form given is shown as sent (with its errors) instead of empty."""
    frameworks = frameworks_to_score(case, round_, diagnosis)
    framework_results = scoring.framework_results(frameworks, diagnosis)
    may_edit = editable(case, diagnosis) and bool(frameworks)
    reviewable = (
        diagnosis is not None
        and diagnosis.status == DiagnosisStatus.SUBMITTED
        and can(current_user, "accept_diagnosis", case)
    )
    findings = diagnosis.findings if diagnosis else []
    context = {
        "L": labels(),
        "case": case,
        "round": round_,
        "baseline": round_ == Round.BASELINE,
        "round_label": ROUND_LABELS[round_],
        "diagnosis": diagnosis,
        "state": diagnosis_state(diagnosis),
        "frameworks": frameworks,
        "framework_results": framework_results,
        "charts": {r.framework_id: radar_svg(r) for r in framework_results if r.categories},
        "scores": {s.item_id: s for s in diagnosis.scores} if diagnosis else {},
        "findings": findings,
        "evidence": evidence_by_finding(diagnosis),
        "item_labels": item_labels(frameworks),
        "targets": work_targets(diagnosis),
        "baseline_scores": {} if round_ == Round.BASELINE else baseline_scores(case, frameworks),
        "editable": may_edit,
        "can_submit": may_edit
        and diagnosis is not None
        and can(current_user, "submit_diagnosis", case),
        "reviewable": reviewable,
    }
    if may_edit:
        context["score_form"] = score_form or scores_form(frameworks, context["scores"])
        if finding_form is None:
            finding_form = FindingForm(formdata=None, prefix="finding")
            finding_form.item_id.choices = item_options(frameworks)
        context["finding_form"] = finding_form
        if round_ == Round.BASELINE:
            if target_form is None:
                target_form = TargetForm(formdata=None, prefix="target")
                target_form.kpi_id.choices = kpi_options(case)
            context["target_form"] = target_form
        context["action_form"] = ActionForm(formdata=None)
    if reviewable:
        context["return_form"] = return_form or ReturnForm(formdata=None, prefix="return")
        # Only the baseline's findings are disposed of: the final round's create nothing.
        context["review_form"] = review_form or accept_form(
            findings if round_ == Round.BASELINE else [], formdata=None, prefix="accept"
        )
    return render_template("diagnosis/edit.html", **context)
