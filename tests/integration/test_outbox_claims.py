"""Claiming outbox messages with a lease and recording what became of them, on the real database."""

import asyncio
from datetime import timedelta

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.delivery import claims
from bot.delivery.claims import LEASE_EXPIRED, ClaimedMessage
from bot.services.outbox import PRIORITY_BROADCAST, PRIORITY_INTERACTIVE, PRIORITY_NOTIFICATION
from bot.services.unit_of_work import UnitOfWork
from db.engine import create_engine, create_session_factory
from db.models import AuditEntry, OutboxMessage, OutboxStatus
from tests.outbox_queue import add_chat_customer, broadcast_text, customer, outbox_row, outbox_rows, queue

LEASE = timedelta(seconds=60)
Sessions = async_sessionmaker[AsyncSession]


async def claim(
    uow: UnitOfWork, worker: str = "worker-1", *, limit: int = 10, optional_allowed: bool = True, max_attempts: int = 8
) -> list[ClaimedMessage]:
    return await claims.claim_due(
        uow, worker, limit=limit, lease=LEASE, optional_allowed=optional_allowed, max_attempts=max_attempts
    )


async def test_a_claim_takes_due_messages_most_urgent_first_and_leases_them(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    [broadcast, notification, answer, later, last] = await queue(session_factory, clock, [
        broadcast_text(101, "sale", priority=PRIORITY_BROADCAST),
        broadcast_text(102, "eta moved", priority=PRIORITY_NOTIFICATION),
        broadcast_text(103, "agent replied", priority=PRIORITY_INTERACTIVE),
        broadcast_text(104, "tomorrow", priority=PRIORITY_INTERACTIVE, not_before=clock.now() + timedelta(minutes=5)),
        broadcast_text(105, "second sale", priority=PRIORITY_BROADCAST),
    ])

    claimed = await claim(uow, limit=3)

    assert [m.id for m in claimed] == [answer, notification, broadcast]
    assert [(m.chat_id, m.params["text"]) for m in claimed] == [(103, "agent replied"), (102, "eta moved"), (101, "sale")]
    rows = {row.id: row for row in await outbox_rows(session_factory)}
    for message_id in (answer, notification, broadcast):
        assert rows[message_id].status is OutboxStatus.SENDING
        assert rows[message_id].worker_id == "worker-1"
        assert rows[message_id].lease_expires_at == clock.now() + LEASE
    assert rows[later].status is rows[last].status is OutboxStatus.PENDING


async def test_claimed_messages_are_not_claimed_again(uow: UnitOfWork, session_factory: Sessions, clock: ManualClock) -> None:
    ids = await queue(session_factory, clock, [broadcast_text(200 + i, f"m{i}") for i in range(5)])

    first = await claim(uow, "worker-1", limit=3)
    second = await claim(uow, "worker-2", limit=3)
    third = await claim(uow, "worker-3", limit=3)

    assert [m.id for m in first] == ids[:3]
    assert [m.id for m in second] == ids[3:]
    assert third == []


async def test_an_expired_lease_goes_back_to_the_queue_counting_the_try(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    ids = await queue(session_factory, clock, [broadcast_text(300 + i, f"m{i}") for i in range(2)])
    await claim(uow, "died-1")
    clock.advance(seconds=59)
    assert await claim(uow, "worker-2") == []

    clock.advance(seconds=1)
    taken = await claim(uow, "worker-2")

    assert [m.id for m in taken] == ids
    for row in await outbox_rows(session_factory):
        assert (row.status, row.worker_id, row.attempts, row.last_error) == (OutboxStatus.SENDING, "worker-2", 1, LEASE_EXPIRED)


async def test_a_message_whose_worker_died_on_its_last_try_is_given_up(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    [message_id] = await queue(session_factory, clock, [broadcast_text(401, "m")])
    await claim(uow, "died-1", max_attempts=2)
    clock.advance(minutes=2)
    [again] = await claim(uow, "died-2", max_attempts=2)
    clock.advance(minutes=2)

    assert await claim(uow, "worker-3", max_attempts=2) == []
    row = await outbox_row(session_factory, again.id)
    assert (row.status, row.attempts, row.last_error, row.worker_id) == (OutboxStatus.FAILED, 2, LEASE_EXPIRED, None)


async def test_quiet_hours_leave_optional_messages_waiting(uow: UnitOfWork, session_factory: Sessions, clock: ManualClock) -> None:
    [optional, required] = await queue(session_factory, clock, [
        broadcast_text(501, "new eta"),
        broadcast_text(502, "your order is delayed", optional=False),
    ])

    assert [m.id for m in await claim(uow, optional_allowed=False)] == [required]
    assert (await outbox_row(session_factory, optional)).status is OutboxStatus.PENDING
    assert [m.id for m in await claim(uow, optional_allowed=True)] == [optional]


async def test_a_retry_waits_and_counts_and_the_last_allowed_try_fails_for_good(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    [message_id] = await queue(session_factory, clock, [broadcast_text(601, "m")])
    await claim(uow)

    status = await claims.retry_later(uow, message_id, "worker-1", "Bad Gateway", timedelta(seconds=30), max_attempts=2)

    row = await outbox_row(session_factory, message_id)
    assert (status, row.status, row.attempts, row.last_error) == (OutboxStatus.PENDING, OutboxStatus.PENDING, 1, "Bad Gateway")
    assert row.not_before == clock.now() + timedelta(seconds=30)
    assert await claim(uow) == []
    clock.advance(seconds=30)
    await claim(uow)

    status = await claims.retry_later(uow, message_id, "worker-1", "Internal Server Error", timedelta(seconds=60), max_attempts=2)

    row = await outbox_row(session_factory, message_id)
    assert (status, row.status, row.attempts, row.last_error) == (OutboxStatus.FAILED, OutboxStatus.FAILED, 2, "Internal Server Error")


async def test_a_worker_that_lost_its_lease_changes_nothing(uow: UnitOfWork, session_factory: Sessions, clock: ManualClock) -> None:
    [message_id] = await queue(session_factory, clock, [broadcast_text(701, "m")])
    await claim(uow, "slow-1")
    clock.advance(minutes=2)
    await claim(uow, "worker-2")

    assert await claims.retry_later(uow, message_id, "slow-1", "Bad Gateway", timedelta(seconds=30), max_attempts=8) is None
    await claims.postpone(uow, message_id, "slow-1", clock.now() + timedelta(hours=1))
    await claims.mark_failed(uow, message_id, "slow-1", "Bad Request")
    assert await claims.extend_leases(uow, [message_id], "slow-1", LEASE) == set()

    row = await outbox_row(session_factory, message_id)
    assert (row.status, row.worker_id, row.attempts, row.last_error) == (OutboxStatus.SENDING, "worker-2", 1, LEASE_EXPIRED)


async def test_sent_is_recorded_even_after_the_lease_lapsed_so_the_message_is_not_sent_again(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    [message_id] = await queue(session_factory, clock, [broadcast_text(801, "m")])
    await claim(uow, "slow-1")
    clock.advance(minutes=2)
    await claims.claim_due(uow, "reclaimer", limit=0, lease=LEASE, optional_allowed=True, max_attempts=8)

    await claims.mark_sent(uow, [claims.Sent(message_id, telegram_message_id=4242)])

    row = await outbox_row(session_factory, message_id)
    assert (row.status, row.telegram_message_id, row.sent_at, row.worker_id) == (OutboxStatus.SENT, 4242, clock.now(), None)
    assert await claim(uow, "worker-2") == []


async def test_postponing_does_not_count_a_try(uow: UnitOfWork, session_factory: Sessions, clock: ManualClock) -> None:
    [message_id] = await queue(session_factory, clock, [broadcast_text(901, "m")])
    await claim(uow)

    await claims.postpone(uow, message_id, "worker-1", clock.now() + timedelta(seconds=3), "Too Many Requests: retry after 3")

    row = await outbox_row(session_factory, message_id)
    assert (row.status, row.attempts, row.not_before, row.worker_id) == (OutboxStatus.PENDING, 0, clock.now() + timedelta(seconds=3), None)
    assert row.last_error == "Too Many Requests: retry after 3"


async def test_a_blocked_bot_stops_the_customers_optional_messages_and_marks_the_customer(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    anna = await add_chat_customer(session_factory, 1001, "Anna Klein")
    ben = await add_chat_customer(session_factory, 1002, "Ben Carter")
    [refused, annas_optional, annas_legal, bens] = await queue(session_factory, clock, [
        broadcast_text(1001, "eta moved", customer_id=anna),
        broadcast_text(1001, "sale", customer_id=anna, priority=PRIORITY_BROADCAST),
        broadcast_text(1001, "delay notice", customer_id=anna, optional=False),
        broadcast_text(1002, "eta moved", customer_id=ben),
    ])
    [claimed] = await claim(uow, limit=1)

    stopped = await claims.mark_blocked(uow, claimed, "worker-1", "Forbidden: bot was blocked by the user")

    assert stopped == 1
    statuses = {row.id: row.status for row in await outbox_rows(session_factory)}
    assert statuses == {
        refused: OutboxStatus.BLOCKED,
        annas_optional: OutboxStatus.BLOCKED,
        annas_legal: OutboxStatus.PENDING,
        bens: OutboxStatus.PENDING,
    }
    assert (await customer(session_factory, anna)).bot_blocked
    assert not (await customer(session_factory, ben)).bot_blocked
    async with session_factory() as session:
        [entry] = await session.scalars(select(AuditEntry).where(AuditEntry.action == "bot_blocked"))
    assert (entry.entity_id, entry.details) == (str(anna), {"outbox_message_id": refused, "messages_stopped": 1})


async def test_a_stopping_worker_hands_back_what_it_did_not_try_and_keeps_the_rest_leased(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    ids = await queue(session_factory, clock, [broadcast_text(1100 + i, f"m{i}") for i in range(3)])
    await claim(uow)
    clock.advance(seconds=45)

    assert await claims.extend_leases(uow, ids[:1], "worker-1", LEASE) == {ids[0]}
    await claims.release(uow, ids[1:], "worker-1")

    rows = await outbox_rows(session_factory)
    assert (rows[0].status, rows[0].lease_expires_at) == (OutboxStatus.SENDING, clock.now() + LEASE)
    assert [(row.status, row.worker_id, row.attempts) for row in rows[1:]] == [(OutboxStatus.PENDING, None, 0)] * 2
    assert [m.id for m in await claim(uow, "worker-2")] == ids[1:]


async def test_workers_on_separate_connections_never_claim_the_same_message(
    database_url: str, session_factory: Sessions, clock: ManualClock
) -> None:
    ids = await queue(session_factory, clock, [broadcast_text(5_000 + i, f"m{i}") for i in range(500)])
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        takers = [UnitOfWork(create_session_factory(engine), clock) for engine in engines]
        for engine in engines:  # connected before the race, so a loaded machine cannot leave one worker the queue alone
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        async def take_all(uow: UnitOfWork, worker: str) -> list[int]:
            taken: list[int] = []
            while batch := await claim(uow, worker, limit=7):
                taken += [m.id for m in batch]
                await asyncio.sleep(0)
            return taken

        taken = await asyncio.gather(*(take_all(uow, f"worker-{i}") for i, uow in enumerate(takers)))
    finally:
        for engine in engines:
            await engine.dispose()

    everything = [message_id for share in taken for message_id in share]
    assert sorted(everything) == ids  # every message once: none twice, none left
    # At least two took turns, so the claims really interleaved (a third may find the queue drained).
    assert sum(1 for share in taken if share) >= 2


async def test_messages_already_finished_are_never_claimed(uow: UnitOfWork, session_factory: Sessions, clock: ManualClock) -> None:
    ids = await queue(session_factory, clock, [broadcast_text(1200 + i, f"m{i}") for i in range(4)])
    finished = [OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.BLOCKED, OutboxStatus.CANCELLED]
    async with session_factory() as session:
        for message_id, status in zip(ids, finished, strict=True):
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(status=status))
        await session.commit()

    assert await claim(uow) == []
