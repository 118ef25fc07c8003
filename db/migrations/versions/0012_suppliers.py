"""suppliers, products' default supplier, and purchase orders' supplier and track record

Revision ID: 0012_suppliers
Revises: 0011_webhooks
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_suppliers'
down_revision: str | None = '0011_webhooks'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'suppliers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('contact', sa.String(length=300), nullable=True),
        sa.Column('lead_time_days', sa.Integer(), nullable=True),
        sa.Column('eta_slip_days', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            'lead_time_days IS NULL OR lead_time_days >= 0', name=op.f('ck_suppliers_lead_time_not_negative')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers')),
        sa.UniqueConstraint('name', name=op.f('uq_suppliers_name')),
    )
    with op.batch_alter_table('products') as batch:
        batch.add_column(sa.Column('supplier_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_products_supplier_id_suppliers'), 'suppliers', ['supplier_id'], ['id'])
        batch.create_index(op.f('ix_products_supplier_id'), ['supplier_id'], unique=False)
    with op.batch_alter_table('purchase_orders') as batch:
        batch.add_column(sa.Column('supplier_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('first_expected_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('date_moves', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch.add_column(sa.Column('received_on', sa.Date(), nullable=True))
        batch.create_foreign_key(
            op.f('fk_purchase_orders_supplier_id_suppliers'), 'suppliers', ['supplier_id'], ['id']
        )
        batch.create_index(op.f('ix_purchase_orders_supplier_id'), ['supplier_id'], unique=False)
    # The date first promised is not known for older purchase orders; the date they have now is the best guess.
    op.execute("UPDATE purchase_orders SET first_expected_on = expected_on")


def downgrade() -> None:
    with op.batch_alter_table('purchase_orders') as batch:
        batch.drop_index(op.f('ix_purchase_orders_supplier_id'))
        batch.drop_constraint(op.f('fk_purchase_orders_supplier_id_suppliers'), type_='foreignkey')
        batch.drop_column('received_on')
        batch.drop_column('date_moves')
        batch.drop_column('first_expected_on')
        batch.drop_column('supplier_id')
    with op.batch_alter_table('products') as batch:
        batch.drop_index(op.f('ix_products_supplier_id'))
        batch.drop_constraint(op.f('fk_products_supplier_id_suppliers'), type_='foreignkey')
        batch.drop_column('supplier_id')
    op.drop_table('suppliers')
