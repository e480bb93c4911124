"""Archived reports (一企一策报告): each generated final PDF, versioned, with its hash."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from pilot.database import UTCDateTime, one_of, utcnow


class ReportArchive(SQLModel, table=True):
    __tablename__ = "report_archive"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    version: int
    sha256: str = Field(max_length=64)
    size: int
    pages: int
    #: Path relative to the reports folder, generated.
    storage_key: str = Field(max_length=120, unique=True)
    generated_by_id: int | None = Field(default=None, foreign_key="user.id")
    generated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ReportJob(SQLModel, table=True):
    """A batch ZIP being assembled outside the web request, with its progress."""

    __tablename__ = "report_job"
    __table_args__ = (one_of("status", JobStatus),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    requested_by_id: int = Field(foreign_key="user.id")
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: queued → running → done | failed
    status: str = Field(default=JobStatus.QUEUED, max_length=10)
    total: int = 0
    done: int = 0
    error: str = Field(default="", max_length=500)
    storage_key: str = Field(default="", max_length=120)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
