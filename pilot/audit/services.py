"""Writing the audit log. Services call log() after they change a record; they never commit."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from pilot.accounts.models import User
from pilot.audit.models import AuditLog
from pilot.database import utcnow


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def snapshot(record: SQLModel, fields: list[str] | None = None) -> dict[str, Any]:
    """The record's column values as JSON-safe data."""
    names = fields or [c.key for c in record.__table__.columns]
    return {name: _plain(getattr(record, name)) for name in names}


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the keys whose value changed, for a compact before/after."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def log(
    session: Session,
    actor: User | None,
    record: SQLModel,
    action: str,
    *,
    case_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    public: bool = False,
) -> AuditLog:
    session.flush()  # the record needs its id
    entry = AuditLog(
        actor_id=actor.id if actor else None,
        case_id=case_id,
        record_type=record.__tablename__,
        record_id=record.id,
        action=action,
        before=before,
        after=after,
        reason=reason,
        public=public,
    )
    session.add(entry)
    return entry


def log_many(
    session: Session,
    actor: User | None,
    record_type: str,
    action: str,
    entries: list[tuple[int, int | None, dict[str, Any]]],
    *,
    public: bool = False,
) -> None:
    """One entry per (record id, case id, after values), written in one statement: what `log`
    writes for each of many records made at once (the roster import)."""
    if not entries:
        return
    at = utcnow()
    session.execute(
        sa.insert(AuditLog),
        [
            {
                "at": at,
                "actor_id": actor.id if actor else None,
                "case_id": case_id,
                "record_type": record_type,
                "record_id": record_id,
                "action": action,
                "public": public,
                "reason": "",
                "before": None,
                "after": _plain(after),
            }
            for record_id, case_id, after in entries
        ],
    )
