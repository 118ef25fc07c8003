"""Connecting a WooCommerce store against the fake: the backfill of products, open orders and stock agrees with the
store's own backorder marking, runs page by page through thousands of orders, resumes where it was stopped, and is
harmless again."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.connectors.backfill_run import run_backfill
from bot.connectors.woocommerce.adapter import WooCommerceAdapter
from bot.connectors.woocommerce.store_mapping import backordered_quantity
from bot.services.connectors import ConnectionConfig, backfill_states
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, LineStatus
from tests.fakes.woocommerce_fixtures import woo_adapter_for
from tests.fakes.woocommerce_store import FakeWooCommerce
from tests.readback import lines_by_order_and_sku, order_count, stock_by_sku


async def test_backfill_waits_exactly_what_woocommerce_marked_backordered(
    uow: UnitOfWork, session: AsyncSession, woo_adapter: WooCommerceAdapter, woo_connection: ConnectionConfig,
    woo_stocked: FakeWooCommerce, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    report = await run_backfill(uow, woo_adapter, woo_connection)

    assert report.counts["orders imported"] == 3 and report.counts["products created"] == 3
    lines = await lines_by_order_and_sku(session_factory)
    waiting = {key: quantity - allocated for key, (_, allocated, quantity) in lines.items()}
    marked = {
        (order["number"], item["sku"]): backordered_quantity(item) or 0  # unmarked: in stock
        for order in woo_stocked.orders.values()
        for item in order["line_items"]
    }
    assert waiting == marked == {("1001", "HS-200"): 1, ("1001", "HS-120"): 0, ("1002", "HS-200"): 2, ("1003", "MX-500"): 1}
    assert lines[("1003", "MX-500")][0] is LineStatus.PARTIALLY_ALLOCATED
    # WooCommerce's stock_quantity counts committed orders off (HS-120: 5 - 1 = 4); ours is what no order holds.
    assert await stock_by_sku(session_factory) == {"HS-200": 0, "HS-120": 4, "MX-500": 0}
    anna = (await session.execute(select(Customer).where(Customer.email == "anna@example.com"))).scalar_one()
    assert (anna.name, anna.phone) == ("Anna Klein", "+4915123456789")


async def test_backfill_again_changes_nothing(
    uow: UnitOfWork, woo_adapter: WooCommerceAdapter, woo_connection: ConnectionConfig,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await run_backfill(uow, woo_adapter, woo_connection)
    before = (await lines_by_order_and_sku(session_factory), await stock_by_sku(session_factory))
    again = await run_backfill(uow, woo_adapter, woo_connection)
    assert "orders imported" not in again.counts and "products created" not in again.counts
    assert (await lines_by_order_and_sku(session_factory), await stock_by_sku(session_factory)) == before


async def test_thousands_of_orders_page_in_and_an_interrupted_backfill_resumes_where_it_stopped(
    uow: UnitOfWork, woo_connection: ConnectionConfig, woo_stocked: FakeWooCommerce, clock: ManualClock,
    session_factory: async_sessionmaker[AsyncSession],
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
    assert await order_count(session_factory) == 1000

    woo_stocked.requests.clear()
    second = woo_adapter_for(woo_connection)
    await run_backfill(uow, second, woo_connection)
    await second.aclose()
    order_pages = [path for method, path in woo_stocked.requests if path.startswith("/wp-json/wc/v3/orders?")]
    assert "page=11&" in order_pages[0] and len(order_pages) == 11  # pages 11 to 21, none read twice
    assert await order_count(session_factory) == 2003
    states = {state.resource: state for state in await backfill_states(uow, woo_connection.id)}
    assert states["orders"].finished and states["orders"].done == 2003
    # 5 HS-120 in stock at the start: Anna's line and the first waiting ones took them, in order; the rest wait.
    lines = await lines_by_order_and_sku(session_factory)
    assert lines[("1001", "HS-120")][:2] == (LineStatus.ALLOCATED, 1)
    assert lines[("W0", "HS-120")][:2] == (LineStatus.ALLOCATED, 1)
    assert lines[("W1", "HS-120")][:2] == (LineStatus.ALLOCATED, 2)
    assert lines[("W2", "HS-120")][:2] == (LineStatus.ALLOCATED, 1)
    assert lines[("W3", "HS-120")][:2] == (LineStatus.BACKORDERED, 0)
