"""Relays are leased to one worker at a time and keep their retry schedule in the database, so several bot
instances never copy a message twice, a dead worker's relay is taken over, and a restart keeps the pauses."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.business_hours import parse_business_hours
from bot.clock import ManualClock
from bot.services.support.ticket_relay import (
    RELAY_LEASE,
    begin_relay_attempt,
    next_relay_due,
    pending_relays,
    queue_customer_message,
    relay_delivered,
    relay_failed,
)
from bot.services.support.tickets import Escalation, EscalationKind, TicketPolicy, open_ticket
from bot.services.unit_of_work import UnitOfWork
from db.engine import create_engine, create_session_factory
from db.models import RelayStatus, TicketMessage
from tests.shop import add_customer

Sessions = async_sessionmaker[AsyncSession]

CUSTOMER_TELEGRAM_ID = 5001
POLICY = TicketPolicy(-1001234, parse_business_hours(""), response_target_minutes=30)


@pytest.fixture
async def other_process(database_url: str, clock: ManualClock) -> AsyncIterator[UnitOfWork]:
    """What another bot process has: its own engine and connections, the same database and time."""
    engine = create_engine(database_url)
    yield UnitOfWork(create_session_factory(engine), clock)
    await engine.dispose()


async def _pending(uow: UnitOfWork, session: AsyncSession, count: int) -> list[int]:
    """An open ticket whose customer wrote `count` messages, each queued for the support group."""
    customer = await add_customer(session, "Anna Klein")
    customer.telegram_user_id = CUSTOMER_TELEGRAM_ID
    await session.commit()
    await open_ticket(uow, customer.id, CUSTOMER_TELEGRAM_ID, Escalation(EscalationKind.ASKED), POLICY)
    ids = []
    for message_id in range(100, 100 + count):
        queued = await queue_customer_message(uow, None, CUSTOMER_TELEGRAM_ID, CUSTOMER_TELEGRAM_ID, message_id)
        assert queued is not None and queued.relay_id is not None
        ids.append(queued.relay_id)
    return ids


async def _row(sessions: Sessions, relay_id: int) -> TicketMessage:
    async with sessions() as session:
        return await session.get_one(TicketMessage, relay_id)


@pytest.mark.postgres_only
async def test_two_processes_racing_over_the_same_relays_never_claim_one_twice(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, other_process: UnitOfWork, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("needs PostgreSQL: on SQLite the bot runs as one process")
    ids = await _pending(uow, session, 120)

    async def claimer(process: UnitOfWork, worker_id: str) -> set[int]:
        """A relay worker's sweep: every relay it finds due, claimed one by one, in the same order as the other."""
        claimed = set()
        for relay_id in await pending_relays(process, limit=len(ids)):
            if await begin_relay_attempt(process, relay_id, worker_id) is not None:
                claimed.add(relay_id)
        return claimed

    first, second = await asyncio.gather(claimer(uow, "process-a"), claimer(other_process, "process-b"))

    assert not first & second
    assert first | second == set(ids)
    assert first and second, "both processes should have taken a share"
    rows = [await _row(session_factory, relay_id) for relay_id in ids]
    assert {row.id for row in rows if row.worker_id == "process-a"} == first
    assert all(row.attempts == 1 for row in rows)


async def test_a_relay_held_by_a_worker_that_died_is_taken_over_once_its_lease_runs_out(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, other_process: UnitOfWork, clock: ManualClock
) -> None:
    [relay_id] = await _pending(uow, session, 1)
    assert await begin_relay_attempt(uow, relay_id, "crashed") is not None  # and then the process died

    clock.advance(seconds=RELAY_LEASE.total_seconds() - 1)
    assert await pending_relays(other_process) == []
    assert await begin_relay_attempt(other_process, relay_id, "survivor") is None

    clock.advance(seconds=1)
    assert await pending_relays(other_process) == [relay_id]
    job = await begin_relay_attempt(other_process, relay_id, "survivor")
    assert job is not None and job.attempt == 2
    assert await begin_relay_attempt(uow, relay_id, "crashed-and-restarted") is None
    await relay_delivered(other_process, relay_id, 555)

    row = await _row(session_factory, relay_id)
    assert (row.status, row.target_message_id, row.attempts, row.worker_id, row.lease_expires_at) == (
        RelayStatus.DELIVERED, 555, 2, None, None,
    )


async def test_a_failure_reported_by_a_worker_that_lost_its_lease_changes_nothing(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, other_process: UnitOfWork, clock: ManualClock
) -> None:
    [relay_id] = await _pending(uow, session, 1)
    await begin_relay_attempt(uow, relay_id, "slow")  # Telegram takes longer than the lease to answer
    clock.advance(seconds=RELAY_LEASE.total_seconds())
    assert await begin_relay_attempt(other_process, relay_id, "survivor") is not None
    await relay_delivered(other_process, relay_id, 555)

    failure = await relay_failed(uow, relay_id, "slow", "Timed out", retry=False)  # the slow worker's answer

    assert failure is None
    row = await _row(session_factory, relay_id)
    assert (row.status, row.target_message_id, row.last_error) == (RelayStatus.DELIVERED, 555, None)


async def test_the_pause_after_a_failure_is_kept_by_a_restarted_process(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, other_process: UnitOfWork, clock: ManualClock
) -> None:
    [relay_id, waiting] = await _pending(uow, session, 2)
    await begin_relay_attempt(uow, relay_id, "before-restart")
    await relay_failed(uow, relay_id, "before-restart", "Bad Gateway", retry=True)
    assert await begin_relay_attempt(uow, relay_id, "before-restart") is None  # the first pause is one second
    failed_at = clock.now()

    # A fresh process knows nothing but the database: the failed relay waits, the untried one is due.
    assert await pending_relays(other_process) == [waiting]
    assert await next_relay_due(other_process) == failed_at  # the untried one
    assert await begin_relay_attempt(other_process, waiting, "after-restart") is not None
    assert await next_relay_due(other_process) == failed_at + timedelta(seconds=1)
    assert await begin_relay_attempt(other_process, relay_id, "after-restart") is None

    clock.advance(seconds=1)
    job = await begin_relay_attempt(other_process, relay_id, "after-restart")
    assert job is not None and job.attempt == 2
    await relay_failed(other_process, relay_id, "after-restart", "Bad Gateway", retry=True)

    row = await _row(session_factory, relay_id)
    assert (row.status, row.next_attempt_at, row.worker_id, row.lease_expires_at) == (
        RelayStatus.PENDING, clock.now() + timedelta(seconds=2), None, None,
    )


async def test_a_flood_wait_longer_than_the_pause_is_honoured(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    [relay_id] = await _pending(uow, session, 1)
    await begin_relay_attempt(uow, relay_id, "worker")

    await relay_failed(uow, relay_id, "worker", "Flood control exceeded", retry=True, wait_at_least=timedelta(seconds=30))

    assert (await _row(session_factory, relay_id)).next_attempt_at == clock.now() + timedelta(seconds=30)
    clock.advance(seconds=29)
    assert await pending_relays(uow) == []
    clock.advance(seconds=1)
    assert await pending_relays(uow) == [relay_id]


async def test_the_worker_holding_a_relay_may_try_it_again_within_its_lease(
    uow: UnitOfWork, session: AsyncSession, other_process: UnitOfWork
) -> None:
    [relay_id] = await _pending(uow, session, 1)
    first = await begin_relay_attempt(uow, relay_id, "worker")

    # e.g. after reopening a deleted topic; another worker still may not.
    again = await begin_relay_attempt(uow, relay_id, "worker")

    assert first is not None and again is not None and (first.attempt, again.attempt) == (1, 2)
    assert await begin_relay_attempt(other_process, relay_id, "other") is None
