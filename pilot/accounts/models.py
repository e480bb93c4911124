"""Users: bureau admins and staff, procured experts, and firm contact people."""

from datetime import datetime
from enum import StrEnum

from flask import current_app
from flask_login import UserMixin
from sqlmodel import Field, SQLModel
from werkzeug.security import check_password_hash, generate_password_hash

from pilot.database import UTCDateTime, one_of, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    EXPERT = "expert"
    FIRM = "firm"


class DigestFrequency(StrEnum):
    """How often a user wants the e-mail digest of what waits on them (weekly: on Mondays)."""

    DAILY = "daily"
    WEEKLY = "weekly"
    NONE = "none"


class User(UserMixin, SQLModel, table=True):
    __table_args__ = (one_of("role", Role), one_of("digest", DigestFrequency))

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=16, index=True)
    password_hash: str = Field(max_length=256)
    active: bool = Field(default=True)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=32)
    #: A firm user belongs to exactly one firm.
    firm_id: int | None = Field(default=None, foreign_key="firm.id", index=True)
    # An expert's profile.
    organisation: str = Field(default="", max_length=200)
    specialties: str = Field(default="", max_length=500)
    qualifications: str = Field(default="", max_length=500)
    #: The user's language (a code of LANGUAGES; empty: the default), for pages without a choice
    #: of their own and for the e-mail digest.
    locale: str = Field(default="", max_length=8)
    digest: str = Field(
        default=DigestFrequency.DAILY, max_length=8, sa_column_kwargs={"server_default": "daily"}
    )
    #: Part of the id kept in the session and the remember cookie: replacing it ends every
    #: session of the user at once (sign-out, a password reset, deactivation).
    session_token: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Raised by every profile save; a save made on an older version is refused (no lost edit).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember cookie."""
        return f"{self.id}.{self.session_token}"

    def set_password(self, password: str) -> None:
        method = current_app.config["PASSWORD_HASH_METHOD"] if current_app else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.STAFF)
