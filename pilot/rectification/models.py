"""Rectification items (整改项): what the firm must fix, with evidence and expert verification."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from pilot.database import UTCDateTime, utcnow


class ItemStatus:
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    RETURNED = "returned"
    WAIVED = "waived"


class RectificationItem(SQLModel, table=True):
    __tablename__ = "rectification_item"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    #: The accepted finding it comes from; None for an item added by hand.
    finding_id: int | None = Field(default=None, foreign_key="finding.id", unique=True)
    framework_item_id: int | None = Field(default=None, foreign_key="framework_item.id")
    description: str = Field(sa_type=sa.Text)
    severity: str = Field(max_length=12)
    status: str = Field(default=ItemStatus.OPEN, max_length=12)
    due_date: date
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
