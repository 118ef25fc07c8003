"""Relaying a ticket's messages between the customer's chat and the support group, with nothing lost.

Every message to relay is first stored as a pending TicketMessage, in the same transaction as the claim of
the Telegram update that brought it, so a crash or restart leaves it pending rather than forgotten. Each
delivery attempt is claimed in a short transaction that counts it and leases the relay to one worker
(FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer at a time), so two bot instances never copy
the same message; the outcome is then recorded: delivered with the copy's message id, or the error, with
the next attempt's time where a retry can help. A worker that dies mid-attempt leaves a lease that runs
out, and another worker takes the relay again (the message it was copying may then arrive twice).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, record
from bot.services.conversations.chat_session import claim_update_in
from bot.services.outbox import doubling_pause
from bot.services.support.tickets import TicketView, open_ticket_row, ticket_view
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, RelayDirection, RelayStatus, Ticket, TicketMessage, TicketStatus

MAX_RELAY_ATTEMPTS = 8
RELAY_LEASE = timedelta(seconds=60)  # one copy, with the client's own quick retries and a topic to reopen
FIRST_RETRY = timedelta(seconds=1)
LONGEST_RETRY = timedelta(minutes=5)
_UNCLAIMED: dict[str, Any] = {"worker_id": None, "lease_expires_at": None}


@dataclass(frozen=True)
class QueuedRelay:
    relay_id: int | None  # None: this update or message was queued before
    ticket: TicketView

    @property
    def duplicate(self) -> bool:
        return self.relay_id is None


@dataclass(frozen=True)
class RelayJob:
    """One delivery attempt: copy the source message to the target."""

    relay_id: int
    ticket_id: int
    direction: RelayDirection
    source_chat_id: int
    source_message_id: int
    target_chat_id: int
    target_thread_id: int | None
    reply_to_message_id: int | None  # in a group without topics: the ticket's context card
    attempt: int  # 1 for the first
    ticket_posted: bool  # the ticket's context card is in the support group


@dataclass(frozen=True)
class RelayFailure:
    ticket: TicketView
    direction: RelayDirection
    first_failure: bool
    gave_up: bool  # marked failed: no further attempt


async def queue_customer_message(
    uow: UnitOfWork, update_id: int | None, telegram_user_id: int, chat_id: int, message_id: int
) -> QueuedRelay | None:
    """While the customer's ticket is open, queue their message for the support group; None when none is open.

    The update is claimed in the same transaction (`update_id` None: it was claimed already), so a message is
    queued exactly once however often Telegram delivers it. Without an open ticket nothing is claimed.
    """
    async with uow:
        session = uow.session
        row = (
            await session.execute(
                select(Ticket, Customer.bot_blocked)
                .join(Customer, Customer.id == Ticket.customer_id)
                .where(Customer.telegram_user_id == telegram_user_id, Ticket.status == TicketStatus.OPEN)
            )
        ).one_or_none()
        if row is None:
            return None
        ticket, blocked = row
        now = uow.clock.now()
        if update_id is not None and not await claim_update_in(session, update_id, now):
            return QueuedRelay(None, await ticket_view(session, ticket))
        relay_id = await _insert_relay(
            session, ticket, RelayDirection.TO_AGENTS, telegram_user_id, (chat_id, message_id),
            (ticket.support_chat_id, ticket.topic_thread_id), now,
        )
        if blocked:
            # Writing to us proves the customer has not blocked the bot (any more).
            await session.execute(update(Customer).where(Customer.id == ticket.customer_id).values(bot_blocked=False))
        view = await ticket_view(session, ticket)
        await uow.commit()
    return QueuedRelay(relay_id, view)


async def queue_agent_message(
    uow: UnitOfWork,
    update_id: int | None,
    ticket_id: int,
    agent_telegram_id: int,
    chat_id: int,
    message_id: int,
    *,
    action: str = "ticket.replied",
    **details: Any,
) -> QueuedRelay:
    """Queue a message in the ticket's topic (an agent's, or one the bot posted for them) for the customer.

    The first one is the ticket's first response. TicketClosed when the ticket is closed.
    """
    async with uow:
        session = uow.session
        ticket = await open_ticket_row(session, ticket_id)
        now = uow.clock.now()
        if update_id is not None and not await claim_update_in(session, update_id, now):
            return QueuedRelay(None, await ticket_view(session, ticket))
        relay_id = await _insert_relay(
            session, ticket, RelayDirection.TO_CUSTOMER, agent_telegram_id, (chat_id, message_id),
            (ticket.customer_chat_id, None), now,
        )
        if relay_id is None:
            return QueuedRelay(None, await ticket_view(session, ticket))
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        record(session, Actor.agent(agent_telegram_id), action, "ticket", ticket.id, at=now, relay_id=relay_id, **details)
        view = await ticket_view(session, ticket)
        await uow.commit()
    return QueuedRelay(relay_id, view)


async def pending_relays(uow: UnitOfWork, limit: int = 100) -> list[int]:
    """Ids of relays due for an attempt that no live worker holds, oldest first."""
    async with uow:
        now = uow.clock.now()
        return list(
            await uow.session.scalars(
                select(TicketMessage.id)
                .where(TicketMessage.status == RelayStatus.PENDING, TicketMessage.next_attempt_at <= now, _lease_free(now))
                .order_by(TicketMessage.id)
                .limit(limit)
            )
        )


async def next_relay_due(uow: UnitOfWork) -> datetime | None:
    """When the earliest relay no live worker holds is due for its next attempt; None when there is none."""
    async with uow:
        now = uow.clock.now()
        return await uow.session.scalar(
            select(func.min(TicketMessage.next_attempt_at)).where(TicketMessage.status == RelayStatus.PENDING, _lease_free(now))
        )


async def begin_relay_attempt(
    uow: UnitOfWork, relay_id: int, worker_id: str, *, lease: timedelta = RELAY_LEASE
) -> RelayJob | None:
    """Claim the next delivery attempt of a pending relay for `worker_id` until `now + lease`.

    None when it is no longer pending, not due yet, or another worker holds it (or is claiming it right now).
    The worker holding it may claim it again, for another try within the same delivery. A message for the
    support group goes to wherever its ticket lives now (a deleted topic is replaced).
    """
    async with uow:
        session, now = uow.session, uow.clock.now()
        row = (
            await session.execute(
                select(TicketMessage, Ticket)
                .join(Ticket, Ticket.id == TicketMessage.ticket_id)
                .where(
                    TicketMessage.id == relay_id,
                    TicketMessage.status == RelayStatus.PENDING,
                    TicketMessage.next_attempt_at <= now,
                    _lease_free(now) | (TicketMessage.worker_id == worker_id),
                )
                .with_for_update(skip_locked=True, of=TicketMessage)
            )
        ).one_or_none()
        if row is None:
            return None
        relay, ticket = row
        direction = RelayDirection(relay.direction)
        target_chat, target_thread = relay.target_chat_id, relay.target_thread_id
        if direction is RelayDirection.TO_AGENTS and ticket.support_chat_id is not None:
            target_chat, target_thread = ticket.support_chat_id, ticket.topic_thread_id
        job = RelayJob(
            relay_id=relay.id,
            ticket_id=ticket.id,
            direction=direction,
            source_chat_id=relay.source_chat_id,
            source_message_id=relay.source_message_id,
            target_chat_id=target_chat,
            target_thread_id=target_thread,
            reply_to_message_id=ticket.context_message_id if direction is RelayDirection.TO_AGENTS and target_thread is None else None,
            attempt=relay.attempts + 1,
            ticket_posted=ticket.context_message_id is not None,
        )
        claimed = await session.execute(
            update(TicketMessage)
            .where(TicketMessage.id == relay.id, TicketMessage.status == RelayStatus.PENDING, TicketMessage.attempts == relay.attempts)
            .values(
                attempts=job.attempt, target_chat_id=target_chat, target_thread_id=target_thread,
                worker_id=worker_id, lease_expires_at=now + lease,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        await uow.commit()
    return job


async def relay_delivered(uow: UnitOfWork, relay_id: int, target_message_id: int) -> None:
    """Telegram made the copy. Recorded whoever holds the relay now: that it arrived is a fact, and saying so stops a resend."""
    async with uow:
        await uow.session.execute(
            update(TicketMessage)
            .where(TicketMessage.id == relay_id)
            .values(
                status=RelayStatus.DELIVERED, target_message_id=target_message_id, delivered_at=uow.clock.now(),
                last_error=None, **_UNCLAIMED,
            )
        )
        await uow.commit()


def relay_retry_delay(attempts: int) -> timedelta:
    """1 s after the first failed attempt, doubling up to 5 min: 8 attempts span about two minutes."""
    return doubling_pause(attempts, FIRST_RETRY, LONGEST_RETRY)


async def relay_failed(
    uow: UnitOfWork,
    relay_id: int,
    worker_id: str,
    error: str,
    *,
    retry: bool,
    blocked: bool = False,
    wait_at_least: timedelta = timedelta(),
) -> RelayFailure | None:
    """Record `worker_id`'s failed attempt and release the relay: pending again after a pause where `retry` and
    attempts remain, else failed. None, and nothing changed, when the worker no longer holds it: its lease ran
    out and another worker took the relay over (and may have delivered it).

    The pause is `relay_retry_delay`, or `wait_at_least` where Telegram asked for longer. `blocked`: the
    customer has blocked the bot, which is noted on the customer too.
    """
    async with uow:
        session = uow.session
        relay = await session.get(TicketMessage, relay_id, with_for_update=True)
        if relay is None or relay.status is not RelayStatus.PENDING or relay.worker_id != worker_id:
            return None
        ticket = await session.get(Ticket, relay.ticket_id)
        assert ticket is not None
        gave_up = not retry or relay.attempts >= MAX_RELAY_ATTEMPTS
        now = uow.clock.now()
        relay.last_error = error[:1000]
        relay.worker_id = relay.lease_expires_at = None
        if gave_up:
            relay.status = RelayStatus.FAILED
        else:
            relay.next_attempt_at = now + max(relay_retry_delay(relay.attempts), wait_at_least)
        if blocked:
            await _mark_blocked(session, ticket.customer_id, now)
        view = await ticket_view(session, ticket)
        failure = RelayFailure(view, RelayDirection(relay.direction), first_failure=relay.attempts <= 1, gave_up=gave_up)
        await uow.commit()
    return failure


async def _insert_relay(
    session: AsyncSession,
    ticket: Ticket,
    direction: RelayDirection,
    author: int,
    source: tuple[int, int],
    target: tuple[int | None, int | None],
    now: datetime,
) -> int | None:
    """The new pending relay's id; None when this source message was queued before."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    target_chat, target_thread = target
    return await session.scalar(
        insert(TicketMessage)
        .values(
            ticket_id=ticket.id,
            direction=direction,
            author_telegram_id=author,
            source_chat_id=source[0],
            source_message_id=source[1],
            target_chat_id=target_chat,
            target_thread_id=target_thread,
            status=RelayStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[TicketMessage.source_chat_id, TicketMessage.source_message_id])
        .returning(TicketMessage.id)
    )


def _lease_free(now: datetime) -> ColumnElement[bool]:
    """No worker holds the relay, or the one that did stopped before its lease ran out."""
    return or_(TicketMessage.lease_expires_at.is_(None), TicketMessage.lease_expires_at <= now)


async def _mark_blocked(session: AsyncSession, customer_id: int, now: datetime) -> None:
    blocked = await session.scalar(
        update(Customer)
        .where(Customer.id == customer_id, Customer.bot_blocked.is_(False))
        .values(bot_blocked=True)
        .returning(Customer.id)
    )
    if blocked is not None:
        record(session, Actor.system(), "bot_blocked", "customer", customer_id, at=now)
