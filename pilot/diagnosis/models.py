"""The diagnosis (质量诊断): item scores against frameworks, findings, and the work targets."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from pilot.database import UTCDateTime, one_of, utcnow
from pilot.kpis.models import Direction


class Round(StrEnum):
    BASELINE = "baseline"
    FINAL = "final"


class DiagnosisStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"


class Severity(StrEnum):
    SEVERE = "severe"  # 严重
    GENERAL = "general"  # 一般
    OBSERVATION = "observation"  # 观察


class Disposition(StrEnum):
    RECTIFY = "rectify"
    CARRY = "carry"


class DiagnosisFramework(SQLModel, table=True):
    __tablename__ = "diagnosis_framework"

    diagnosis_id: int = Field(foreign_key="diagnosis.id", primary_key=True)
    framework_id: int = Field(foreign_key="framework.id", primary_key=True)


class Diagnosis(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("case_id", "round"),
        one_of("round", Round),
        one_of("status", DiagnosisStatus),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    round: str = Field(max_length=10)
    status: str = Field(default=DiagnosisStatus.DRAFT, max_length=12)
    summary: str = Field(default="", sa_type=sa.Text)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_by_id: int | None = Field(default=None, foreign_key="user.id")
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_by_id: int | None = Field(default=None, foreign_key="user.id")
    return_comment: str = Field(default="", sa_type=sa.Text)

    scores: list["ItemScore"] = Relationship(
        back_populates="diagnosis", sa_relationship_kwargs={"cascade": "all, delete-orphan"}
    )
    findings: list["Finding"] = Relationship(
        back_populates="diagnosis",
        sa_relationship_kwargs={"order_by": "Finding.id", "cascade": "all, delete-orphan"},
    )

    @property
    def is_accepted(self) -> bool:
        return self.status == DiagnosisStatus.ACCEPTED


class ItemScore(SQLModel, table=True):
    __tablename__ = "item_score"
    __table_args__ = (sa.UniqueConstraint("diagnosis_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    diagnosis_id: int = Field(foreign_key="diagnosis.id", index=True)
    item_id: int = Field(foreign_key="framework_item.id")
    #: Band scale: 0–100 in steps of 5. Maturity scale: None.
    percent: int | None = None
    #: Maturity scale: 1–5. Band scale: None.
    level: int | None = None
    strengths: str = Field(default="", sa_type=sa.Text)
    opportunities: str = Field(default="", sa_type=sa.Text)

    diagnosis: Diagnosis = Relationship(back_populates="scores")


class Finding(SQLModel, table=True):
    __table_args__ = (one_of("severity", Severity), one_of("disposition", Disposition))

    id: int | None = Field(default=None, primary_key=True)
    diagnosis_id: int = Field(foreign_key="diagnosis.id", index=True)
    item_id: int = Field(foreign_key="framework_item.id")
    description: str = Field(sa_type=sa.Text)
    severity: str = Field(max_length=12)
    #: Set by staff on acceptance: rectify (becomes an item) or carry (into the follow-up plan).
    disposition: str | None = Field(default=None, max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    diagnosis: Diagnosis = Relationship(back_populates="findings")


class WorkTarget(SQLModel, table=True):
    """A work target (工作目标) filed with the baseline diagnosis: a KPI or a custom measure."""

    __tablename__ = "work_target"
    __table_args__ = (one_of("direction", Direction),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    diagnosis_id: int = Field(foreign_key="diagnosis.id", index=True)
    kpi_id: int | None = Field(default=None, foreign_key="kpi.id")
    #: For a catalogue KPI these copy the catalogue; a custom target sets them itself.
    name: str = Field(max_length=100)
    unit: str = Field(max_length=20)
    direction: str = Field(max_length=10)
    baseline: Decimal | None = Field(default=None, max_digits=16, decimal_places=4)
    target: Decimal = Field(max_digits=16, decimal_places=4)
    target_date: date
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
