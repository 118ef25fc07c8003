"""A large orders import written through the staging table: short transactions, and still all or nothing.

The file's lines are staged a chunk at a time, then the run is committed in one short transaction and moved into
the shop a chunk of orders at a time. An import stopped after some chunks were staged leaves the shop as it was
and nothing staged; one whose process died before the commit leaves staged rows that the next import clears, and
one that died after it is finished by the next import, or by the bot's daily-jobs process at its next check; an
order added by someone else before the commit stops the import. A dry run of a large file writes nothing and
waits for no writer.
"""

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.background import DAILY_JOBS, JOB_LEASE, run_daily_jobs_once_a_day
from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.config import Settings
from bot.services.audit import Actor
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake import import_runs, order_import, order_staging
from bot.services.intake.abandoned_imports import finish_abandoned_runs
from bot.services.intake.csv_import import import_orders, import_products
from bot.services.intake.csv_reader import read_orders
from bot.services.intake.import_records import NO_PROGRESS, OrderLineRecord
from bot.services.job_leases import hold_lease, record_run
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.models import AuditEntry, ImportRun, LineStatus, OrderLine, Product, StagedOrderLine
from tests.integration.test_import_at_scale import orders_file, products_file
from tests.row_counts import row_counts

Sessions = async_sessionmaker[AsyncSession]
MERCHANT = Actor.merchant("test")
STAGING = ("import_runs", "staged_order_lines")


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A file of a few thousand lines takes the staged path, in many chunks."""
    monkeypatch.setattr(order_import, "STAGED_FROM", 1000)
    monkeypatch.setattr(order_staging, "STAGE_CHUNK", 40)
    monkeypatch.setattr(order_staging, "MOVE_LINES", {"sqlite": 60, "postgresql": 60})
    monkeypatch.setattr(order_staging, "SETTLE_SKUS", {"sqlite": 7, "postgresql": 7})
    monkeypatch.setattr(import_runs, "DISCARD_CHUNK", 300)
    yield


@pytest.fixture(autouse=True)
async def before(uow: UnitOfWork, session_factory: Sessions) -> dict[str, int]:
    """Every test imports orders into a shop holding the files' products: its row counts then."""
    await import_products(uow, products_file(), MERCHANT)
    return await row_counts(session_factory)


async def _staged(session_factory: Sessions) -> int:
    async with session_factory() as session:
        return (await session.execute(select(func.count()).select_from(StagedOrderLine))).scalar_one()


WAITING_WITHOUT_ETA = (OrderLine.status != LineStatus.ALLOCATED, OrderLine.eta.is_(None))


async def _count(session_factory: Sessions, *where: ColumnElement[bool]) -> int:
    """How many rows of the table the conditions name meet them."""
    async with session_factory() as session:
        return (await session.execute(select(func.count()).where(*where))).scalar_one()


def _added(
    before: dict[str, int], after: dict[str, int], tables: tuple[str, ...] = ("orders", "order_lines")
) -> list[int]:
    """How many rows each table gained."""
    return [after[table] - before[table] for table in tables]


async def _when_staged(session_factory: Sessions, importing: "asyncio.Task[object]") -> int:
    """Waits until the import has committed some staged lines; how many."""
    while not importing.done():
        if staged := await _staged(session_factory):
            return staged
        await asyncio.sleep(0.002)
    raise AssertionError("the import finished before any staged lines were seen")


async def test_an_import_stopped_after_some_chunks_writes_nothing_and_leaves_nothing_staged(
    uow: UnitOfWork, session_factory: Sessions, before: dict[str, int]
) -> None:
    importing = asyncio.create_task(import_orders(uow, orders_file(1500), MERCHANT, "DE"))

    seen = await _when_staged(session_factory, importing)
    importing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await importing

    assert 0 < seen < 3000
    assert await row_counts(session_factory) == before


async def _leave_staged_as_a_killed_import(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock, *, committed: bool = False
) -> int:
    """What a killed import leaves, and the run's id: a run its process stopped renewing 11 minutes ago, and some
    staged chunks."""
    await import_runs.begin_run(uow, "orders", MERCHANT)
    async with session_factory() as session:
        run_id = (await session.execute(select(ImportRun.id))).scalar_one()
        products = dict((await session.execute(select(Product.sku, Product.id))).all())
    staged = _orders_of(orders_file(100, first_number=500000), clock)
    await order_staging._stage(uow, run_id, staged, products, NO_PROGRESS)
    assert await _staged(session_factory) == 200
    if committed:
        await order_staging._commit(uow, run_id)
    else:
        clock.advance(minutes=11)
    return run_id


async def test_the_daily_jobs_clear_what_an_import_whose_process_died_left_staged(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock, before: dict[str, int]
) -> None:
    await _leave_staged_as_a_killed_import(uow, session_factory, clock)

    assert await finish_abandoned_runs(uow) == 1

    assert await row_counts(session_factory) == before


async def test_the_daily_jobs_finish_moving_an_import_killed_after_its_commit(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock, before: dict[str, int]
) -> None:
    run_id = await _leave_staged_as_a_killed_import(uow, session_factory, clock, committed=True)
    assert await order_staging._move_chunk(uow, run_id, MERCHANT) == 30  # 30 of its 100 orders and their customers
    half = await row_counts(session_factory)
    clock.advance(minutes=11)

    assert await finish_abandoned_runs(uow) == 1

    after = await row_counts(session_factory)
    assert _added(before, half, ("orders", "order_lines", "customers")) == [30, 60, 30]
    assert _added(before, after, ("orders", "order_lines", "customers")) == [100, 200, 34]
    assert [after[table] for table in STAGING] == [0, 0]
    assert await _count(session_factory, AuditEntry.action == "order.imported") == 100
    assert await _count(session_factory, *WAITING_WITHOUT_ETA) == 0


async def test_the_bot_finishes_an_import_killed_after_its_commit_at_its_next_check_not_the_next_day(
    uow: UnitOfWork,
    session_factory: Sessions,
    clock: ManualClock,
    policy: ShopPolicy,
    database_url: str,
    before: dict[str, int],
) -> None:
    run_id = await _leave_staged_as_a_killed_import(uow, session_factory, clock, committed=True)
    await order_staging._move_chunk(uow, run_id, MERCHANT)
    clock.advance(minutes=11)
    assert await hold_lease(uow, DAILY_JOBS, "bot", JOB_LEASE) is not None
    assert await record_run(uow, DAILY_JOBS, "bot", clock.today())  # today's daily jobs are done

    async def no_daily_jobs(deps: ChatDeps) -> None:
        raise AssertionError("the daily jobs ran twice today")

    deps = ChatDeps(Settings(database_url=database_url), session_factory, clock, policy)
    bot = asyncio.create_task(run_daily_jobs_once_a_day(deps, "bot", no_daily_jobs, check_every=0.01))
    try:
        async with asyncio.timeout(30):
            while await _count(session_factory, ImportRun.id.is_not(None)):
                await asyncio.sleep(0.01)
    finally:
        bot.cancel()
        await asyncio.gather(bot, return_exceptions=True)

    after = await row_counts(session_factory)
    assert _added(before, after, ("orders", "order_lines", "customers")) == [100, 200, 34]
    assert [after[table] for table in STAGING] == [0, 0]


async def test_the_next_import_clears_what_an_import_whose_process_died_left_staged(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock, before: dict[str, int]
) -> None:
    await _leave_staged_as_a_killed_import(uow, session_factory, clock)

    result = await import_orders(uow, orders_file(600), MERCHANT, "DE")

    after = await row_counts(session_factory)
    assert len(result.created) == 600
    assert _added(before, after) == [600, 1200]
    assert [after[table] for table in STAGING] == [0, 0]


async def test_an_order_added_while_the_file_is_staged_stops_the_import_and_nothing_is_written(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock, before: dict[str, int]
) -> None:
    text = orders_file(1500)
    header, first_line = text.splitlines()[:2]
    importing = asyncio.create_task(import_orders(uow, text, MERCHANT, "DE"))

    await _when_staged(session_factory, importing)
    meanwhile = UnitOfWork(session_factory, clock)
    await import_orders(meanwhile, f"{header}\n{first_line}\n", Actor.merchant("api"), "DE")
    with pytest.raises(ImportRejected) as refusal:
        await importing

    added = "order 100000 was added to the shop while this file was imported"
    assert refusal.value.problems == (RowProblem(2, "order_number", added), RowProblem(3, "order_number", added))
    after = await row_counts(session_factory)
    assert _added(before, after) == [1, 1]
    assert [after[table] for table in STAGING] == [0, 0]


async def test_a_dry_run_of_a_large_file_writes_nothing_and_waits_for_no_writer(
    uow: UnitOfWork, session_factory: Sessions, before: dict[str, int]
) -> None:
    async with session_factory() as writer:  # the bot, in the middle of a write
        await writer.execute(update(Product).where(Product.sku == "P-1").values(name="Renamed"))
        result = await asyncio.wait_for(import_orders(uow, orders_file(1500), MERCHANT, "DE", dry_run=True), 30)
        await writer.rollback()

    assert (len(result.created), result.customers_created) == (1500, 501)
    assert await row_counts(session_factory) == before


async def test_a_staged_import_allocates_in_queue_order_gives_every_waiting_line_an_eta_and_repeats_as_nothing(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    text = orders_file(1500)

    result = await import_orders(uow, text, MERCHANT, "DE")
    counts = await row_counts(session_factory)
    again = await import_orders(uow, text, MERCHANT, "DE")

    assert (len(result.created), result.customers_created) == (1500, 501)
    assert result.allocations and result.eta_moves
    assert await _count(session_factory, *WAITING_WITHOUT_ETA) == 0
    assert not again.changed and len(again.unchanged) == 1500
    assert await row_counts(session_factory) == counts
    assert [counts[table] for table in STAGING] == [0, 0]


def _orders_of(text: str, clock: ManualClock) -> dict[str, list[OrderLineRecord]]:
    orders: dict[str, list[OrderLineRecord]] = {}
    for line in read_orders(text, clock.now(), clock.tz, "DE", NO_PROGRESS).records:
        orders.setdefault(line.order_number, []).append(line)
    return orders
