"""Board indexes: the columns the board, the stage rules and the hours page filter and join on

Revision ID: 5d7a19c3e6f2
Revises: 9b2e4f61c0a8
Create Date: 2026-11-29 03:57:00
"""

from alembic import op

revision = "5d7a19c3e6f2"
down_revision = "9b2e4f61c0a8"
branch_labels = None
depends_on = None

#: (table, index name, columns)
INDEXES = [
    ("firm", "ix_firm_district", ["district"]),
    ("firm", "ix_firm_industry_code", ["industry_code"]),
    ("user", "ix_user_role", ["role"]),
    ("rectification_item", "ix_rectification_item_case_id_status", ["case_id", "status"]),
    ("session_invite", "ix_session_invite_case_id", ["case_id"]),
    ("visit_expert", "ix_visit_expert_expert_id", ["expert_id"]),
    ("coaching_record", "ix_coaching_record_expert_id", ["expert_id"]),
]


def upgrade() -> None:
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
