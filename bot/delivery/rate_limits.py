"""Telegram's sending limits, kept by this process: messages per second overall, one per second to a
private chat, twenty per minute to a group, and a pause after a 429.

On PostgreSQL, where several processes may send for one bot, SharedFloodControl (shared_flood_limit.py) keeps the
same limits for all of them together; on SQLite one process sends and FloodControl alone keeps them.

Each limit is a sliding window ("at most N sends in any T seconds"), the way Telegram and the fake Bot
API count. A send counts from when it starts until T seconds after its answer came back: the server saw
it somewhere in between, so two sends we keep T apart are T apart on the server too, however the network
jitters. Outbox sends are also spaced evenly, a little under the rate, rather than bursting a window's
worth at once, so a reply to a customer finds room at once (or within one spacing).
"""

import asyncio
import heapq
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from telegram.error import RetryAfter

from bot.config import Settings
from bot.telegram_errors import RetryingRateLimiter

# The outbox paces itself this share of the limit, so a reply to a customer finds room in the window within
# milliseconds instead of waiting for the next free turn; the windows still hold everything to the limit. Any
# closer to 1 and the window is nearly always full when a reply comes (the README's benchmarks give the figures).
OUTBOX_SHARE = 0.98
# At the paid rate a reply is one of a thousand places a second and never waits long for one, so the outbox paces
# closer to the limit, still below the 990 a second the window leaves it (PAID_KEPT_FREE); figures in the README.
PAID_OUTBOX_SHARE = 0.985
# Of the paid rate's window (1,000 a second) the outbox leaves this many places to replies, even after it fell
# behind and catches up: with the outbox in a process of its own (`backorder-bot deliver`), the bot's replies
# are not counted by the same flood control, and without the margin one could make 1,001.
PAID_KEPT_FREE = 10
PRIVATE_CHAT_PER_SECOND = 1
GROUP_PER_MINUTE = 20
_SWEEP_EVERY = 1024  # starts between clean-ups of idle chat windows
CATCH_UP = 0.2  # seconds a sender may fall behind the even grid and still make up for it (see _Pace)
_CLOSE_ENOUGH = 1e-6  # seconds; float rounding on the grid must not make a sender sleep for nothing


class Lane(StrEnum):
    """How a message counts against the overall limit."""

    STANDARD = "standard"
    PAID_BROADCAST = "paid_broadcast"  # sent with allow_paid_broadcast: up to the paid rate


@dataclass
class _Window:
    """At most `limit` sends in any `period` seconds; a send counts until `period` after it finished."""

    limit: int
    period: float
    in_flight: int = 0
    finished: deque[float] = field(default_factory=deque)

    @classmethod
    def for_rate(cls, per_second: float) -> "_Window":
        """The window for a rate: 30/s is 30 per second, 0.5/s is 1 per two seconds."""
        limit = max(1, math.floor(per_second))
        return cls(limit, limit / per_second)

    def free_at(self, now: float, keep_free: int = 0) -> float:
        """When a new send may start with `keep_free` places still left over: `now` if there is room, inf while
        only unfinished sends fill it."""
        self._forget_before(now)
        excess = self.in_flight + len(self.finished) - (self.limit - keep_free) + 1
        if excess <= 0:
            return now
        if excess > len(self.finished):
            return math.inf
        return self.finished[excess - 1] + self.period

    def start(self) -> None:
        self.in_flight += 1

    def finish(self, at: float) -> None:
        self.in_flight -= 1
        self.finished.append(at)

    def idle(self, now: float) -> bool:
        self._forget_before(now)
        return self.in_flight == 0 and not self.finished

    def _forget_before(self, now: float) -> None:
        while self.finished and self.finished[0] + self.period <= now:
            self.finished.popleft()


@dataclass
class _Pace:
    """Starts on a grid `interval` apart."""

    interval: float
    next_start: float = 0.0

    def start(self, now: float) -> None:
        # A start up to CATCH_UP late (the event loop woke late, a worker was claiming its next batch) keeps
        # the grid, so lateness does not add up into a lower rate: the next starts follow at once until the
        # grid is caught up, and the windows still cap every second. After a quiet spell the grid starts
        # afresh, half a step on, rather than bursting to make up for time nobody wanted to send in.
        behind = now - self.next_start
        on_grid = self.next_start if behind <= max(CATCH_UP, self.interval / 2) else now - self.interval / 2
        self.next_start = max(on_grid, self.next_start) + self.interval


@dataclass
class _Permit:
    windows: list[_Window]
    finished: bool = False


class FloodControl:
    """One per process, shared by every outbox worker and (through FloodControlRateLimiter) the bot's replies; on
    PostgreSQL a SharedFloodControl, which keeps the limit with the bot's other processes."""

    def __init__(
        self,
        rate_per_second: float,
        *,
        paid_rate_per_second: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._monotonic = monotonic
        self._standard = _Window.for_rate(rate_per_second)
        self._standard_pace = _Pace(1 / (rate_per_second * OUTBOX_SHARE))
        # In paid mode everything also counts against the paid rate; without it the standard rate is the cap.
        self._paid = _Window.for_rate(paid_rate_per_second) if paid_rate_per_second else None
        self._paid_pace = _Pace(1 / (paid_rate_per_second * PAID_OUTBOX_SHARE)) if paid_rate_per_second else None
        self._chats: dict[int, _Window] = {}
        self._paused_until = 0.0
        self._interactive_waiting = 0
        self._starts = 0
        self._finished_one = asyncio.Event()
        self._waiting_in_chat: dict[int, list[int]] = {}  # chat -> the places (outbox ids) waiting to send there

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nothing starts for `seconds`."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    def paused_for(self) -> float:
        """Seconds until the current pause ends (0 when not paused)."""
        return max(0.0, self._paused_until - self._monotonic())

    def wait_for(self, chat_id: int, lane: Lane = Lane.STANDARD) -> float:
        """Seconds until a send to `chat_id` could start, without reserving it."""
        now = self._monotonic()
        return max(0.0, self._ready_at(now, chat_id, lane, interactive=False) - now)

    async def wait_for_chat(self, chat_id: int, lane: Lane = Lane.STANDARD, *, within: float) -> float:
        """Like wait_for, but while the chat's window is full of sends still on their way (inf), wait up to
        `within` seconds for their answers: another worker is sending there, and is done in moments."""
        deadline = self._monotonic() + within
        while math.isinf(wait := self.wait_for(chat_id, lane)) and (left := deadline - self._monotonic()) > 0:
            await self._until_one_finishes(timeout=left)
        return wait

    async def book(self, chat_ids: Sequence[int], lane: Lane = Lane.STANDARD) -> None:
        """Book turns ahead for outbox messages about to be sent to `chat_ids`: this process's pacing needs none."""

    @asynccontextmanager
    async def sending(
        self, chat_id: int, lane: Lane = Lane.STANDARD, *, interactive: bool = False, place: int | None = None
    ) -> AsyncIterator[None]:
        """Wait for a turn to send to `chat_id`, hold it while the request runs, and count it when it ends.

        `interactive` sends (replies to someone who is waiting) go before outbox sends that are waiting, as
        soon as the windows have room, their chat's included: a customer's double tap gets its second answer a
        second after the first rather than a 429. Outbox sends to one chat start in the order of their `place`
        (the message's id), whichever worker holds them, so a chat's messages arrive in the order queued.
        """
        permit = await self._acquire(chat_id, lane, interactive, place)
        try:
            yield
        finally:
            self._finish(permit)

    async def _acquire(self, chat_id: int, lane: Lane, interactive: bool, place: int | None = None) -> _Permit:
        if interactive:
            self._interactive_waiting += 1
        waiting = self._waiting_in_chat.setdefault(chat_id, []) if place is not None else None
        if waiting is not None:
            heapq.heappush(waiting, place)
        try:
            while True:
                now = self._monotonic()
                ready = self._ready_at(now, chat_id, lane, interactive) - _CLOSE_ENOUGH
                if waiting and waiting[0] != place:  # an earlier message to this chat goes first
                    await self._until_one_finishes(timeout=1.0)
                    continue
                if ready <= now and (interactive or not self._interactive_waiting):
                    return self._start(now, chat_id, lane, interactive)
                if ready <= now:  # an interactive send is due first: give it this turn
                    await asyncio.sleep(self._standard_pace.interval)
                elif math.isinf(ready):
                    await self._until_one_finishes(timeout=1.0)
                else:
                    await asyncio.sleep(ready - now)
        finally:
            if interactive:
                self._interactive_waiting -= 1
            if waiting is not None:
                waiting.remove(place)
                if waiting:
                    heapq.heapify(waiting)
                    self._wake_waiters()  # the next in this chat may be first now
                else:
                    del self._waiting_in_chat[chat_id]

    def _ready_at(self, now: float, chat_id: int, lane: Lane, interactive: bool) -> float:
        windows, paces = self._limits_for(lane)
        chat = self._chats.get(chat_id)
        chat_free = chat.free_at(now) if chat else now
        if interactive:  # a reply needs room in the windows and in its chat's; the even spacing is for the outbox
            return max([now, self._paused_until, chat_free, *(w.free_at(now) for w in windows)])
        ready = max([now, self._paused_until, *(w.free_at(now, self._kept_free(w)) for w in windows)])
        return max([ready, chat_free, *(pace.next_start for pace in paces)])

    def _kept_free(self, window: _Window) -> int:
        """Places in the window the outbox leaves to replies: in paid mode, for replies from another process too."""
        return PAID_KEPT_FREE if window is self._paid else 0

    def _limits_for(self, lane: Lane) -> tuple[list[_Window], list[_Pace]]:
        if self._paid is None or self._paid_pace is None:
            return [self._standard], [self._standard_pace]
        if lane is Lane.PAID_BROADCAST:
            return [self._paid], [self._paid_pace]
        return [self._standard, self._paid], [self._standard_pace, self._paid_pace]

    def _start(self, now: float, chat_id: int, lane: Lane, interactive: bool) -> _Permit:
        windows, paces = self._limits_for(lane)
        for pace in [] if interactive else paces:  # a reply takes room in the windows, not a turn on the grid
            pace.start(now)
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _chat_window(chat_id)
        windows = [*windows, chat]
        for window in windows:
            window.start()
        self._starts += 1
        if self._starts % _SWEEP_EVERY == 0:
            self._sweep(now)
        return _Permit(windows)

    def _finish(self, permit: _Permit) -> None:
        if permit.finished:
            return
        permit.finished = True
        now = self._monotonic()
        for window in permit.windows:
            window.finish(now)
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        """Wake every sender waiting for a send to finish or an earlier one in its chat to start."""
        finished, self._finished_one = self._finished_one, asyncio.Event()
        finished.set()

    async def _until_one_finishes(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._finished_one.wait(), timeout)
        except TimeoutError:
            pass

    def _sweep(self, now: float) -> None:
        """Forget chats whose window is empty, so a broadcast to 100,000 chats does not stay in memory."""
        for chat_id in [chat_id for chat_id, window in self._chats.items() if window.idle(now)]:
            del self._chats[chat_id]


def _chat_window(chat_id: int) -> _Window:
    # Negative ids are groups, supergroups and channels.
    return _Window(GROUP_PER_MINUTE, 60.0) if chat_id < 0 else _Window(PRIVATE_CHAT_PER_SECOND, 1.0)


def process_flood_control(settings: Settings) -> FloodControl:
    """This process's own flood control from OUTBOX_RATE_PER_SECOND and, when the shop pays for it, the broadcast rate."""
    return FloodControl(
        settings.outbox_rate_per_second,
        paid_rate_per_second=settings.paid_broadcast_rate_per_second if settings.paid_broadcasts else None,
    )


def retry_after_seconds(error: RetryAfter) -> float:
    """How long Telegram asked us to wait."""
    value = error.retry_after  # a timedelta (bot/__init__.py opts in to PTB 23's type), else seconds
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# Bot API methods that post a message, the ones Telegram's sending limits count.
_COUNTED_METHODS = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


def _posts_a_message(endpoint: str) -> bool:
    return endpoint in _COUNTED_METHODS or (endpoint.startswith("send") and endpoint != "sendChatAction")


class FloodControlRateLimiter(RetryingRateLimiter):
    """The bot application's rate limiter, drawing on the same FloodControl as the outbox.

    Without it a reply to a customer and a broadcast message are counted by two limiters that each allow
    the whole 30/s, and together they overrun Telegram's limit; with it replies go first and the outbox
    uses what is left. Retries (429, 5xx) work as in RetryingRateLimiter.
    """

    def __init__(self, flood: FloodControl, **kwargs: Any) -> None:
        super().__init__(overall_max_rate=0, group_max_rate=0, **kwargs)
        self._flood = flood

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        if not _posts_a_message(endpoint) or not isinstance(chat_id, int):
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        flood = self._flood

        async def counted(*call_args: Any, **call_kwargs: Any) -> bool | dict[str, Any] | list[dict[str, Any]]:
            async with flood.sending(chat_id, interactive=True):
                try:
                    return await callback(*call_args, **call_kwargs)
                except RetryAfter as refused:
                    flood.pause(retry_after_seconds(refused))
                    raise

        return await super().process_request(counted, args, kwargs, endpoint, data, rate_limit_args)
