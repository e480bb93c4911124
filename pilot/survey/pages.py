"""What stage 1's page shows: the survey form filled from the saved answers, and the analysis."""

from flask import render_template
from flask_babel import gettext as _

from pilot.cases.models import Case
from pilot.extensions import db
from pilot.kpis.models import Kpi
from pilot.numbers import plain_text
from pilot.survey import queries, services
from pilot.survey.forms import ANSWER_FIELDS, AnalysisForm, SurveyForm, kpi_name
from pilot.survey.models import NeedsSurvey
from pilot.survey.sections import summary


def _initial(case: Case, survey: NeedsSurvey | None, kpis: list[Kpi]) -> dict:
    """The form's data on opening: the saved answers, and a row per catalogue KPI."""
    given = {b.kpi_id: b for b in survey.baselines} if survey else {}
    default_period = _("Year %(year)d", year=case.batch.start_date.year - 1)
    rows = [
        {
            "kpi_id": str(kpi.id),
            "value": plain_text(given[kpi.id].value) if kpi.id in given else "",
            "period": given[kpi.id].period if kpi.id in given else default_period,
        }
        for kpi in kpis
    ]
    answers = {name: getattr(survey, name) for name in ANSWER_FIELDS} if survey else {}
    return answers | {"baselines": rows, "version": survey.version if survey else 0}


def render_edit(
    case: Case,
    form: SurveyForm | None = None,
    analysis_form: AnalysisForm | None = None,
    status: int = 200,
):
    """The survey page; forms given are shown as sent. A 409 (the survey was saved meanwhile)
    keeps the correction form open on the user's input."""
    survey = services.survey_of(db.session, case)
    if form is None:
        kpis = queries.catalogue()
        form = SurveyForm(formdata=None, data=_initial(case, survey, kpis))
        form.bind_catalogue(kpis)
    if analysis_form is None:
        analysis_form = AnalysisForm(
            formdata=None,
            data={
                "analysis": survey.analysis if survey else "",
                "version": survey.version if survey else 0,
            },
        )
    return render_template(
        "survey/edit.html",
        form=form,
        analysis_form=analysis_form,
        kpi_name=kpi_name,
        conflict=status == 409,
        **summary(case, survey),
    ), status
