"""Telegram's flood limit kept for the whole bot, across every process that sends for it, through PostgreSQL.

Telegram counts per bot, so the serving processes' replies and relays and the `deliver` processes' outbox lanes
draw on one limit. Just before each send the sender asks the database for its lane's turn (flood_try_turn, one
round trip, in autocommit): turns are spaced evenly at the outbox's share of OUTBOX_RATE_PER_SECOND (or of the paid rate) on the
database server's clock, the one all processes share, so together they keep to it however many processes there
are and whichever of them is idle; a sender told to wait asks again after that time. Nothing is reserved ahead,
so a process that dies holds no share at all. The same call keeps each chat's one message a second (a group's
twenty a minute) across processes: an outbox send to a chat another process just wrote to waits, or goes back
to the queue (ChatBusy), while a reply goes at its turn and pushes the chat's next outbox message back. After a
429 every process pauses.

SQLite is one machine's database with one process writing, where FloodControl alone keeps the limit.
"""

import asyncio
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.delivery.rate_limits import (
    GROUP_PER_MINUTE,
    OUTBOX_SHARE,
    PAID_OUTBOX_SHARE,
    PRIVATE_CHAT_PER_SECOND,
    FloodControl,
    Lane,
    _Permit,
    process_flood_control,
)

log = logging.getLogger(__name__)

# Seconds added to a chat's gap, so a send still arrives a full gap after the one before it however the way
# to Telegram jitters.
CHAT_GAP_MARGIN = 0.1
# Turns asked for between deletions of chats whose next free time is past a minute ago.
_FORGET_CHATS_EVERY = 1000

_TRY_TURN = text("SELECT flood_try_turn(:lane, :chat, :chat_gap, :interval, :wait_for_chat)")
_PAUSE = text(
    "UPDATE flood_lanes SET paused_until = GREATEST(paused_until, extract(epoch from clock_timestamp()) + :seconds)"
)
_FORGET_CHATS = text("DELETE FROM flood_chats WHERE free_at < extract(epoch from clock_timestamp()) - 60")


class ChatBusy(Exception):
    """Another process wrote to this chat a moment ago; an outbox message to it waits `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the chat is busy for {seconds:.2f} s")
        self.seconds = seconds


class SharedFloodControl(FloodControl):
    """FloodControl whose overall, per-chat and 429 limits hold across processes (see the module's docstring).

    This process's own windows still count its sends, as a second guard; its even spacing gives way to the
    database's turns.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        rate_per_second: float,
        *,
        paid_rate_per_second: float | None = None,
        chat_wait_limit: float = 2.0,
    ) -> None:
        super().__init__(rate_per_second, paid_rate_per_second=paid_rate_per_second)
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._chat_wait_limit = chat_wait_limit
        self._intervals = {Lane.STANDARD: 1 / (rate_per_second * OUTBOX_SHARE)}
        if paid_rate_per_second:
            self._intervals[Lane.PAID_BROADCAST] = 1 / (paid_rate_per_second * PAID_OUTBOX_SHARE)
        self._turns = 0
        self._chores: set[asyncio.Task[None]] = set()

    def wait_for(self, chat_id: int, lane: Lane = Lane.STANDARD) -> float:
        """Seconds until this process knows a send could start: only a pause; the chat is asked with the turn."""
        return self.paused_for()

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nothing starts here for `seconds`, and the other processes are told to wait too."""
        super().pause(seconds)
        self._in_background(self._pause_everyone(seconds))

    async def _acquire(self, chat_id: int, lane: Lane, interactive: bool, place: int | None = None) -> _Permit:
        # The database hands out each chat's turns one at a time, first come first served, so `place` (the
        # in-process order of a chat's messages) is not needed here.
        # Replies go in the standard lane; in paid mode only broadcast messages take the paid lane's turns.
        booked_lane = Lane.STANDARD if interactive or lane not in self._intervals else lane
        while True:
            while (paused := self.paused_for()) > 0:
                await asyncio.sleep(paused)
            wait = await self._try_turn(booked_lane, chat_id, wait_for_chat=not interactive)
            if wait == 0:
                # Counted in this process's windows too; the spacing was the database's.
                return self._start(self._monotonic(), chat_id, lane, interactive=True)
            if -wait > self._chat_wait_limit:
                raise ChatBusy(-wait)
            await asyncio.sleep(abs(wait))

    async def _try_turn(self, lane: Lane, chat_id: int, *, wait_for_chat: bool) -> float:
        gap = 60 / GROUP_PER_MINUTE if chat_id < 0 else 1 / PRIVATE_CHAT_PER_SECOND
        parameters: dict[str, Any] = {
            "lane": lane.value, "chat": chat_id, "chat_gap": gap + CHAT_GAP_MARGIN,
            "interval": self._intervals[lane], "wait_for_chat": wait_for_chat,
        }
        wait = float(await self._scalar(_TRY_TURN, parameters))
        self._turns += 1
        if self._turns % _FORGET_CHATS_EVERY == 0:
            self._in_background(self._run(_FORGET_CHATS, {}))
        return wait

    async def _pause_everyone(self, seconds: float) -> None:
        await self._run(_PAUSE, {"seconds": seconds})

    async def _run(self, statement: Any, parameters: dict[str, Any]) -> None:
        try:
            await self._scalar(statement, parameters)
        except Exception:  # noqa: BLE001 - housekeeping; the next send's turn still keeps the limit
            log.warning("the shared flood limit could not be updated", exc_info=True)

    async def _scalar(self, statement: Any, parameters: dict[str, Any]) -> Any:
        """Run one statement in autocommit on a connection from the process's pool (no COMMIT round trip)."""
        async with self._engine.connect() as connection:
            result = await connection.execute(statement, parameters)
            return result.scalar() if result.returns_rows else None

    def _in_background(self, chore: Any) -> None:
        task = asyncio.get_running_loop().create_task(chore)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)


def flood_control_for(settings: Settings, engine: AsyncEngine) -> FloodControl:
    """The flood control of a process sending for the bot: shared with the bot's other processes on PostgreSQL."""
    if engine.dialect.name != "postgresql":
        return process_flood_control(settings)
    return SharedFloodControl(
        engine,
        settings.outbox_rate_per_second,
        paid_rate_per_second=settings.paid_broadcast_rate_per_second if settings.paid_broadcasts else None,
    )
