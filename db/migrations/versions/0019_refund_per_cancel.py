"""a line may owe several cancel refunds: one for each time the store lowered its quantity

A store's staff can take units off an order line more than once (5 → 3, later 3 → 1); each cancel owes its own
refund, which the store may pay before the next. The cancel stays idempotent through the locked line (its waiting
quantity), not through one refund per line and reason. The line's refunds are still found by an index.

Revision ID: 0019_refund_per_cancel
Revises: 0018_flood_turns_ahead
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0019_refund_per_cancel'
down_revision: str | None = '0018_flood_turns_ahead'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('refunds') as batch:
        batch.drop_constraint('uq_refunds_line_reason', type_='unique')
        batch.create_index('ix_refunds_line_id', ['line_id'])


def downgrade() -> None:
    with op.batch_alter_table('refunds') as batch:
        batch.drop_index('ix_refunds_line_id')
        batch.create_unique_constraint('uq_refunds_line_reason', ['line_id', 'reason'])
