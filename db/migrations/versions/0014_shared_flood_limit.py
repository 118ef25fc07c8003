"""one flood limit for all of a bot's processes: turns shared through PostgreSQL

Revision ID: 0014_shared_flood_limit
Revises: 0013_job_leases
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014_shared_flood_limit'
down_revision: str | None = '0013_job_leases'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One round trip per attempt to send, made just before sending: 0 means "send now" (the lane's next turn and the
# chat's next free time move on); above 0, the lane is busy or paused for that many seconds (ask again then); below
# 0, the chat is busy for that many seconds. Deciding at the moment of sending, on the database server's clock,
# keeps the spacing however late a sender's event loop wakes. The next turn is a full spacing after this one was
# taken, never on a grid a late sender could catch up on: catching up half a turn (as the in-process pacing does,
# guarded there by its windows) let two processes' sends bunch into 429s on a loaded machine. Locks the chat's row before the lane's in every call,
# so two calls never wait for each other crosswise.
TRY_TURN = """
CREATE FUNCTION flood_try_turn(
    p_lane text, p_chat bigint, p_chat_gap double precision, p_interval double precision, p_wait_for_chat boolean
) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    now_s double precision := extract(epoch from clock_timestamp());
    chat_free double precision;
    lane_free double precision;
BEGIN
    INSERT INTO flood_chats (chat_id, free_at) VALUES (p_chat, 0) ON CONFLICT (chat_id) DO NOTHING;
    SELECT free_at INTO chat_free FROM flood_chats WHERE chat_id = p_chat FOR UPDATE;
    IF p_wait_for_chat AND chat_free > now_s THEN
        RETURN now_s - chat_free;
    END IF;
    INSERT INTO flood_lanes (lane, next_turn_at, paused_until) VALUES (p_lane, 0, 0) ON CONFLICT (lane) DO NOTHING;
    SELECT GREATEST(next_turn_at, paused_until) INTO lane_free FROM flood_lanes WHERE lane = p_lane FOR UPDATE;
    IF lane_free > now_s THEN
        RETURN lane_free - now_s;
    END IF;
    UPDATE flood_lanes SET next_turn_at = now_s + p_interval WHERE lane = p_lane;
    UPDATE flood_chats SET free_at = GREATEST(free_at, now_s + p_chat_gap) WHERE chat_id = p_chat;
    RETURN 0;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        'flood_lanes',
        sa.Column('lane', sa.String(length=32), nullable=False),
        sa.Column('next_turn_at', sa.Float(), nullable=False),
        sa.Column('paused_until', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('lane', name=op.f('pk_flood_lanes')),
    )
    op.create_table(
        'flood_chats',
        sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('free_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('chat_id', name=op.f('pk_flood_chats')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(TRY_TURN)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION flood_try_turn(text, bigint, double precision, double precision, boolean)')
    op.drop_table('flood_chats')
    op.drop_table('flood_lanes')
