"""remember the customer's message with a ticket's Resolved button

Revision ID: 0007_ticket_resolved_button
Revises: 0006_outbox_queue_index
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_ticket_resolved_button'
down_revision: str | None = '0006_outbox_queue_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_button_message_id', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('resolved_button_message_id')
