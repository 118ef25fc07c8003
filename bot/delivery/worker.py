"""Outbox workers: asyncio tasks in the bot's process that send every proactive message.

Each worker claims a small batch of due messages (most urgent first; broadcasts last), sends them one by
one within Telegram's limits, and records the outcomes: every refusal or failure at once, and the messages
Telegram accepted together with the other workers' (SentMessages), within RECORD_SENT_WITHIN and at the end
of each batch. It sleeps while there is nothing to do or Telegram asked it to wait, so the chat stays
responsive during a broadcast.
"""

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.clock import Clock
from bot.config import Settings
from bot.delivery import claims
from bot.delivery.claims import ClaimedMessage, Sent
from bot.delivery.rate_limits import FloodControl, Lane, retry_after_seconds
from bot.delivery.shared_flood_limit import ChatBusy, flood_control_for
from bot.i18n import ShopVoice
from bot.render.proactive import render_outgoing
from bot.render.screen import Screen
from bot.services.outbox import doubling_pause, new_worker_id
from bot.services.quiet_hours import QuietHours
from bot.services.unit_of_work import UnitOfWork
from bot.telegram_http import AiohttpRequest
from bot.telegram_send import post_screen
from bot.update_order import ChatOrderedUpdates
from db.models import OutboxStatus

log = logging.getLogger(__name__)
TOKEN_RECHECK = timedelta(minutes=1)
# Seconds a sent message may wait to be recorded with the next ones. A worker killed outright (kill -9) in
# that time sends them again once their lease runs out: the duplicate window the README states.
RECORD_SENT_WITHIN = 0.1
PAID_BATCH_SIZE = 50
# Seconds a worker waits at most, before each send, for the bot in its process to finish the updates in hand.
GIVE_WAY_AT_MOST = 0.05
# Waits until the bot has no update in hand, or the given seconds at most (ChatOrderedUpdates.until_quiet).
GiveWay = Callable[[float], Awaitable[None]]


def give_way_to(update_processor: object) -> GiveWay | None:
    """How workers in the bot's process give way to its updates: None unless it orders them (ChatOrderedUpdates)."""
    return update_processor.until_quiet if isinstance(update_processor, ChatOrderedUpdates) else None


class SentMessages:
    """Messages Telegram accepted and not yet recorded as sent; shared by a process's workers, recorded together.

    One transaction for all the sends of the last RECORD_SENT_WITHIN, instead of one per send, is what lets a
    process keep up with paid broadcasts. If recording fails the sends stay here for the next try.
    """

    def __init__(self) -> None:
        self._sends: list[Sent] = []
        self._oldest = 0.0  # time.monotonic() of the first unrecorded send
        self._recording = asyncio.Lock()

    def add(self, sent: Sent) -> None:
        if not self._sends:
            self._oldest = time.monotonic()
        self._sends.append(sent)

    async def record_if_due(self, uow: UnitOfWork) -> None:
        """Record them if the oldest waited long enough, unless another worker is recording right now."""
        if self._sends and not self._recording.locked() and time.monotonic() - self._oldest >= RECORD_SENT_WITHIN:
            await self.record(uow)

    async def record(self, uow: UnitOfWork) -> None:
        """Record every send held now."""
        async with self._recording:
            sends = list(self._sends)
            await claims.mark_sent(uow, sends)
            del self._sends[: len(sends)]  # others may have added more meanwhile; they wait for the next time
            self._oldest = time.monotonic()


class Outcome(StrEnum):
    SENT = "sent"
    RETRYING = "retrying"  # 5xx or network trouble; tried again later
    RATE_LIMITED = "rate_limited"  # Telegram answered 429; tried again after retry_after, not counted as a failure
    POSTPONED = "postponed"  # its chat had just been written to; tried again when the chat's limit allows
    FAILED = "failed"
    BLOCKED = "blocked"
    LEASE_LOST = "lease_lost"  # held too long; another worker may have it now, so it was not sent


@dataclass
class DeliveryStats:
    """Sends by outcome since start; one object shared by a process's workers, for /metrics to read."""

    counts: Counter[Outcome] = field(default_factory=Counter)

    def record(self, outcome: Outcome) -> None:
        self.counts[outcome] += 1

    def as_dict(self) -> dict[str, int]:
        return {outcome.value: self.counts[outcome] for outcome in Outcome}


@dataclass(frozen=True)
class DeliveryPolicy:
    """How workers claim, wait and retry, and in whose voice they word the messages."""

    quiet_hours: QuietHours
    paid_broadcasts: bool = False
    batch_size: int = 10
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 8
    first_retry: timedelta = timedelta(seconds=15)
    longest_retry: timedelta = timedelta(minutes=30)
    chat_wait_limit: float = 2.0  # seconds a claimed message may wait for its chat before going back to the queue
    idle_poll: float = 1.0  # seconds between looks at an empty queue
    error_pause: float = 5.0  # seconds to wait after an unexpected error (the database is down...)
    voice: ShopVoice = ShopVoice()

    @classmethod
    def from_settings(cls, settings: Settings) -> "DeliveryPolicy":
        quiet_hours = QuietHours(settings.quiet_hours_start, settings.quiet_hours_end)
        if settings.paid_broadcasts:  # at up to 1,000/s, fewer and bigger claims
            return cls(quiet_hours, paid_broadcasts=True, batch_size=PAID_BATCH_SIZE, voice=settings.voice)
        return cls(quiet_hours, voice=settings.voice)

    def retry_delay(self, failed_tries: int) -> timedelta:
        """15 s, 30 s, 1 min, ... doubling up to 30 min: 8 tries span about half an hour of Telegram trouble."""
        return doubling_pause(failed_tries, self.first_retry, self.longest_retry)


class OutboxWorker:
    """One sender; run several as tasks (`start_outbox_workers`), and several processes on PostgreSQL."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        flood: FloodControl,
        policy: DeliveryPolicy,
        *,
        stats: DeliveryStats | None = None,
        sent: SentMessages | None = None,
        give_way: GiveWay | None = None,
        name: str = "outbox",
    ) -> None:
        self.bot = bot
        self.clock = clock
        self.flood = flood
        self.policy = policy
        self.stats = stats or DeliveryStats()
        self.worker_id = new_worker_id(name)
        self._uow = UnitOfWork(session_factory, clock)
        self._sent = sent or SentMessages()
        self._give_way = give_way

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; a message being sent is finished, the rest of the batch handed back."""
        while not stop.is_set():
            try:
                outcomes = await self._deliver_batch(stop)
            except Exception:
                log.exception("outbox worker %s: delivery failed; trying again shortly", self.worker_id)
                await _sleep_unless(stop, self.policy.error_pause)
                continue
            if not outcomes:
                await _sleep_unless(stop, self.policy.idle_poll)

    async def deliver_due(self) -> int:
        """Deliver everything due now, batch after batch; returns how many were sent. For tests and one-off runs."""
        sent = 0
        while outcomes := await self._deliver_batch(None):
            sent += outcomes.count(Outcome.SENT)
        return sent

    async def _deliver_batch(self, stop: asyncio.Event | None) -> list[Outcome]:
        """Claim one batch and deliver it; an empty list when nothing was due (or it is time to stop)."""
        if not await self._sit_out_pause(stop):
            return []
        policy = self.policy
        quiet = policy.quiet_hours.contains(self.clock.now(), self.clock.tz)
        batch = await claims.claim_due(
            self._uow, self.worker_id, limit=policy.batch_size, lease=policy.lease,
            optional_allowed=not quiet, max_attempts=policy.max_attempts,
        )
        untried = list(batch)
        outcomes: list[Outcome] = []
        try:
            lease_until = batch[0].lease_expires_at if batch else None
            while untried and not (stop is not None and stop.is_set()):
                if lease_until is not None and self.clock.now() >= lease_until - policy.lease / 2:
                    held = await claims.extend_leases(self._uow, [m.id for m in untried], self.worker_id, policy.lease)
                    outcomes += [self._count(Outcome.LEASE_LOST) for m in untried if m.id not in held]
                    untried = [m for m in untried if m.id in held]
                    lease_until = self.clock.now() + policy.lease
                    continue
                if self._give_way is not None:
                    await self._give_way(GIVE_WAY_AT_MOST)
                lane = self._lane(untried[0])
                await self.flood.book([m.chat_id for m in untried if self._lane(m) is lane], lane)
                outcomes.append(self._count(await self._deliver(untried.pop(0))))
                await self._sent.record_if_due(self._uow)
        finally:
            # Stopping or cancelled: what was sent is recorded and what was not tried goes back at once. A
            # message cut off mid-send stays claimed until its lease runs out, since Telegram may have it.
            await self._sent.record(self._uow)
            await claims.release(self._uow, [m.id for m in untried], self.worker_id)
        return outcomes

    async def _sit_out_pause(self, stop: asyncio.Event | None) -> bool:
        """Sleep while Telegram has us paused, rather than claim what cannot be sent; False if told to stop."""
        while (remaining := self.flood.paused_for()) > 0:
            if stop is None:
                await asyncio.sleep(remaining)
            else:
                await _sleep_unless(stop, remaining)
                if stop.is_set():
                    return False
        return True

    def _count(self, outcome: Outcome) -> Outcome:
        self.stats.record(outcome)
        return outcome

    async def _deliver(self, message: ClaimedMessage) -> Outcome:
        uow, worker = self._uow, self.worker_id
        try:
            screen = render_outgoing(message.template, message.params, self.policy.voice.translator(message.language, self.clock.today()))
        except Exception as problem:  # an unknown template, or one these params break: it can never be sent
            await claims.mark_failed(uow, message.id, worker, f"cannot render: {problem!r}", attempted=False)
            # The type only: the problem may quote the message's parameters (names, texts).
            log.error("outbox message %s cannot be rendered: %s", message.id, type(problem).__name__)
            return Outcome.FAILED
        lane = self._lane(message)
        # Another worker may be sending to this chat right now (its window is full of sends on their way):
        # wait for its answer, rather than put this message off behind the chat's later ones.
        wait = await self.flood.wait_for_chat(message.chat_id, lane, within=self.policy.chat_wait_limit)
        if wait > self.policy.chat_wait_limit:
            # inf: the chat's window is full of sends still awaiting Telegram's answer, so look again shortly.
            delay = wait if math.isfinite(wait) else self.policy.chat_wait_limit
            await claims.postpone(uow, message.id, worker, self.clock.now() + timedelta(seconds=delay))
            return Outcome.POSTPONED
        try:
            async with self.flood.sending(message.chat_id, lane, place=message.id):
                telegram_message_id = await self._send_message(message.chat_id, screen, lane)
        except ChatBusy as busy:  # another process wrote to the chat a moment ago
            await claims.postpone(uow, message.id, worker, self.clock.now() + timedelta(seconds=busy.seconds))
            return Outcome.POSTPONED
        except RetryAfter as refused:
            seconds = retry_after_seconds(refused)
            self.flood.pause(seconds)
            await claims.postpone(uow, message.id, worker, self.clock.now() + timedelta(seconds=seconds), str(refused))
            return Outcome.RATE_LIMITED
        except Forbidden as refused:
            stopped = await claims.mark_blocked(uow, message, worker, str(refused))
            log.info("chat %s refused message %s (%s); %d more stopped", message.chat_id, message.id, refused, stopped)
            return Outcome.BLOCKED
        except ChatMigrated as moved:
            await claims.mark_failed(uow, message.id, worker, f"the group moved to chat {moved.new_chat_id}")
            return Outcome.FAILED
        except BadRequest as refused:  # before NetworkError, which it extends: repeating a bad request cannot help
            await claims.mark_failed(uow, message.id, worker, str(refused))
            log.warning("Telegram refused outbox message %s: %s", message.id, refused)
            return Outcome.FAILED
        except InvalidToken:
            # Not the message's fault: keep it and its tries, and look again in a minute (the token may be fixed).
            self.flood.pause(TOKEN_RECHECK.total_seconds())
            later = self.clock.now() + TOKEN_RECHECK
            await claims.postpone(uow, message.id, worker, later, "the Bot API refused the bot token")
            log.error("the Bot API refused our token; the outbox waits %s", TOKEN_RECHECK)
            return Outcome.POSTPONED
        except TelegramError as trouble:
            # 5xx, time-outs, dropped connections (NetworkError), or anything new. A timed-out send may have
            # arrived, so its retry can repeat it; losing a notice for good is the worse of the two.
            status = await claims.retry_later(
                uow, message.id, worker, str(trouble) or type(trouble).__name__,
                self.policy.retry_delay(message.attempts + 1), self.policy.max_attempts,
            )
            return Outcome.FAILED if status is OutboxStatus.FAILED else Outcome.RETRYING
        self._sent.add(Sent(message.id, telegram_message_id))
        return Outcome.SENT

    def _lane(self, message: ClaimedMessage) -> Lane:
        return Lane.PAID_BROADCAST if self.policy.paid_broadcasts and message.broadcast_id is not None else Lane.STANDARD

    async def _send_message(self, chat_id: int, screen: Screen, lane: Lane) -> int:
        """sendMessage; Telegram's id for the new message."""
        paid = True if lane is Lane.PAID_BROADCAST else None
        sent = await post_screen(self.bot, "sendMessage", screen, chat_id=chat_id, allow_paid_broadcast=paid)
        return int(sent["message_id"])


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


def outbox_bot(settings: Settings, workers: int) -> Bot:
    """A Bot for the outbox with a connection per worker (a plain Bot has one, and workers would queue for it).

    Use it as `async with outbox_bot(settings, n) as bot:`. The application's own bot would do too, but
    its rate limiter retries 429s itself, which hides them from the flood control.
    """
    api = settings.telegram_api_base_url.rstrip("/")
    return Bot(
        settings.bot_token,
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=AiohttpRequest(max(workers, 1) + 1),
    )


def start_outbox_workers(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    count: int,
    *,
    stop: asyncio.Event | None = None,
    flood: FloodControl | None = None,
    stats: DeliveryStats | None = None,
    policy: DeliveryPolicy | None = None,
    give_way: GiveWay | None = None,
) -> list[asyncio.Task[None]]:
    """Start `count` workers sharing one flood control, one stats object and the sends to record; stop them with `stop`.

    Pass the FloodControl the application's rate limiter uses (FloodControlRateLimiter), so replies and
    outbox messages share Telegram's limit; `stats` to read the outcome counts; and `give_way`, the bot's
    ChatOrderedUpdates.until_quiet, so in one process customers' answers go before broadcast messages.
    """
    flood = flood or flood_control_for(settings, session_factory.kw["bind"])
    stats = stats or DeliveryStats()
    policy = policy or DeliveryPolicy.from_settings(settings)
    stop = stop or asyncio.Event()
    sent = SentMessages()
    workers = [
        OutboxWorker(bot, session_factory, clock, flood, policy, stats=stats, sent=sent, give_way=give_way, name=f"outbox-{i}")
        for i in range(count)
    ]
    return [asyncio.create_task(worker.run(stop), name=worker.worker_id) for worker in workers]
