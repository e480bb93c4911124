"""Notifications: one row per event and recipient, read or not

Revision ID: b6f1d2e8a4c7
Revises: 7d3a9c51e2b8
Create Date: 2026-11-29 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import pilot.database

revision = "b6f1d2e8a4c7"
down_revision = "7d3a9c51e2b8"
branch_labels = None
depends_on = None

KINDS = (
    "item_returned",
    "item_verified",
    "visit_logged",
    "diagnosis_returned",
    "diagnosis_accepted",
    "plan_approved",
    "plan_returned",
    "training_invited",
    "case_closed",
)


def upgrade() -> None:
    listed = ", ".join(f"'{kind}'" for kind in KINDS)
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", pilot.database.UTCDateTime(), nullable=False),
        sa.Column("read_at", pilot.database.UTCDateTime(), nullable=True),
        sa.CheckConstraint(f"kind IN ({listed})", name=op.f("ck_notification_kind")),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user.id"], name=op.f("fk_notification_actor_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_notification_case_id_case")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["user.id"], name=op.f("fk_notification_recipient_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_notification_recipient_read", ["recipient_id", "read_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_recipient_read")
        batch_op.drop_index(batch_op.f("ix_notification_case_id"))
    op.drop_table("notification")
