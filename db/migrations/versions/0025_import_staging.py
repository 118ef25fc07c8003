"""import runs and the staging table a large orders import writes through

A large import writes its checked rows into staged_order_lines in short transactions, then moves them into the
shop in one: on SQLite the bot's writes no longer wait behind a whole file's writing.

Revision ID: 0025_import_staging
Revises: 0024_flood_replies_displace
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0025_import_staging'
down_revision: str | None = '0024_flood_replies_displace'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'import_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('actor_type', sa.String(length=24), nullable=False),
        sa.Column('actor_id', sa.String(length=64), nullable=True),
        sa.Column('holder', sa.String(length=128), nullable=False),
        sa.Column('alive_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('moved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('settled_through', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs')),
    )
    op.create_table(
        'staged_order_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('row', sa.Integer(), nullable=False),
        sa.Column('order_number', sa.String(length=64), nullable=False),
        sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('customer_name', sa.String(length=200), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('language', sa.String(length=8), nullable=True),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('unit_price_minor', sa.Integer(), nullable=False),
        sa.Column('added_tax_ppm', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('order_details', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_order_lines')),
    )
    op.create_index(op.f('ix_staged_order_lines_run_id'), 'staged_order_lines', ['run_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_staged_order_lines_run_id'), table_name='staged_order_lines')
    op.drop_table('staged_order_lines')
    op.drop_table('import_runs')
