"""store connections: backfill progress, id links, the received-webhook queue and write-back jobs

Revision ID: 0017_store_connections
Revises: 0016_order_lines_fillfactor
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017_store_connections'
down_revision: str | None = '0016_order_lines_fillfactor'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'store_connections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=24), nullable=False),
        sa.Column('shop', sa.String(length=300), nullable=False),
        sa.Column('credentials', sa.JSON(), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('status', sa.Enum('active', 'failing', 'disconnected', name='store_connection_status', native_enum=False, create_constraint=True, length=24), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_webhook_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_sync_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('fanned_out_transaction', sa.BigInteger(), nullable=False),
        sa.Column('fanned_out_event', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_store_connections')),
        sa.UniqueConstraint('platform', 'shop', name='uq_store_connections_platform_shop')
    )
    op.create_table(
        'store_backfills',
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('resource', sa.String(length=24), nullable=False),
        sa.Column('cursor', sa.Text(), nullable=True),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('finished', sa.Boolean(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['connection_id'], ['store_connections.id'], name=op.f('fk_store_backfills_connection_id_store_connections'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('connection_id', 'resource', name=op.f('pk_store_backfills'))
    )
    op.create_table(
        'store_links',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('store_id', sa.String(length=64), nullable=False),
        sa.Column('our_key', sa.String(length=64), nullable=False),
        sa.Column('store_updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['store_connections.id'], name=op.f('fk_store_links_connection_id_store_connections'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_store_links')),
        sa.UniqueConstraint('connection_id', 'kind', 'store_id', name='uq_store_links_store_id')
    )
    op.create_index('ix_store_links_our_key', 'store_links', ['connection_id', 'kind', 'our_key'])
    op.create_table(
        'store_webhooks',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('delivery_key', sa.String(length=200), nullable=False),
        sa.Column('topic', sa.String(length=64), nullable=False),
        sa.Column('resource_id', sa.String(length=64), nullable=True),
        sa.Column('resource_updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=True),
        sa.Column('status', sa.Enum('pending', 'done', 'skipped', 'failed', name='store_webhook_status', native_enum=False, create_constraint=True, length=24), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['connection_id'], ['store_connections.id'], name=op.f('fk_store_webhooks_connection_id_store_connections'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_store_webhooks')),
        sa.UniqueConstraint('connection_id', 'delivery_key', name='uq_store_webhooks_delivery')
    )
    op.create_index('ix_store_webhooks_due', 'store_webhooks', ['status', 'next_attempt_at'])
    op.create_index('ix_store_webhooks_resource', 'store_webhooks', ['connection_id', 'resource_id', 'status', 'id'])
    op.create_table(
        'store_write_backs',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('order_number', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Enum('pending', 'done', 'by_hand', 'failed', name='store_write_back_status', native_enum=False, create_constraint=True, length=24), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('steps', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['connection_id'], ['store_connections.id'], name=op.f('fk_store_write_backs_connection_id_store_connections'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_store_write_backs_event_id_events')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_store_write_backs')),
        sa.UniqueConstraint('connection_id', 'event_id', name='uq_store_write_backs_event')
    )
    op.create_index('ix_store_write_backs_due', 'store_write_backs', ['status', 'next_attempt_at'])
    op.create_index('ix_store_write_backs_order', 'store_write_backs', ['connection_id', 'order_number', 'status', 'id'])


def downgrade() -> None:
    op.drop_index('ix_store_write_backs_order', table_name='store_write_backs')
    op.drop_index('ix_store_write_backs_due', table_name='store_write_backs')
    op.drop_table('store_write_backs')
    op.drop_index('ix_store_webhooks_resource', table_name='store_webhooks')
    op.drop_index('ix_store_webhooks_due', table_name='store_webhooks')
    op.drop_table('store_webhooks')
    op.drop_index('ix_store_links_our_key', table_name='store_links')
    op.drop_table('store_links')
    op.drop_table('store_backfills')
    op.drop_table('store_connections')
