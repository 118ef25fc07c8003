"""Transactions that only read, and writers under contention, on both backends."""

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import Update, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.unit_of_work import UnitOfWork
from db.models import StockLevel
from tests.shop import add_product


async def _stocked(session: AsyncSession, sku: str, available: int) -> int:
    """A committed product with `available` units; its id."""
    product = await add_product(session, sku, available=available)
    await session.commit()
    return product.id


def _set_available(product_id: int, available: Any) -> Update:
    return update(StockLevel).where(StockLevel.product_id == product_id).values(available=available)


async def _available(uow: UnitOfWork, product_id: int) -> int | None:
    async with uow.read_only():
        return await uow.session.scalar(select(StockLevel.available).where(StockLevel.product_id == product_id))


async def _available_on_a_plain_connection(uow: UnitOfWork, product_id: int) -> int | None:
    async with uow.connection(read_only=True) as connection:
        return await connection.scalar(select(StockLevel.available).where(StockLevel.product_id == product_id))


async def _commit_available(uow: UnitOfWork, product_id: int, available: int) -> None:
    """Set the product's available stock in a committed transaction on a plain connection."""
    async with uow.connection() as connection:
        await connection.execute(_set_available(product_id, available))
        await uow.commit()


async def test_a_read_only_transaction_refuses_to_write(uow: UnitOfWork, session: AsyncSession) -> None:
    product_id = await _stocked(session, "RO-WRITE", 3)

    with pytest.raises(DBAPIError):
        async with uow.read_only():
            await uow.session.execute(_set_available(product_id, 0))

    assert await _available(uow, product_id) == 3


async def test_a_read_does_not_wait_for_a_transaction_that_is_writing(
    uow: UnitOfWork, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    product_id = await _stocked(session, "RO-BESIDE", 3)
    writer = UnitOfWork(session_factory, clock)

    async with writer:
        await writer.session.execute(_set_available(product_id, 1))
        # The writer's transaction is still open here (on SQLite it holds the database's write lock).
        seen_meanwhile = await _available(uow, product_id)
        seen_on_a_plain_connection_meanwhile = await _available_on_a_plain_connection(uow, product_id)
        await writer.commit()

    assert seen_meanwhile == seen_on_a_plain_connection_meanwhile == 3
    assert await _available(uow, product_id) == 1


async def test_concurrent_writers_all_get_their_turn(
    uow: UnitOfWork, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    product_id = await _stocked(session, "RO-QUEUE", 20)

    async def take_one() -> None:
        writer = UnitOfWork(session_factory, clock)
        async with writer:
            await writer.session.execute(_set_available(product_id, StockLevel.available - 1))
            await asyncio.sleep(0)  # let the others start their transactions meanwhile
            await writer.commit()

    await asyncio.gather(*(take_one() for _ in range(12)))

    assert await _available(uow, product_id) == 8


async def test_a_failed_write_lets_the_next_writer_in(uow: UnitOfWork, session: AsyncSession) -> None:
    product_id = await _stocked(session, "RO-FAIL", 3)

    with pytest.raises(IntegrityError):
        async with uow:
            await add_product(uow.session, "RO-FAIL")  # the SKU is taken
    async with uow:
        await uow.session.execute(_set_available(product_id, 2))
        await uow.commit()

    assert await _available(uow, product_id) == 2


async def test_a_transaction_that_ran_nothing_lets_the_next_writer_in(uow: UnitOfWork, session: AsyncSession) -> None:
    product_id = await _stocked(session, "RO-EMPTY", 3)

    async with uow:
        await uow.session.connection()
        await uow.commit()
    async with uow:
        await uow.session.execute(_set_available(product_id, 4))
        await uow.commit()

    assert await _available(uow, product_id) == 4


async def test_a_writer_cancelled_mid_transaction_lets_the_next_writer_in(
    uow: UnitOfWork, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    product_id = await _stocked(session, "RO-CANCEL", 3)
    wrote = asyncio.Event()

    async def write_and_hang() -> None:
        writer = UnitOfWork(session_factory, clock)
        async with writer:
            await writer.session.execute(_set_available(product_id, 0))
            wrote.set()
            await asyncio.Event().wait()  # until cancelled, with the transaction open

    hanging = asyncio.create_task(write_and_hang())
    await wrote.wait()
    hanging.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hanging
    async with uow:
        await uow.session.execute(_set_available(product_id, 5))
        await uow.commit()

    assert await _available(uow, product_id) == 5


async def test_a_connection_transaction_keeps_only_what_was_committed(uow: UnitOfWork, session: AsyncSession) -> None:
    product_id = await _stocked(session, "CX-COMMIT", 3)

    async with uow.connection() as connection:
        await connection.execute(_set_available(product_id, 0))
    await _commit_available(uow, product_id, 7)

    assert await _available(uow, product_id) == 7


async def test_a_transaction_committed_with_its_last_statement_keeps_it_and_lets_the_next_writer_in(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    product_id = await _stocked(session, "CX-LAST", 3)

    async with uow.connection() as connection:
        before = await connection.scalar(select(StockLevel.available).where(StockLevel.product_id == product_id))
        updated = await uow.commit_with(_set_available(product_id, 7), {})
    kept = await _available(uow, product_id)
    await _commit_available(uow, product_id, 2)

    assert (before, updated.rowcount, kept) == (3, 1, 7)
    assert await _available(uow, product_id) == 2


async def _write_on_a_read_only_connection(uow: UnitOfWork, product_id: int) -> None:
    async with uow.connection(read_only=True) as connection:
        await connection.execute(_set_available(product_id, 0))


async def _refused_last_statement(uow: UnitOfWork, product_id: int) -> None:
    async with uow.connection() as connection:
        await connection.execute(_set_available(product_id, 1))
        await uow.commit_with(_set_available(product_id, -1), {})  # below zero: refused


@pytest.mark.parametrize(
    ("sku", "refused_write"), [("CX-RO", _write_on_a_read_only_connection), ("CX-LAST-FAIL", _refused_last_statement)]
)
async def test_a_refused_write_on_a_plain_connection_leaves_nothing_and_lets_the_next_writer_in(
    uow: UnitOfWork, session: AsyncSession, sku: str, refused_write: Callable[[UnitOfWork, int], Awaitable[None]]
) -> None:
    product_id = await _stocked(session, sku, 3)

    with pytest.raises(DBAPIError):
        await refused_write(uow, product_id)
    left = await _available(uow, product_id)
    await _commit_available(uow, product_id, 2)

    assert left == 3
    assert await _available(uow, product_id) == 2


async def test_while_another_process_writes_a_plain_connection_waits_without_stopping_the_event_loop(
    uow: UnitOfWork, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], clock: ManualClock,
    database_url: str, is_postgres: bool,
) -> None:
    if is_postgres:
        pytest.skip("SQLite only: its plain-connection statements run on the event loop's thread")
    product_id = await _stocked(session, "CX-OTHER-PROCESS", 3)
    other_process = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # say, a CSV import in another process, holding the write lock
    try:
        writing = asyncio.create_task(_commit_available(uow, product_id, 9))
        loop = asyncio.get_running_loop()
        ticks_started = loop.time()
        for _ in range(10):
            await asyncio.sleep(0.01)  # the event loop keeps turning while the write waits for the lock
        ticking = loop.time() - ticks_started
        waiting_meanwhile = not writing.done()
        seen_meanwhile = await _available_on_a_plain_connection(UnitOfWork(session_factory, clock), product_id)
    finally:
        other_process.execute("COMMIT")
        other_process.close()
    await asyncio.wait_for(writing, 10)

    assert waiting_meanwhile and ticking < 0.5
    assert seen_meanwhile == 3
    assert await _available(uow, product_id) == 9
