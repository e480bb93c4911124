"""The report's content as plain data: the PDF template never touches an ORM object.

Only what every reader of the report may see: accepted diagnoses, the approved plan, checked
actuals, the overall (not per-expert) service rating, and the public sign-off trail.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from pilot import reference
from pilot.cases.models import Case, ExpertAssignment
from pilot.diagnosis import services as diagnosis
from pilot.diagnosis.labels import ROUND_LABELS
from pilot.diagnosis.models import Round
from pilot.frameworks.models import FrameworkItem
from pilot.kpis.models import Kpi
from pilot.numbers import decimal_text, plain_text
from pilot.reports import sections
from pilot.reports.sections import local
from pilot.stages import STATUS_LABELS, Progress, current_label, progress_of
from pilot.survey.services import WEAK_AREAS, survey_of


@dataclass
class Report:
    title: str
    firm: dict[str, Any]
    batch: dict[str, Any]
    status: str
    is_final: bool
    generated_on: date
    stages: list[dict[str, Any]]
    survey: dict[str, Any] | None = None
    diagnosis: list[dict[str, Any]] = field(default_factory=list)
    diagnosis_strengths: list[dict[str, Any]] = field(default_factory=list)
    accepted_on: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    training: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)
    sign_offs: list[dict[str, str]] = field(default_factory=list)
    #: The diagnosis rounds' names, for the before/after table's columns.
    round_labels: dict[str, str] = field(default_factory=dict)


def build(session: Session, case_id: int, today: date) -> Report:
    case = session.exec(
        select(Case)
        .where(Case.id == case_id)
        .options(
            selectinload(Case.firm),
            selectinload(Case.batch),
            selectinload(Case.assignments).selectinload(ExpertAssignment.expert),
        )
    ).one()
    progress = progress_of(session, case, today)
    report = Report(
        title=_("One firm, one plan: pilot report"),
        firm=_firm(case),
        batch={
            "name": case.batch.name,
            "start": case.batch.start_date,
            "end": case.batch.end_date,
            "provider": case.batch.service_provider,
            "contract": case.batch.contract_ref,
            "experts": [
                {
                    "name": a.expert.display_name,
                    "organisation": a.expert.organisation,
                    "lead": a.is_lead,
                }
                for a in case.assignments
            ],
        },
        status=current_label(progress.current),
        is_final=case.is_closed,
        generated_on=today,
        stages=_stages(progress),
    )
    report.survey = _survey(session, case)
    _diagnosis(session, case, report)
    report.items = sections.items_section(session, case)
    report.training = sections.training_section(session, case)
    report.plan = sections.plan_section(session, case)
    report.targets, report.evaluation = sections.evaluation_section(session, case, report.items)
    report.sign_offs = sections.sign_offs(session, case)
    report.round_labels = {round_: str(label) for round_, label in ROUND_LABELS.items()}
    return report


def _firm(case: Case) -> dict[str, Any]:
    f = case.firm
    return {
        "name": f.name,
        "credit_code": f.credit_code,
        "district": reference.district_name(f.district),
        "industry": reference.industry_name(f.industry_code),
        "mujun": f"{f.mujun_class}（{f.mujun_year}）",
        "land": plain_text(f.land_mu, 2),
        "employees": f.employees or "—",
        "revenue": plain_text(f.revenue, 2),
        "address": f.address,
        "contacts": [c for c in f.contacts if c.get("name")],
        "certifications": [str(reference.CERTIFICATIONS.get(c, c)) for c in f.certifications],
        "awards": f.awards,
        "brands": f.brands,
    }


def _stages(progress: Progress) -> list[dict[str, Any]]:
    return [
        {
            "number": s.stage.number,
            "label": str(s.stage.label),
            "due": s.due,
            "status": s.status.value,
            "status_label": str(STATUS_LABELS[s.status]),
        }
        for s in progress.stages
    ]


def _survey(session: Session, case: Case) -> dict[str, Any] | None:
    survey = survey_of(session, case)
    if survey is None or not survey.is_submitted:
        return None
    kpis = {k.id: k for k in session.exec(select(Kpi)).all()}
    return {
        "submitted": local(survey.submitted_at),
        "systems": [str(reference.CERTIFICATIONS.get(c, c)) for c in survey.systems],
        "other_systems": survey.other_systems,
        "weak_areas": [str(WEAK_AREAS[a]) for a in survey.weak_areas if a in WEAK_AREAS],
        "pain_points": survey.pain_points,
        "wanted_help": survey.wanted_help,
        "baselines": [
            {
                "name": kpis[b.kpi_id].name_zh,
                "value": plain_text(b.value, 4),
                "unit": kpis[b.kpi_id].unit,
                "period": b.period,
            }
            for b in survey.baselines
        ],
        "analysis": survey.analysis,
    }


def _diagnosis(session: Session, case: Case, report: Report) -> None:
    from pilot.diagnosis.charts import radar_svg

    baseline = diagnosis.diagnosis_of(session, case, Round.BASELINE)
    if baseline is None or not baseline.is_accepted:
        return
    items = {i.id: i for i in session.exec(select(FrameworkItem)).all()}
    for result in diagnosis.framework_results(session, baseline):
        report.diagnosis.append(
            {
                "name": result.name,
                "total": decimal_text(result.total),
                "max": plain_text(result.max, 2),
                "percent": decimal_text(result.percent),
                "categories": [
                    {
                        "code": c.code,
                        "name": c.name,
                        "score": decimal_text(c.score),
                        "max": plain_text(c.max, 2),
                        "percent": decimal_text(c.percent),
                    }
                    for c in result.categories
                ],
                "radar": radar_svg(result),
            }
        )
    report.diagnosis_strengths = [
        {
            "item": f"{items[s.item_id].code} {items[s.item_id].name}",
            "strengths": s.strengths,
            "opportunities": s.opportunities,
        }
        for s in sorted(baseline.scores, key=lambda s: s.item_id)
        if s.strengths or s.opportunities
    ]
    report.findings = [
        {
            "item": f"{items[f.item_id].code} {items[f.item_id].name}",
            "severity": str(diagnosis.SEVERITY_LABELS[f.severity]),
            "description": f.description,
            "disposition": str(diagnosis.DISPOSITION_LABELS.get(f.disposition, "—")),
        }
        for f in baseline.findings
    ]
    report.accepted_on = local(baseline.accepted_at)
