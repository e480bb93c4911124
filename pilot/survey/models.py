"""The needs survey (需求调研) a firm fills, and staff's needs analysis (需求分析)."""

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import JSON, Field, Relationship, SQLModel

from pilot.database import UTCDateTime, utcnow


class NeedsSurvey(SQLModel, table=True):
    __tablename__ = "needs_survey"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True)
    #: Certification codes held (pilot.reference.CERTIFICATIONS) and any others in words.
    systems: list[str] = Field(default_factory=list, sa_type=JSON)
    other_systems: str = Field(default="", sa_type=sa.Text)
    #: The firm's own view of its weak areas: codes from survey.services.WEAK_AREAS.
    weak_areas: list[str] = Field(default_factory=list, sa_type=JSON)
    pain_points: str = Field(default="", sa_type=sa.Text)
    wanted_help: str = Field(default="", sa_type=sa.Text)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Staff's needs analysis.
    analysis: str = Field(default="", sa_type=sa.Text)
    analysis_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    analysis_by_id: int | None = Field(default=None, foreign_key="user.id")
    #: Raised by every save of the answers or the analysis; a save made on an older version is
    #: refused (no lost edit).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})

    baselines: list["SurveyBaseline"] = Relationship(
        back_populates="survey",
        sa_relationship_kwargs={"order_by": "SurveyBaseline.id", "cascade": "all, delete-orphan"},
    )

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None


class SurveyBaseline(SQLModel, table=True):
    """A baseline KPI value the firm reports in the survey."""

    __tablename__ = "survey_baseline"
    __table_args__ = (sa.UniqueConstraint("survey_id", "kpi_id"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="needs_survey.id", index=True)
    kpi_id: int = Field(foreign_key="kpi.id")
    value: Decimal = Field(max_digits=16, decimal_places=4)
    period: str = Field(default="", max_length=40)

    survey: NeedsSurvey = Relationship(back_populates="baselines")
