"""lease ticket message relays and keep their retry schedule

Revision ID: 0005_relay_leases
Revises: 0004_support_tickets
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_relay_leases'
down_revision: str | None = '0004_support_tickets'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('worker_id', sa.String(length=64), nullable=True))

    # Relays already waiting are due at once, as they were before the schedule was stored.
    op.execute("UPDATE ticket_messages SET next_attempt_at = created_at")
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.alter_column('next_attempt_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.drop_column('worker_id')
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('next_attempt_at')
