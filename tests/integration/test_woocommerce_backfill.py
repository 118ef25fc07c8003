"""Connecting a WooCommerce store against the fake: the backfill of products, open orders and stock agrees with the
store's own backorder marking, runs page by page through thousands of orders, resumes where it was stopped, and is
harmless again."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.connectors.backfill_run import run_backfill
from bot.connectors.woocommerce.adapter import WooCommerceAdapter
from bot.connectors.woocommerce.store_mapping import backordered_quantity
from bot.services.connectors import ConnectionConfig, backfill_states
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, LineStatus, Order, OrderLine, Product, StockLevel
from tests.fakes.woocommerce_fixtures import woo_adapter_for
from tests.fakes.woocommerce_store import FakeWooCommerce


async def _lines(session: AsyncSession) -> dict[tuple[str, str], tuple[LineStatus, int, int]]:
    rows = await session.execute(
        select(Order.number, Product.sku, OrderLine.status, OrderLine.allocated_quantity, OrderLine.quantity)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
    )
    found = {(number, sku): (status, allocated, quantity) for number, sku, status, allocated, quantity in rows.all()}
    await session.rollback()  # ends the read, so the connector can write
    return found


async def _stock(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Product.sku, StockLevel.available).join(StockLevel, StockLevel.product_id == Product.id))
    found = dict(rows.all())
    await session.rollback()
    return found


async def _order_count(session: AsyncSession) -> int:
    count = await session.scalar(select(func.count()).select_from(Order))
    await session.rollback()
    return count or 0


async def test_backfill_waits_exactly_what_woocommerce_marked_backordered(
    uow: UnitOfWork, session: AsyncSession, woo_adapter: WooCommerceAdapter, woo_connection: ConnectionConfig,
    woo_stocked: FakeWooCommerce,
) -> None:
    report = await run_backfill(uow, woo_adapter, woo_connection)

    assert report.counts["orders imported"] == 3 and report.counts["products created"] == 3
    lines = await _lines(session)
    waiting = {key: quantity - allocated for key, (_, allocated, quantity) in lines.items()}
    marked = {
        (order["number"], item["sku"]): backordered_quantity(item)
        for order in woo_stocked.orders.values()
        for item in order["line_items"]
    }
    assert waiting == marked == {("1001", "HS-200"): 1, ("1001", "HS-120"): 0, ("1002", "HS-200"): 2, ("1003", "MX-500"): 1}
    assert lines[("1003", "MX-500")][0] is LineStatus.PARTIALLY_ALLOCATED
    # WooCommerce's stock_quantity counts committed orders off (HS-120: 5 - 1 = 4); ours is what no order holds.
    assert await _stock(session) == {"HS-200": 0, "HS-120": 4, "MX-500": 0}
    anna = (await session.execute(select(Customer).where(Customer.email == "anna@example.com"))).scalar_one()
    assert (anna.name, anna.phone) == ("Anna Klein", "+4915123456789")


async def test_backfill_again_changes_nothing(
    uow: UnitOfWork, session: AsyncSession, woo_adapter: WooCommerceAdapter, woo_connection: ConnectionConfig
) -> None:
    await run_backfill(uow, woo_adapter, woo_connection)
    before = (await _lines(session), await _stock(session))
    again = await run_backfill(uow, woo_adapter, woo_connection)
    assert "orders imported" not in again.counts and "products created" not in again.counts
    assert (await _lines(session), await _stock(session)) == before


async def test_thousands_of_orders_page_in_and_an_interrupted_backfill_resumes_where_it_stopped(
    uow: UnitOfWork, session: AsyncSession, woo_connection: ConnectionConfig, woo_stocked: FakeWooCommerce,
    clock: ManualClock,
) -> None:
    start = clock.now() - timedelta(days=2)
    for number in range(2000):
        woo_stocked.place_order([("HS-120", 1 + number % 2)], email=f"c{number}@example.com", number=f"W{number}",
                                created=start + timedelta(seconds=number))

    class Interrupt(Exception):
        pass

    class StopAfterTenPages:
        def page_done(self, resource: str, done: int, total: int | None) -> None:
            if resource == "orders" and done >= 1000:
                raise Interrupt()

    first = woo_adapter_for(woo_connection)
    with pytest.raises(Interrupt):
        await run_backfill(uow, first, woo_connection, StopAfterTenPages())
    await first.aclose()
    states = {state.resource: state for state in await backfill_states(uow, woo_connection.id)}
    assert (states["orders"].done, states["orders"].total, states["orders"].finished) == (1000, 2003, False)
    assert await _order_count(session) == 1000

    woo_stocked.requests.clear()
    second = woo_adapter_for(woo_connection)
    await run_backfill(uow, second, woo_connection)
    await second.aclose()
    order_pages = [path for method, path in woo_stocked.requests if path.startswith("/wp-json/wc/v3/orders?")]
    assert "page=11&" in order_pages[0] and len(order_pages) == 11  # pages 11 to 21, none read twice
    assert await _order_count(session) == 2003
    states = {state.resource: state for state in await backfill_states(uow, woo_connection.id)}
    assert states["orders"].finished and states["orders"].done == 2003
    # 5 HS-120 in stock at the start: Anna's line and the first waiting ones took them, in order; the rest wait.
    lines = await _lines(session)
    assert lines[("1001", "HS-120")][:2] == (LineStatus.ALLOCATED, 1)
    assert lines[("W0", "HS-120")][:2] == (LineStatus.ALLOCATED, 1)
    assert lines[("W1", "HS-120")][:2] == (LineStatus.ALLOCATED, 2)
    assert lines[("W2", "HS-120")][:2] == (LineStatus.ALLOCATED, 1)
    assert lines[("W3", "HS-120")][:2] == (LineStatus.BACKORDERED, 0)
