"""Claiming a create form's token before making its record, and finding what the first send made.

A service that creates a record from a form calls `claim` first. The claim is one
INSERT … ON CONFLICT DO NOTHING on the token's primary key: the first send inserts and goes on
to make the record (`made` records which); a later send of the same page inserts nothing and is
told the first one's record. Two sends at once cannot both insert: on PostgreSQL the second
INSERT waits for the first transaction and then finds the row; on SQLite writers take turns.
"""

import sqlalchemy as sa
from sqlmodel import Session, select

from pilot.database import upsert_statement, utcnow
from pilot.submissions.models import FormSubmission


class AlreadySubmitted(Exception):
    """This form page was sent before; `record_id` is the record that send made (None if it
    made none and was kept, which a rolled-back first send never is)."""

    def __init__(self, kind: str, record_id: int | None):
        super().__init__(f"{kind} {record_id}")
        self.kind = kind
        self.record_id = record_id


def claim(session: Session, kind: str, token: str | None) -> None:
    """Claim the token for a record about to be made; AlreadySubmitted if it was claimed
    before. No token (a caller without a form page): nothing to claim."""
    if not token:
        return
    inserted = session.execute(
        upsert_statement(session, FormSubmission)
        .values(kind=kind, token=token, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["kind", "token"])
        .returning(FormSubmission.token)
    ).first()
    if inserted is None:
        first = session.exec(
            select(FormSubmission.record_id).where(
                FormSubmission.kind == kind, FormSubmission.token == token
            )
        ).one()
        raise AlreadySubmitted(kind, first)


def made(session: Session, kind: str, token: str | None, record_id: int) -> None:
    """Note the record the claimed token made, for a later send to be sent to."""
    if not token:
        return
    session.execute(
        sa.update(FormSubmission)
        .where(FormSubmission.kind == kind, FormSubmission.token == token)
        .values(record_id=record_id)
    )
