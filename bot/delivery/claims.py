"""The outbox rows a worker takes and hands back: claim with a lease, then one short transaction per outcome.

A claim commits before anything is sent, and each outcome commits right after Telegram answered, so
no message is sent twice in normal operation. If a worker dies in between, its lease runs out and
another worker takes the messages again; the one it was sending may then be sent twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.audit import Actor
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, OutboxMessage, OutboxStatus

LEASE_EXPIRED = "the worker sending it stopped before recording the outcome"
_UNCLAIMED: dict[str, Any] = {"worker_id": None, "lease_expires_at": None}


@dataclass(frozen=True)
class ClaimedMessage:
    """An outbox message this worker holds until `lease_expires_at`."""

    id: int
    chat_id: int
    customer_id: int | None
    broadcast_id: int | None
    template: str
    params: dict[str, Any]
    language: str
    optional: bool
    attempts: int
    lease_expires_at: datetime


async def claim_due(
    uow: UnitOfWork,
    worker_id: str,
    *,
    limit: int,
    lease: timedelta,
    optional_allowed: bool,
    max_attempts: int,
) -> list[ClaimedMessage]:
    """Take up to `limit` due messages, most urgent first, after returning expired leases to the queue.

    On PostgreSQL rows another worker is claiming are skipped (FOR UPDATE SKIP LOCKED); SQLite has one
    writer at a time anyway. `optional_allowed=False` (quiet hours) leaves optional messages waiting.
    """
    async with uow:
        session, now = uow.session, uow.clock.now()
        await _requeue_expired(session, now, max_attempts)
        due = _DUE if optional_allowed else _DUE_REQUIRED_ONLY
        rows = (await session.execute(due, {"now": now, "limit": limit})).all()
        expires = now + lease
        if rows:
            await session.execute(
                _CLAIM, {"ids": [row.id for row in rows], "worker_id": worker_id, "expires": expires}
            )
        await uow.commit()
    return [ClaimedMessage(**row._asdict(), lease_expires_at=expires) for row in rows]


# Built once, as the statements below: a worker claims many times a second at the paid rate, and building a
# statement costs more than running it.
_DUE = (
    select(
        OutboxMessage.id,
        OutboxMessage.chat_id,
        OutboxMessage.customer_id,
        OutboxMessage.broadcast_id,
        OutboxMessage.template,
        OutboxMessage.params,
        OutboxMessage.language,
        OutboxMessage.optional,
        OutboxMessage.attempts,
    )
    .where(
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.not_before <= bindparam("now", type_=OutboxMessage.not_before.type),
    )
    .order_by(OutboxMessage.priority, OutboxMessage.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_DUE_REQUIRED_ONLY = _DUE.where(OutboxMessage.optional.is_(False))  # in quiet hours
_CLAIM = (
    update(OutboxMessage)
    .where(OutboxMessage.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=OutboxStatus.SENDING,
        worker_id=bindparam("worker_id"),
        lease_expires_at=bindparam("expires", type_=OutboxMessage.lease_expires_at.type),
    )
    .execution_options(synchronize_session=False)
)
_EXPIRED_LEASES = (
    select(OutboxMessage.id)
    .where(
        OutboxMessage.status == OutboxStatus.SENDING,
        OutboxMessage.lease_expires_at <= bindparam("now", type_=OutboxMessage.lease_expires_at.type),
    )
    .with_for_update(skip_locked=True)
)


async def _requeue_expired(session: AsyncSession, now: datetime, max_attempts: int) -> None:
    """Messages whose worker died: back to the queue, counting the try, or failed once tries run out."""
    expired = list(await session.scalars(_EXPIRED_LEASES, {"now": now}))
    if not expired:
        return
    await session.execute(
        _update(expired).values(
            status=_pending_or_failed(max_attempts),
            attempts=OutboxMessage.attempts + 1,
            last_error=LEASE_EXPIRED,
            **_UNCLAIMED,
        )
    )


def _pending_or_failed(max_attempts: int) -> Any:
    """Back to the queue, unless this try was the last one allowed."""
    return case((OutboxMessage.attempts + 1 >= max_attempts, OutboxStatus.FAILED.value), else_=OutboxStatus.PENDING.value)


# Built once: it runs for every message sent, and building it anew each time is measurable CPU at 1,000/s.
_RECORD_SENT = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("message_id"))
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("sent_at", type_=OutboxMessage.sent_at.type),
        telegram_message_id=bindparam("telegram_message_id"),
        attempts=OutboxMessage.attempts + 1,
        **_UNCLAIMED,
        last_error=None,
    )
    .execution_options(synchronize_session=False)
)


class Sent(NamedTuple):
    """An outbox message Telegram accepted, and the id Telegram gave it."""

    message_id: int
    telegram_message_id: int


async def mark_sent(uow: UnitOfWork, sends: Sequence[Sent]) -> None:
    """Telegram accepted them. Recorded whoever holds them now: that they went out is a fact, and saying so stops a resend."""
    if not sends:
        return
    async with uow:
        now = uow.clock.now()
        connection = await uow.session.connection()  # Core's executemany: the ORM would want whole rows by key
        await connection.execute(
            _RECORD_SENT,
            [{"message_id": sent.message_id, "sent_at": now, "telegram_message_id": sent.telegram_message_id} for sent in sends],
        )
        await uow.commit()


async def retry_later(
    uow: UnitOfWork, message_id: int, worker_id: str, error: str, delay: timedelta, max_attempts: int
) -> OutboxStatus | None:
    """A try failed in a way that may pass (5xx, network): back to the queue after `delay`, or failed for good.

    Returns the message's new status, or None if this worker no longer held it.
    """
    async with uow:
        status = await uow.session.scalar(
            _held(message_id, worker_id)
            .values(
                status=_pending_or_failed(max_attempts),
                attempts=OutboxMessage.attempts + 1,
                last_error=error,
                not_before=uow.clock.now() + delay,
                **_UNCLAIMED,
            )
            .returning(OutboxMessage.status)
        )
        await uow.commit()
    return status


async def postpone(
    uow: UnitOfWork, message_id: int, worker_id: str, not_before: datetime, reason: str | None = None
) -> None:
    """Back to the queue until `not_before` without counting a try (Telegram asked us to wait, or the chat is busy)."""
    async with uow:
        values: dict[str, Any] = {"status": OutboxStatus.PENDING, "not_before": not_before, **_UNCLAIMED}
        if reason:
            values["last_error"] = reason
        await uow.session.execute(_held(message_id, worker_id).values(**values))
        await uow.commit()


async def mark_failed(uow: UnitOfWork, message_id: int, worker_id: str, error: str, *, attempted: bool = True) -> None:
    """It can never be sent (Telegram refused the request itself, or it cannot be rendered)."""
    async with uow:
        values: dict[str, Any] = {"status": OutboxStatus.FAILED, "last_error": error, **_UNCLAIMED}
        if attempted:
            values["attempts"] = OutboxMessage.attempts + 1
        await uow.session.execute(_held(message_id, worker_id).values(**values))
        await uow.commit()


async def mark_blocked(uow: UnitOfWork, message: ClaimedMessage, worker_id: str, error: str) -> int:
    """The customer blocked the bot: this message, their other pending optional ones and the customer are marked.

    Returns how many other messages were stopped. Their non-optional messages stay queued; each is
    marked in turn if Telegram refuses it too.
    """
    async with uow:
        session, now = uow.session, uow.clock.now()
        await session.execute(
            _held(message.id, worker_id).values(
                status=OutboxStatus.BLOCKED, last_error=error, attempts=OutboxMessage.attempts + 1,
                **_UNCLAIMED,
            )
        )
        recipient = OutboxMessage.chat_id == message.chat_id
        if message.customer_id is not None:
            recipient = recipient | (OutboxMessage.customer_id == message.customer_id)
        stopped = await session.execute(
            update(OutboxMessage)
            .where(recipient, OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.optional.is_(True))
            .values(status=OutboxStatus.BLOCKED, last_error=error)
            .execution_options(synchronize_session=False)
        )
        if message.customer_id is not None:
            newly_blocked = await session.execute(
                update(Customer)
                .where(Customer.id == message.customer_id, Customer.bot_blocked.is_(False))
                .values(bot_blocked=True)
                .execution_options(synchronize_session=False)
            )
            if newly_blocked.rowcount:
                audit.record(
                    session, Actor.system(), "bot_blocked", "customer", message.customer_id, at=now,
                    outbox_message_id=message.id, messages_stopped=stopped.rowcount,
                )
        await uow.commit()
    return stopped.rowcount


async def release(uow: UnitOfWork, message_ids: Sequence[int], worker_id: str) -> None:
    """Hand back claimed messages this worker did not try (it is stopping), untouched."""
    if not message_ids:
        return
    async with uow:
        await uow.session.execute(
            _update(message_ids)
            .where(OutboxMessage.worker_id == worker_id, OutboxMessage.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING, **_UNCLAIMED)
        )
        await uow.commit()


async def extend_leases(uow: UnitOfWork, message_ids: Sequence[int], worker_id: str, lease: timedelta) -> set[int]:
    """Renew this worker's lease on messages it still holds; returns those (a lapsed one may be someone else's now)."""
    if not message_ids:
        return set()
    async with uow:
        held = await uow.session.scalars(
            _update(message_ids)
            .where(OutboxMessage.worker_id == worker_id, OutboxMessage.status == OutboxStatus.SENDING)
            .values(lease_expires_at=uow.clock.now() + lease)
            .returning(OutboxMessage.id)
        )
        still_held = set(held)
        await uow.commit()
    return still_held


def _update(message_ids: Sequence[int]) -> Any:
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids))
        .execution_options(synchronize_session=False)
    )


def _held(message_id: int, worker_id: str) -> Any:
    """An update of one message, applied only while this worker still holds it."""
    return _update([message_id]).where(OutboxMessage.worker_id == worker_id, OutboxMessage.status == OutboxStatus.SENDING)
