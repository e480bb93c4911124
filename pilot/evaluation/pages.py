"""The evaluation page: what this user may do there, the forms (blank, filled from what is
saved, or a posted one back with its errors) and the charts; and the batch's results page."""

from flask import render_template
from flask_login import current_user

from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.diagnosis.models import DiagnosisStatus
from pilot.evaluation import services
from pilot.evaluation.batch_results import batch_results
from pilot.evaluation.before_after import change_chart
from pilot.evaluation.forms import (
    ActualForm,
    AssessmentForm,
    CheckForm,
    CloseForm,
    RatingForm,
    ReopenForm,
    VerdictForm,
)
from pilot.evaluation.labels import labels
from pilot.evaluation.models import Verdict
from pilot.evaluation.queries import Stage6, TargetRow, load
from pilot.evaluation.ratings import own_aggregate, rating_key
from pilot.numbers import plain_text
from pilot.permissions import can
from pilot.stages import CLOSED, WITHDRAWN

#: The final re-scoring's states in which the experts still work on it.
RESCORE_OPEN = (DiagnosisStatus.DRAFT, DiagnosisStatus.RETURNED)


def actual_prefix(target_id: int) -> str:
    """The prefix of a work target's actual form."""
    return f"t{target_id}"


def rating_prefix(key: str) -> str:
    """The prefix of the rating form of a ratee (see `rating_key`)."""
    return f"rate{key}"


def _actual_form(row: TargetRow) -> ActualForm:
    return ActualForm(
        formdata=None,
        prefix=actual_prefix(row.target.id),
        data={"actual": plain_text(row.actual.actual), "period": row.actual.period}
        if row.actual
        else {},
    )


def _rating_forms(stage: Stage6, given: dict[str, RatingForm]) -> dict[str, RatingForm]:
    """A form per ratee (the service overall, each assigned expert), filled from the saved
    ratings; `given` holds a posted form to show with its errors."""
    saved = {rating_key(r.expert_id): r for r in stage.ratings}
    forms = {}
    for expert_id in [None, *(a.expert_id for a in stage.case.assignments)]:
        key = rating_key(expert_id)
        if key in given:
            forms[key] = given[key]
            continue
        rating = saved.get(key)
        data = (
            {a: str(getattr(rating, a)) for a in services.RATING_ASPECTS}
            | {"comment": rating.comment}
            if rating
            else {}
        )
        forms[key] = RatingForm(formdata=None, prefix=rating_prefix(key), data=data)
    return forms


def _may(stage: Stage6) -> dict[str, bool]:
    """What this user may do and see on the page."""
    case = stage.case
    rate = stage.open and can(current_user, "rate_service", case)
    return {
        "enter": stage.open and can(current_user, "enter_actuals", case),
        "check": can(current_user, "check_actuals", case),
        "rate": rate,
        # Staff rate only on the firm's behalf, with a reason.
        "rate_for_firm": rate and services.rates_for_the_firm(current_user),
        "case_ratings": can(current_user, "view_case_ratings", case),
        "own_aggregate": can(current_user, "view_own_rating_average"),
        "assess": stage.open and can(current_user, "write_assessment", case),
        "verdict": can(current_user, "give_verdict", case),
        "close": can(current_user, "close_case", case),
        "reopen": case.is_closed and can(current_user, "reopen_case", case),
        "drafts": can(current_user, "view_drafts", case),
        "rescore": stage.open
        and can(current_user, "file_diagnosis", case)
        and (stage.final is None or stage.final.status in RESCORE_OPEN),
        "all_ratings": can(current_user, "view_expert_ratings", case),
        "batch_results": can(current_user, "view_expert_ratings"),
    }


def render_page(
    case: Case,
    *,
    actual_forms: dict[int, ActualForm] | None = None,
    rating_forms: dict[str, RatingForm] | None = None,
    assessment_form: AssessmentForm | None = None,
    verdict_form: VerdictForm | None = None,
    reopen_form: ReopenForm | None = None,
    status: int = 200,
):
    """The evaluation page, with the posted forms given shown back with their errors."""
    stage = load(current_user, case)
    may = _may(stage)
    context = {
        "L": labels(),
        "case": case,
        "stage": stage,
        "may": may,
        "charts": {r.target.id: r.chart() for r in stage.rows if r.actual},
        "change_charts": {c.framework_id: change_chart(c) for c in stage.changes},
        "check_form": CheckForm(formdata=None),
        "close_form": CloseForm(formdata=None),
        "own_aggregate": own_aggregate(current_user) if may["own_aggregate"] else None,
    }
    if may["enter"]:
        given = actual_forms or {}
        context["actual_forms"] = {
            r.target.id: given.get(r.target.id) or _actual_form(r) for r in stage.rows
        }
    if may["rate"]:
        context["rating_forms"] = _rating_forms(stage, rating_forms or {})
        context["rated_keys"] = {rating_key(r.expert_id) for r in stage.ratings}
    if may["assess"]:
        context["assessment_form"] = assessment_form or AssessmentForm(
            formdata=None,
            prefix="assessment",
            data={"assessment": stage.evaluation.assessment if stage.evaluation else ""},
        )
    if may["verdict"]:
        saved = stage.evaluation
        context["verdict_form"] = verdict_form or VerdictForm(
            formdata=None,
            prefix="verdict",
            data={"verdict": saved.verdict, "comment": saved.verdict_comment}
            if saved and saved.verdict
            else {},
        )
    if may["reopen"]:
        context["reopen_form"] = reopen_form or ReopenForm(formdata=None, prefix="reopen")
    return render_template("evaluation/show.html", **context), status


def render_batch_results(batch: Batch):
    return render_template(
        "evaluation/batch_results.html",
        batch=batch,
        L=labels(),
        CLOSED=CLOSED,
        WITHDRAWN=WITHDRAWN,
        Verdict=Verdict,
        **batch_results(batch),
    )
