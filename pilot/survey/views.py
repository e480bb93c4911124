"""Stage 1's pages: the needs survey the firm (or staff for it) fills, and staff's analysis."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pilot.accounts.models import User
from pilot.cases.models import Case
from pilot.extensions import db
from pilot.kpis.models import Kpi
from pilot.permissions import can_edit_survey, can_see_survey_answers, get_case_or_404
from pilot.reference import CERTIFICATIONS
from pilot.survey import services
from pilot.survey.forms import AnalysisForm, SurveyForm, kpi_name, plain_number
from pilot.survey.models import NeedsSurvey, SurveyBaseline

bp = Blueprint("survey", __name__)

#: The answers a SurveyError may point at; other errors are shown above the form.
ANSWER_FIELDS = ("systems", "other_systems", "weak_areas", "pain_points", "wanted_help")


def _catalogue() -> list[Kpi]:
    return db.session.exec(select(Kpi).order_by(Kpi.position, Kpi.id)).all()


def _people(survey: NeedsSurvey | None) -> dict[int, User]:
    """Who submitted the survey and who wrote the analysis, in one query."""
    ids = {survey.submitted_by_id, survey.analysis_by_id} - {None} if survey else set()
    if not ids:
        return {}
    return {u.id: u for u in db.session.exec(select(User).where(User.id.in_(ids))).all()}


def _baseline_rows(survey: NeedsSurvey | None) -> list[dict]:
    """The survey's baselines with their KPIs, in catalogue order, in one query."""
    if survey is None:
        return []
    rows = db.session.exec(
        select(SurveyBaseline, Kpi)
        .join(Kpi, SurveyBaseline.kpi_id == Kpi.id)
        .where(SurveyBaseline.survey_id == survey.id)
        .order_by(Kpi.position, Kpi.id)
    ).all()
    return [
        {
            "name": kpi_name(kpi),
            "unit": kpi.unit,
            "value": plain_number(b.value),
            "period": b.period,
        }
        for b, kpi in rows
    ]


def _labels(codes: list[str], labels: dict) -> list[str]:
    # A code no longer offered is still shown, as itself.
    return [str(labels.get(code, code)) for code in codes]


def _summary(case: Case, survey: NeedsSurvey | None) -> dict:
    """What both the survey page and the case page's card show of the answers."""
    visible = can_see_survey_answers(current_user, survey)
    return {
        "case": case,
        "survey": survey,
        "answers_visible": visible,
        "editable": can_edit_survey(current_user, case, survey),
        "people": _people(survey),
        "systems": _labels(survey.systems, CERTIFICATIONS) if visible else [],
        "weak_areas": _labels(survey.weak_areas, services.WEAK_AREAS) if visible else [],
        "baselines": _baseline_rows(survey) if visible else [],
    }


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None."""
    return {
        "template": "survey/_section.html",
        **_summary(case, services.survey_of(db.session, case)),
    }


def _initial(case: Case, survey: NeedsSurvey | None, kpis: list[Kpi]) -> dict:
    """The form's data on opening: the saved answers, and a row per catalogue KPI."""
    given = {b.kpi_id: b for b in survey.baselines} if survey else {}
    default_period = _("Year %(year)d", year=case.batch.start_date.year - 1)
    rows = [
        {
            "kpi_id": str(kpi.id),
            "value": plain_number(given[kpi.id].value) if kpi.id in given else "",
            "period": given[kpi.id].period if kpi.id in given else default_period,
        }
        for kpi in kpis
    ]
    answers = {name: getattr(survey, name) for name in ANSWER_FIELDS} if survey else {}
    return answers | {"baselines": rows}


def _page(case: Case, form: SurveyForm | None = None, analysis_form: AnalysisForm | None = None):
    survey = services.survey_of(db.session, case)
    if form is None:
        kpis = _catalogue()
        form = SurveyForm(formdata=None, data=_initial(case, survey, kpis))
        form.bind_catalogue(kpis)
    if analysis_form is None:
        analysis_form = AnalysisForm(
            formdata=None, data={"analysis": survey.analysis if survey else ""}
        )
    return render_template(
        "survey/edit.html",
        form=form,
        analysis_form=analysis_form,
        kpi_name=kpi_name,
        **_summary(case, survey),
    )


def _back(case_id: int):
    return redirect(url_for("survey.edit", case_id=case_id))


@bp.route("/cases/<int:case_id>/survey", methods=["GET", "POST"])
@login_required
def edit(case_id: int):
    case = get_case_or_404(case_id, "fill_survey" if request.method == "POST" else "view_case")
    if request.method == "GET":
        return _page(case)
    if not can_edit_survey(current_user, case, services.survey_of(db.session, case)):
        flash(_("The survey has been submitted and can no longer be changed."), "error")
        return _back(case_id)
    kpis = _catalogue()
    form = SurveyForm()
    form.bind_catalogue(kpis)
    if not form.validate_on_submit():
        flash(_("Nothing was saved: correct the marked fields."), "error")
        return _page(case, form)
    submit = bool(form.submit_survey.data)
    try:
        services.save_survey(
            db.session,
            current_user,
            case,
            baselines=form.baseline_values(),
            submit=submit,
            **form.answers(),
        )
        db.session.commit()
    except services.SurveyError as error:
        db.session.rollback()
        if error.field in ANSWER_FIELDS:
            form[error.field].errors.append(str(error))
            flash(_("Nothing was saved: correct the marked fields."), "error")
        else:
            flash(str(error), "error")
        return _page(case, form)
    except IntegrityError:
        # Two people saving the case's first draft at once: the second meets the unique case_id.
        db.session.rollback()
        flash(
            _(
                "Someone else saved this survey at the same moment. "
                "Check the answers and save again."
            ),
            "error",
        )
        return _page(case, form)
    flash(_("The survey was submitted.") if submit else _("The survey was saved."), "success")
    return _back(case_id)


@bp.post("/cases/<int:case_id>/analysis")
@login_required
def analysis(case_id: int):
    case = get_case_or_404(case_id, "write_needs_analysis")
    form = AnalysisForm()
    if form.validate_on_submit():
        try:
            services.write_analysis(db.session, current_user, case, form.analysis.data or "")
        except services.SurveyError as error:
            db.session.rollback()
            if error.field != "analysis":
                flash(str(error), "error")
                return _back(case_id)
            form.analysis.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The needs analysis was saved."), "success")
            return _back(case_id)
    return _page(case, analysis_form=form)
