"""form submission tokens: one record per create form page (no double visit or item)

Revision ID: 4fb94acbec6a
Revises: 61d0c27b9a0c
Create Date: 2026-11-29 12:10:00
"""

from alembic import op
import sqlalchemy as sa

import pilot.database

revision = "4fb94acbec6a"
down_revision = "61d0c27b9a0c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_submission",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("created_at", pilot.database.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "token", name=op.f("pk_form_submission")),
    )


def downgrade() -> None:
    op.drop_table("form_submission")
