"""Orders the store had already partly fulfilled when the bot first saw them: only what was left to ship came in,
so the store's later lowering or fulfilling of that rest must be measured against it, not against the whole line,
and the parcels sent before the import are not the bot's to ship again."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.connectors.backfill_run import run_backfill
from bot.connectors.shopify.adapter import ShopifyAdapter
from bot.connectors.worker import ConnectorWorker
from bot.services.connectors import ConnectionConfig
from bot.services.unit_of_work import UnitOfWork
from db.models import LineStatus, Order, OrderLine, Product, Shipment
from tests.e2e.test_shopify_webhooks import hooks, worker  # noqa: F401 (the webhook tests' fixtures)
from tests.fakes.shopify_fixtures import Naps
from tests.fakes.shopify_store import FakeOrder, FakeShopify


async def _line(session: AsyncSession, number: str, sku: str) -> tuple[int, LineStatus, int, int, int]:
    """(quantity, status, allocated, cancelled, shipped) of the order's line."""
    rows = (
        await session.execute(
            select(OrderLine.quantity, OrderLine.status, OrderLine.allocated_quantity, OrderLine.cancelled_quantity,
                   OrderLine.shipped_quantity)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Order.number == number, Product.sku == sku)
        )
    ).all()
    await session.rollback()
    return tuple(rows[0])  # type: ignore[return-value]


async def _tracking_numbers(session: AsyncSession) -> list[str]:
    found = sorted((await session.scalars(select(Shipment.tracking_number))).all())
    await session.rollback()
    return found


def _partly_fulfilled(shopify: FakeShopify, clock: ManualClock, number: int, sku: str) -> FakeOrder:
    """Three units ordered two days ago; the store shipped one yesterday, before the bot was connected."""
    order = shopify.add_order(number, "dora@example.com", [(sku, 3)], placed_at=clock.now() - timedelta(days=2), name="Dora Lang")
    shopify.fulfil(order, sku, 1, "00340434161094000001", clock.now() - timedelta(days=1))
    return order


def _lower(shopify: FakeShopify, order: FakeOrder, sku: str, quantity: int, clock: ManualClock) -> None:
    clock.advance(minutes=1)
    next(line for line in order.line_items if line.sku == sku).current_quantity = quantity
    order.updated_at = clock.now()


async def test_a_backfilled_partly_fulfilled_order_waits_for_the_rest_and_a_lowering_cancels_of_it(
    shopify: FakeShopify, uow: UnitOfWork, shopify_adapter: ShopifyAdapter, shopify_connection: ConnectionConfig,
    hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock,
) -> None:
    order = _partly_fulfilled(shopify, clock, 1040, "HS-200")  # sold out: the two left wait
    await run_backfill(uow, shopify_adapter, shopify_connection)
    assert await _line(session, "1040", "HS-200") == (2, LineStatus.BACKORDERED, 0, 0, 0)

    _lower(shopify, order, "HS-200", 2, clock)  # the customer wants one more only: 3 - 1 shipped - 1 = 1 left
    await shopify.send_webhook(hooks, "orders/updated", shopify.order_payload(order))
    await worker.run_once()

    assert await _line(session, "1040", "HS-200") == (2, LineStatus.BACKORDERED, 0, 1, 0)
    assert await _tracking_numbers(session) == []  # yesterday's parcel was not ours

    _lower(shopify, order, "HS-200", 1, clock)  # then none: the order is what was shipped
    await shopify.send_webhook(hooks, "orders/updated", shopify.order_payload(order))
    await worker.run_once()
    assert await _line(session, "1040", "HS-200") == (2, LineStatus.CANCELLED, 0, 2, 0)


async def test_a_lowering_the_reconcile_finds_counts_from_what_was_left_at_import(
    shopify: FakeShopify, uow: UnitOfWork, shopify_adapter: ShopifyAdapter, shopify_connection: ConnectionConfig,
    naps: Naps, session: AsyncSession, clock: ManualClock,
) -> None:
    order = _partly_fulfilled(shopify, clock, 1040, "HS-200")
    await run_backfill(uow, shopify_adapter, shopify_connection)
    _lower(shopify, order, "HS-200", 2, clock)  # its webhook never came

    reconciling = ConnectorWorker(
        lambda: uow, lambda config: ShopifyAdapter(config, sleep=naps), reconcile_every=timedelta(minutes=15)
    )
    await reconciling.run_once()
    await reconciling.aclose()

    assert await _line(session, "1040", "HS-200") == (2, LineStatus.BACKORDERED, 0, 1, 0)


async def test_the_store_fulfilling_the_rest_ships_only_that_and_not_the_earlier_parcel_again(
    shopify: FakeShopify, uow: UnitOfWork, shopify_adapter: ShopifyAdapter, shopify_connection: ConnectionConfig,
    hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock,
) -> None:
    order = _partly_fulfilled(shopify, clock, 1041, "HS-120")  # in stock: the two left are reserved
    await run_backfill(uow, shopify_adapter, shopify_connection)
    assert await _line(session, "1041", "HS-120") == (2, LineStatus.ALLOCATED, 2, 0, 0)

    clock.advance(minutes=1)
    body = shopify.fulfil(order, "HS-120", 1, "00340434161094000002", clock.now())
    await shopify.send_webhook(hooks, "orders/updated", shopify.order_payload(order))
    await shopify.send_webhook(hooks, "fulfillments/create", body)
    await worker.run_once()
    await worker.run_once()

    assert await _tracking_numbers(session) == ["00340434161094000002"]
    assert await _line(session, "1041", "HS-120") == (2, LineStatus.ALLOCATED, 2, 0, 1)  # one shipped, one reserved


async def test_an_order_imported_by_webhook_when_partly_fulfilled_ends_right_when_lowered(
    shopify: FakeShopify, uow: UnitOfWork, shopify_adapter: ShopifyAdapter, shopify_connection: ConnectionConfig,
    hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock,
) -> None:
    await run_backfill(uow, shopify_adapter, shopify_connection)
    order = _partly_fulfilled(shopify, clock, 1042, "HS-200")  # its orders/create got lost; this update brings it in
    await shopify.send_webhook(hooks, "orders/updated", shopify.order_payload(order))
    await worker.run_once()
    assert await _line(session, "1042", "HS-200") == (2, LineStatus.BACKORDERED, 0, 0, 0)

    _lower(shopify, order, "HS-200", 2, clock)
    await shopify.send_webhook(hooks, "orders/updated", shopify.order_payload(order))
    await worker.run_once()

    assert await _line(session, "1042", "HS-200") == (2, LineStatus.BACKORDERED, 0, 1, 0)
    assert await _tracking_numbers(session) == []
