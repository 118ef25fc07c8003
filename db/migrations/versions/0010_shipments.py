"""shipments, the shipped quantity of a line and refunds paid

Revision ID: 0010_shipments
Revises: 0009_event_log
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_shipments'
down_revision: str | None = '0009_event_log'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('order_lines', sa.Column('shipped_quantity', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.add_column('refunds', sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('refunds', sa.Column('payment_reference', sa.String(length=100), nullable=True))
    op.create_table(
        'shipments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('carrier', sa.String(length=60), nullable=True),
        sa.Column('tracking_number', sa.String(length=100), nullable=True),
        sa.Column('tracking_url', sa.String(length=500), nullable=True),
        sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_shipments_order_id_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments')),
        sa.UniqueConstraint('order_id', 'tracking_number', name='uq_shipments_order_tracking'),
    )
    op.create_index(op.f('ix_shipments_order_id'), 'shipments', ['order_id'], unique=False)
    op.create_table(
        'shipment_lines',
        sa.Column('shipment_id', sa.Integer(), nullable=False),
        sa.Column('line_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.CheckConstraint('quantity > 0', name=op.f('ck_shipment_lines_quantity_positive')),
        sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], name=op.f('fk_shipment_lines_line_id_order_lines')),
        sa.ForeignKeyConstraint(
            ['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_lines_shipment_id_shipments'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('shipment_id', 'line_id', name=op.f('pk_shipment_lines')),
    )


def downgrade() -> None:
    op.drop_table('shipment_lines')
    op.drop_index(op.f('ix_shipments_order_id'), table_name='shipments')
    op.drop_table('shipments')
    with op.batch_alter_table('refunds') as batch:
        batch.drop_column('payment_reference')
        batch.drop_column('paid_at')
    with op.batch_alter_table('order_lines') as batch:
        batch.drop_column('shipped_quantity')
