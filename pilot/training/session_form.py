"""The new/edit session form bound to its batch: the firms to invite, the findings to link, and
what it shows before anything is sent."""

from datetime import datetime, time
from decimal import Decimal

from flask import request
from flask_babel import gettext as _
from sqlmodel import or_, select
from wtforms import SelectChoice

from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.database import local_zone
from pilot.diagnosis.models import Diagnosis, DiagnosisStatus, Finding
from pilot.extensions import db
from pilot.firms.models import Firm
from pilot.forms import choices
from pilot.frameworks.models import FrameworkItem
from pilot.training.forms import SessionForm
from pilot.training.models import SessionFinding, SessionInvite, TrainingSession
from pilot.training.pages import finding_label, local


def _batch_cases(batch: Batch) -> list[tuple[Case, Firm]]:
    return db.session.exec(
        select(Case, Firm)
        .join(Firm, Case.firm_id == Firm.id)
        .where(Case.batch_id == batch.id)
        .order_by(Firm.name, Case.id)
    ).all()


def _finding_choices(batch: Batch, linked: set[int]) -> list[SelectChoice]:
    """Findings of the batch's accepted diagnoses (and any already linked), grouped by firm."""
    rows = db.session.exec(
        select(Finding, FrameworkItem, Firm)
        .join(Diagnosis, Finding.diagnosis_id == Diagnosis.id)
        .join(Case, Diagnosis.case_id == Case.id)
        .join(Firm, Case.firm_id == Firm.id)
        .join(FrameworkItem, Finding.item_id == FrameworkItem.id)
        .where(Case.batch_id == batch.id)
        .where(
            or_(
                Diagnosis.status == DiagnosisStatus.ACCEPTED,
                Finding.id.in_(linked or [-1]),
            )
        )
        .order_by(
            Firm.name, Diagnosis.id, FrameworkItem.framework_id, FrameworkItem.position, Finding.id
        )
    ).all()
    return [
        SelectChoice(finding.id, finding_label(finding, item), optgroup=firm.name)
        for finding, item, firm in rows
    ]


def _initial(training: TrainingSession | None, cases: list[tuple[Case, Firm]]) -> dict:
    if training is None:
        return {
            "hours": Decimal(3),
            "start_time": time(9, 0),
            # Every firm still in the pilot is invited unless staff untick it.
            "case_ids": [case.id for case, _firm in cases if not case.is_read_only],
        }
    starts = local(training.starts_at)
    invited = db.session.exec(
        select(SessionInvite.case_id).where(SessionInvite.session_id == training.id)
    ).all()
    return {
        "topic": training.topic,
        "day": starts.date(),
        "start_time": starts.time().replace(tzinfo=None),
        "hours": training.hours,
        "place": training.place,
        "online_link": training.online_link,
        "trainer": training.trainer,
        "areas": list(training.areas),
        "description": training.description,
        "case_ids": list(invited),
        "finding_ids": _linked_findings(training),
    }


def _linked_findings(training: TrainingSession | None) -> list[int]:
    if training is None or training.id is None:
        return []
    return list(
        db.session.exec(
            select(SessionFinding.finding_id).where(SessionFinding.session_id == training.id)
        ).all()
    )


def session_form(batch: Batch, training: TrainingSession | None) -> SessionForm:
    """The form with the batch's firms and findings to choose from. On GET it shows the saved
    session (or a new one's defaults); on POST what was sent."""
    cases = _batch_cases(batch)
    linked = set(_linked_findings(training))
    form = SessionForm(data=_initial(training, cases) if request.method == "GET" else None)
    form.case_ids.choices = choices(
        (case.id, firm.name + (" " + _("(withdrawn)") if case.is_withdrawn else ""))
        for case, firm in cases
    )
    form.finding_ids.choices = _finding_choices(batch, linked)
    return form


def session_fields(form: SessionForm) -> dict:
    """The session's own fields from a validated form, as services.save_session takes them."""
    return {
        "topic": form.topic.data,
        "starts_at": datetime.combine(form.day.data, form.start_time.data, tzinfo=local_zone()),
        "hours": form.hours.data,
        "place": form.place.data or "",
        "online_link": form.online_link.data or "",
        "trainer": form.trainer.data,
        "areas": list(form.areas.data or []),
        "description": form.description.data or "",
    }
