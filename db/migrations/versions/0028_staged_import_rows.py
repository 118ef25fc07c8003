"""the staging table large products and purchase-orders imports write through

A large products or purchase-orders import stages its planned writes in staged_import_rows a chunk per transaction,
commits the run in one short transaction, then writes them into the shop a chunk per transaction: on SQLite the
bot's writes no longer wait behind a whole file's writing.

Revision ID: 0028_staged_import_rows
Revises: 0027_flood_started_turns
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0028_staged_import_rows'
down_revision: str | None = '0027_flood_started_turns'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'staged_import_rows',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('row', sa.Integer(), nullable=False),
        sa.Column('adds', sa.String(length=64), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_import_rows')),
    )
    op.create_index(op.f('ix_staged_import_rows_run_id'), 'staged_import_rows', ['run_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_staged_import_rows_run_id'), table_name='staged_import_rows')
    op.drop_table('staged_import_rows')
