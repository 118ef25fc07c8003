"""The shared flood limit's statements: turns booked on each lane's grid and each chat's next free time, on
PostgreSQL's clock (flood_claim_turns, migrations 0018 and 0024), a chat held after a late send, a reply taking over the first outbox turn after
the last one started (flood_claim_reply_turn and flood_start_turn, 0024 and 0027), moving a lane's turns back after a late send, a 429's pause for every lane,
and forgetting idle chats.

Each runs as one statement in autocommit: the caller passes a connection of an engine set to AUTOCOMMIT.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Float, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

_CLAIM_TURNS = text(
    "SELECT wait, reserved, db_now, turn_id"
    " FROM flood_claim_turns(:lane, :chats, :gaps, :interval, :catch_up, :horizon, :displaceable)"
).bindparams(bindparam("chats", type_=ARRAY(BigInteger)), bindparam("gaps", type_=ARRAY(Float)))
_CLAIM_REPLY_TURN = text(
    "SELECT wait, reserved, db_now, early FROM flood_claim_reply_turn(:lane, :chat, :gap, :interval, :catch_up, :early, :window)"
)
_START_TURN = text("SELECT at, db_now FROM flood_start_turn(:turn_id)")
_PAUSE = text(
    "UPDATE flood_lanes SET paused_until = GREATEST(paused_until, extract(epoch from clock_timestamp()) + :seconds)"
)
# A move back made since the late turn was booked moved every later turn, so it counts towards this one.
_PUSH_BACK = text("""
    UPDATE flood_lanes SET
        next_turn_at = next_turn_at + GREATEST(0, :seconds - CASE WHEN pushed_at >= :booked_at THEN pushed_by ELSE 0 END),
        pushed_by = GREATEST(:seconds, CASE WHEN pushed_at >= :booked_at THEN pushed_by ELSE 0 END),
        pushed_at = CASE WHEN pushed_at >= :booked_at AND pushed_by >= :seconds THEN pushed_at
                         ELSE extract(epoch from clock_timestamp()) END
    WHERE lane = :lane
""")
_HOLD_CHAT = text(
    "UPDATE flood_chats SET free_at = GREATEST(free_at, extract(epoch from clock_timestamp()) + :gap) WHERE chat_id = :chat"
)
_FORGET_CHATS = text("DELETE FROM flood_chats WHERE free_at < extract(epoch from clock_timestamp()) - 60")
_FORGET_TURNS = text("DELETE FROM flood_turns WHERE at < extract(epoch from clock_timestamp()) - 60")


@dataclass(frozen=True)
class Turn:
    """A chat's answer: a booked turn `wait` seconds from the database's now (below 0: slipped, send at once), or,
    not booked, how long the lane is booked ahead or paused (`wait` > 0) or the chat is busy (`wait` < 0)."""

    wait: float
    reserved: bool
    db_now: float  # the database's clock when it answered, seconds since the epoch
    turn_id: int | None = None  # an outbox turn a reply may take over until it is started (start_turn)
    early: float = 0.0  # a reply's: seconds before its turn it may go

    @property
    def chat_busy_for(self) -> float:
        """Seconds the chat is busy (0 when it is not the chat that stands in the way)."""
        return -self.wait if not self.reserved and self.wait < 0 else 0.0


@dataclass(frozen=True)
class Grid:
    """A lane's turns: `interval` apart, kept when senders are up to `catch_up` late, booked up to `horizon` ahead."""

    interval: float
    catch_up: float
    horizon: float


async def claim_turns(
    connection: AsyncConnection, lane: str, chats: Sequence[tuple[int, float]], grid: Grid, *, displaceable: bool = False
) -> list[Turn]:
    """Book the lane's next turns for `chats` ((chat id, its gap between messages) in sending order), one round trip;
    `displaceable` turns may be taken over by a reply until they are started (start_turn)."""
    result = await connection.execute(_CLAIM_TURNS, {
        "lane": lane, "chats": [chat for chat, _ in chats], "gaps": [gap for _, gap in chats],
        "interval": grid.interval, "catch_up": grid.catch_up, "horizon": grid.horizon, "displaceable": displaceable,
    })
    return [Turn(float(wait), bool(reserved), float(db_now), turn_id) for wait, reserved, db_now, turn_id in result.all()]


async def claim_reply_turn(
    connection: AsyncConnection, lane: str, chat: tuple[int, float], grid: Grid, early: float, window: float
) -> Turn:
    """A reply's turn: the lane's first displaceable turn after the last one started, taken over, or else the lane's next. The reply
    may go `early` before it, once in any `window` seconds of turns; the later turns move on by a spacing less that."""
    chat_id, gap = chat
    result = await connection.execute(_CLAIM_REPLY_TURN, {
        "lane": lane, "chat": chat_id, "gap": gap, "interval": grid.interval, "catch_up": grid.catch_up,
        "early": early, "window": window,
    })
    wait, reserved, db_now, early_by = result.one()
    return Turn(float(wait), bool(reserved), float(db_now), early=float(early_by))


async def start_turn(connection: AsyncConnection, turn_id: int) -> tuple[float, float] | None:
    """A displaceable turn's sender starts it: (when it is due now, the database's now), None if it was forgotten.

    From then on no reply takes over this turn or any before it: a turn that has started cannot move, so one moved
    on from before it would land on it."""
    row = (await connection.execute(_START_TURN, {"turn_id": turn_id})).one_or_none()
    return None if row is None else (float(row[0]), float(row[1]))


async def pause_every_lane(connection: AsyncConnection, seconds: float) -> None:
    """Telegram answered 429: no lane books a turn for `seconds`."""
    await connection.execute(_PAUSE, {"seconds": seconds})


async def push_back_turns(connection: AsyncConnection, lane: str, seconds: float, booked_at: float) -> None:
    """A turn booked at `booked_at` (the database's clock) was sent `seconds` late: the lane's turns not yet booked
    move back by as much, less what they were moved back since it was booked (moves do not add up: each late send
    needs the turns a second after it that far back, and one move serves them all)."""
    await connection.execute(_PUSH_BACK, {"lane": lane, "seconds": seconds, "booked_at": booked_at})


async def hold_chat(connection: AsyncConnection, chat_id: int, gap: float) -> None:
    """A message to the chat went (or was answered) late: its next one waits a whole `gap` from now."""
    await connection.execute(_HOLD_CHAT, {"chat": chat_id, "gap": gap})


async def forget_idle_chats(connection: AsyncConnection) -> None:
    """Delete chats whose next free time is a minute past, so a broadcast to 100,000 chats leaves no rows behind, and
    turns a minute past that no sender started (its process died)."""
    await connection.execute(_FORGET_CHATS)
    await connection.execute(_FORGET_TURNS)
