"""Connecting a Shopify store against the fake: credentials checked, webhooks registered, and the backfill of
products, open orders (a bulk operation) and stock — paged, throttled, interrupted and resumed, and harmless again."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.connectors.backfill_run import run_backfill
from bot.connectors.shopify import adapter as shopify_adapter_module
from bot.connectors.shopify.adapter import ShopifyAdapter
from bot.services.connectors import ConnectionConfig, backfill_states
from bot.services.connectors.store_records import StoreRefused, StoreUnavailable
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, LineStatus, Order, OrderLine, Product, StockLevel, Supplier
from tests.fakes.shopify_fixtures import Naps
from tests.fakes.shopify_store import FakeShopify


NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


async def _lines(session: AsyncSession) -> dict[tuple[str, str], tuple[LineStatus, int]]:
    rows = await session.execute(
        select(Order.number, Product.sku, OrderLine.status, OrderLine.allocated_quantity)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
    )
    found = {(number, sku): (status, allocated) for number, sku, status, allocated in rows.all()}
    await session.rollback()  # ends the read, so the connector can write
    return found


async def _stock(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Product.sku, StockLevel.available).join(StockLevel, StockLevel.product_id == Product.id))
    found = dict(rows.all())
    await session.rollback()
    return found


async def _orders(session: AsyncSession) -> int:
    count = await session.scalar(select(func.count()).select_from(Order))
    await session.rollback()
    return count or 0


async def test_good_credentials_name_the_shop(shopify_adapter: ShopifyAdapter, shopify: FakeShopify) -> None:
    identity = await shopify_adapter.check_credentials()
    assert (identity.shop, identity.currency) == (shopify.shop, "EUR")


async def test_a_wrong_token_is_refused_saying_so(shopify_connection: ConnectionConfig, naps: Naps) -> None:
    wrong = ConnectionConfig(
        shopify_connection.id, "shopify", shopify_connection.shop, {"access_token": "shpat_wrong"},
        shopify_connection.settings, shopify_connection.status,
    )
    adapter = ShopifyAdapter(wrong, sleep=naps)
    with pytest.raises(StoreRefused, match="did not accept the access token"):
        await adapter.check_credentials()
    await adapter.aclose()


async def test_missing_scopes_are_named(shopify_adapter: ShopifyAdapter, shopify: FakeShopify) -> None:
    shopify.scopes = ("read_products", "write_orders")
    with pytest.raises(StoreRefused, match="read_inventory, write_order_edits, read_customers"):
        await shopify_adapter.check_credentials()


async def test_an_unreachable_store_is_unavailable(shopify_connection: ConnectionConfig, naps: Naps) -> None:
    gone = ConnectionConfig(
        shopify_connection.id, "shopify", shopify_connection.shop, shopify_connection.credentials,
        {**shopify_connection.settings, "api_base_url": "http://127.0.0.1:9"}, shopify_connection.status,
    )
    adapter = ShopifyAdapter(gone, sleep=naps, retry_delays=(0.01,))
    with pytest.raises(StoreUnavailable, match="could not be reached"):
        await adapter.check_credentials()
    await adapter.aclose()


async def test_webhooks_are_registered_once(shopify_adapter: ShopifyAdapter, shopify: FakeShopify) -> None:
    url = "https://bot.example.com/connectors/shopify/webhooks"
    topics = await shopify_adapter.register_webhooks(url)
    await shopify_adapter.register_webhooks(url)
    assert "inventory_levels/update" in topics and "orders/updated" in topics
    assert len(shopify.subscriptions) == len(topics)
    assert {subscription["uri"] for subscription in shopify.subscriptions} == {url}


async def test_backfill_loads_products_open_orders_and_stock_in_queue_order(
    uow: UnitOfWork, session: AsyncSession, shopify_adapter: ShopifyAdapter, shopify_connection: ConnectionConfig,
    shopify: FakeShopify,
) -> None:
    report = await run_backfill(uow, shopify_adapter, shopify_connection)

    assert report.counts["orders imported"] == 3
    lines = await _lines(session)
    # HS-200 was sold out: both orders wait. HS-120 was in stock. MX-500 had one unit: the first in line gets it.
    assert lines[("1001", "HS-200")] == (LineStatus.BACKORDERED, 0)
    assert lines[("1001", "HS-120")] == (LineStatus.ALLOCATED, 1)
    assert lines[("1002", "HS-200")] == (LineStatus.BACKORDERED, 0)
    assert lines[("1003", "MX-500")] == (LineStatus.PARTIALLY_ALLOCATED, 1)
    # Shopify's available counts committed orders off (HS-120: 5 - 1 = 4); ours is what no order holds.
    assert await _stock(session) == {"HS-200": 0, "HS-120": 4, "MX-500": 0}
    customer = (await session.execute(select(Customer).where(Customer.email == "anna@example.com"))).scalar_one()
    assert (customer.name, customer.phone, customer.language) == ("Anna Klein", "+4915123456789", "de")
    assert "BulkOperationRunQuery" in shopify.calls


async def test_backfill_again_changes_nothing(
    uow: UnitOfWork, session: AsyncSession, shopify_adapter: ShopifyAdapter, shopify_connection: ConnectionConfig
) -> None:
    await run_backfill(uow, shopify_adapter, shopify_connection)
    before = (await _lines(session), await _stock(session))
    again = await run_backfill(uow, shopify_adapter, shopify_connection)
    assert "orders imported" not in again.counts and "products created" not in again.counts
    session.expire_all()
    assert (await _lines(session), await _stock(session)) == before


async def test_a_products_vendor_becomes_its_default_supplier(
    uow: UnitOfWork, session: AsyncSession, shopify_adapter: ShopifyAdapter, shopify_connection: ConnectionConfig,
    shopify: FakeShopify,
) -> None:
    shopify.variant_by_sku("HS-200").vendor = shopify.variant_by_sku("HS-120").vendor = "Studio Sound GmbH"
    shopify.variant_by_sku("MX-500").vendor = " "  # blank in the store: no supplier
    await session.execute(insert(Supplier).values(name="Studio Sound GmbH", created_at=NOW, updated_at=NOW))
    await session.commit()

    report = await run_backfill(uow, shopify_adapter, shopify_connection)
    again = await run_backfill(uow, shopify_adapter, shopify_connection)

    rows = await session.execute(
        select(Product.sku, Supplier.name).outerjoin(Supplier, Supplier.id == Product.supplier_id).order_by(Product.sku)
    )
    assert rows.all() == [("HS-120", "Studio Sound GmbH"), ("HS-200", "Studio Sound GmbH"), ("MX-500", None)]
    assert await session.scalar(select(func.count()).select_from(Supplier)) == 1  # the one known by that name
    assert report.counts["products given a supplier"] == 2 and "products given a supplier" not in again.counts


async def test_an_interrupted_backfill_resumes_where_it_stopped(
    uow: UnitOfWork, session: AsyncSession, shopify_connection: ConnectionConfig, shopify: FakeShopify, naps: Naps,
    clock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    for number in range(2000, 2011):
        shopify.add_order(number, f"c{number}@example.com", [("HS-200", 1)], placed_at=clock.now() - timedelta(hours=number - 1990))
    monkeypatch.setattr(shopify_adapter_module, "ORDERS_PER_PAGE", 4)

    class Interrupt(Exception):
        pass

    class StopAfterTwoPages:
        def page_done(self, resource: str, done: int, total: int | None) -> None:
            if resource == "orders" and done >= 8:
                raise Interrupt()

    first = ShopifyAdapter(shopify_connection, poll_seconds=0.01, sleep=naps)
    with pytest.raises(Interrupt):
        await run_backfill(uow, first, shopify_connection, StopAfterTwoPages())
    await first.aclose()
    states = {state.resource: state for state in await backfill_states(uow, shopify_connection.id)}
    assert states["orders"].done == 8 and not states["orders"].finished
    assert await _orders(session) == 8

    runs_before = shopify.calls.count("BulkOperationRunQuery")
    second = ShopifyAdapter(shopify_connection, poll_seconds=0.01, sleep=naps)
    await run_backfill(uow, second, shopify_connection)
    await second.aclose()
    assert shopify.calls.count("BulkOperationRunQuery") == runs_before  # the same result file, read on from there
    assert await _orders(session) == 14
    states = {state.resource: state for state in await backfill_states(uow, shopify_connection.id)}
    assert states["orders"].finished and states["orders"].done == 14


async def test_throttling_and_server_errors_are_waited_out(
    uow: UnitOfWork, session: AsyncSession, shopify_adapter: ShopifyAdapter, shopify_connection: ConnectionConfig,
    shopify: FakeShopify, naps: Naps,
) -> None:
    shopify.throttle_next = 2
    shopify.failures = [502, 429]
    await run_backfill(uow, shopify_adapter, shopify_connection)
    assert shopify.throttled == 2
    assert any(wait > 0 for wait in naps.waits)  # it waited for points to come back, from throttleStatus
    assert await _orders(session) == 3


async def test_a_store_down_for_good_stops_the_backfill_resumably(
    uow: UnitOfWork, shopify_adapter: ShopifyAdapter, shopify_connection: ConnectionConfig, shopify: FakeShopify,
) -> None:
    shopify.down = True
    with pytest.raises(StoreUnavailable, match="503"):
        await run_backfill(uow, shopify_adapter, shopify_connection)
    shopify.down = False
    report = await run_backfill(uow, shopify_adapter, shopify_connection)
    assert report.counts["orders imported"] == 3


async def test_an_order_the_shop_cannot_take_is_left_out_and_named_while_the_rest_load(
    uow: UnitOfWork, session: AsyncSession, shopify_adapter: ShopifyAdapter, shopify_connection: ConnectionConfig,
    shopify: FakeShopify, clock,
) -> None:
    from datetime import timedelta

    shopify.add_order(1005, "not an address", [("HS-120", 1)], placed_at=clock.now() - timedelta(days=1))
    shopify.add_order(1006, None, [("HS-120", 1)], placed_at=clock.now() - timedelta(days=1))  # a POS sale: no e-mail
    report = await run_backfill(uow, shopify_adapter, shopify_connection)
    assert report.counts["orders imported"] == 3
    assert report.counts["orders refused"] == 1 and report.counts["orders without an e-mail address skipped"] == 1
    assert any(problem.startswith("order 1005: customer_email") for problem in report.problems)
    assert await _orders(session) == 3
