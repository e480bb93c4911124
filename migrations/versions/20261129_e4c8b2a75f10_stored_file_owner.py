"""Stored file owner: a known owner type, one (owner_type, owner_id) index, no dangling evidence

Revision ID: e4c8b2a75f10
Revises: 5d7a19c3e6f2
Create Date: 2026-11-29 03:58:00

Evidence of findings removed before this revision still points at the removed finding: those rows
are deleted (their upload stays in the audit log; the bytes stay on disk).
"""

from alembic import op

revision = "e4c8b2a75f10"
down_revision = "5d7a19c3e6f2"
branch_labels = None
depends_on = None

OWNER_TYPES = ("case", "finding", "item", "visit", "training", "actual")


def upgrade() -> None:
    # Versions point at their previous one: unlink before deleting, in one statement each.
    orphans = (
        "SELECT id FROM stored_file WHERE owner_type = 'finding'"
        " AND owner_id NOT IN (SELECT id FROM finding)"
    )
    op.execute(f"UPDATE stored_file SET previous_id = NULL WHERE previous_id IN ({orphans})")
    op.execute(
        "DELETE FROM stored_file WHERE owner_type = 'finding'"
        " AND owner_id NOT IN (SELECT id FROM finding)"
    )
    listed = ", ".join(f"'{value}'" for value in OWNER_TYPES)
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.drop_index("ix_stored_file_owner_type")
        batch_op.drop_index("ix_stored_file_owner_id")
        batch_op.create_index("ix_stored_file_owner", ["owner_type", "owner_id"], unique=False)
        batch_op.create_check_constraint(
            op.f("ck_stored_file_owner_type"), f"owner_type IN ({listed})"
        )


def downgrade() -> None:
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_stored_file_owner_type"), type_="check")
        batch_op.drop_index("ix_stored_file_owner")
        batch_op.create_index("ix_stored_file_owner_id", ["owner_id"], unique=False)
        batch_op.create_index("ix_stored_file_owner_type", ["owner_type"], unique=False)
