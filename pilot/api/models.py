"""API tokens: a user's bearer tokens, kept only as a SHA-256 of the secret."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from pilot.database import UTCDateTime, utcnow


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    #: What the user calls it ("data platform", "my script").
    name: str = Field(max_length=100)
    #: SHA-256 (hex) of the whole secret; the secret itself is shown once and never kept.
    token_hash: str = Field(max_length=64, unique=True)
    #: The secret's first characters, so a user can tell their tokens apart.
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
