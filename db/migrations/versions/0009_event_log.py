"""the event log the feed and webhooks read

Revision ID: 0009_event_log
Revises: 0008_urgent_broadcasts
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_event_log'
down_revision: str | None = '0008_urgent_broadcasts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('type', sa.String(length=40), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('order_number', sa.String(length=64), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('transaction_number', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
        sa.UniqueConstraint('public_id', name=op.f('uq_events_public_id')),
    )
    op.create_index('ix_events_feed', 'events', ['transaction_number', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_events_feed', table_name='events')
    op.drop_table('events')
