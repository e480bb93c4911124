"""Creating and changing batches."""

from flask_babel import gettext as _
from sqlmodel import Session, select

from pilot.accounts.models import User
from pilot.audit.services import changed, log, snapshot
from pilot.batches.models import Batch

FIELDS = [
    "name",
    "year",
    "start_date",
    "end_date",
    "survey_due_weeks",
    "diagnosis_due_weeks",
    "rectification_due_weeks",
    "training_due_weeks",
    "plan_due_weeks",
    "evaluation_due_weeks",
    "required_training_sessions",
    "severe_due_days",
    "general_due_days",
    "evidence_required",
    "service_provider",
    "contract_ref",
    "expert_hours_bought",
]


class BatchError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _check(session: Session, batch: Batch) -> None:
    taken = session.exec(
        select(Batch).where(Batch.name == batch.name, Batch.id != batch.id)
    ).first()
    if taken:
        raise BatchError(_("Another batch has this name."), "name")
    if batch.end_date <= batch.start_date:
        raise BatchError(_("The end date must come after the start date."), "end_date")


def create_batch(session: Session, actor: User | None, **fields) -> Batch:
    batch = Batch(**{k: v for k, v in fields.items() if k in FIELDS})
    _check(session, batch)
    session.add(batch)
    log(session, actor, batch, "create", after=snapshot(batch, FIELDS))
    return batch


def update_batch(session: Session, actor: User, batch: Batch, **fields) -> Batch:
    """Change a batch. Cases keep their own due dates: they were copied when the case opened."""
    before = snapshot(batch, FIELDS)
    for key in FIELDS:
        if key in fields:
            setattr(batch, key, fields[key])
    _check(session, batch)
    b, a = changed(before, snapshot(batch, FIELDS))
    if a:
        log(session, actor, batch, "update", before=b, after=a)
    return batch
