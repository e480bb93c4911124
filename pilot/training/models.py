"""Centralised training (集中培训) with attendance per firm, and one-to-one coaching records."""

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import JSON, Field, Relationship, SQLModel

from pilot.database import UTCDateTime, utcnow


class SessionInvite(SQLModel, table=True):
    __tablename__ = "session_invite"

    session_id: int = Field(foreign_key="training_session.id", primary_key=True)
    case_id: int = Field(foreign_key="case.id", primary_key=True, index=True)


class SessionFinding(SQLModel, table=True):
    """A finding a session addresses."""

    __tablename__ = "session_finding"

    session_id: int = Field(foreign_key="training_session.id", primary_key=True)
    finding_id: int = Field(foreign_key="finding.id", primary_key=True)


class TrainingSession(SQLModel, table=True):
    __tablename__ = "training_session"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    topic: str = Field(max_length=200)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    hours: Decimal = Field(default=Decimal(3), max_digits=4, decimal_places=1)
    place: str = Field(default="", max_length=200)
    online_link: str = Field(default="", max_length=500)
    trainer: str = Field(max_length=100)
    #: Weak-area codes it addresses (survey.services.WEAK_AREAS).
    areas: list[str] = Field(default_factory=list, sa_type=JSON)
    description: str = Field(default="", sa_type=sa.Text)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Raised by every save; a save made on an older version is refused (no lost edit).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})

    attendances: list["Attendance"] = Relationship(back_populates="session")


class Attendance(SQLModel, table=True):
    """Who of a firm attended a session (参训记录)."""

    __table_args__ = (sa.UniqueConstraint("session_id", "case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="training_session.id", index=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    names: str = Field(default="", sa_type=sa.Text)
    count: int = 0
    recorded_by_id: int = Field(foreign_key="user.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    session: TrainingSession = Relationship(back_populates="attendances")


class CoachingRecord(SQLModel, table=True):
    """One-to-one coaching (一对一辅导记录) an expert gives a firm."""

    __tablename__ = "coaching_record"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    expert_id: int = Field(foreign_key="user.id", index=True)
    coached_on: date
    hours: Decimal = Field(max_digits=4, decimal_places=1)
    topic: str = Field(max_length=200)
    notes: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
