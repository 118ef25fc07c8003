"""Telegram's flood limit kept for the whole bot, across every process that sends for it, through PostgreSQL.

Telegram counts per bot, so the serving processes' replies and relays and the `deliver` processes' outbox lanes
draw on one limit. A sender books its turn in the database (db/flood_limit.py, one round trip for a whole batch
of an outbox worker's messages), then sleeps until it and sends. Turns lie on a grid at the outbox's share of
OUTBOX_RATE_PER_SECOND (or of the paid rate) on the database server's clock, the one all processes share, so
together they keep to it however many processes there are and whichever of them is idle.

The grid is kept when a sender asks a little late (CATCH_UP), so lateness does not add up into a lower rate. The
fake Bot API, like Telegram, refuses a 31st send within any one second, so a grid at 98 % of the rate leaves the 30
turns after any send 20 ms more than a second, and that is all the burst this limit can allow. Telegram sees a send
somewhere between its start and its answer, so a send counts as late by when its answer came back, as the process's
own FloodControl counts it: an answer more than ON_TIME after the turn was due (an event loop woken late, a slow
request; the reading of the database's clock counts its doubt) moves the lane's turns not yet booked back by the
excess, before the turns a second on, which it could bunch with, are booked (a send that starts late moves them at
once, and again by what its answer adds). So a loaded machine sends more slowly rather than into 429s. Outbox turns
are booked at most OUTBOX_HORIZON ahead, so a process that dies leaves a fraction of a second unused.

Replies do not queue behind those booked turns: a reply takes over the first outbox turn after the last one a sender
has started, which moves on with every later one (its sender starts it a round trip before it is due, START_AHEAD at
least, learning when it is due now). A started turn cannot move, and senders in different processes start theirs at
different leads, so a reply never takes a turn before one already started: moved on, it would land on it (this drew
one 429 in most runs of the end-to-end test of three serving and two sending processes, two sends a millisecond apart,
until starting a turn was recorded on the lane). The room the grid leaves beyond ON_TIME (and SPARE) lets the reply
go that much before the turn it took, once in any window's worth of turns, and the turns after it move on by only the
rest of a spacing: at 30/s a reply waits at most about 29 ms for its turn (37 ms without the head start), and costs
the outbox 26 ms of sending time rather than a whole 34 ms spacing.

The same call keeps each chat's one message a second (a group's twenty a minute) across processes, for replies as
much as for outbox messages: a reply to a chat another process just wrote to waits for the chat's next free time;
an outbox message waits too, or goes back to the queue (ChatBusy). A send that starts, or is answered, more than
LATE_FOR_CHAT after its turn holds its chat a whole gap from then, as its chat's next message was booked a gap after
the turn, not after the moment Telegram saw this one. After a 429 every process pauses.

SQLite is one machine's database with one process writing, where FloodControl alone keeps the limit.
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

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
from db.flood_limit import (
    Grid,
    Turn,
    claim_reply_turn,
    claim_turns,
    forget_idle_chats,
    hold_chat,
    pause_every_lane,
    push_back_turns,
    start_turn,
)

log = logging.getLogger(__name__)

# Seconds added to a chat's gap, so a send still arrives a full gap after the one before it however the way
# to Telegram jitters.
CHAT_GAP_MARGIN = 0.1
# Seconds after its turn a send may start, or its answer come back, before the chat's next message is held a whole
# gap from then: booked a gap after the turn, it could otherwise reach Telegram within a second of this one.
LATE_FOR_CHAT = CHAT_GAP_MARGIN / 2
# Seconds after its turn a send's answer may come back; see the module's docstring for why no more.
ON_TIME = 0.010
# Seconds behind the clock the grid is kept rather than started afresh: a sender that asks that late still sends
# on its turn, within ON_TIME once the round trip is counted.
CATCH_UP = 0.003
# Seconds ahead of the clock the outbox books turns: at 30/s nine, a batch's share among a few workers.
OUTBOX_HORIZON = 0.3
# Seconds of the grid's room in Telegram's window kept beyond ON_TIME: the reading of the database's clock, rounding.
SPARE = 0.002
# Seconds before its turn an outbox sender starts it (from then on no reply takes it over) at least; more when the
# round trips that start turns take longer, up to START_AHEAD_AT_MOST.
START_AHEAD = 0.003
START_AHEAD_AT_MOST = 0.03
# Seconds a booked turn stays this process's to use; one older was missed and is forgotten.
FORGET_BOOKED_AFTER = 1.0
# Round trips to the database whose timing sets this process's reading of the database's clock.
CLOCK_SAMPLES = 50
# Turns booked between deletions of chats whose next free time is past a minute ago.
_FORGET_CHATS_EVERY = 1000


class ChatBusy(Exception):
    """Another process wrote to this chat a moment ago; an outbox message to it waits `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the chat is busy for {seconds:.2f} s")
        self.seconds = seconds


def chat_gap(chat_id: int) -> float:
    """Seconds between two messages to a chat, margin included: a private chat's one a second, a group's 3 s."""
    return (60 / GROUP_PER_MINUTE if chat_id < 0 else 1 / PRIVATE_CHAT_PER_SECOND) + CHAT_GAP_MARGIN


@dataclass
class _DatabaseClock:
    """The database's clock read on this process's: from the round trip, of the last CLOCK_SAMPLES, that took least
    time, since the database read its clock somewhere between asking and hearing back."""

    samples: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=CLOCK_SAMPLES))  # (doubt, offset)

    def add(self, asked: float, answered: float, db_now: float) -> None:
        self.samples.append(((answered - asked) / 2, db_now - (asked + answered) / 2))

    def local(self, db_time: float) -> float:
        """`db_time` on this process's clock."""
        return db_time - min(self.samples)[1]

    def doubt(self) -> float:
        """Seconds the reading may be off, either way."""
        return min(self.samples)[0] if self.samples else 0.0


@dataclass(frozen=True)
class _Booking:
    """A turn booked for a chat: due `at` on this process's clock, booked `booked_at` on the database's; an outbox
    turn a reply may take over until it is started has its `turn_id`."""

    at: float
    booked_at: float
    turn_id: int | None = None
    early: float = 0.0  # a reply's: seconds before its turn it may go


@dataclass
class _TurnPermit(_Permit):
    """A send on a booked turn, held until its answer comes back."""

    chat_id: int = 0
    lane: Lane = Lane.STANDARD
    booking: _Booking = _Booking(0.0, 0.0)


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
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(rate_per_second, paid_rate_per_second=paid_rate_per_second, monotonic=monotonic)
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._chat_wait_limit = chat_wait_limit
        self._intervals = {Lane.STANDARD: 1 / (rate_per_second * OUTBOX_SHARE)}
        # A reply may go this much before the turn it takes over (once in `_reply_window`), and the turns after it
        # move on by the rest of a spacing: the room the grid leaves in Telegram's window (`limit` sends in
        # `period`) beyond ON_TIME.
        self._reply_window = self._standard.limit * self._intervals[Lane.STANDARD]
        self._reply_early = max(0.0, self._reply_window - self._standard.period - ON_TIME - SPARE)
        if paid_rate_per_second:
            self._intervals[Lane.PAID_BROADCAST] = 1 / (paid_rate_per_second * PAID_OUTBOX_SHARE)
        self._booked: dict[tuple[int, Lane], _Booking] = {}
        # The outbox's workers ask for turns one at a time, none while the lane is known to be booked ahead.
        self._asking = {lane: asyncio.Lock() for lane in Lane}
        self._lane_full_until = dict.fromkeys(Lane, 0.0)
        self._push_backs: dict[Lane, tuple[float, float]] = {}  # lane -> (seconds, booked_at) not yet sent
        self._clock = _DatabaseClock()
        self._start_ahead = START_AHEAD
        self.round_trips = 0
        self.late_turns = 0
        self._chores: set[asyncio.Task[None]] = set()

    def wait_for(self, chat_id: int, lane: Lane = Lane.STANDARD) -> float:
        """Seconds until this process knows a send could start: only a pause; the chat is asked with the turn."""
        return self.paused_for()

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nothing starts here for `seconds`, and the other processes are told to wait too."""
        super().pause(seconds)
        self._in_background(self._run(pause_every_lane, seconds))

    async def book(self, chat_ids: Sequence[int], lane: Lane = Lane.STANDARD) -> None:
        """Book turns ahead for the outbox messages about to be sent to `chat_ids`, in this order, in one round trip;
        those the lane has no room for yet book their own when they are sent."""
        booked_lane = self._booked_lane(lane, interactive=False)
        if not chat_ids or (chat_ids[0], booked_lane) in self._booked:
            return  # the next message has its turn; the others book theirs when it is their go
        now = self._monotonic()
        for key in [key for key, booking in self._booked.items() if booking.at < now - FORGET_BOOKED_AFTER]:
            del self._booked[key]
        chats = [chat for chat in dict.fromkeys(chat_ids) if (chat, booked_lane) not in self._booked]
        async with self._asking[booked_lane]:
            if self._monotonic() < self._lane_full_until[booked_lane]:
                return  # no room yet: the message books its own turn when it is sent
            for chat, (turn, booking) in zip(chats, await self._claim_for_outbox(booked_lane, chats)):
                if turn.reserved:
                    self._booked[(chat, booked_lane)] = booking

    async def _acquire(self, chat_id: int, lane: Lane, interactive: bool, place: int | None = None) -> _Permit:
        # The database hands out each chat's turns one at a time, first come first served, so `place` (the
        # in-process order of a chat's messages) is not needed here.
        booked_lane = self._booked_lane(lane, interactive)
        while True:
            while (paused := self.paused_for()) > 0:
                await asyncio.sleep(paused)
            booking = self._booked.pop((chat_id, booked_lane), None)
            if booking is None:
                turn, booking = await (self._claim_for_reply(chat_id) if interactive else self._claim_in_turn(booked_lane, chat_id))
                if not turn.reserved:
                    await self._wait_for_room(turn, interactive)
                    continue
            if booking.turn_id is not None:
                await self._sleep_until(booking.at - self._start_ahead)
                booking = await self._start_turn(booking)  # a reply may have taken it over and moved it on
            await self._sleep_until(booking.at - booking.early)
            self._push_back_if_late(booked_lane, booking)  # started late: the turns a second on move back at once
            if self._monotonic() - booking.at > LATE_FOR_CHAT:
                await self._run(hold_chat, chat_id, chat_gap(chat_id))
            # Counted in this process's windows too; the spacing was the database's.
            permit = self._start(self._monotonic(), chat_id, lane, interactive=True)
            return _TurnPermit(permit.windows, chat_id=chat_id, lane=booked_lane, booking=booking)

    def _finish(self, permit: _Permit) -> None:
        if not permit.finished and isinstance(permit, _TurnPermit):
            # Telegram saw the send somewhere before its answer came back: an answer later than ON_TIME after the
            # turn may mean it arrived that late, however promptly it started.
            self._push_back_if_late(permit.lane, permit.booking)
            if self._monotonic() - permit.booking.at > LATE_FOR_CHAT:
                self._in_background(self._run(hold_chat, permit.chat_id, chat_gap(permit.chat_id)))
        super()._finish(permit)

    def _push_back_if_late(self, lane: Lane, booking: _Booking) -> None:
        if (late := self._monotonic() - booking.at + self._clock.doubt() - ON_TIME) > 0:
            # Late, this send may reach Telegram closer to the turns a second on than the grid allows: move the
            # turns not yet booked (those a second on, where Telegram's window would see them bunch) back by as much.
            self._push_back(lane, late, booking.booked_at)

    def _push_back(self, lane: Lane, seconds: float, booked_at: float) -> None:
        """Move the lane's unbooked turns back in the background; this process's late sends meanwhile go in one move."""
        self.late_turns += 1
        if (waiting := self._push_backs.get(lane)) is not None:
            self._push_backs[lane] = (max(waiting[0], seconds), min(waiting[1], booked_at))
            return
        self._push_backs[lane] = (seconds, booked_at)
        self._in_background(self._send_push_back(lane))

    async def _send_push_back(self, lane: Lane) -> None:
        await asyncio.sleep(0)  # late sends of this moment join in
        seconds, booked_at = self._push_backs.pop(lane)
        await self._run(push_back_turns, lane.value, seconds, booked_at)

    def _booked_lane(self, lane: Lane, interactive: bool) -> Lane:
        # Replies go in the standard lane; in paid mode only broadcast messages take the paid lane's turns.
        return Lane.STANDARD if interactive or lane not in self._intervals else lane

    async def _claim_for_reply(self, chat_id: int) -> tuple[Turn, _Booking]:
        """The first outbox turn after the last one started, taken over, or the lane's next."""
        grid = Grid(self._intervals[Lane.STANDARD], CATCH_UP, 0.0)
        chat = (chat_id, chat_gap(chat_id))
        turn = await self._ask(claim_reply_turn, Lane.STANDARD.value, chat, grid, self._reply_early, self._reply_window)
        return turn, self._booking(turn)

    async def _start_turn(self, booking: _Booking) -> _Booking:
        """Start a turn a reply could take over: from now on it is this process's, when the database says it is due."""
        assert booking.turn_id is not None
        asked = self._monotonic()
        async with self._engine.connect() as connection:
            started = await start_turn(connection, booking.turn_id)
        if started is None:
            return booking
        at, db_now = started
        answered = self._monotonic()
        self._clock.add(asked, answered, db_now)
        # Follows the round trips' time, an eighth of the way a time: one slow one does not make every start early.
        self._start_ahead += (min(max(answered - asked, START_AHEAD), START_AHEAD_AT_MOST) - self._start_ahead) / 8
        return _Booking(self._clock.local(at), booking.booked_at)

    async def _claim_in_turn(self, lane: Lane, chat_id: int) -> tuple[Turn, _Booking]:
        """One outbox message's turn, asked by one of this process's workers at a time, once the lane has room."""
        async with self._asking[lane]:
            await self._sleep_until(self._lane_full_until[lane])
            [answer] = await self._claim_for_outbox(lane, [chat_id])
            return answer

    async def _claim_for_outbox(self, lane: Lane, chats: list[int]) -> list[tuple[Turn, _Booking]]:
        answers = await self._claim(lane, chats, OUTBOX_HORIZON)
        # Booked to the horizon: ask again once a third of it is free, for a few turns at a time rather than one.
        full_for = max((turn.wait for turn, _ in answers if not turn.reserved and turn.wait > 0), default=0.0)
        if full_for:
            self._lane_full_until[lane] = self._monotonic() + full_for + OUTBOX_HORIZON / 3
        return answers

    async def _wait_for_room(self, turn: Turn, interactive: bool) -> None:
        """Sleep while the chat is busy, or a reply's lane booked ahead (an outbox message waits for its lane in
        _claim_in_turn); an outbox message hands a long-busy chat back."""
        busy = turn.chat_busy_for
        if busy > self._chat_wait_limit and not interactive:
            raise ChatBusy(busy)
        if busy or interactive:
            await asyncio.sleep(busy or turn.wait)

    async def _sleep_until(self, at: float) -> None:
        """Sleep until `at` on this process's clock."""
        if (ahead := at - self._monotonic()) > 0:
            await asyncio.sleep(ahead)

    async def _claim(self, lane: Lane, chats: list[int], horizon: float) -> list[tuple[Turn, _Booking]]:
        """The database's answer for each chat, with the turn (if booked) on this process's clock."""
        grid = Grid(self._intervals[lane], CATCH_UP, horizon)
        # Replies take over the standard lane's outbox turns; the paid lane's are the broadcast's alone.
        chat_gaps = [(chat, chat_gap(chat)) for chat in chats]
        turns = await self._ask(claim_turns, lane.value, chat_gaps, grid, displaceable=lane is Lane.STANDARD)
        return [(turn, self._booking(turn)) for turn in turns]

    async def _ask(self, statement: Callable[..., Awaitable[Any]], *arguments: Any, **options: Any) -> Any:
        """One round trip for turns, setting this process's reading of the database's clock by it."""
        asked = self._monotonic()
        async with self._engine.connect() as connection:
            answer = await statement(connection, *arguments, **options)
        turns = answer if isinstance(answer, list) else [answer]
        if turns:
            self._clock.add(asked, self._monotonic(), turns[0].db_now)
        self.round_trips += 1
        if self.round_trips % _FORGET_CHATS_EVERY == 0:
            self._in_background(self._run(forget_idle_chats))
        return answer

    def _booking(self, turn: Turn) -> _Booking:
        return _Booking(self._clock.local(turn.db_now + turn.wait), turn.db_now, turn.turn_id, turn.early)

    async def _run(self, statement: Callable[..., Awaitable[None]], *arguments: Any) -> None:
        try:
            async with self._engine.connect() as connection:
                await statement(connection, *arguments)
        except Exception:  # noqa: BLE001 - housekeeping; the next send's turn still keeps the limit
            log.warning("the shared flood limit could not be updated", exc_info=True)

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
