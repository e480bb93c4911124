"""What the diagnosis page shows: the diagnosis, its frameworks, scores, findings with evidence,
work targets, and the forms its reader may use."""

from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
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
from pilot.diagnosis.labels import ROUND_LABELS, diagnosis_state, labels, number
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Round, WorkTarget
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.forms import choices
from pilot.frameworks.models import BatchFramework, Framework, FrameworkCategory
from pilot.kpis.models import Kpi
from pilot.permissions import can
from pilot.survey.services import baseline_values

#: StoredFile.owner_type of a finding's evidence.
FINDING_OWNER = "finding"


# Loading ----------------------------------------------------------------------------------------


def load_diagnosis(case: Case, round_: str) -> Diagnosis | None:
    return services.diagnosis_of(db.session, case, round_)


def frameworks_to_score(case: Case, round_: str, diagnosis: Diagnosis | None) -> list[Framework]:
    """The frameworks scored: the diagnosis's own, or those it will start on."""
    if diagnosis is not None:
        return services.frameworks_of(db.session, diagnosis)
    if round_ == Round.FINAL:
        baseline = load_diagnosis(case, Round.BASELINE)
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


def editable(case: Case, diagnosis: Diagnosis | None) -> bool:
    return can(current_user, "file_diagnosis", case) and (
        diagnosis is None or diagnosis.status in services.EDITABLE
    )


def work_targets(diagnosis: Diagnosis | None) -> list[WorkTarget]:
    if diagnosis is None:
        return []
    return db.session.exec(
        select(WorkTarget).where(WorkTarget.diagnosis_id == diagnosis.id).order_by(WorkTarget.id)
    ).all()


def evidence_by_finding(diagnosis: Diagnosis | None) -> dict[int, list[StoredFile]]:
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


def item_labels(frameworks: list[Framework]) -> dict[int, str]:
    return {item.id: f"{item.code} {item.name}" for f in frameworks for item in f.items}


def results(frameworks: list[Framework], diagnosis: Diagnosis | None):
    scores = {s.item_id: (s.percent, s.level) for s in diagnosis.scores} if diagnosis else {}
    return [scoring.result(f, scores) for f in frameworks]


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
                value=number(baselines[kpi.id]),
            )
        options.append((kpi.id, label))
    return choices(options)


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
    framework_results = results(frameworks, diagnosis)
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
        "results": framework_results,
        "charts": {r.framework_id: radar_svg(r) for r in framework_results if r.categories},
        "scores": {s.item_id: s for s in diagnosis.scores} if diagnosis else {},
        "findings": findings,
        "evidence": evidence_by_finding(diagnosis),
        "item_labels": item_labels(frameworks),
        "targets": work_targets(diagnosis),
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
        context["review_form"] = review_form or accept_form(
            findings, formdata=None, prefix="accept"
        )
    return render_template("diagnosis/edit.html", **context)
