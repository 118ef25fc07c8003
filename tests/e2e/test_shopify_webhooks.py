"""Shopify's webhooks through the real web server: signed as Shopify signs them (base64 HMAC-SHA256 of the raw
body), refused unsigned, badly signed or stale, queued once per X-Shopify-Webhook-Id, then applied by the
connector worker — every topic the bot subscribes to, and the mandatory privacy topics."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.connectors.backfill_run import run_backfill
from bot.connectors.shopify.adapter import ShopifyAdapter
from bot.connectors.worker import ConnectorWorker
from bot.services.connectors import ConnectionConfig, connection_statuses
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    AuditEntry,
    Customer,
    LineStatus,
    Order,
    OrderLine,
    Product,
    Refund,
    RefundStatus,
    Shipment,
    StoreConnection,
    StoreConnectionStatus,
    StoreWebhook,
    Supplier,
)
from tests.fakes.shopify_fixtures import Naps
from tests.fakes.shopify_store import FakeShopify, fixture


@pytest.fixture
async def worker(uow: UnitOfWork, shopify_connection: ConnectionConfig, naps: Naps) -> AsyncIterator[ConnectorWorker]:
    running = ConnectorWorker(
        lambda: uow, lambda config: ShopifyAdapter(config, poll_seconds=0.01, sleep=naps), reconcile_every=None
    )
    yield running
    await running.aclose()


@pytest.fixture
async def backfilled(uow: UnitOfWork, shopify_adapter: ShopifyAdapter, shopify_connection: ConnectionConfig) -> None:
    await run_backfill(uow, shopify_adapter, shopify_connection)


@pytest.fixture
def hooks(web_client: TestClient) -> str:
    return str(web_client.make_url("/connectors/shopify/webhooks"))


async def _read(session: AsyncSession, statement):  # type: ignore[no-untyped-def]
    value = (await session.execute(statement)).all()
    await session.rollback()
    return value


async def _line(session: AsyncSession, number: str, sku: str) -> tuple[LineStatus, int, int]:
    rows = await _read(
        session,
        select(OrderLine.status, OrderLine.allocated_quantity, OrderLine.cancelled_quantity)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Order.number == number, Product.sku == sku),
    )
    return tuple(rows[0])  # type: ignore[return-value]


async def _queued(session: AsyncSession) -> int:
    return (await _read(session, select(func.count()).select_from(StoreWebhook)))[0][0]


async def test_a_signed_webhook_is_queued_and_answered_at_once(
    shopify: FakeShopify, shopify_connection: ConnectionConfig, hooks: str, session: AsyncSession
) -> None:
    variant = shopify.variant_by_sku("HS-200")
    status, body = await shopify.send_webhook(hooks, "inventory_levels/update", shopify.inventory_payload(variant, shopify_now()))
    assert (status, body["queued"]) == (200, True)
    assert await _queued(session) == 1


@pytest.mark.parametrize(
    "how, expected",
    [("wrong secret", 401), ("no signature", 401), ("not base64", 401), ("stale", 401), ("tampered body", 401)],
)
async def test_webhooks_not_signed_by_the_store_are_refused_and_change_nothing(
    shopify: FakeShopify, shopify_connection: ConnectionConfig, hooks: str, session: AsyncSession, how: str, expected: int
) -> None:
    payload = shopify.inventory_payload(shopify.variant_by_sku("HS-200"), shopify_now())
    options: dict = {}
    if how == "wrong secret":
        options["secret"] = "shpss_someone_else"
    elif how == "no signature":
        options["signature"] = ""
    elif how == "not base64":
        options["signature"] = "%%%not-base64%%%"
    elif how == "stale":
        options["triggered_at"] = shopify_now() - timedelta(days=4)
    elif how == "tampered body":
        from tests.fakes.shopify_store import sign
        import json

        options["signature"] = sign(json.dumps(payload).encode(), shopify.client_secret)
        options["raw"] = json.dumps({**payload, "available": 999}).encode()
    status, _ = await shopify.send_webhook(hooks, "inventory_levels/update", payload, **options)
    assert status == expected
    assert await _queued(session) == 0


async def test_a_webhook_of_another_shop_finds_no_connection(
    shopify: FakeShopify, shopify_connection: ConnectionConfig, hooks: str
) -> None:
    shopify.shop = "someone-else.myshopify.com"
    status, _ = await shopify.send_webhook(hooks, "shop/redact", fixture("shop_redact.json"))
    assert status == 404


async def test_a_replayed_delivery_is_applied_once(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    order = shopify.add_order(1010, "dora@example.com", [("HS-120", 1)], placed_at=clock.now())
    payload = shopify.order_payload(order)
    first = await shopify.send_webhook(hooks, "orders/create", payload, webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    again = await shopify.send_webhook(hooks, "orders/create", payload, webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    assert (first[1]["queued"], again[1]["queued"]) == (True, False)
    await worker.run_once()
    assert await _line(session, "1010", "HS-120") == (LineStatus.ALLOCATED, 1, 0)
    assert await _queued(session) == 1


async def test_a_new_order_for_sold_out_stock_waits_and_a_restock_serves_it(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    order = shopify.add_order(1011, "eve@example.com", [("HS-200", 1)], placed_at=clock.now())
    await shopify.send_webhook(hooks, "orders/create", shopify.order_payload(order))
    await worker.run_once()
    assert await _line(session, "1011", "HS-200") == (LineStatus.BACKORDERED, 0, 0)

    # Four arrive: Shopify's available goes from -4 (three orders wait for four units) to 0; the queue is served in order.
    variant = shopify.variant_by_sku("HS-200")
    variant.available += 4
    await shopify.send_webhook(hooks, "inventory_levels/update", shopify.inventory_payload(variant, clock.now()))
    await worker.run_once()
    assert await _line(session, "1001", "HS-200") == (LineStatus.ALLOCATED, 1, 0)
    assert await _line(session, "1002", "HS-200") == (LineStatus.ALLOCATED, 2, 0)
    assert await _line(session, "1011", "HS-200") == (LineStatus.ALLOCATED, 1, 0)


async def test_an_older_orders_updated_arriving_late_is_skipped(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    order = shopify.order_by_name("#1002")
    order.updated_at = clock.now() - timedelta(minutes=5)
    older = shopify.order_payload(order)
    order.cancelled_at = order.updated_at = clock.now()
    newer = shopify.order_payload(order)
    await shopify.send_webhook(hooks, "orders/updated", newer)
    await shopify.send_webhook(hooks, "orders/updated", older)
    await worker.run_once()
    await worker.run_once()  # one order's webhooks are applied one at a time, in the order they came
    assert await _line(session, "1002", "HS-200") == (LineStatus.CANCELLED, 0, 2)
    statuses = [status for (status,) in await _read(session, select(StoreWebhook.status).order_by(StoreWebhook.id))]
    assert [status.value for status in statuses] == ["done", "skipped"]


async def _cancelled_in_store(shopify: FakeShopify, name: str, hooks: str, worker: ConnectorWorker, clock: ManualClock):  # type: ignore[no-untyped-def]
    order = shopify.order_by_name(name)
    order.cancelled_at = order.updated_at = clock.now()
    await shopify.send_webhook(hooks, "orders/cancelled", shopify.order_payload(order))
    await worker.run_once()
    return order


async def test_orders_cancelled_cancels_what_waits_and_tells_the_customer(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    await _cancelled_in_store(shopify, "#1001", hooks, worker, clock)
    assert await _line(session, "1001", "HS-200") == (LineStatus.CANCELLED, 0, 1)
    refunds = await _read(session, select(Refund.amount_minor, Refund.status))
    assert refunds == [(14900, RefundStatus.OWED)]


async def test_a_fulfilment_ships_with_its_tracking(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    body = shopify.fulfil(shopify.order_by_name("#1001"), "HS-120", 1, "1Z999AA10123456784", clock.now())
    await shopify.send_webhook(hooks, "fulfillments/create", body)
    await shopify.send_webhook(hooks, "fulfillments/create", body)  # a new delivery of the same fulfilment
    await worker.run_once()
    shipments = await _read(session, select(Shipment.tracking_number, Shipment.carrier))
    assert shipments == [("1Z999AA10123456784", "UPS")]
    assert await _line(session, "1001", "HS-120") == (LineStatus.SHIPPED, 1, 0)


async def test_products_create_and_update_keep_the_catalogue(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession
) -> None:
    variant = shopify.variant_by_sku("HS-120")
    variant.price, variant.product_title = "79.00", "Studio Wired Headset II"
    await shopify.send_webhook(hooks, "products/update", shopify.product_payload(variant))
    new = shopify.add_variant("HS-300", "Studio Max", "199.00", 3)
    await shopify.send_webhook(hooks, "products/create", shopify.product_payload(new))
    await worker.run_once()
    products = dict(await _read(session, select(Product.sku, Product.price_minor)))
    assert products["HS-120"] == 7900 and products["HS-300"] == 19900
    names = dict(await _read(session, select(Product.sku, Product.name)))
    assert names["HS-120"] == "Studio Wired Headset II"


async def test_a_product_whose_vendor_changes_moves_to_that_supplier(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession
) -> None:
    variant = shopify.variant_by_sku("HS-120")
    variant.vendor = "Nordic Audio AB"
    await shopify.send_webhook(hooks, "products/update", shopify.product_payload(variant))
    await worker.run_once()

    suppliers = await _read(
        session, select(Product.sku, Supplier.name).join(Supplier, Supplier.id == Product.supplier_id).order_by(Product.sku)
    )
    # The backfill made Acme (the fake's vendor) the supplier of all three; the update moved one.
    assert suppliers == [("HS-120", "Nordic Audio AB"), ("HS-200", "Acme"), ("MX-500", "Acme")]


async def test_a_refund_made_in_the_store_pays_what_was_owed(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    order = await _cancelled_in_store(shopify, "#1002", hooks, worker, clock)
    refund = fixture("refunds_create.json")
    line = order.line_items[0]
    refund.update(id=shopify.next_id(), order_id=order.id)
    refund["refund_line_items"][0].update(line_item_id=line.id, quantity=2)
    await shopify.send_webhook(hooks, "refunds/create", refund)
    await worker.run_once()
    assert await _read(session, select(Refund.status, Refund.payment_reference)) == [
        (RefundStatus.PAID, f"shopify:{refund['id']}")
    ]


async def test_customers_redact_erases_the_customer(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession
) -> None:
    request = fixture("customers_redact.json")
    request["customer"]["email"] = "ben@example.com"
    await shopify.send_webhook(hooks, "customers/redact", request)
    await worker.run_once()
    emails = {email for (email,) in await _read(session, select(Customer.email))}
    assert "ben@example.com" not in emails and any(email.startswith("erased-") for email in emails)
    payloads = await _read(session, select(StoreWebhook.payload))
    assert payloads == [(None,)]  # the request named the person: it is not kept once applied


async def test_customers_data_request_is_noted_for_the_merchant(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, uow: UnitOfWork
) -> None:
    request = fixture("customers_data_request.json")
    request["customer"]["email"] = "anna@example.com"
    await shopify.send_webhook(hooks, "customers/data_request", request)
    await worker.run_once()
    actions = [action for (action,) in await _read(session, select(AuditEntry.action))]
    assert "privacy.data_requested" in actions
    [status] = await connection_statuses(uow, "shopify")
    assert len(status.data_requests) == 1 and not status.healthy
    from bot.connect_jobs import describe_status

    assert "backorder-bot customer export --email ADDRESS" in describe_status(status)


async def test_shop_redact_forgets_the_store_but_keeps_the_orders(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, uow: UnitOfWork
) -> None:
    await shopify.send_webhook(hooks, "shop/redact", fixture("shop_redact.json"))
    await worker.run_once()
    connection = (await _read(session, select(StoreConnection.status, StoreConnection.credentials)))[0]
    assert connection == (StoreConnectionStatus.DISCONNECTED, {})
    assert (await _read(session, select(func.count()).select_from(Order)))[0][0] == 3
    [status] = await connection_statuses(uow, "shopify")
    assert status.status is StoreConnectionStatus.DISCONNECTED


async def test_a_rotated_secret_still_verifies_for_an_hour(
    shopify: FakeShopify, uow: UnitOfWork, hooks: str, session: AsyncSession
) -> None:
    from datetime import datetime, timezone

    from tests.fakes.shopify_fixtures import connect

    until = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    config = await connect(uow, shopify)
    from bot.services.connectors import save_connection
    from bot.services.audit import Actor

    await save_connection(
        uow, "shopify", shopify.shop,
        {"access_token": shopify.token, "client_secret": "shpss_new", "previous_client_secret": shopify.client_secret,
         "previous_client_secret_until": until},
        config.settings, Actor.merchant("test"),
    )
    payload = shopify.inventory_payload(shopify.variant_by_sku("HS-200"), shopify_now())
    assert (await shopify.send_webhook(hooks, "inventory_levels/update", payload))[0] == 200
    assert (await shopify.send_webhook(hooks, "inventory_levels/update", payload, secret="shpss_new"))[0] == 200


def shopify_now():  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)



async def test_the_reconcile_brings_in_an_order_whose_webhook_never_came(
    shopify: FakeShopify, backfilled: None, uow: UnitOfWork, naps: Naps, session: AsyncSession, clock: ManualClock
) -> None:
    shopify.add_order(1020, "fay@example.com", [("HS-120", 1)], placed_at=clock.now() - timedelta(minutes=1))
    reconciling = ConnectorWorker(
        lambda: uow, lambda config: ShopifyAdapter(config, sleep=naps), reconcile_every=timedelta(minutes=15)
    )
    await reconciling.run_once()
    await reconciling.run_once()  # within the quarter hour: not asked again
    await reconciling.aclose()
    assert await _line(session, "1020", "HS-120") == (LineStatus.ALLOCATED, 1, 0)
    assert shopify.calls.count("OrdersUpdatedSince") == 1


async def test_a_line_the_store_staff_removed_cancels_what_waits_of_it(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    order = shopify.order_by_name("#1001")
    next(line for line in order.line_items if line.sku == "HS-200").current_quantity = 0  # edited in the Shopify admin
    order.updated_at = clock.now()
    await shopify.send_webhook(hooks, "orders/updated", shopify.order_payload(order))
    await worker.run_once()
    assert await _line(session, "1001", "HS-200") == (LineStatus.CANCELLED, 0, 1)
    assert await _line(session, "1001", "HS-120") == (LineStatus.ALLOCATED, 1, 0)  # the other line is untouched


async def test_orders_fulfilled_and_fulfillments_create_ship_the_parcel_once(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    order = shopify.order_by_name("#1001")
    body = shopify.fulfil(order, "HS-120", 1, "00340434161094042557", clock.now())
    await shopify.send_webhook(hooks, "orders/fulfilled", shopify.order_payload(order))
    await shopify.send_webhook(hooks, "fulfillments/create", body)
    await worker.run_once()
    await worker.run_once()
    assert await _read(session, select(Shipment.tracking_number)) == [("00340434161094042557",)]
    assert await _line(session, "1001", "HS-120") == (LineStatus.SHIPPED, 1, 0)


async def test_a_deleted_product_keeps_its_orders(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession
) -> None:
    variant = shopify.variant_by_sku("MX-500")
    await shopify.send_webhook(hooks, "products/delete", {"id": variant.product_id})
    await worker.run_once()
    assert await _line(session, "1003", "MX-500") == (LineStatus.PARTIALLY_ALLOCATED, 1, 0)
    assert [status.value for (status,) in await _read(session, select(StoreWebhook.status))] == ["done"]


async def test_stock_at_another_location_is_not_the_shops(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    variant = shopify.variant_by_sku("HS-200")
    elsewhere = {**shopify.inventory_payload(variant, clock.now()), "location_id": 99_000_000_001, "available": 40}
    await shopify.send_webhook(hooks, "inventory_levels/update", elsewhere)
    await worker.run_once()
    assert await _line(session, "1001", "HS-200") == (LineStatus.BACKORDERED, 0, 0)


async def test_customers_redact_without_an_email_finds_the_customer_by_phone(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    order = shopify.add_order(1030, "gus@example.com", [("HS-120", 1)], placed_at=clock.now(), phone="+49 170 1234567")
    await shopify.send_webhook(hooks, "orders/create", shopify.order_payload(order))
    await worker.run_once()
    request = fixture("customers_redact.json")
    request["customer"].update(email=None, phone="0170 1234567")  # as the store has it, in the shop's country
    await shopify.send_webhook(hooks, "customers/redact", request)
    await worker.run_once()
    emails = {email for (email,) in await _read(session, select(Customer.email))}
    assert "gus@example.com" not in emails and "anna@example.com" in emails


async def test_a_quantity_the_store_lowered_cancels_only_that_many_waiting_units(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    order = shopify.order_by_name("#1002")  # Ben waits for two headsets
    line = next(line for line in order.line_items if line.sku == "HS-200")
    line.current_quantity = 1  # he asked the shop by phone to send one only
    order.updated_at = clock.now()
    await shopify.send_webhook(hooks, "orders/updated", shopify.order_payload(order))
    await worker.run_once()
    assert await _line(session, "1002", "HS-200") == (LineStatus.BACKORDERED, 0, 1)  # the other one still waits
    clock.advance(minutes=1)
    line.current_quantity = 0
    order.updated_at = clock.now()
    await shopify.send_webhook(hooks, "orders/updated", shopify.order_payload(order))
    await worker.run_once()
    assert await _line(session, "1002", "HS-200") == (LineStatus.CANCELLED, 0, 2)
    owed = await _read(
        session,
        select(Refund.amount_minor).join(OrderLine, OrderLine.id == Refund.line_id).join(Order)
        .where(Order.number == "1002").order_by(Refund.id),
    )
    assert [amount for amount, in owed] == [14900, 14900]


async def test_a_lowered_quantity_keeps_what_is_reserved_to_ship(
    shopify: FakeShopify, backfilled: None, hooks: str, worker: ConnectorWorker, session: AsyncSession, clock: ManualClock
) -> None:
    order = shopify.order_by_name("#1003")  # Cleo: one mixer reserved, one waiting
    next(line for line in order.line_items if line.sku == "MX-500").current_quantity = 1
    order.updated_at = clock.now()
    await shopify.send_webhook(hooks, "orders/updated", shopify.order_payload(order))
    await worker.run_once()
    assert await _line(session, "1003", "MX-500") == (LineStatus.ALLOCATED, 1, 1)


async def test_the_reconcile_brings_in_a_product_change_whose_webhook_never_came(
    shopify: FakeShopify, backfilled: None, uow: UnitOfWork, naps: Naps, session: AsyncSession, clock: ManualClock
) -> None:
    mixer = shopify.variant_by_sku("MX-500")
    mixer.product_title, mixer.price, mixer.updated_at = "ProMix Stand Mixer II", "379.00", clock.now() - timedelta(minutes=1)
    reconciling = ConnectorWorker(
        lambda: uow, lambda config: ShopifyAdapter(config, sleep=naps), reconcile_every=timedelta(minutes=15)
    )
    await reconciling.run_once()
    await reconciling.aclose()
    rows = await _read(session, select(Product.name, Product.price_minor).where(Product.sku == "MX-500"))
    assert [tuple(row) for row in rows] == [("ProMix Stand Mixer II", 37900)]
    assert shopify.calls.count("VariantsUpdatedSince") == 1
