"""The follow-up service plan (跟踪服务方案): drafted by the lead expert, approved (认定) by staff.

Versioned: an approved version is frozen; a later change opens a new draft version.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from pilot.database import UTCDateTime, one_of, utcnow


class PlanStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


class FollowUpPlan(SQLModel, table=True):
    __tablename__ = "follow_up_plan"
    __table_args__ = (sa.UniqueConstraint("case_id", "version"), one_of("status", PlanStatus))

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    version: int = 1
    status: str = Field(default=PlanStatus.DRAFT, max_length=12)
    summary: str = Field(default="", sa_type=sa.Text)
    #: Further visits and coaching after the pilot, in words.
    further_service: str = Field(default="", sa_type=sa.Text)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by_id: int | None = Field(default=None, foreign_key="user.id")
    return_comment: str = Field(default="", sa_type=sa.Text)
    #: Raised by every change to this version while it is drafted (not the plan's version
    #: number above): a text save made on an older one is refused (no lost edit). 0: never saved.
    edit_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})

    actions: list["PlanAction"] = Relationship(
        back_populates="plan",
        sa_relationship_kwargs={"order_by": "PlanAction.id", "cascade": "all, delete-orphan"},
    )
    revisions: list["TargetRevision"] = Relationship(
        back_populates="plan",
        sa_relationship_kwargs={"order_by": "TargetRevision.id", "cascade": "all, delete-orphan"},
    )

    @property
    def is_frozen(self) -> bool:
        return self.status in (PlanStatus.SUBMITTED, PlanStatus.APPROVED)


class PlanAction(SQLModel, table=True):
    __tablename__ = "plan_action"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="follow_up_plan.id", index=True)
    what: str = Field(sa_type=sa.Text)
    owner: str = Field(max_length=100)
    start_date: date
    due_date: date
    #: The carried finding this action answers, if any.
    finding_id: int | None = Field(default=None, foreign_key="finding.id")

    plan: FollowUpPlan = Relationship(back_populates="actions")


class TargetRevision(SQLModel, table=True):
    """A proposed change to an accepted work target, shown against it."""

    __tablename__ = "target_revision"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="follow_up_plan.id", index=True)
    target_id: int = Field(foreign_key="work_target.id")
    new_target: Decimal = Field(max_digits=16, decimal_places=4)
    new_date: date
    reason: str = Field(sa_type=sa.Text)

    plan: FollowUpPlan = Relationship(back_populates="revisions")
