"""WooCommerce's webhooks through the real web app: the creation ping, new orders as WooCommerce marked their
backorders, stock (a product's own, and one a variable product keeps for its variations), a bad signature, a replay,
an update arriving after a newer one, a line the store lowered, and deliveries WooCommerce never retried, found by
the reconcile."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.connectors.backfill_run import run_backfill
from bot.connectors.woocommerce.adapter import WooCommerceAdapter
from bot.connectors.worker import ConnectorWorker
from bot.connect_jobs import describe_status
from bot.services.connectors import ConnectionConfig, connection_statuses
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from bot.web.app import build_web_app
from db.models import AuditEntry, LineStatus, Order, OrderLine, Product, Refund, StockLevel, StoreWebhook
from tests.e2e.chat_driver import read_all
from tests.fakes.woocommerce_fixtures import woo_adapter_for
from tests.fakes.woocommerce_store import FakeWooCommerce, signature, wordpress_json

PATH = "/connectors/woocommerce/webhooks"


@pytest.fixture
async def hooked(
    web_deps: ChatDeps, woo_adapter: WooCommerceAdapter, woo_connection: ConnectionConfig, uow: UnitOfWork
) -> AsyncIterator[str]:
    """The web app listening, the store's webhooks registered with it and the backfill done; its webhook URL."""
    async with TestServer(build_web_app(web_deps)) as server:
        url = str(server.make_url(PATH))
        await woo_adapter.register_webhooks(url)
        await run_backfill(uow, woo_adapter, woo_connection)
        yield url


async def _queued(session_factory: async_sessionmaker[AsyncSession]) -> list[tuple[str, str]]:
    return [tuple(row) for row in await read_all(session_factory, select(StoreWebhook.topic, StoreWebhook.status).order_by(StoreWebhook.id))]


async def _line(session_factory: async_sessionmaker[AsyncSession], number: str, sku: str) -> tuple[LineStatus, int, int] | None:
    rows = await read_all(
        session_factory,
        select(OrderLine.status, OrderLine.quantity, OrderLine.cancelled_quantity)
        .join(Order, Order.id == OrderLine.order_id).join(Product, Product.id == OrderLine.product_id)
        .where(Order.number == number, Product.sku == sku),
    )
    return tuple(rows[0]) if rows else None  # type: ignore[return-value]


async def test_the_creation_ping_is_answered_and_queues_nothing(
    hooked: str, woo_stocked: FakeWooCommerce, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    assert [status for _, status in woo_stocked.pings] == [200, 200, 200, 200]
    assert await _queued(session_factory) == []


async def _dora_orders(
    store: FakeWooCommerce, worker: ConnectorWorker, clock: ManualClock, lines: list[tuple[str, int]]
) -> dict:
    """Dora's order 1004 placed in the store five minutes on, its order.created delivered and applied."""
    clock.advance(minutes=5)
    order = store.place_order(lines, email="dora@example.com", first_name="Dora", number="1004")
    [delivery] = await store.fire("order.created", order["id"])
    assert delivery.status == 200
    await worker.run_once()
    return order


async def test_a_new_order_by_webhook_joins_the_queue_as_woocommerce_marked_it(
    hooked: str, woo_stocked: FakeWooCommerce, woo_worker: ConnectorWorker, clock: ManualClock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    order = await _dora_orders(woo_stocked, woo_worker, clock, [("HS-200", 1)])
    assert await _line(session_factory, "1004", "HS-200") == (LineStatus.BACKORDERED, 1, 0)
    assert order["line_items"][0]["meta_data"][0]["key"] == "Backordered"


async def test_a_bad_signature_is_refused_and_a_replay_queued_once(
    hooked: str, woo_stocked: FakeWooCommerce, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    order = next(iter(woo_stocked.orders.values()))
    hook_id = woo_stocked.webhook_id("order.updated")
    body = wordpress_json(order)
    forged = await woo_stocked.deliver(hook_id, order, tamper=lambda sent: sent.replace(b'"total":"238.00"', b'"total":"0.01"'))
    woo_stocked.webhook_secrets[hook_id], secret = "not-ours", woo_stocked.webhook_secrets[hook_id]
    wrong_key = await woo_stocked.deliver(hook_id, order)
    woo_stocked.webhook_secrets[hook_id] = secret
    first = await woo_stocked.deliver(hook_id, order)
    replay = await woo_stocked.deliver(hook_id, order)
    assert (forged.status, wrong_key.status, first.status, replay.status) == (401, 401, 200, 200)
    assert forged.body != body and forged.headers["X-WC-Webhook-Signature"] == signature(secret, body)
    assert await _queued(session_factory) == [("order.updated", "pending")]


async def test_out_of_order_and_same_second_updates(
    hooked: str, woo_stocked: FakeWooCommerce, woo_worker: ConnectorWorker, clock: ManualClock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ben = woo_stocked.order_by_number("1002")
    hook_id = woo_stocked.webhook_id("order.updated")
    clock.advance(minutes=1)
    older = dict(woo_stocked.edit_order(ben["id"], customer_note="leave it at the door"))
    clock.advance(minutes=1)
    newer = dict(woo_stocked.edit_order(ben["id"], status="cancelled"))
    await woo_stocked.deliver(hook_id, newer)
    await woo_stocked.deliver(hook_id, older)  # WooCommerce's deliveries come in any order
    await woo_worker.run_once()
    await woo_worker.run_once()  # one order's webhooks are applied one at a time
    assert await _line(session_factory, "1002", "HS-200") == (LineStatus.CANCELLED, 2, 2)
    statuses = [status for _, status in await _queued(session_factory)]
    assert sorted(statuses) == ["done", "skipped"]


async def test_a_stock_change_by_webhook_goes_to_the_queue_in_order(
    hooked: str, woo_stocked: FakeWooCommerce, woo_worker: ConnectorWorker, clock: ManualClock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clock.advance(minutes=5)
    headset = woo_stocked.set_stock("HS-200", -1)  # three waited (-3); two arrived: Anna first, then one of Ben's two
    [delivery] = await woo_stocked.fire("product.updated", headset["id"])
    assert delivery.status == 200
    await woo_worker.run_once()
    assert await _line(session_factory, "1001", "HS-200") == (LineStatus.ALLOCATED, 1, 0)
    assert (await _line(session_factory, "1002", "HS-200") or ())[0] is LineStatus.PARTIALLY_ALLOCATED
    available = await read_all(session_factory, select(StockLevel.available).join(Product).where(Product.sku == "HS-200"))
    assert [tuple(row) for row in available] == [(0,)]


async def test_a_cancel_whose_delivery_was_lost_is_found_by_the_reconcile(
    hooked: str, woo_stocked: FakeWooCommerce, session_factory: async_sessionmaker[AsyncSession], clock: ManualClock,
    policy: ShopPolicy,
) -> None:
    clock.advance(minutes=20)
    cleo = woo_stocked.order_by_number("1003")
    woo_stocked.edit_order(cleo["id"], status="cancelled")  # and its webhook never arrives: the site was down
    reconciling = ConnectorWorker(
        lambda: UnitOfWork(session_factory, clock, policy), woo_adapter_for, reconcile_every=timedelta(minutes=15)
    )
    await reconciling.run_once()
    await reconciling.aclose()
    # Cleo's one waiting mixer is cancelled; the one in stock was the shop's to stop before shipping.
    assert await _line(session_factory, "1003", "MX-500") == (LineStatus.ALLOCATED, 2, 1)


async def test_two_changes_within_one_second_are_both_applied_and_a_replay_once(
    hooked: str, woo_stocked: FakeWooCommerce, woo_worker: ConnectorWorker, clock: ManualClock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ben = woo_stocked.order_by_number("1002")
    hook_id = woo_stocked.webhook_id("order.updated")
    clock.advance(minutes=1)
    ben["line_items"][0]["quantity"] = 1  # the staff take one headset off...
    lowered = json.loads(json.dumps(woo_stocked.edit_order(ben["id"])))
    clock.advance(seconds=0.4)
    cancelled = json.loads(json.dumps(woo_stocked.edit_order(ben["id"], status="cancelled")))  # ...then cancel it all
    assert lowered["date_modified_gmt"] == cancelled["date_modified_gmt"]
    for body in (lowered, lowered, cancelled):
        assert (await woo_stocked.deliver(hook_id, body)).status == 200
    await woo_worker.run_once()
    assert await _line(session_factory, "1002", "HS-200") == (LineStatus.BACKORDERED, 2, 1)
    await woo_worker.run_once()
    assert await _line(session_factory, "1002", "HS-200") == (LineStatus.CANCELLED, 2, 2)
    assert [status for _, status in await _queued(session_factory)] == ["done", "done"]


async def test_a_webhook_the_store_keeps_disabled_is_shown_and_the_reconcile_goes_on(
    hooked: str, woo_stocked: FakeWooCommerce, session_factory: async_sessionmaker[AsyncSession], clock: ManualClock,
    policy: ShopPolicy,
) -> None:
    hook_id = woo_stocked.webhook_id("order.updated")
    woo_stocked.webhooks[hook_id]["status"] = "disabled"  # after five failed deliveries in a row
    woo_stocked.fail_next(403, path_contains="/webhooks/", method="PUT")  # a security plugin blocks the change
    clock.advance(minutes=20)
    cleo = woo_stocked.order_by_number("1003")
    woo_stocked.edit_order(cleo["id"], status="cancelled")
    reconciling = ConnectorWorker(
        lambda: UnitOfWork(session_factory, clock, policy), woo_adapter_for, reconcile_every=timedelta(minutes=15)
    )
    await reconciling.run_once()
    assert await _line(session_factory, "1003", "MX-500") == (LineStatus.ALLOCATED, 2, 1)  # reconciled all the same
    [status] = await connection_statuses(UnitOfWork(session_factory, clock, policy), "woocommerce")
    assert status.webhooks_off == ["order.updated"] and not status.healthy
    assert "the store turned off the webhooks order.updated" in describe_status(status)

    clock.advance(minutes=20)
    await reconciling.run_once()  # the plugin lets it through now
    await reconciling.aclose()
    assert woo_stocked.webhooks[hook_id]["status"] == "active"
    [status] = await connection_statuses(UnitOfWork(session_factory, clock, policy), "woocommerce")
    assert status.webhooks_off == [] and status.healthy
    actions = await read_all(session_factory, select(AuditEntry.action).where(AuditEntry.action.like("store.webhooks_%")).order_by(AuditEntry.id))
    assert [action for action, in actions] == ["store.webhooks_still_off", "store.webhooks_revived"]


@pytest.fixture
def jacket(woo_stocked: FakeWooCommerce, clock: ManualClock) -> dict[str, object]:
    """A jacket whose product keeps the stock of its sizes ("Manage stock" on the product): one was left when Eva
    ordered two M, then Finn an S; the store sold the rest on backorder."""
    jacket = woo_stocked.add_variable_product(
        "Trail Jacket", [("JK-S", "120.00", None, "no"), ("JK-M", "120.00", None, "no")], stock=1, backorders="notify",
    )
    now = clock.now()
    woo_stocked.place_order([("JK-M", 2)], email="eva@example.com", first_name="Eva", number="1005",
                            created=now - timedelta(days=2))
    woo_stocked.place_order([("JK-S", 1)], email="finn@example.com", first_name="Finn", number="1006",
                            created=now - timedelta(days=1))
    return jacket


async def _allocated(session_factory: async_sessionmaker[AsyncSession], number: str, sku: str) -> int:
    [(allocated,)] = await read_all(
        session_factory,
        select(OrderLine.allocated_quantity).join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id).where(Order.number == number, Product.sku == sku),
    )
    return int(allocated)


async def test_a_product_keeping_its_variations_stock_serves_their_one_queue(
    jacket: dict[str, object], hooked: str, woo_stocked: FakeWooCommerce, woo_worker: ConnectorWorker,
    clock: ManualClock, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # The one jacket there was is Eva's; the store counts -2: her second M and Finn's S wait.
    assert (await _allocated(session_factory, "1005", "JK-M"), await _allocated(session_factory, "1006", "JK-S")) == (1, 0)
    clock.advance(minutes=5)
    woo_stocked.set_product_stock(int(str(jacket["id"])), -1)  # one jacket arrived: Eva ordered first
    [delivery] = await woo_stocked.fire("product.updated", int(str(jacket["id"])))
    assert delivery.status == 200
    await woo_worker.run_once()
    assert await _line(session_factory, "1005", "JK-M") == (LineStatus.ALLOCATED, 2, 0)
    assert await _line(session_factory, "1006", "JK-S") == (LineStatus.BACKORDERED, 1, 0)
    clock.advance(minutes=5)
    woo_stocked.set_product_stock(int(str(jacket["id"])), 3)  # four more: Finn's, and three for anyone's size
    await woo_stocked.fire("product.updated", int(str(jacket["id"])))
    await woo_worker.run_once()
    assert await _line(session_factory, "1006", "JK-S") == (LineStatus.ALLOCATED, 1, 0)
    available = await read_all(
        session_factory, select(Product.sku, StockLevel.available).join(Product).where(Product.sku.in_(["JK-S", "JK-M"]))
    )
    assert sorted(tuple(row) for row in available) == [("JK-M", 3), ("JK-S", 3)]


async def test_a_line_woocommerce_marked_backordered_waits_only_for_the_units_marked(
    hooked: str, woo_stocked: FakeWooCommerce, woo_worker: ConnectorWorker, clock: ManualClock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # Four wired headsets here; the staff find two broken and count two, but that webhook is lost.
    clock.advance(minutes=5)
    woo_stocked.set_stock("HS-120", 2)
    order = await _dora_orders(woo_stocked, woo_worker, clock, [("HS-120", 5)])
    assert order["line_items"][0]["meta_data"][0]["value"] == 3  # the two there were are Dora's; three wait
    # As the store marked it, not as our count from before the breakage had it (four in stock: one waiting).
    assert await _allocated(session_factory, "1004", "HS-120") == 2
    assert (await _line(session_factory, "1004", "HS-120") or ())[0] is LineStatus.PARTIALLY_ALLOCATED
    clock.advance(minutes=5)
    headset = woo_stocked.set_stock("HS-120", 7)  # ten arrive: Dora's three, and seven to sell
    await woo_stocked.fire("product.updated", headset["id"])
    await woo_worker.run_once()
    assert await _line(session_factory, "1004", "HS-120") == (LineStatus.ALLOCATED, 5, 0)
    available = await read_all(session_factory, select(StockLevel.available).join(Product).where(Product.sku == "HS-120"))
    assert [tuple(row) for row in available] == [(7,)]


async def test_a_line_the_store_lowered_cancels_exactly_the_units_taken_off(
    hooked: str, woo_stocked: FakeWooCommerce, woo_worker: ConnectorWorker, clock: ManualClock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    order = await _dora_orders(woo_stocked, woo_worker, clock, [("HS-200", 5)])
    clock.advance(minutes=5)
    order["line_items"][0]["quantity"] = 3  # Dora asks the shop by phone for three only
    woo_stocked.edit_order(order["id"])
    await woo_stocked.fire("order.updated", order["id"])
    await woo_worker.run_once()
    assert await _line(session_factory, "1004", "HS-200") == (LineStatus.BACKORDERED, 5, 2)  # three still wait
    owed = await read_all(
        session_factory,
        select(Refund.amount_minor).join(OrderLine, OrderLine.id == Refund.line_id).join(Order).where(Order.number == "1004"),
    )
    assert [tuple(row) for row in owed] == [(29800,)]
    clock.advance(minutes=5)
    headset = woo_stocked.set_stock("HS-200", 0)  # what all wait for arrives: Anna's one, Ben's two, Dora's three
    await woo_stocked.fire("product.updated", headset["id"])
    await woo_worker.run_once()
    assert await _line(session_factory, "1004", "HS-200") == (LineStatus.ALLOCATED, 5, 2)
    assert await _allocated(session_factory, "1004", "HS-200") == 3


async def test_a_restock_whose_webhook_was_lost_is_found_by_the_reconcile(
    jacket: dict[str, object], hooked: str, woo_stocked: FakeWooCommerce, clock: ManualClock, policy: ShopPolicy,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clock.advance(minutes=20)
    woo_stocked.set_product_stock(int(str(jacket["id"])), 0)  # two jackets arrive; the site was down
    woo_stocked.set_stock("HS-200", -1)  # and two headsets: Anna's, and one of Ben's two
    reconciling = ConnectorWorker(
        lambda: UnitOfWork(session_factory, clock, policy), woo_adapter_for, reconcile_every=timedelta(minutes=15)
    )
    await reconciling.run_once()
    await reconciling.aclose()
    assert await _line(session_factory, "1005", "JK-M") == (LineStatus.ALLOCATED, 2, 0)
    assert await _line(session_factory, "1006", "JK-S") == (LineStatus.ALLOCATED, 1, 0)
    assert await _line(session_factory, "1001", "HS-200") == (LineStatus.ALLOCATED, 1, 0)
    assert await _allocated(session_factory, "1002", "HS-200") == 1
