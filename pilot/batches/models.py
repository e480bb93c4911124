"""Pilot batches (试点批次): batches are data, and a firm may be in several over the years."""

from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Field, SQLModel

from pilot.database import UTCDateTime, utcnow

#: Stage due dates, in weeks after the batch's start (DESIGN.md defaults for a half-year batch).
DEFAULT_DUE_WEEKS = {
    "survey": 3,
    "diagnosis": 8,
    "rectification": 20,
    "training": 20,
    "plan": 22,
    "evaluation": 26,
}


class Batch(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    year: int
    start_date: date
    end_date: date
    survey_due_weeks: int = DEFAULT_DUE_WEEKS["survey"]
    diagnosis_due_weeks: int = DEFAULT_DUE_WEEKS["diagnosis"]
    rectification_due_weeks: int = DEFAULT_DUE_WEEKS["rectification"]
    training_due_weeks: int = DEFAULT_DUE_WEEKS["training"]
    plan_due_weeks: int = DEFAULT_DUE_WEEKS["plan"]
    evaluation_due_weeks: int = DEFAULT_DUE_WEEKS["evaluation"]
    required_training_sessions: int = 2
    #: Days an item has after acceptance, per finding severity.
    severe_due_days: int = 30
    general_due_days: int = 60
    evidence_required: bool = True
    service_provider: str = Field(default="", max_length=200)
    contract_ref: str = Field(default="", max_length=100)
    expert_hours_bought: Decimal = Field(default=Decimal(0), max_digits=8, decimal_places=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Raised by every save; a save made on an older version is refused (no lost edit).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})

    def due_weeks(self, stage: str) -> int:
        return getattr(self, f"{stage}_due_weeks")
