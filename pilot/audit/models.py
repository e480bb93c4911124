"""The append-only audit log: who did what to which record, when, with before/after values."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from pilot.database import UTCDateTime, utcnow


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    #: The case the record belongs to, so a case page can show its log in one query.
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    record_type: str = Field(max_length=40)
    record_id: int | None = None
    action: str = Field(max_length=40)
    #: Shown to experts and firms in the case's timeline (without the values).
    public: bool = False
    reason: str = Field(default="", sa_type=sa.Text)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)


@sa.event.listens_for(AuditLog, "before_update")
@sa.event.listens_for(AuditLog, "before_delete")
def _refuse_change(mapper, connection, target) -> None:
    raise RuntimeError("the audit log is append-only")
