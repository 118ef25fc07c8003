"""index the outbox queue in the order workers claim it

Revision ID: 0006_outbox_queue_index
Revises: 0005_relay_leases
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0006_outbox_queue_index'
down_revision: str | None = '0005_relay_leases'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Workers take the most urgent pending messages first (ORDER BY priority, id LIMIT n). With this index the
    # database reads them in that order and stops after n; without it every claim sorted the whole backlog,
    # 9 ms a claim on PostgreSQL with 10,000 broadcast messages waiting.
    op.create_index('ix_outbox_messages_queue', 'outbox_messages', ['status', 'priority', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_messages_queue', table_name='outbox_messages')
