"""add telegram users, link attempts and processed updates

Revision ID: 0002_telegram_chat
Revises: 0001_shop_tables
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002_telegram_chat'
down_revision: str | None = '0001_shop_tables'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('link_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.Enum('deep_link', 'phone', 'order_email', name='link_method', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_attempts'))
    )
    with op.batch_alter_table('link_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_link_attempts_user_at', ['telegram_user_id', 'at'], unique=False)

    op.create_table('processed_updates',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_processed_updates'))
    )
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_updates_processed_at'), ['processed_at'], unique=False)

    op.create_table('telegram_users',
    sa.Column('telegram_user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('telegram_language_code', sa.String(length=16), nullable=True),
    sa.Column('conversation_state', sa.String(length=40), nullable=True),
    sa.Column('conversation_data', sa.JSON(), nullable=False),
    sa.Column('misunderstood_in_a_row', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('telegram_user_id', name=op.f('pk_telegram_users'))
    )


def downgrade() -> None:
    op.drop_table('telegram_users')
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_updates_processed_at'))

    op.drop_table('processed_updates')
    with op.batch_alter_table('link_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_link_attempts_user_at')

    op.drop_table('link_attempts')
