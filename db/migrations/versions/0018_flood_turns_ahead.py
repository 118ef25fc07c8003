"""the shared flood limit books turns ahead on each lane's grid, several in one round trip

Revision ID: 0018_flood_turns_ahead
Revises: 0017_store_connections
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.migrate import sql_of_migration

revision: str = '0018_flood_turns_ahead'
down_revision: str | None = '0017_store_connections'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One round trip books turns for several chats of one lane: a row per chat, in the order given, each with the
# database's now (`db_now`, seconds since the epoch) for the callers to set their clocks by. `reserved`: the chat
# sends at `wait` seconds from the database's now (below 0: at once, its turn slipped by that much). Otherwise `wait`
# above 0 is how long the lane is booked or paused beyond the horizon (ask again then), below 0 how long the chat is
# busy. Turns follow a grid `p_interval` apart that is kept when senders are a little late (up to `p_catch_up`
# behind the clock), so lateness does not add up into a lower rate, and is booked at most `p_horizon` ahead of the
# clock, so a process that dies leaves at most that much unused. A chat's next free time moves a gap past its turn.
# Locks the chats' rows (by id) before the lane's in every call, so two calls never wait for each other crosswise.
CLAIM_TURNS = """
CREATE FUNCTION flood_claim_turns(
    p_lane text, p_chats bigint[], p_chat_gaps double precision[], p_interval double precision,
    p_catch_up double precision, p_horizon double precision
) RETURNS TABLE (wait double precision, reserved boolean, db_now double precision) LANGUAGE plpgsql AS $$
DECLARE
    now_s double precision := extract(epoch from clock_timestamp());
    turn double precision;
    chat_free double precision;
    booked boolean := false;
BEGIN
    INSERT INTO flood_chats (chat_id, free_at) SELECT DISTINCT c, 0 FROM unnest(p_chats) AS c ON CONFLICT (chat_id) DO NOTHING;
    PERFORM 1 FROM flood_chats WHERE chat_id = ANY(p_chats) ORDER BY chat_id FOR UPDATE;
    INSERT INTO flood_lanes (lane, next_turn_at, paused_until) VALUES (p_lane, 0, 0) ON CONFLICT (lane) DO NOTHING;
    SELECT GREATEST(next_turn_at, paused_until, now_s - p_catch_up) INTO turn FROM flood_lanes WHERE lane = p_lane FOR UPDATE;
    db_now := now_s;
    FOR i IN 1 .. coalesce(array_length(p_chats, 1), 0) LOOP
        SELECT free_at INTO chat_free FROM flood_chats WHERE chat_id = p_chats[i];
        IF turn > now_s + p_horizon THEN
            wait := turn - p_horizon - now_s;
            reserved := false;
        ELSIF chat_free > GREATEST(turn, now_s) THEN
            wait := now_s - chat_free;
            reserved := false;
        ELSE
            wait := turn - now_s;
            reserved := true;
            booked := true;
            UPDATE flood_chats SET free_at = GREATEST(turn, now_s) + p_chat_gaps[i] WHERE chat_id = p_chats[i];
            turn := turn + p_interval;
        END IF;
        RETURN NEXT;
    END LOOP;
    IF booked THEN
        UPDATE flood_lanes SET next_turn_at = turn WHERE lane = p_lane;
    END IF;
END $$;
"""


def upgrade() -> None:
    # The last move back of the lane's turns after a late send (db/flood_limit.py, push_back_turns).
    op.add_column('flood_lanes', sa.Column('pushed_at', sa.Float(), server_default=sa.text('0'), nullable=False))
    op.add_column('flood_lanes', sa.Column('pushed_by', sa.Float(), server_default=sa.text('0'), nullable=False))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION flood_try_turn(text, bigint, double precision, double precision, boolean)')
        op.execute(CLAIM_TURNS)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            'DROP FUNCTION flood_claim_turns(text, bigint[], double precision[], double precision, double precision, double precision)'
        )
        op.execute(sql_of_migration('0014_shared_flood_limit.py', 'TRY_TURN'))
    with op.batch_alter_table('flood_lanes') as lanes:
        lanes.drop_column('pushed_by')
        lanes.drop_column('pushed_at')

