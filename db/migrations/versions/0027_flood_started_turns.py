"""a reply takes over only outbox turns after the last one started, so no turn moves onto one already started

A sender starts its turn a few milliseconds before it is due, and the senders of different processes start theirs at
different leads: a later turn could be started while an earlier one was not. A reply taking over that earlier turn
moved it a spacing on, onto the later one that had already started and could not move, and the two went out in the
same millisecond (a 429 in the scale-out test). Starting a turn now records it on the lane, under the lane's lock that
a reply's claim holds too, and a reply takes only a turn after the last one started.

Revision ID: 0027_flood_started_turns
Revises: 0026_import_runs_move_in_chunks
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.migrate import sql_of_migration

revision: str = '0027_flood_started_turns'
down_revision: str | None = '0026_import_runs_move_in_chunks'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A sender starts its displaceable turn: the lane's row is locked first (as a reply's claim locks it, before the
# turns), then the turn is deleted and recorded as the lane's last started. Answers when it is due now and the
# database's now; nothing when the turn is gone (forgotten as a minute old).
START_TURN = """
CREATE FUNCTION flood_start_turn(p_turn_id bigint)
RETURNS TABLE (at double precision, db_now double precision)
LANGUAGE plpgsql AS $$
DECLARE
    turn_lane text;
BEGIN
    SELECT lane INTO turn_lane FROM flood_turns WHERE id = p_turn_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM 1 FROM flood_lanes WHERE lane = turn_lane FOR UPDATE;
    DELETE FROM flood_turns WHERE id = p_turn_id RETURNING flood_turns.at INTO at;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE flood_lanes SET last_started_at = GREATEST(last_started_at, at) WHERE lane = turn_lane;
    db_now := extract(epoch from clock_timestamp());
    RETURN NEXT;
END $$;
"""

# As 0024's, but the turn taken over is the first after the lane's last started one (`last_started_at`).
CLAIM_REPLY_TURN = """
CREATE OR REPLACE FUNCTION flood_claim_reply_turn(
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
    last_started double precision;
    taken double precision;
    shift double precision;
BEGIN
    db_now := now_s;
    early := 0;
    INSERT INTO flood_chats (chat_id, free_at) VALUES (p_chat, 0) ON CONFLICT (chat_id) DO NOTHING;
    SELECT free_at INTO chat_free FROM flood_chats WHERE chat_id = p_chat FOR UPDATE;
    INSERT INTO flood_lanes (lane, next_turn_at, paused_until) VALUES (p_lane, 0, 0) ON CONFLICT (lane) DO NOTHING;
    SELECT next_turn_at, paused_until, reply_early_at, last_started_at INTO lane_next, lane_paused, last_early, last_started
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
    -- No sender starts a turn while the lane is locked, so every turn from the one taken on is still free to move.
    SELECT flood_turns.at INTO taken FROM flood_turns
    WHERE lane = p_lane AND flood_turns.at >= now_s - p_catch_up AND flood_turns.at > last_started
    ORDER BY flood_turns.at LIMIT 1 FOR UPDATE;
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
        UPDATE flood_turns SET at = flood_turns.at + shift WHERE lane = p_lane AND flood_turns.at >= taken;
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
    op.add_column('flood_lanes', sa.Column('last_started_at', sa.Float(), server_default=sa.text('0'), nullable=False))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(START_TURN)
        op.execute(CLAIM_REPLY_TURN)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION flood_start_turn(bigint)')
        op.execute(sql_of_migration('0024_flood_replies_displace.py', 'CLAIM_REPLY_TURN').replace(
            'CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION', 1
        ))
    with op.batch_alter_table('flood_lanes') as lanes:
        lanes.drop_column('last_started_at')
