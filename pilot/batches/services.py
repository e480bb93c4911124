"""Creating and changing batches."""

from datetime import timedelta

from flask_babel import gettext as _
from sqlmodel import Session, select

from pilot.accounts.models import User
from pilot.audit.services import changed, log, snapshot
from pilot.batches.models import Batch
from pilot.database import bump_version
from pilot.stages import BY_CODE, STAGES

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
    if not (batch.name or "").strip():
        raise BatchError(_("Give the batch a name."), "name")
    # No autoflush: flushing the changed batch first would hit the unique index, not this check.
    with session.no_autoflush:
        taken = session.exec(
            select(Batch).where(Batch.name == batch.name, Batch.id != batch.id)
        ).first()
    if taken:
        raise BatchError(_("Another batch has this name."), "name")
    if batch.end_date <= batch.start_date:
        raise BatchError(_("The end date must come after the start date."), "end_date")
    _check_due_weeks(batch)
    if batch.required_training_sessions < 0:
        raise BatchError(
            _("The number of sessions cannot be negative."), "required_training_sessions"
        )
    for name in ("severe_due_days", "general_due_days"):
        if getattr(batch, name) < 1:
            raise BatchError(_("Give at least one day."), name)
    if batch.expert_hours_bought is not None and batch.expert_hours_bought < 0:
        raise BatchError(_("The hours bought cannot be negative."), "expert_hours_bought")


def _check_due_weeks(batch: Batch) -> None:
    """Every stage is due within the batch, and not before the stages it needs."""
    for stage in STAGES:
        field = f"{stage.code}_due_weeks"
        weeks = batch.due_weeks(stage.code)
        if weeks < 1:
            raise BatchError(_("A stage is due one week after the start at the earliest."), field)
        if batch.start_date + timedelta(weeks=weeks) > batch.end_date:
            raise BatchError(
                _("This is due after the batch ends (%(date)s).", date=batch.end_date.isoformat()),
                field,
            )
        for needed in stage.needs:
            if weeks < batch.due_weeks(needed):
                raise BatchError(
                    _(
                        "%(stage)s cannot be due before %(needed)s, which it follows.",
                        stage=stage.label,
                        needed=BY_CODE[needed].label,
                    ),
                    field,
                )


def create_batch(session: Session, actor: User | None, **fields) -> Batch:
    batch = Batch(**{k: v for k, v in fields.items() if k in FIELDS})
    _check(session, batch)
    session.add(batch)
    log(session, actor, batch, "create", after=snapshot(batch, FIELDS))
    return batch


def update_batch(
    session: Session, actor: User, batch: Batch, *, version: int | None = None, **fields
) -> Batch:
    """Change a batch. Cases keep their own due dates: they were copied when the case opened.
    EditConflict when `version` (the one the form showed) is not the batch's."""
    bump_version(session, batch, version)
    before = snapshot(batch, FIELDS)
    for key in FIELDS:
        if key in fields:
            setattr(batch, key, fields[key])
    _check(session, batch)
    b, a = changed(before, snapshot(batch, FIELDS))
    if a:
        log(session, actor, batch, "update", before=b, after=a)
    return batch
