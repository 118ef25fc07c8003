"""The periodic reconcile against the fake Shopify: what missed webhooks lost comes back — stock counts
(inventory_levels/update), product changes and orders — and the waiting lines are served in queue order."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.connectors.backfill_run import run_backfill
from bot.connectors.shopify.adapter import ShopifyAdapter
from bot.connectors.worker import ConnectorWorker
from bot.services.connectors import ConnectionConfig
from bot.services.unit_of_work import UnitOfWork
from db.models import AuditEntry, LineStatus, Order, OrderLine, Product, StockLevel, Supplier
from tests.fakes.shopify_fixtures import Naps
from tests.fakes.shopify_store import FakeShopify


@pytest.fixture
async def backfilled(uow: UnitOfWork, shopify_adapter: ShopifyAdapter, shopify_connection: ConnectionConfig) -> None:
    await run_backfill(uow, shopify_adapter, shopify_connection)


@pytest.fixture
async def reconciling(uow: UnitOfWork, naps: Naps, backfilled: None) -> AsyncIterator[ConnectorWorker]:
    running = ConnectorWorker(lambda: uow, lambda config: ShopifyAdapter(config, sleep=naps), reconcile_every=timedelta(minutes=15))
    yield running
    await running.aclose()


async def _read(session: AsyncSession, statement):  # type: ignore[no-untyped-def]
    rows = [tuple(row) for row in (await session.execute(statement)).all()]
    await session.rollback()
    return rows


async def _waiting(session: AsyncSession, sku: str) -> list[tuple[str, LineStatus, int]]:
    """(order, status, allocated) of the SKU's lines, in queue order."""
    return await _read(
        session,
        select(Order.number, OrderLine.status, OrderLine.allocated_quantity)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Product.sku == sku)
        .order_by(OrderLine.queued_at, OrderLine.id),
    )


async def test_a_restock_whose_inventory_webhook_never_came_serves_the_waiting_lines_in_queue_order(
    shopify: FakeShopify, reconciling: ConnectorWorker, session: AsyncSession
) -> None:
    shopify.variant_by_sku("HS-200").available += 2  # two headsets in; inventory_levels/update got lost

    await reconciling.run_once()

    assert await _waiting(session, "HS-200") == [
        ("1001", LineStatus.ALLOCATED, 1),  # Anna ordered first
        ("1002", LineStatus.PARTIALLY_ALLOCATED, 1),  # Ben's second headset still waits
    ]
    assert await _read(session, select(StockLevel.available).join(Product).where(Product.sku == "HS-200")) == [(0,)]


async def test_a_missed_order_and_a_missed_restock_serve_the_older_orders_first(
    shopify: FakeShopify, reconciling: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    shopify.add_order(1020, "fay@example.com", [("HS-200", 1)], placed_at=clock.now() - timedelta(minutes=1))
    shopify.variant_by_sku("HS-200").available += 3  # three in, after the new order took its unit off

    await reconciling.run_once()

    assert await _waiting(session, "HS-200") == [
        ("1001", LineStatus.ALLOCATED, 1),
        ("1002", LineStatus.ALLOCATED, 2),
        ("1020", LineStatus.BACKORDERED, 0),  # placed last: waits for the next
    ]


async def test_a_reconcile_that_finds_the_stock_as_it_was_changes_nothing(
    shopify: FakeShopify, reconciling: ConnectorWorker, session: AsyncSession
) -> None:
    before = await _read(session, select(func.count()).select_from(AuditEntry))

    await reconciling.run_once()

    assert shopify.calls.count("StockAtLocation") == 2  # the backfill's and the reconcile's
    assert await _read(session, select(func.count()).select_from(AuditEntry)) == before


async def test_a_vendor_change_whose_webhook_never_came_moves_the_product_to_that_supplier(
    shopify: FakeShopify, reconciling: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    mixer = shopify.variant_by_sku("MX-500")
    mixer.vendor, mixer.updated_at = "Kitchen Goods AG", clock.now() - timedelta(minutes=1)

    await reconciling.run_once()

    assert await _read(
        session, select(Supplier.name).join(Product, Product.supplier_id == Supplier.id).where(Product.sku == "MX-500")
    ) == [("Kitchen Goods AG",)]
