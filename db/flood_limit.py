"""The shared flood limit's statements: turns booked on each lane's grid and each chat's next free time, on
PostgreSQL's clock (flood_claim_turns, migration 0018), moving a lane's turns back after a late send, a 429's pause
for every lane, and forgetting idle chats.

Each runs as one statement in autocommit: the caller passes a connection of an engine set to AUTOCOMMIT.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Float, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

_CLAIM_TURNS = text(
    "SELECT wait, reserved, db_now FROM flood_claim_turns(:lane, :chats, :gaps, :interval, :catch_up, :horizon)"
).bindparams(bindparam("chats", type_=ARRAY(BigInteger)), bindparam("gaps", type_=ARRAY(Float)))
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
_FORGET_CHATS = text("DELETE FROM flood_chats WHERE free_at < extract(epoch from clock_timestamp()) - 60")


@dataclass(frozen=True)
class Turn:
    """A chat's answer: a booked turn `wait` seconds from the database's now (below 0: slipped, send at once), or,
    not booked, how long the lane is booked ahead or paused (`wait` > 0) or the chat is busy (`wait` < 0)."""

    wait: float
    reserved: bool
    db_now: float  # the database's clock when it answered, seconds since the epoch

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
    connection: AsyncConnection, lane: str, chats: Sequence[tuple[int, float]], grid: Grid
) -> list[Turn]:
    """Book the lane's next turns for `chats` ((chat id, its gap between messages) in sending order), one round trip."""
    result = await connection.execute(_CLAIM_TURNS, {
        "lane": lane, "chats": [chat for chat, _ in chats], "gaps": [gap for _, gap in chats],
        "interval": grid.interval, "catch_up": grid.catch_up, "horizon": grid.horizon,
    })
    return [Turn(float(wait), bool(reserved), float(db_now)) for wait, reserved, db_now in result.all()]


async def pause_every_lane(connection: AsyncConnection, seconds: float) -> None:
    """Telegram answered 429: no lane books a turn for `seconds`."""
    await connection.execute(_PAUSE, {"seconds": seconds})


async def push_back_turns(connection: AsyncConnection, lane: str, seconds: float, booked_at: float) -> None:
    """A turn booked at `booked_at` (the database's clock) was sent `seconds` late: the lane's turns not yet booked
    move back by as much, less what they were moved back since it was booked (moves do not add up: each late send
    needs the turns a second after it that far back, and one move serves them all)."""
    await connection.execute(_PUSH_BACK, {"lane": lane, "seconds": seconds, "booked_at": booked_at})


async def forget_idle_chats(connection: AsyncConnection) -> None:
    """Delete chats whose next free time is a minute past, so a broadcast to 100,000 chats leaves no rows behind."""
    await connection.execute(_FORGET_CHATS)
