"""Large products and purchase-order files are checked beside the bot's writers: a refused file, one that changes
nothing and a dry run write nothing and never wait for the write lock, whoever holds it."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.audit import Actor
from bot.services.errors import ImportRejected
from bot.services.intake import product_import, purchase_order_import
from bot.services.intake.csv_import import import_products, import_purchase_orders
from bot.services.intake.import_records import ImportResult
from bot.services.unit_of_work import UnitOfWork
from db.models import Product
from tests.row_counts import row_counts

Sessions = async_sessionmaker[AsyncSession]
MERCHANT = Actor.merchant("test")
SKUS = 40
ROWS = 1200


@pytest.fixture(autouse=True)
def _large_from_a_few_hundred(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(product_import, "LARGE_BATCH", 300)
    monkeypatch.setattr(purchase_order_import, "LARGE_BATCH", 300)
    yield


def products_file(count: int) -> str:
    rows = [f"P-{n},Product {n},bench,{10 + n % 50}.50,EUR,21,{n % 4 * 5}" for n in range(count)]
    return "sku,name,category,price,currency,lead_time_days,available\n" + "\n".join(rows) + "\n"


def purchase_orders_file(count: int) -> str:
    rows = [f"PO-{n},P-{n % SKUS},{5 + n % 20},2026-12-{1 + n % 28:02d}" for n in range(count)]
    return "reference,sku,quantity,expected_on\n" + "\n".join(rows) + "\n"


Importer = Callable[[UnitOfWork, str], Awaitable[ImportResult]]
KINDS: dict[str, tuple[Importer, Callable[[int], str], str]] = {
    "products": (lambda uow, text: import_products(uow, text, MERCHANT), products_file, "P-NEW,Product,bench,free,EUR,21,1"),
    "purchase-orders": (
        lambda uow, text: import_purchase_orders(uow, text, MERCHANT),
        purchase_orders_file,
        "PO-X,P-1,lots,2026-12-01",
    ),
}


async def _shop_with_products(uow: UnitOfWork) -> None:
    await import_products(uow, products_file(SKUS), MERCHANT)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_bad_row_at_the_end_of_a_large_file_writes_nothing(
    kind: str, uow: UnitOfWork, session_factory: Sessions
) -> None:
    run, file_of, bad_row = KINDS[kind]
    await _shop_with_products(uow)
    before = await row_counts(session_factory)

    with pytest.raises(ImportRejected) as refusal:
        await run(uow, file_of(ROWS) + bad_row + "\n")

    [(row, field, _)] = refusal.value.problems
    assert (row, field) == (ROWS + 2, "price" if kind == "products" else "quantity")
    assert await row_counts(session_factory) == before


async def _while_the_bot_writes(session_factory: Sessions, work: Awaitable[ImportResult]) -> ImportResult:
    """`work`, awaited while another session holds a write transaction open: it must not wait for it."""
    async with session_factory() as writer:
        await writer.execute(update(Product).where(Product.sku == "P-1").values(name="Renamed meanwhile"))
        try:
            return await asyncio.wait_for(work, 30)
        finally:
            await writer.rollback()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_large_file_imported_again_changes_nothing_without_waiting_for_the_bot(
    kind: str, uow: UnitOfWork, session_factory: Sessions
) -> None:
    run, file_of, _ = KINDS[kind]
    await _shop_with_products(uow)
    text = file_of(ROWS)
    first = await run(uow, text)
    before = await row_counts(session_factory)

    again = await _while_the_bot_writes(session_factory, run(uow, text))

    assert first.changed and not again.changed and len(again.unchanged) == ROWS
    assert await row_counts(session_factory) == before


@pytest.mark.parametrize("kind", KINDS)
async def test_a_dry_run_of_a_large_file_writes_nothing_without_waiting_for_the_bot(
    kind: str, uow: UnitOfWork, session_factory: Sessions
) -> None:
    _, file_of, _ = KINDS[kind]
    await _shop_with_products(uow)
    before = await row_counts(session_factory)
    dry_run = import_products if kind == "products" else import_purchase_orders

    result = await _while_the_bot_writes(session_factory, dry_run(uow, file_of(ROWS), MERCHANT, dry_run=True))

    assert len(result.created) == (ROWS - SKUS if kind == "products" else ROWS)
    assert await row_counts(session_factory) == before
