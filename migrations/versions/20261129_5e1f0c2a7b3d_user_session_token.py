"""user session token: sessions and remember cookies that signing out can end

Revision ID: 5e1f0c2a7b3d
Revises: e4c8b2a75f10
Create Date: 2026-11-29 03:40:00
"""

from alembic import op
import sqlalchemy as sa

revision = '5e1f0c2a7b3d'
down_revision = 'e4c8b2a75f10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_token', sa.String(length=64), server_default='', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('session_token')
