"""The needs survey: the firm (or staff for it) fills and submits; staff writes the analysis."""

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from pilot.accounts.models import User
from pilot.audit.services import log, snapshot
from pilot.cases.models import Case
from pilot.database import bump_version, utcnow
from pilot.kpis.models import Kpi
from pilot.permissions import can_edit_survey
from pilot.survey.models import NeedsSurvey, SurveyBaseline

#: Areas a firm may name as weak: the GB/T 19580 categories, the quality infrastructure
#: (standards, metrology, certification, testing, IP), brand and quality culture.
WEAK_AREAS = {
    "leadership": _l("Leadership"),
    "strategy": _l("Strategy"),
    "customers": _l("Customers and market"),
    "resources": _l("Resources"),
    "process": _l("Process management"),
    "measurement": _l("Measurement, analysis and improvement"),
    "results": _l("Results"),
    "standards": _l("Standards"),
    "metrology": _l("Metrology"),
    "certification": _l("Certification and accreditation"),
    "testing": _l("Inspection and testing"),
    "ip": _l("Intellectual property"),
    "brand": _l("Brand"),
    "culture": _l("Quality culture"),
}

SURVEY_FIELDS = ["systems", "other_systems", "weak_areas", "pain_points", "wanted_help"]


class SurveyError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def survey_of(session: Session, case: Case) -> NeedsSurvey | None:
    return session.exec(select(NeedsSurvey).where(NeedsSurvey.case_id == case.id)).first()


def save_survey(
    session: Session,
    actor: User,
    case: Case,
    *,
    baselines: list[tuple[int, Decimal, str]],
    submit: bool = False,
    version: int | None = None,
    **answers,
) -> NeedsSurvey:
    """Save the answers as a draft, or submit them: the firm until it submits, staff always.

    `version` is the one the form showed (0 before the first save): EditConflict when the
    survey was saved since.
    """
    survey = survey_of(session, case)
    if not can_edit_survey(actor, case, survey):
        if survey is not None and survey.is_submitted:
            raise SurveyError(_("The survey has been submitted and can no longer be changed."))
        raise SurveyError(_("You may not fill in this case's survey."))
    if survey is not None:
        bump_version(session, survey, version)
    else:
        survey = NeedsSurvey(case_id=case.id)
        session.add(survey)
    unknown = set(answers.get("weak_areas", [])) - set(WEAK_AREAS)
    if unknown:
        raise SurveyError(_("Unknown area: %(areas)s", areas=", ".join(sorted(unknown))))
    before = snapshot(survey, SURVEY_FIELDS) if survey.id else None
    for key in SURVEY_FIELDS:
        if key in answers:
            setattr(survey, key, answers[key])
    survey.updated_at = utcnow()
    kpi_ids = [kpi_id for kpi_id, _value, _period in baselines]
    if len(kpi_ids) != len(set(kpi_ids)):
        raise SurveyError(_("Each KPI can be given once."), "baselines")
    known = set(session.exec(select(Kpi.id).where(Kpi.id.in_(kpi_ids))).all())
    if set(kpi_ids) - known:
        raise SurveyError(_("Unknown KPI."), "baselines")
    survey.baselines.clear()
    session.flush()
    for kpi_id, value, period in baselines:
        survey.baselines.append(SurveyBaseline(kpi_id=kpi_id, value=value, period=period))
    if submit:
        if not survey.wanted_help.strip():
            raise SurveyError(_("Say what help the firm wants before submitting."), "wanted_help")
        if not survey.is_submitted:
            survey.submitted_at = utcnow()
            survey.submitted_by_id = actor.id
    action = "submit" if submit else "save"
    log(
        session,
        actor,
        survey,
        action,
        case_id=case.id,
        before=before,
        after=snapshot(survey, SURVEY_FIELDS),
        public=submit,
    )
    return survey


def write_analysis(
    session: Session, actor: User, case: Case, analysis: str, version: int | None = None
) -> NeedsSurvey:
    """Staff's analysis; EditConflict when `version` (the one the form showed) is not the
    survey's."""
    survey = survey_of(session, case)
    if survey is None or not survey.is_submitted:
        raise SurveyError(_("The needs analysis follows a submitted survey."))
    if not analysis.strip():
        raise SurveyError(_("Write the analysis."), "analysis")
    bump_version(session, survey, version)
    before = {"analysis": survey.analysis}
    survey.analysis = analysis.strip()
    survey.analysis_at = utcnow()
    survey.analysis_by_id = actor.id
    log(
        session,
        actor,
        survey,
        "analysis",
        case_id=case.id,
        before=before,
        after={"analysis": survey.analysis},
        public=True,
    )
    return survey


def baseline_values(session: Session, case: Case) -> dict[int, Decimal]:
    """The survey's baseline per KPI id: the default baseline of a work target."""
    survey = survey_of(session, case)
    return {b.kpi_id: b.value for b in survey.baselines} if survey else {}
