"""What stage 1's page and card read: the KPI catalogue, who answered, the baselines."""

from sqlmodel import select

from pilot.accounts.models import User
from pilot.accounts.queries import people_by_id
from pilot.extensions import db
from pilot.kpis.models import Kpi
from pilot.numbers import plain_text
from pilot.survey.forms import kpi_name
from pilot.survey.models import NeedsSurvey, SurveyBaseline


def catalogue() -> list[Kpi]:
    return db.session.exec(select(Kpi).order_by(Kpi.position, Kpi.id)).all()


def people(survey: NeedsSurvey | None) -> dict[int, User]:
    """Who submitted the survey and who wrote the analysis, in one query."""
    return people_by_id(
        db.session, [survey.submitted_by_id, survey.analysis_by_id] if survey else []
    )


def baseline_rows(survey: NeedsSurvey | None) -> list[dict]:
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
            "value": plain_text(b.value),
            "period": b.period,
        }
        for b, kpi in rows
    ]
