"""e-mail digest: each user's choice (daily, weekly, none) and the log of digests sent per day

Revision ID: c3a7e9d15b42
Revises: b6f1d2e8a4c7
Create Date: 2026-11-30 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import pilot.database

revision = "c3a7e9d15b42"
down_revision = "b6f1d2e8a4c7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("digest", sa.String(length=8), server_default="daily", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_user_digest"), "digest IN ('daily', 'weekly', 'none')"
        )
    op.create_table(
        "digest_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.Column("claimed_at", pilot.database.UTCDateTime(), nullable=False),
        sa.Column("sent_at", pilot.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_digest_sent_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_sent")),
        sa.UniqueConstraint("user_id", "day", name=op.f("uq_digest_sent_user_id_day")),
    )


def downgrade() -> None:
    op.drop_table("digest_sent")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_user_digest"), type_="check")
        batch_op.drop_column("digest")
