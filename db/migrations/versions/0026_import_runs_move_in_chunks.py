"""a large orders import moves its staged rows into the shop in chunks, rolled forward once committed

The run records how far the move got (moved_through, the last staged row moved) and the shop's last customer
when the run was committed (known_customers_through), so whoever finishes a killed run moves the rest exactly
as the import would have.

Revision ID: 0026_import_runs_move_in_chunks
Revises: 0025_import_staging
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0026_import_runs_move_in_chunks'
down_revision: str | None = '0025_import_staging'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('import_runs') as batch:
        batch.add_column(sa.Column('moved_through', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('known_customers_through', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('import_runs') as batch:
        batch.drop_column('known_customers_through')
        batch.drop_column('moved_through')
