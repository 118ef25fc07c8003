"""a reply takes the next outbox turn not yet started, instead of queueing behind the turns booked ahead

Revision ID: 0024_flood_replies_displace
Revises: 0023_order_line_added_tax
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.migrate import sql_of_migration

revision: str = '0024_flood_replies_displace'
down_revision: str | None = '0023_order_line_added_tax'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As 0018's, and each outbox turn booked with `p_displaceable` gets a row in flood_turns (its id is `turn_id`) until
# its sender starts it (DELETE ... RETURNING, db/flood_limit.py), so a reply can take it over meanwhile.
CLAIM_TURNS = """
CREATE FUNCTION flood_claim_turns(
    p_lane text, p_chats bigint[], p_chat_gaps double precision[], p_interval double precision,
    p_catch_up double precision, p_horizon double precision, p_displaceable boolean
) RETURNS TABLE (wait double precision, reserved boolean, db_now double precision, turn_id bigint)
LANGUAGE plpgsql AS $$
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
        turn_id := NULL;
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
            IF p_displaceable THEN
                INSERT INTO flood_turns (lane, at, chat_id) VALUES (p_lane, turn, p_chats[i]) RETURNING id INTO turn_id;
            END IF;
            turn := turn + p_interval;
        END IF;
        RETURN NEXT;
    END LOOP;
    IF booked THEN
        UPDATE flood_lanes SET next_turn_at = turn WHERE lane = p_lane;
    END IF;
END $$;
"""

# A reply's turn, one round trip: the lane's first outbox turn not yet started (flood_turns, at most `p_catch_up`
# behind the clock), which it takes over, moving that turn and every later one on; else the lane's next turn. The
# reply may go `early` (`p_early`) before its turn, and the turns after it move on by a spacing less that, once in any
# `p_window` (the grid's time for as many turns as Telegram's window holds): two such head starts in one window would
# spend its room twice, so a reply sooner after the last one goes on its turn and moves the rest a whole spacing on.
# `wait` and `reserved` as flood_claim_turns answers them: not reserved while the lane is paused (`wait` > 0) or the
# chat busy (`wait` < 0). Locks the chat's row before the lane's, as flood_claim_turns does; the chats of the moved
# turns are moved on too where no other call holds them (SKIP LOCKED, so never crosswise).
CLAIM_REPLY_TURN = """
CREATE FUNCTION flood_claim_reply_turn(
    p_lane text, p_chat bigint, p_chat_gap double precision, p_interval double precision,
    p_catch_up double precision, p_early double precision, p_window double precision
) RETURNS TABLE (wait double precision, reserved boolean, db_now double precision, early double precision)
LANGUAGE plpgsql AS $$
DECLARE
    now_s double precision := extract(epoch from clock_timestamp());
    chat_free double precision;
    lane_next double precision;
    lane_paused double precision;
    last_early double precision;
    taken double precision;
    shift double precision;
BEGIN
    db_now := now_s;
    early := 0;
    INSERT INTO flood_chats (chat_id, free_at) VALUES (p_chat, 0) ON CONFLICT (chat_id) DO NOTHING;
    SELECT free_at INTO chat_free FROM flood_chats WHERE chat_id = p_chat FOR UPDATE;
    INSERT INTO flood_lanes (lane, next_turn_at, paused_until) VALUES (p_lane, 0, 0) ON CONFLICT (lane) DO NOTHING;
    SELECT next_turn_at, paused_until, reply_early_at INTO lane_next, lane_paused, last_early
    FROM flood_lanes WHERE lane = p_lane FOR UPDATE;
    reserved := false;
    IF lane_paused > now_s THEN
        wait := lane_paused - now_s;
        RETURN NEXT;
        RETURN;
    END IF;
    IF chat_free > now_s THEN
        wait := now_s - chat_free;
        RETURN NEXT;
        RETURN;
    END IF;
    -- Locked, so a sender starting it meanwhile either starts it first (and it is not taken) or learns it moved.
    SELECT at INTO taken FROM flood_turns WHERE lane = p_lane AND at >= now_s - p_catch_up ORDER BY at LIMIT 1 FOR UPDATE;
    IF abs(coalesce(taken, GREATEST(lane_next, now_s - p_catch_up)) - last_early) >= p_window THEN
        early := p_early;
    END IF;
    shift := p_interval - early;
    IF taken IS NULL THEN
        taken := GREATEST(lane_next, now_s - p_catch_up);
        UPDATE flood_lanes SET next_turn_at = taken + shift WHERE lane = p_lane;
    ELSE
        UPDATE flood_chats SET free_at = free_at + shift WHERE chat_id IN (
            SELECT chat_id FROM flood_chats WHERE chat_id IN (
                SELECT moved.chat_id FROM flood_turns AS moved WHERE moved.lane = p_lane AND moved.at >= taken
            ) AND chat_id <> p_chat FOR UPDATE SKIP LOCKED
        );
        UPDATE flood_turns SET at = at + shift WHERE lane = p_lane AND at >= taken;
        UPDATE flood_lanes SET next_turn_at = next_turn_at + shift WHERE lane = p_lane;
    END IF;
    IF early > 0 THEN
        UPDATE flood_lanes SET reply_early_at = taken WHERE lane = p_lane;
    END IF;
    UPDATE flood_chats SET free_at = GREATEST(taken, now_s) + p_chat_gap WHERE chat_id = p_chat;
    wait := taken - now_s;
    reserved := true;
    RETURN NEXT;
END $$;
"""


def upgrade() -> None:
    # The turn of the last reply that went before its turn (see CLAIM_REPLY_TURN).
    op.add_column('flood_lanes', sa.Column('reply_early_at', sa.Float(), server_default=sa.text('0'), nullable=False))
    # An outbox turn booked and not yet started: a reply may take it over (db/flood_limit.py, claim_reply_turn).
    op.create_table(
        'flood_turns',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('lane', sa.String(length=32), nullable=False),
        sa.Column('at', sa.Float(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_flood_turns')),
    )
    op.create_index('ix_flood_turns_lane_at', 'flood_turns', ['lane', 'at'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            'DROP FUNCTION flood_claim_turns(text, bigint[], double precision[], double precision, double precision, double precision)'
        )
        op.execute(CLAIM_TURNS)
        op.execute(CLAIM_REPLY_TURN)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            'DROP FUNCTION flood_claim_reply_turn(text, bigint, double precision, double precision, double precision,'
            ' double precision, double precision)'
        )
        op.execute(
            'DROP FUNCTION flood_claim_turns(text, bigint[], double precision[], double precision, double precision, double precision, boolean)'
        )
        op.execute(sql_of_migration('0018_flood_turns_ahead.py', 'CLAIM_TURNS'))
    op.drop_index('ix_flood_turns_lane_at', table_name='flood_turns')
    op.drop_table('flood_turns')
    with op.batch_alter_table('flood_lanes') as lanes:
        lanes.drop_column('reply_early_at')

