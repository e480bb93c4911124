"""The case (一企一策档案): one firm in one batch, with its experts and due dates."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from pilot.accounts.models import User
from pilot.batches.models import DEFAULT_DUE_WEEKS, Batch
from pilot.database import UTCDateTime, one_of, utcnow
from pilot.firms.models import Firm


class CaseState:
    """What a case answers of its own columns (`*_due`, `withdrawn_at`, `closed_at`): shared by
    `Case` and the pages' plain `CaseRow`, so that `pilot.stages.load_facts` takes either."""

    def due(self, stage: str) -> date:
        return getattr(self, f"{stage}_due")

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class Case(CaseState, SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("batch_id", "firm_id"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    firm_id: int = Field(foreign_key="firm.id", index=True)
    # Due dates (Asia/Shanghai calendar dates), copied from the batch, overridable per case.
    survey_due: date
    diagnosis_due: date
    rectification_due: date
    training_due: date
    plan_due: date
    evaluation_due: date
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_reason: str = Field(default="", sa_type=sa.Text)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    batch: Batch = Relationship()
    firm: Firm = Relationship()
    assignments: list["ExpertAssignment"] = Relationship(
        back_populates="case", sa_relationship_kwargs={"order_by": "ExpertAssignment.id"}
    )

    @property
    def is_read_only(self) -> bool:
        return self.is_closed or self.is_withdrawn

    @property
    def lead_expert(self) -> User | None:
        return next((a.expert for a in self.assignments if a.is_lead), None)


class ExpertAssignment(SQLModel, table=True):
    __tablename__ = "expert_assignment"
    __table_args__ = (sa.UniqueConstraint("case_id", "expert_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    expert_id: int = Field(foreign_key="user.id", index=True)
    is_lead: bool = False
    assigned_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    case: Case = Relationship(back_populates="assignments")
    expert: User = Relationship()


class StageMark(SQLModel, table=True):
    """Staff's manual "done" mark, standing in for a stage whose records are not built yet."""

    __tablename__ = "stage_mark"
    # The stage codes, in order (pilot.stages.STAGE_CODES is built from the same six).
    __table_args__ = (sa.UniqueConstraint("case_id", "stage"), one_of("stage", DEFAULT_DUE_WEEKS))

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    stage: str = Field(max_length=20)
    reason: str = Field(sa_type=sa.Text)
    marked_by_id: int = Field(foreign_key="user.id")
    marked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
