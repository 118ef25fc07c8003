"""mark broadcasts a merchant sent as urgent, through the shop's quiet hours

Revision ID: 0008_urgent_broadcasts
Revises: 0007_ticket_resolved_button
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_urgent_broadcasts'
down_revision: str | None = '0007_ticket_resolved_button'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgent', sa.Boolean(), server_default=sa.text('false'), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_column('urgent')
