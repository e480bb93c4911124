"""The evaluation (成效评价): KPI actuals, service ratings, closing assessment, verdict."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from pilot.database import UTCDateTime, one_of, utcnow


class Verdict(StrEnum):
    MET = "met"  # 达标
    BASICALLY_MET = "basically_met"  # 基本达标
    NOT_MET = "not_met"  # 未达标


class KpiActual(SQLModel, table=True):
    """The actual value of a work target, entered by an expert and checked by staff."""

    __tablename__ = "kpi_actual"

    id: int | None = Field(default=None, primary_key=True)
    target_id: int = Field(foreign_key="work_target.id", unique=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    actual: Decimal = Field(max_digits=16, decimal_places=4)
    period: str = Field(default="", max_length=40)
    note: str = Field(default="", sa_type=sa.Text)
    entered_by_id: int = Field(foreign_key="user.id")
    entered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    checked_by_id: int | None = Field(default=None, foreign_key="user.id")
    checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ServiceRating(SQLModel, table=True):
    """The firm's rating of the bought service: overall (expert_id None) or of one expert."""

    __tablename__ = "service_rating"
    __table_args__ = (
        # One rating per expert, and (NULLs being distinct in a unique constraint) one overall.
        sa.UniqueConstraint("case_id", "expert_id"),
        sa.Index(
            "uq_service_rating_case_id_overall",
            "case_id",
            unique=True,
            sqlite_where=sa.text("expert_id IS NULL"),
            postgresql_where=sa.text("expert_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    expert_id: int | None = Field(default=None, foreign_key="user.id")
    professionalism: int
    timeliness: int
    usefulness: int
    comment: str = Field(default="", sa_type=sa.Text)
    rated_by_id: int = Field(foreign_key="user.id")
    #: Staff rating for the firm say why.
    on_behalf_reason: str = Field(default="", sa_type=sa.Text)
    rated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def average(self) -> Decimal:
        return Decimal(self.professionalism + self.timeliness + self.usefulness) / 3


class Evaluation(SQLModel, table=True):
    """The lead expert's closing assessment and staff's verdict, one per case."""

    __table_args__ = (one_of("verdict", Verdict),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True)
    assessment: str = Field(default="", sa_type=sa.Text)
    assessed_by_id: int | None = Field(default=None, foreign_key="user.id")
    assessed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verdict: str | None = Field(default=None, max_length=16)
    verdict_comment: str = Field(default="", sa_type=sa.Text)
    verdict_by_id: int | None = Field(default=None, foreign_key="user.id")
    verdict_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
