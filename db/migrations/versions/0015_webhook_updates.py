"""webhook updates stored before they are acknowledged, handled in order per chat by any instance

Revision ID: 0015_webhook_updates
Revises: 0014_shared_flood_limit
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_webhook_updates'
down_revision: str | None = '0014_shared_flood_limit'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'webhook_updates',
        sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('chat_key', sa.BigInteger(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_by', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('update_id', name=op.f('pk_webhook_updates')),
    )
    op.create_index('ix_webhook_updates_chat', 'webhook_updates', ['chat_key', 'update_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_webhook_updates_chat', table_name='webhook_updates')
    op.drop_table('webhook_updates')
