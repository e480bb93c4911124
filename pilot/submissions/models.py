"""A create form page that was sent, and the record it made."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from pilot.database import UTCDateTime, utcnow


class FormSubmission(SQLModel, table=True):
    """The token of a create form's page, kept when the page is first sent.

    The primary key makes the database refuse a second row for the same token, so two sends
    racing each other cannot both make a record (pilot.submissions.services.claim).
    """

    __tablename__ = "form_submission"

    #: What the form makes ("visit", "item"): a token is looked up within its kind.
    kind: str = Field(max_length=20, primary_key=True)
    token: str = Field(max_length=64, primary_key=True)
    #: The record the first send made; None until it is made (in the same transaction).
    record_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
