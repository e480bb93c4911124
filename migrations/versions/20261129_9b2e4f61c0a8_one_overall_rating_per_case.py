"""One overall service rating per case: a partial unique index on case_id where expert_id is null

Revision ID: 9b2e4f61c0a8
Revises: 3c51a0e2d7b4
Create Date: 2026-11-29 03:56:00

The unique (case_id, expert_id) constraint lets any number of overall ratings in, NULLs being
distinct. Duplicates a race may have left are removed first, keeping the latest of each case.
"""

import sqlalchemy as sa
from alembic import op

revision = "9b2e4f61c0a8"
down_revision = "3c51a0e2d7b4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM service_rating WHERE expert_id IS NULL AND id NOT IN ("
        " SELECT max(id) FROM service_rating WHERE expert_id IS NULL GROUP BY case_id)"
    )
    with op.batch_alter_table("service_rating", schema=None) as batch_op:
        batch_op.create_index(
            "uq_service_rating_case_id_overall",
            ["case_id"],
            unique=True,
            sqlite_where=sa.text("expert_id IS NULL"),
            postgresql_where=sa.text("expert_id IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("service_rating", schema=None) as batch_op:
        batch_op.drop_index("uq_service_rating_case_id_overall")
