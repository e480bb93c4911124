"""Stage 1's card on the case page, and the summary of answers the survey page shares with it."""

from flask_login import current_user

from pilot.cases.models import Case
from pilot.extensions import db
from pilot.permissions import can_edit_survey, can_see_survey_answers
from pilot.reference import CERTIFICATIONS
from pilot.survey import queries, services
from pilot.survey.models import NeedsSurvey


def _labels(codes: list[str], labels: dict) -> list[str]:
    # A code no longer offered is still shown, as itself.
    return [str(labels.get(code, code)) for code in codes]


def summary(case: Case, survey: NeedsSurvey | None) -> dict:
    """What both the survey page and the case page's card show of the answers."""
    visible = can_see_survey_answers(current_user, survey)
    return {
        "case": case,
        "survey": survey,
        "answers_visible": visible,
        "editable": can_edit_survey(current_user, case, survey),
        "people": queries.people(survey),
        "systems": _labels(survey.systems, CERTIFICATIONS) if visible else [],
        "weak_areas": _labels(survey.weak_areas, services.WEAK_AREAS) if visible else [],
        "baselines": queries.baseline_rows(survey) if visible else [],
    }


def case_section(case: Case) -> dict | None:
    """What the case page shows of this feature: {"template": ..., **data}, or None."""
    return {
        "template": "survey/_section.html",
        **summary(case, services.survey_of(db.session, case)),
    }
