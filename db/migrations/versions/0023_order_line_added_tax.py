"""an order line keeps the tax rate a tax-exclusive store added to its price

A store that shows prices without tax (Shopify's taxesIncluded false) adds each line's tax on top; the line's unit
price is what the customer paid for a unit, that tax included, so a cancel refunds it. The rate (in millionths) is
kept so a substitute's catalogue price, without tax, is charged and compared as the store charges it. 0 for every
line so far: their prices are what was paid.

Revision ID: 0023_order_line_added_tax
Revises: 0022_order_lines_fillfactor_40
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023_order_line_added_tax'
down_revision: str | None = '0022_order_lines_fillfactor_40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('order_lines', sa.Column('added_tax_ppm', sa.Integer(), server_default=sa.text('0'), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('order_lines') as batch:
        batch.drop_column('added_tax_ppm')
