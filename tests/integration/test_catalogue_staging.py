"""Large products and purchase-order files written through the staging table: short transactions, still all or nothing.

The file's planned writes are staged a chunk at a time, the run is committed in one short transaction, then written
into the shop a chunk at a time, the bot's writes getting in between. An import stopped before its commit leaves
the shop as it was; one killed before it leaves staged rows the next import or the daily jobs clear, one killed
after it is finished by them; a SKU or reference added by someone else before the commit stops the import, and a
purchase order received or cancelled after the check keeps its state.
Substitutes may name products later in the file, and the import repeats as nothing.
"""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.audit import Actor
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake import (
    catalogue_staging,
    import_runs,
    product_import,
    purchase_order_import,
)
from bot.services.intake.abandoned_imports import finish_abandoned_runs
from bot.services.intake.csv_import import import_orders, import_products, import_purchase_orders
from bot.services.purchasing.purchase_orders import cancel_purchase_order, receive_purchase_order
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    AuditEntry,
    LineStatus,
    OrderLine,
    Product,
    ProductSubstitute,
    PurchaseOrder,
    PurchaseOrderStatus,
    StagedImportRow,
    Supplier,
)
from tests.integration.test_import_at_scale import orders_file
from tests.row_counts import row_counts

Sessions = async_sessionmaker[AsyncSession]
MERCHANT = Actor.merchant("test")
STAGING = ("import_runs", "staged_import_rows")
PRODUCTS = 600
ONE_PRODUCT = "sku,name,category,price,currency,lead_time_days\n"


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A file of a few hundred rows takes the staged path, in many chunks, on both databases."""
    monkeypatch.setattr(product_import, "LARGE_BATCH", 300)
    monkeypatch.setattr(purchase_order_import, "LARGE_BATCH", 300)
    monkeypatch.setattr(catalogue_staging, "STAGED_FROM", {"sqlite": 300, "postgresql": 300})
    monkeypatch.setattr(catalogue_staging, "STAGE_CHUNK", 40)
    monkeypatch.setattr(catalogue_staging, "WRITE_ROWS", {"sqlite": 60, "postgresql": 60})
    monkeypatch.setattr(catalogue_staging, "SETTLE_SKUS", {"sqlite": 7, "postgresql": 7})
    monkeypatch.setattr(import_runs, "DISCARD_CHUNK", 300)
    yield


def products_file(count: int = PRODUCTS, *, available: int = 0, lead_time: int = 21) -> str:
    """Each product's substitute is the next one, further down the file; five suppliers."""
    rows = [
        f"P-{n},Product {n},bench,{10 + n % 50}.50,EUR,{lead_time},{f'P-{n + 1}' if n + 1 < count else ''},"
        f"{available},Supplier {n % 5}"
        for n in range(count)
    ]
    return "sku,name,category,price,currency,lead_time_days,substitutes,available,supplier\n" + "\n".join(rows) + "\n"


def purchase_orders_file(count: int, *, quantity: int = 5) -> str:
    rows = [f"PO-{n},P-{n % 40},{quantity + n % 20},2026-12-{1 + n % 28:02d},Supplier {n % 3}" for n in range(count)]
    return "reference,sku,quantity,expected_on,supplier\n" + "\n".join(rows) + "\n"


async def _count(session_factory: Sessions, *where: ColumnElement[bool]) -> int:
    async with session_factory() as session:
        return (await session.execute(select(func.count()).where(*where))).scalar_one()


async def _staged(session_factory: Sessions) -> int:
    return await _count(session_factory, StagedImportRow.id.is_not(None))


async def _when_staged(session_factory: Sessions, importing: "asyncio.Task[Any]") -> None:
    """Waits until the import has committed some staged rows."""
    while not importing.done():
        if await _staged(session_factory):
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the import finished before any staged rows were seen")


async def _substitute_of(session_factory: Sessions, sku: str) -> list[str]:
    substitute = Product.__table__.alias("substitute")
    async with session_factory() as session:
        rows = await session.execute(
            select(substitute.c.sku)
            .join(ProductSubstitute, ProductSubstitute.substitute_id == substitute.c.id)
            .join(Product, Product.id == ProductSubstitute.product_id)
            .where(Product.sku == sku)
            .order_by(ProductSubstitute.rank)
        )
        return list(rows.scalars())


async def _the_whole_file_is_in(session_factory: Sessions) -> None:
    """The products file is in the shop whole, as one transaction would have written it, and nothing is staged."""
    counts = await row_counts(session_factory)
    assert counts["products"] == PRODUCTS and counts["stock_levels"] == PRODUCTS
    assert counts["product_substitutes"] == PRODUCTS - 1 and counts["suppliers"] == 5
    assert [counts[table] for table in STAGING] == [0, 0]
    assert await _substitute_of(session_factory, "P-0") == ["P-1"]
    assert await _substitute_of(session_factory, f"P-{PRODUCTS - 2}") == [f"P-{PRODUCTS - 1}"]
    assert await _count(session_factory, AuditEntry.action == "product.created") == PRODUCTS
    assert await _count(session_factory, AuditEntry.action == "supplier.added") == 5
    async with session_factory() as session:
        supplier = await session.scalar(
            select(Supplier.name).join(Product, Product.supplier_id == Supplier.id).where(Product.sku == "P-7")
        )
    assert supplier == "Supplier 2"


async def test_a_large_products_file_goes_in_whole_with_substitutes_further_down_and_repeats_as_nothing(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    text = products_file()

    result = await import_products(uow, text, MERCHANT)
    await _the_whole_file_is_in(session_factory)
    counts = await row_counts(session_factory)
    again = await import_products(uow, text, MERCHANT)

    assert len(result.created) == PRODUCTS
    assert not again.changed and len(again.unchanged) == PRODUCTS
    assert await row_counts(session_factory) == counts


async def test_a_stock_and_lead_time_update_allocates_in_queue_order_and_gives_every_waiting_line_its_eta(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await import_products(uow, products_file(), MERCHANT)
    await import_orders(uow, orders_file(90), MERCHANT, "DE")
    before = await _count(session_factory, AuditEntry.action == "product.updated")

    result = await import_products(uow, products_file(available=2, lead_time=30), MERCHANT)

    assert len(result.updated) == PRODUCTS
    assert await _count(session_factory, AuditEntry.action == "product.updated") == before + PRODUCTS
    assert result.allocations and {move.reason for move in result.eta_moves} == {"stock_changed"}
    allocated = await _count(session_factory, OrderLine.allocated_quantity > 0)
    assert allocated == len({change.line_id for change in result.allocations})
    waiting_without_eta = (OrderLine.status != LineStatus.ALLOCATED, OrderLine.eta.is_(None))
    assert await _count(session_factory, *waiting_without_eta) == 0
    assert [(await row_counts(session_factory))[table] for table in STAGING] == [0, 0]


@pytest.mark.parametrize("kind", ["products", "purchase-orders"])
async def test_a_bad_row_at_the_end_of_a_large_file_writes_nothing(
    kind: str, uow: UnitOfWork, session_factory: Sessions
) -> None:
    if kind == "products":
        text, run = products_file() + "P-X,Product,bench,free,EUR,21,,1,S\n", import_products
    else:
        await import_products(uow, products_file(), MERCHANT)
        text, run = purchase_orders_file(500) + "PO-X,P-1,lots,2026-12-01,S\n", import_purchase_orders
    before = await row_counts(session_factory)

    with pytest.raises(ImportRejected):
        await run(uow, text, MERCHANT)

    assert await row_counts(session_factory) == before


async def test_an_import_stopped_while_staging_writes_nothing_and_leaves_nothing_staged(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    before = await row_counts(session_factory)
    importing = asyncio.create_task(import_products(uow, products_file(), MERCHANT))

    await _when_staged(session_factory, importing)
    importing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await importing

    assert await row_counts(session_factory) == before


async def test_the_bots_writes_get_in_between_the_imports_transactions(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    importing = asyncio.create_task(import_products(uow, products_file(), MERCHANT))

    await _when_staged(session_factory, importing)
    meanwhile = await import_products(UnitOfWork(session_factory, clock), f"{ONE_PRODUCT}X-1,Other,bench,1,EUR,21\n", MERCHANT)
    in_between = not importing.done()
    await importing

    assert meanwhile.created == ("X-1",) and in_between
    assert await _count(session_factory, Product.id.is_not(None)) == PRODUCTS + 1


async def test_a_product_added_while_the_file_is_staged_stops_the_import_and_nothing_is_written(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    before = await row_counts(session_factory)
    importing = asyncio.create_task(import_products(uow, products_file(), MERCHANT))

    await _when_staged(session_factory, importing)
    await import_products(UnitOfWork(session_factory, clock), f"{ONE_PRODUCT}P-599,Mine,bench,1,EUR,21\n", MERCHANT)
    with pytest.raises(ImportRejected) as refusal:
        await importing

    added = "product P-599 was added to the shop while this file was imported"
    assert refusal.value.problems == (RowProblem(PRODUCTS + 1, "sku", added),)
    after = await row_counts(session_factory)
    assert after["products"] - before["products"] == 1
    assert [after[table] for table in STAGING] == [0, 0]


class Killed(BaseException):
    """The importing process dies here: nothing after this point of the import runs."""


async def test_an_import_killed_before_its_commit_is_cleared_by_the_next_check(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await row_counts(session_factory)

    async def killed(*args: object) -> None:
        raise Killed

    async def no_clean_up(*args: object) -> None:  # a killed process cleans nothing up
        return None

    monkeypatch.setattr(catalogue_staging, "_commit", killed)
    monkeypatch.setattr(catalogue_staging, "discard", no_clean_up)
    with pytest.raises(Killed):
        await import_products(uow, products_file(), MERCHANT)
    assert await _staged(session_factory) > 0
    clock.advance(minutes=11)

    assert await finish_abandoned_runs(uow) == 1

    assert await row_counts(session_factory) == before


@pytest.mark.parametrize("chunks_before_the_kill", [0, 3, 14])
async def test_an_import_killed_after_its_commit_is_finished_whole_by_the_next_check(
    chunks_before_the_kill: int,
    uow: UnitOfWork,
    session_factory: Sessions,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Killed after its commit: before any chunk is written, with some products in, or in its substitutes' step."""

    async def killed_after(kind: object, uow: UnitOfWork, run_id: int, actor: Actor) -> None:
        for _ in range(chunks_before_the_kill):
            await catalogue_staging._write_chunk(uow, kind, run_id)  # type: ignore[arg-type]
        raise Killed

    monkeypatch.setattr(catalogue_staging, "roll_forward", killed_after)
    with pytest.raises(Killed):
        await import_products(uow, products_file(), MERCHANT)
    clock.advance(minutes=11)

    assert await finish_abandoned_runs(uow) == 1

    await _the_whole_file_is_in(session_factory)
    again = await import_products(uow, products_file(), MERCHANT)
    assert not again.changed


async def test_a_large_purchase_orders_file_goes_in_whole_moves_etas_and_repeats_as_nothing(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await import_products(uow, products_file(), MERCHANT)
    await import_orders(uow, orders_file(90), MERCHANT, "DE")
    text = purchase_orders_file(500)

    result = await import_purchase_orders(uow, text, MERCHANT)
    counts = await row_counts(session_factory)
    again = await import_purchase_orders(uow, text, MERCHANT)
    moved = await import_purchase_orders(uow, purchase_orders_file(500, quantity=6).replace("2026-12-", "2027-01-"), MERCHANT)

    assert len(result.created) == 500 and result.eta_moves
    assert {move.reason for move in result.eta_moves} == {"purchase_order_added"}
    assert counts["purchase_orders"] == 500 and counts["suppliers"] == 5
    assert await _count(session_factory, AuditEntry.action == "purchase_order.added") == 500
    assert not again.changed and len(again.unchanged) == 500
    assert len(moved.updated) == 500 and {move.reason for move in moved.eta_moves} == {"purchase_order_moved"}
    assert await _count(session_factory, AuditEntry.action == "purchase_order.updated") == 500
    assert [(await row_counts(session_factory))[table] for table in STAGING] == [0, 0]


async def test_a_purchase_orders_import_killed_after_its_commit_is_finished_whole_by_the_next_check(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await import_products(uow, products_file(), MERCHANT)
    text = purchase_orders_file(500)

    async def killed_after(kind: object, uow: UnitOfWork, run_id: int, actor: Actor) -> None:
        for _ in range(4):
            await catalogue_staging._write_chunk(uow, kind, run_id)  # type: ignore[arg-type]
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(catalogue_staging, "roll_forward", killed_after)
        with pytest.raises(Killed):
            await import_purchase_orders(uow, text, MERCHANT)
    clock.advance(minutes=11)

    assert await finish_abandoned_runs(uow) == 1

    counts = await row_counts(session_factory)
    assert counts["purchase_orders"] == 500 and [counts[table] for table in STAGING] == [0, 0]
    assert await _count(session_factory, AuditEntry.action == "purchase_order.added") == 500
    assert not (await import_purchase_orders(uow, text, MERCHANT)).changed


async def test_a_product_someone_adds_after_the_commit_stays_as_they_wrote_it_and_the_rest_goes_in(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def killed_after(kind: object, uow: UnitOfWork, run_id: int, actor: Actor) -> None:
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(catalogue_staging, "roll_forward", killed_after)
        with pytest.raises(Killed):
            await import_products(uow, products_file(), MERCHANT)
    await import_products(UnitOfWork(session_factory, clock), f"{ONE_PRODUCT}P-599,Mine,bench,1,EUR,21\n", MERCHANT)
    clock.advance(minutes=11)

    assert await finish_abandoned_runs(uow) == 1

    async with session_factory() as session:
        assert await session.scalar(select(Product.name).where(Product.sku == "P-599")) == "Mine"
    counts = await row_counts(session_factory)
    assert counts["products"] == PRODUCTS and [counts[table] for table in STAGING] == [0, 0]
    assert await _substitute_of(session_factory, "P-598") == ["P-599"]
    assert await _count(session_factory, AuditEntry.action == "product.created") == PRODUCTS


async def test_a_purchase_order_received_or_cancelled_after_the_check_keeps_its_state_and_the_rest_changes(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await import_products(uow, products_file(), MERCHANT)
    await import_purchase_orders(uow, purchase_orders_file(500), MERCHANT)

    async def killed_after(kind: object, uow: UnitOfWork, run_id: int, actor: Actor) -> None:
        raise Killed

    with monkeypatch.context() as patched:  # checked and committed while PO-7 and PO-8 were open
        patched.setattr(catalogue_staging, "roll_forward", killed_after)
        with pytest.raises(Killed):
            await import_purchase_orders(uow, purchase_orders_file(500, quantity=6), MERCHANT)
    await receive_purchase_order(UnitOfWork(session_factory, clock), "PO-7", MERCHANT)
    await cancel_purchase_order(UnitOfWork(session_factory, clock), "PO-8", MERCHANT)
    clock.advance(minutes=11)

    assert await finish_abandoned_runs(uow) == 1

    async with session_factory() as session:
        orders = {
            reference: (status, quantity, received)
            for reference, status, quantity, received in await session.execute(
                select(
                    PurchaseOrder.reference,
                    PurchaseOrder.status,
                    PurchaseOrder.quantity,
                    PurchaseOrder.received_quantity,
                ).where(PurchaseOrder.reference.in_(["PO-7", "PO-8", "PO-9"]))
            )
        }
    assert orders == {
        "PO-7": (PurchaseOrderStatus.RECEIVED, 12, 12),
        "PO-8": (PurchaseOrderStatus.CANCELLED, 13, 0),
        "PO-9": (PurchaseOrderStatus.OPEN, 15, 0),
    }
    assert await _count(session_factory, AuditEntry.action == "purchase_order.updated") == 498
