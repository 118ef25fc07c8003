"""Keeping personal data no longer than needed: what is past its retention period goes, in small batches."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from sqlalchemy import Executable, String, cast, delete, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from bot.services.unit_of_work import UnitOfWork
from db.models import (
    IdempotentRequest,
    LinkAttempt,
    OutboxMessage,
    OutboxStatus,
    ProcessedUpdate,
    Ticket,
    TicketMessage,
    TicketStatus,
)

# Rows per transaction: each batch is short, so the bot's own writes never wait long behind the purge.
BATCH_SIZE = 500
_FINISHED_OUTBOX = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.BLOCKED, OutboxStatus.CANCELLED)


@dataclass(frozen=True)
class RetentionPeriods:
    """How long each kind of data is kept; the settings RETENTION_*_DAYS give them."""

    ticket_transcripts: timedelta = timedelta(days=90)  # relayed messages of a ticket, from its closing
    closed_tickets: timedelta = timedelta(days=730)  # the ticket itself (reason, rating), from its closing
    link_attempts: timedelta = timedelta(days=30)
    processed_updates: timedelta = timedelta(days=7)  # Telegram gives up redelivering long before
    sent_message_bodies: timedelta = timedelta(days=30)  # the parameters of a delivered outbox message
    idempotent_responses: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class PurgeResult:
    """Rows removed (or, for message bodies, emptied) per kind of data."""

    ticket_transcripts: int = 0
    closed_tickets: int = 0
    link_attempts: int = 0
    processed_updates: int = 0
    sent_message_bodies: int = 0
    idempotent_responses: int = 0

    def total(self) -> int:
        return sum(getattr(self, field.name) for field in fields(self))


async def purge_expired(uow: UnitOfWork, periods: RetentionPeriods, batch_size: int = BATCH_SIZE) -> PurgeResult:
    """Remove everything past its period, each batch its own transaction; running it again removes nothing more."""
    now = uow.clock.now()

    def closed_before(period: timedelta) -> ColumnElement[bool]:
        return (Ticket.status == TicketStatus.CLOSED) & (Ticket.closed_at < now - period)

    def removing(key: Any, condition: ColumnElement[bool]) -> Awaitable[int]:
        return _in_batches(uow, key, condition, batch_size, lambda ids: delete(key.class_).where(key.in_(ids)))

    # A ticket's messages go before the ticket, whatever the transcript period says, so none points at nothing.
    transcript_period = min(periods.ticket_transcripts, periods.closed_tickets)
    transcripts = await removing(
        TicketMessage.id, TicketMessage.ticket_id.in_(select(Ticket.id).where(closed_before(transcript_period)))
    )
    return PurgeResult(
        ticket_transcripts=transcripts,
        closed_tickets=await removing(Ticket.id, closed_before(periods.closed_tickets)),
        link_attempts=await removing(LinkAttempt.id, LinkAttempt.at < now - periods.link_attempts),
        processed_updates=await removing(
            ProcessedUpdate.update_id, ProcessedUpdate.processed_at < now - periods.processed_updates
        ),
        sent_message_bodies=await _in_batches(
            uow,
            OutboxMessage.id,
            OutboxMessage.status.in_(_FINISHED_OUTBOX)
            & (func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < now - periods.sent_message_bodies)
            & (cast(OutboxMessage.params, String) != "{}"),
            batch_size,
            # What the message said goes; that it was sent, and when, stays.
            lambda ids: update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(params={}, last_error=None),
        ),
        idempotent_responses=await removing(
            IdempotentRequest.id, IdempotentRequest.created_at < now - periods.idempotent_responses
        ),
    )


async def _in_batches(
    uow: UnitOfWork,
    key: Any,
    condition: ColumnElement[bool],
    batch_size: int,
    change: Callable[[list[Any]], Executable],
) -> int:
    """Apply `change` to the keys of the rows matching `condition`, `batch_size` per transaction; how many."""
    changed = 0
    while True:
        async with uow:
            ids = list((await uow.session.scalars(select(key).where(condition).order_by(key).limit(batch_size))).all())
            if ids:
                await uow.session.execute(change(ids))
                await uow.commit()
        changed += len(ids)
        if len(ids) < batch_size:
            return changed
