"""The relay worker: posts each pending ticket message on the other side, and records how it went.

A message is delivered at once by the handler that queued it; this worker's background task retries the
ones that failed in a way a retry can mend (Telegram's 5xx, time-outs, 429), with growing pauses, and after a
restart delivers whatever the last process left pending. The pauses are kept in the database with each relay,
and every attempt is leased to one worker, so several bot instances share the work and a restart keeps the
schedule. Failures are reported in the ticket's topic.
"""

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta

from telegram import Bot, Message, MessageId, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.delivery.rate_limits import retry_after_seconds
from bot.render import support as render
from bot.services.outbox import new_worker_id
from bot.services.support.ticket_relay import (
    RelayJob,
    begin_relay_attempt,
    next_relay_due,
    pending_relays,
    relay_delivered,
    relay_failed,
)
from bot.services.support.tickets import unposted_tickets
from bot.support.group import SupportGroup
from bot.support.topics import ensure_posted, notify, reopen_topic, thread_gone
from db.models import RelayDirection

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
_TRIES_PER_DELIVERY = 3  # a deleted topic or an unposted ticket is mended once between tries


class RelayWorker:
    def __init__(self, desk: SupportGroup, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.desk = desk
        self.worker_id = new_worker_id("relay")
        self._poll_seconds = poll_seconds
        self._in_flight: dict[int, asyncio.Event] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self, bot: Bot) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(bot), name="ticket-relay")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def deliver(self, bot: Bot, relay_id: int) -> None:
        """Try to deliver one relay now; if it is being delivered already, wait for that."""
        running = self._in_flight.get(relay_id)
        if running is not None:
            await running.wait()
            return
        done = self._in_flight[relay_id] = asyncio.Event()
        try:
            await self._deliver(bot, relay_id)
        finally:
            del self._in_flight[relay_id]
            done.set()

    async def _deliver(self, bot: Bot, relay_id: int) -> None:
        for _ in range(_TRIES_PER_DELIVERY):
            job = await begin_relay_attempt(self.desk.uow(), relay_id, self.worker_id)
            if job is None:
                return
            if job.direction is RelayDirection.TO_AGENTS and not job.ticket_posted:
                if not await self._mend(job, ensure_posted(self.desk, bot, job.ticket_id)):
                    return
                continue
            try:
                posted = await _post(bot, job)
            except TelegramError as error:
                if job.direction is RelayDirection.TO_AGENTS and job.target_thread_id is not None and thread_gone(error):
                    if not await self._mend(job, reopen_topic(self.desk, bot, job.ticket_id, job.target_thread_id)):
                        return
                    continue
                await self._failed(bot, job, error)
                return
            await relay_delivered(self.desk.uow(), relay_id, posted.message_id)
            return

    async def _mend(self, job: RelayJob, mending: Awaitable[object]) -> bool:
        """Post the ticket, or replace its deleted topic, before the next try; if Telegram refuses, try later."""
        try:
            await mending
        except TelegramError as error:
            log.warning("could not prepare ticket %s for relay %s: %s", job.ticket_id, job.relay_id, error)
            await relay_failed(self.desk.uow(), job.relay_id, self.worker_id, str(error), retry=True, wait_at_least=_asked_to_wait(error))
            return False
        return True

    async def _failed(self, bot: Bot, job: RelayJob, error: TelegramError) -> None:
        """Record the failure, schedule a retry where one can help, and say so in the ticket's topic."""
        blocked = isinstance(error, Forbidden) and job.direction is RelayDirection.TO_CUSTOMER
        failure = await relay_failed(
            self.desk.uow(), job.relay_id, self.worker_id, str(error), retry=_retry_can_help(error), blocked=blocked,
            wait_at_least=_asked_to_wait(error),
        )
        log.warning("relay %s (ticket %s) failed on attempt %s: %s", job.relay_id, job.ticket_id, job.attempt, error)
        if failure is None:
            log.info("relay %s was taken over by another worker while this one tried; leaving it to them", job.relay_id)
            return
        if not failure.gave_up:
            self._wake.set()  # so the worker's next pause ends when the retry is due
        if failure.first_failure or failure.gave_up:
            to_customer = job.direction is RelayDirection.TO_CUSTOMER
            screen = render.relay_failed(to_customer, "blocked" if blocked else str(error), failure.gave_up, self.desk.t)
            await notify(self.desk, bot, failure.ticket, screen)

    async def _run(self, bot: Bot) -> None:
        while True:
            self._wake.clear()
            try:
                await self._sweep(bot)
                pause = await self._pause()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the worker must outlive one bad sweep; the log has the cause
                log.exception("the relay sweep failed; trying again shortly")
                pause = self._poll_seconds
            try:
                await asyncio.wait_for(self._wake.wait(), pause)
            except TimeoutError:
                pass

    async def _sweep(self, bot: Bot) -> None:
        """Post tickets that are not in the group yet, then deliver every pending relay that is due."""
        for ticket_id in await unposted_tickets(self.desk.uow(), self.desk.chat_id):
            try:
                await ensure_posted(self.desk, bot, ticket_id)
            except TelegramError as failed:
                log.warning("ticket %s is not in the support group yet: %s", ticket_id, failed)
        for relay_id in await pending_relays(self.desk.uow()):
            if relay_id not in self._in_flight:
                await self.deliver(bot, relay_id)

    async def _pause(self) -> float:
        """Until the next retry falls due, at most the polling interval (another instance may queue or fail one)."""
        due = await next_relay_due(self.desk.uow())
        if due is None:
            return self._poll_seconds
        return max(0.0, min(self._poll_seconds, (due - self.desk.deps.clock.now()).total_seconds()))


async def _post(bot: Bot, job: RelayJob) -> Message | MessageId:
    """Post the message on the other side: forwarded into a ticket's topic, copied everywhere else.

    A copy shows the bot as its author. Into a topic the customer's message is forwarded, so the agents see
    whose words it is ("Forwarded from Anna Klein", a tap away from her profile where her settings allow),
    as in any support group. Without topics it stays a copy, because only a copy can reply to the ticket's
    context card, whose first line names the ticket and the customer; and agents' answers are copies, so
    the customer sees them from the shop's bot.
    """
    if job.direction is RelayDirection.TO_AGENTS and job.target_thread_id is not None:
        return await bot.forward_message(
            job.target_chat_id, job.source_chat_id, job.source_message_id, message_thread_id=job.target_thread_id
        )
    return await bot.copy_message(
        chat_id=job.target_chat_id,
        from_chat_id=job.source_chat_id,
        message_id=job.source_message_id,
        message_thread_id=job.target_thread_id,
        reply_parameters=(
            ReplyParameters(job.reply_to_message_id, allow_sending_without_reply=True) if job.reply_to_message_id else None
        ),
    )


def _retry_can_help(error: TelegramError) -> bool:
    """Telegram's 5xx, time-outs and flood waits pass; a refusal (400, 403) would only be refused again."""
    if isinstance(error, (BadRequest, Forbidden)):
        return False
    return isinstance(error, (RetryAfter, TimedOut, NetworkError))


def _asked_to_wait(error: TelegramError) -> timedelta:
    """How long Telegram asked us to wait before the next attempt (a flood wait); nothing for other errors."""
    return timedelta(seconds=retry_after_seconds(error)) if isinstance(error, RetryAfter) else timedelta()
