"""A notification: one event of a case, for one recipient, read or not.

No text is stored: the message is built when it is shown, from the kind and its params, in the
reader's language (pilot.notifications.messages).
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from pilot.database import UTCDateTime, one_of, utcnow


class Kind(StrEnum):
    ITEM_RETURNED = "item_returned"
    ITEM_VERIFIED = "item_verified"
    VISIT_LOGGED = "visit_logged"
    DIAGNOSIS_RETURNED = "diagnosis_returned"
    DIAGNOSIS_ACCEPTED = "diagnosis_accepted"
    PLAN_APPROVED = "plan_approved"
    PLAN_RETURNED = "plan_returned"
    TRAINING_INVITED = "training_invited"
    CASE_CLOSED = "case_closed"


class Notification(SQLModel, table=True):
    __table_args__ = (
        one_of("kind", Kind),
        # The bell counts a user's unread ones on every page: this index answers it alone.
        sa.Index("ix_notification_recipient_read", "recipient_id", "read_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    recipient_id: int = Field(foreign_key="user.id")
    kind: str = Field(max_length=24)
    case_id: int = Field(foreign_key="case.id", index=True)
    #: The record the event happened to (an item, a visit, a diagnosis, a plan, a session).
    record_id: int | None = None
    #: What the message and the link need besides the case: a round, a version, a topic.
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
