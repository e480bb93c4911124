"""On-site visits (现场诊断记录): the record that the bought service was delivered."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from pilot.accounts.models import User
from pilot.database import UTCDateTime, one_of, utcnow


class VisitStatus(StrEnum):
    LOGGED = "logged"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"


class VisitExpert(SQLModel, table=True):
    __tablename__ = "visit_expert"

    visit_id: int = Field(foreign_key="visit.id", primary_key=True)
    expert_id: int = Field(foreign_key="user.id", primary_key=True, index=True)


class Visit(SQLModel, table=True):
    __table_args__ = (one_of("status", VisitStatus),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    visit_date: date
    hours: Decimal = Field(max_digits=5, decimal_places=1)
    firm_participants: str = Field(default="", sa_type=sa.Text)
    activities: str = Field(sa_type=sa.Text)
    status: str = Field(default=VisitStatus.LOGGED, max_length=12)
    logged_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Who answered for the firm: confirmed or disputed, when, and why (staff confirming for the
    #: firm gives a reason; a dispute carries the firm's comment).
    answered_by_id: int | None = Field(default=None, foreign_key="user.id")
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer_comment: str = Field(default="", sa_type=sa.Text)

    experts: list[User] = Relationship(link_model=VisitExpert)
