"""version columns for lost-edit protection: a save made on an older version is refused

Survey, training session, batch, firm and user get `version`; a follow-up plan version gets
`edit_version` (its `version` is the plan's version number). Existing rows start at 1 (0 for a
plan version: never saved through the versioned form).

Revision ID: 61d0c27b9a0c
Revises: 5e1f0c2a7b3d
Create Date: 2026-11-29 12:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = "61d0c27b9a0c"
down_revision = "5e1f0c2a7b3d"
branch_labels = None
depends_on = None

#: (table, column, first value)
COLUMNS = [
    ("needs_survey", "version", "1"),
    ("training_session", "version", "1"),
    ("batch", "version", "1"),
    ("firm", "version", "1"),
    ("user", "version", "1"),
    ("follow_up_plan", "edit_version", "0"),
]


def upgrade() -> None:
    for table, column, first in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(column, sa.Integer(), server_default=first, nullable=False)
            )


def downgrade() -> None:
    for table, column, _first in reversed(COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
