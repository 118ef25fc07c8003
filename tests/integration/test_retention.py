"""The daily purge: each kind of personal data goes once past its retention period, and not a day before."""

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.services.merchant_access.api_tokens import create_token
from bot.services.privacy.retention import PurgeResult, RetentionPeriods, purge_expired
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    IdempotentRequest,
    LinkAttempt,
    LinkMethod,
    OutboxMessage,
    OutboxStatus,
    ProcessedUpdate,
    RelayDirection,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from tests.shop import add_customer

PERIODS = RetentionPeriods(
    ticket_transcripts=timedelta(days=90),
    closed_tickets=timedelta(days=365),
    link_attempts=timedelta(days=30),
    processed_updates=timedelta(days=7),
    sent_message_bodies=timedelta(days=30),
    idempotent_responses=timedelta(days=1),
)


async def _a_day_of_activity(session: AsyncSession, uow: UnitOfWork, clock: ManualClock) -> None:
    """One of each kind of data, all stamped now: a closed ticket with a message, an open one with a message, …"""
    now = clock.now()
    _, token = await create_token(uow, "shop")
    anna, ben = await add_customer(session, "Anna Klein"), await add_customer(session, "Ben Carter")
    closed = Ticket(
        customer_id=anna.id, customer_chat_id=1, reason="asked", opened_at=now, closed_at=now,
        status=TicketStatus.CLOSED, rating=5,
    )
    still_open = Ticket(customer_id=ben.id, customer_chat_id=2, reason="asked", opened_at=now, status=TicketStatus.OPEN)
    session.add_all([closed, still_open])
    await session.flush()
    for message_id, ticket in enumerate((closed, still_open)):
        session.add(
            TicketMessage(
                ticket_id=ticket.id, direction=RelayDirection.TO_AGENTS, author_telegram_id=1, source_chat_id=1,
                source_message_id=message_id, target_chat_id=-100, next_attempt_at=now, created_at=now,
            )
        )
    session.add_all(
        [
            LinkAttempt(telegram_user_id=1, method=LinkMethod.PHONE, succeeded=False, at=now),
            ProcessedUpdate(update_id=1, processed_at=now),
            OutboxMessage(
                chat_id=1, customer_id=anna.id, template="eta_changed", params={"name": "Anna"}, language="en",
                status=OutboxStatus.SENT, not_before=now, created_at=now, sent_at=now,
            ),
            OutboxMessage(
                chat_id=2, customer_id=ben.id, template="eta_changed", params={"name": "Ben"}, language="en",
                status=OutboxStatus.PENDING, not_before=now, created_at=now,
            ),
        ]
    )
    session.add(
        IdempotentRequest(
            token_id=token.id, key="k1", method="POST", path="/orders", request_hash="0" * 64, status_code=200,
            response_body={"email": "anna@example.com"}, created_at=now,
        )
    )
    await session.commit()


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_each_kind_of_data_goes_when_its_period_is_over(
    session: AsyncSession, uow: UnitOfWork, clock: ManualClock
) -> None:
    await _a_day_of_activity(session, uow, clock)

    assert await purge_expired(uow, PERIODS) == PurgeResult()  # nothing is old yet
    clock.advance(days=1, minutes=1)
    assert await purge_expired(uow, PERIODS) == PurgeResult(idempotent_responses=1)
    clock.advance(days=7)
    assert await purge_expired(uow, PERIODS) == PurgeResult(processed_updates=1)
    clock.advance(days=30)
    assert await purge_expired(uow, PERIODS) == PurgeResult(link_attempts=1, sent_message_bodies=1)
    clock.advance(days=60)
    assert await purge_expired(uow, PERIODS) == PurgeResult(ticket_transcripts=1)
    clock.advance(days=300)
    assert await purge_expired(uow, PERIODS) == PurgeResult(closed_tickets=1)

    # What is still in use stays: the open ticket and its message, the message not yet sent and what it says.
    assert await _count(session, Ticket) == 1 and await _count(session, TicketMessage) == 1
    bodies = (await session.scalars(select(OutboxMessage.params).order_by(OutboxMessage.id))).all()
    assert bodies == [{}, {"name": "Ben"}]
    assert await _count(session, OutboxMessage, OutboxMessage.status == OutboxStatus.SENT) == 1
    await session.rollback()  # end the reading transaction, which holds SQLite's write lock
    assert await purge_expired(uow, PERIODS) == PurgeResult()


async def test_the_purge_goes_in_batches_until_nothing_is_left(
    session: AsyncSession, uow: UnitOfWork, clock: ManualClock
) -> None:
    now = clock.now()
    session.add_all(ProcessedUpdate(update_id=update_id, processed_at=now) for update_id in range(25))
    await session.commit()
    clock.advance(days=8)

    purged = await purge_expired(uow, PERIODS, batch_size=10)

    assert purged.processed_updates == 25
    assert await _count(session, ProcessedUpdate) == 0


async def test_a_closed_tickets_messages_go_with_it_even_when_transcripts_are_kept_longer(
    session: AsyncSession, uow: UnitOfWork, clock: ManualClock
) -> None:
    await _a_day_of_activity(session, uow, clock)
    clock.advance(days=31)

    purged = await purge_expired(
        uow, RetentionPeriods(ticket_transcripts=timedelta(days=400), closed_tickets=timedelta(days=30))
    )

    assert (purged.closed_tickets, purged.ticket_transcripts) == (1, 1)
    assert await _count(session, Ticket, Ticket.status == TicketStatus.CLOSED) == 0
