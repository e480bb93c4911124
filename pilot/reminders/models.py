"""The digest log: one row per user and day a digest went out, claimed before it is sent."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from pilot.database import UTCDateTime, utcnow


class DigestSent(SQLModel, table=True):
    """A user's digest of a day (in the bureau's time zone). The row is written and committed
    before the message is sent, so a second run that day, or a second worker, finds it and sends
    nothing; it is deleted again if the sending fails, so a later run may try again."""

    __tablename__ = "digest_sent"
    __table_args__ = (sa.UniqueConstraint("user_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    day: date
    #: How many tasks the digest listed.
    tasks: int = 0
    claimed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Set once the SMTP server accepted the message (None: sending, or the run stopped).
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
