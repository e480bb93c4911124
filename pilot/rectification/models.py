"""Rectification items (整改项): what the firm must fix, with evidence and expert verification."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from pilot.database import UTCDateTime, one_of, utcnow
from pilot.diagnosis.models import Severity

#: StoredFile.owner_type of an item's evidence.
EVIDENCE = "item"


class ItemStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    RETURNED = "returned"
    WAIVED = "waived"


#: An item in one of these is finished: it counts as closed for stage 3.
CLOSED_STATUSES = (ItemStatus.VERIFIED, ItemStatus.WAIVED)


class RectificationItem(SQLModel, table=True):
    __tablename__ = "rectification_item"
    __table_args__ = (
        one_of("severity", Severity),
        one_of("status", ItemStatus),
        # The board and the stage rules count a case's items by status.
        sa.Index("ix_rectification_item_case_id_status", "case_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    #: The accepted finding it comes from; None for an item added by hand.
    finding_id: int | None = Field(default=None, foreign_key="finding.id", unique=True)
    framework_item_id: int | None = Field(default=None, foreign_key="framework_item.id")
    description: str = Field(sa_type=sa.Text)
    severity: str = Field(max_length=12)
    status: str = Field(default=ItemStatus.OPEN, max_length=12)
    due_date: date
    root_cause: str = Field(default="", sa_type=sa.Text)
    measure: str = Field(default="", sa_type=sa.Text)
    owner_name: str = Field(default="", max_length=100)
    owner_dept: str = Field(default="", max_length=100)
    #: Raised by every change; a save made on an older version is told what changed since.
    version: int = 1
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verified_by_id: int | None = Field(default=None, foreign_key="user.id")
    #: The expert's reason when returning it, or staff's when waiving it.
    reason: str = Field(default="", sa_type=sa.Text)
    #: Set when the case is closed with the item still open.
    unfinished_at_closing: bool = False

    notes: list["ItemNote"] = Relationship(
        back_populates="item", sa_relationship_kwargs={"order_by": "ItemNote.id"}
    )

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES


class ItemNote(SQLModel, table=True):
    """A progress note on an item, by the firm (or a remark by an expert or staff)."""

    __tablename__ = "item_note"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="rectification_item.id", index=True)
    author_id: int = Field(foreign_key="user.id")
    text: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    item: RectificationItem = Relationship(back_populates="notes")
