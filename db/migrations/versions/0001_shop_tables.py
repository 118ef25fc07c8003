"""create shop tables

Revision ID: 0001_shop_tables
Revises: 
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001_shop_tables'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_type', sa.Enum('customer', 'agent', 'merchant', 'system', name='actor_type', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_log_entity', ['entity_type', 'entity_id'], unique=False)

    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=True),
    sa.Column('notifications_opt_out', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('bot_blocked', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('email', name=op.f('uq_customers_email')),
    sa.UniqueConstraint('telegram_user_id', name=op.f('uq_customers_telegram_user_id'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_phone'), ['phone'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=False),
    sa.Column('price_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('lead_time_days', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('lead_time_days >= 0', name=op.f('ck_products_lead_time_not_negative')),
    sa.CheckConstraint('price_minor >= 0', name=op.f('ck_products_price_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('sku', name=op.f('uq_products_sku'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_category'), ['category'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_orders_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_orders_number'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_customer_id'), ['customer_id'], unique=False)

    op.create_table('product_substitutes',
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('substitute_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.CheckConstraint('product_id <> substitute_id', name=op.f('ck_product_substitutes_not_itself')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_substitutes_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['substitute_id'], ['products.id'], name=op.f('fk_product_substitutes_substitute_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_id', 'substitute_id', name=op.f('pk_product_substitutes'))
    )
    op.create_table('purchase_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('received_quantity', sa.Integer(), nullable=False),
    sa.Column('expected_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'received', 'cancelled', name='purchase_order_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_purchase_orders_quantity_positive')),
    sa.CheckConstraint('received_quantity >= 0 AND received_quantity <= quantity', name=op.f('ck_purchase_orders_received_in_range')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_purchase_orders_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_orders')),
    sa.UniqueConstraint('reference', name=op.f('uq_purchase_orders_reference'))
    )
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.create_index('ix_purchase_orders_supply', ['product_id', 'status', 'expected_on'], unique=False)

    op.create_table('stock_levels',
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('available', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('available >= 0', name=op.f('ck_stock_levels_available_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stock_levels_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_id', name=op.f('pk_stock_levels'))
    )
    op.create_table('order_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_minor', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('allocated', 'partially_allocated', 'backordered', 'shipped', 'cancelled', 'substituted', name='line_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('allocated_quantity', sa.Integer(), nullable=False),
    sa.Column('cancelled_quantity', sa.Integer(), nullable=False),
    sa.Column('substituted_quantity', sa.Integer(), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('eta', sa.Date(), nullable=True),
    sa.Column('eta_basis', sa.Enum('in_stock', 'purchase_order', 'lead_time', name='eta_basis', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('eta_purchase_order_id', sa.Integer(), nullable=True),
    sa.Column('substitute_for_line_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('allocated_quantity >= 0 AND cancelled_quantity >= 0 AND substituted_quantity >= 0 AND allocated_quantity + cancelled_quantity + substituted_quantity <= quantity', name=op.f('ck_order_lines_quantities_in_range')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_lines_quantity_positive')),
    sa.CheckConstraint('unit_price_minor >= 0', name=op.f('ck_order_lines_unit_price_not_negative')),
    sa.ForeignKeyConstraint(['eta_purchase_order_id'], ['purchase_orders.id'], name=op.f('fk_order_lines_eta_purchase_order_id_purchase_orders')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_order_lines_product_id_products')),
    sa.ForeignKeyConstraint(['substitute_for_line_id'], ['order_lines.id'], name=op.f('fk_order_lines_substitute_for_line_id_order_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines'))
    )
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_lines_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_lines_substitute_for_line_id'), ['substitute_for_line_id'], unique=False)
        batch_op.create_index('ix_order_lines_waiting_queue', ['product_id', 'queued_at', 'id'], unique=False, sqlite_where=sa.text("status IN ('backordered', 'partially_allocated')"), postgresql_where=sa.text("status IN ('backordered', 'partially_allocated')"))

    op.create_table('purchase_order_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_order_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('ready_line_ids', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['purchase_order_id'], ['purchase_orders.id'], name=op.f('fk_purchase_order_receipts_purchase_order_id_purchase_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_order_receipts')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_purchase_order_receipts_idempotency_key'))
    )
    with op.batch_alter_table('purchase_order_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_order_receipts_purchase_order_id'), ['purchase_order_id'], unique=False)

    op.create_table('eta_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('old_eta', sa.Date(), nullable=True),
    sa.Column('new_eta', sa.Date(), nullable=True),
    sa.Column('old_basis', sa.Enum('in_stock', 'purchase_order', 'lead_time', name='old_eta_basis', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('new_basis', sa.Enum('in_stock', 'purchase_order', 'lead_time', name='new_eta_basis', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], name=op.f('fk_eta_changes_line_id_order_lines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eta_changes'))
    )
    with op.batch_alter_table('eta_changes', schema=None) as batch_op:
        batch_op.create_index('ix_eta_changes_line_changed', ['line_id', 'changed_at'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.Enum('cancelled', 'substitute_cheaper', name='refund_reason', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('status', sa.Enum('owed', 'paid', name='refund_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_minor >= 0', name=op.f('ck_refunds_amount_not_negative')),
    sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], name=op.f('fk_refunds_line_id_order_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('line_id', 'reason', name='uq_refunds_line_reason')
    )


def downgrade() -> None:
    op.drop_table('refunds')
    with op.batch_alter_table('eta_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_eta_changes_line_changed')

    op.drop_table('eta_changes')
    with op.batch_alter_table('purchase_order_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_order_receipts_purchase_order_id'))

    op.drop_table('purchase_order_receipts')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_order_lines_waiting_queue', sqlite_where=sa.text("status IN ('backordered', 'partially_allocated')"), postgresql_where=sa.text("status IN ('backordered', 'partially_allocated')"))
        batch_op.drop_index(batch_op.f('ix_order_lines_substitute_for_line_id'))
        batch_op.drop_index(batch_op.f('ix_order_lines_order_id'))

    op.drop_table('order_lines')
    op.drop_table('stock_levels')
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_purchase_orders_supply')

    op.drop_table('purchase_orders')
    op.drop_table('product_substitutes')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_customer_id'))

    op.drop_table('orders')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_category'))

    op.drop_table('products')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_phone'))

    op.drop_table('customers')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity')
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
