"""The WooCommerce adapter against the fake store: connecting, webhooks, pages, reconciling and write-back."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.connectors.woocommerce.adapter import WooCommerceAdapter, WooCommerceWebhookVerifier
from bot.connectors.woocommerce.rest_client import RetryPolicy
from bot.services.connectors.store_records import (
    OrderDeleted,
    OrderSeen,
    ProductsSeen,
    ReceivedWebhook,
    StockCounted,
    StoreRefused,
    StoreUnavailable,
    WebhookRefused,
    WebhooksChecked,
    WriteBackRequest,
)
from tests.fakes.woocommerce_store import FakeWooCommerce

WEBHOOK_SECRET = "whsec-woo-test"


async def _no_wait(seconds: float) -> None:
    pass


@asynccontextmanager
async def _connected(
    store: FakeWooCommerce, key: str | None = None, secret: str | None = None, url: str | None = None
) -> AsyncIterator[WooCommerceAdapter]:
    adapter = WooCommerceAdapter(
        url or store.base_url,
        {"key": key or store.key, "secret": secret or store.secret, "webhook_secret": WEBHOOK_SECRET},
        {},
        sleep=_no_wait,
        retry=RetryPolicy(attempts=2, first_wait=0),
    )
    try:
        yield adapter
    finally:
        await adapter.aclose()


class Receiver:
    """Our webhook endpoint, as far as this test needs it: verifies, answers 200 or 401, remembers."""

    def __init__(self) -> None:
        self.verifier = WooCommerceWebhookVerifier({"webhook_secret": WEBHOOK_SECRET})
        self.received: list[ReceivedWebhook] = []
        self.refused = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        try:
            self.received.append(self.verifier.verify(request.headers, await request.read()))
        except WebhookRefused as refused:
            self.refused += 1
            return web.Response(status=refused.status)
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/connectors/woocommerce/webhooks", found.handle)
    async with TestServer(app) as server:
        found.url = str(server.make_url("/connectors/woocommerce/webhooks"))
        yield found


async def test_good_credentials_name_the_store_and_its_currency(woo_store: FakeWooCommerce) -> None:
    async with _connected(woo_store) as adapter:
        identity = await adapter.check_credentials()
    assert identity.currency == "EUR" and identity.shop == woo_store.base_url


@pytest.mark.parametrize(
    ("key", "secret", "path", "expected"),
    [
        ("ck_wrong", None, "", "the consumer key (ck_…) is wrong (WooCommerce said: Consumer key is invalid.)"),
        (None, "cs_wrong", "", "the consumer secret (cs_…) does not belong to that key"),
        (None, None, "/blog", "no WooCommerce REST API at"),
    ],
)
async def test_bad_credentials_or_address_say_what_is_wrong(
    woo_store: FakeWooCommerce, key: str | None, secret: str | None, path: str, expected: str
) -> None:
    async with _connected(woo_store, key, secret, woo_store.base_url + path) as adapter:
        with pytest.raises(StoreRefused) as refused:
            await adapter.check_credentials()
    assert expected in refused.value.message


async def test_an_unreachable_store_or_plain_http_is_refused_with_the_reason(woo_store: FakeWooCommerce) -> None:
    for url, expected in [
        ("http://127.0.0.1:9", "the store is unreachable: cannot reach 127.0.0.1:9"),
        ("http://shop.example.com", "WooCommerce accepts API keys only over HTTPS: use https://shop.example.com"),
    ]:
        async with _connected(woo_store, url=url) as adapter:
            with pytest.raises(StoreRefused) as refused:
                await adapter.check_credentials()
        assert expected in refused.value.message


async def test_webhooks_are_registered_once_and_their_ping_answered(woo_store: FakeWooCommerce, receiver: Receiver) -> None:
    async with _connected(woo_store) as adapter:
        await adapter.register_webhooks("http://127.0.0.1:9/connectors/woocommerce/webhooks")
        topics = await adapter.register_webhooks(receiver.url)  # the bot moved: the same webhooks follow it
        again = await adapter.register_webhooks(receiver.url)
    assert topics == again == ["order.created", "order.updated", "order.deleted", "product.updated"]
    assert sorted(hook["topic"] for hook in woo_store.webhooks.values()) == sorted(topics)  # not twice
    assert {hook["delivery_url"] for hook in woo_store.webhooks.values()} == {receiver.url}
    assert [status for _, status in woo_store.pings] == [None] * 4  # created at the old address: nobody answered
    assert all(webhook.ping for webhook in receiver.received)
    assert set(woo_store.webhook_secrets.values()) == {WEBHOOK_SECRET}


async def test_a_read_only_key_is_told_to_get_write_permissions(woo_store: FakeWooCommerce, receiver: Receiver) -> None:
    async with _connected(woo_store, woo_store.read_only_key, woo_store.read_only_secret) as adapter:
        await adapter.check_credentials()  # reading is all it checks
        with pytest.raises(StoreRefused, match="needs Read/Write permissions"):
            await adapter.register_webhooks(receiver.url)


async def test_products_and_variations_page_as_variants_with_their_stock(woo_store: FakeWooCommerce) -> None:
    woo_store.add_product("HS-200", "Studio Pro Wireless Headset", "149.00", stock=-2, backorders="notify", category="Audio")
    woo_store.add_product("GIFT-CARD", "Gift card", "25.00")  # stock not managed
    woo_store.add_variable_product("Tee", [("TEE-S", "19.90", 4, "no"), ("TEE-M", "19.90", 0, "notify")])
    async with _connected(woo_store) as adapter:
        first = await adapter.product_page(None)
        stock = await adapter.stock_page(None)
    assert first.next_cursor is None and first.total == 3
    variants = {variant.sku: variant for product in first.items for variant in product.variants}
    assert variants["HS-200"].price_minor == 14900 and variants["HS-200"].category == "Audio"
    assert (variants["HS-200"].tracked, variants["HS-200"].available) == (True, -2)
    assert (variants["GIFT-CARD"].tracked, variants["GIFT-CARD"].available) == (False, None)
    assert variants["TEE-M"].name == "Tee – M" and variants["TEE-M"].available == 0
    assert {(count.sku, count.available) for count in stock.items} == {("HS-200", -2), ("TEE-S", 4), ("TEE-M", 0)}


async def test_open_orders_come_oldest_first_with_woocommerces_backorder_marking(woo_store: FakeWooCommerce) -> None:
    woo_store.add_product("HS-200", "Headset", "149.00", stock=1, backorders="notify")
    woo_store.add_product("HS-120", "Wired headset", "89.00", stock=10)
    orders = [woo_store.place_order([("HS-200", 3), ("HS-120", 1)], email="Anna@Example.com", first_name="Anna", last_name="Klein")]
    orders += [woo_store.place_order([("HS-120", 1)]) for _ in range(550)]
    woo_store.place_order([("HS-120", 1)], status="completed")
    woo_store.place_order([("HS-120", 1)], status="pending")  # not paid: not an order to wait on yet
    async with _connected(woo_store) as adapter:
        first = await adapter.open_order_page(None)
        second = await adapter.open_order_page(first.next_cursor)
    # Five of WooCommerce's pages of 100 at once, then the sixth.
    assert (first.total, len(first.items), first.next_cursor, len(second.items), second.next_cursor) == (551, 500, "6", 51, None)
    assert [order.store_id for order in first.items + second.items] == [str(order["id"]) for order in orders]
    anna = first.items[0]
    assert (anna.email, anna.customer_name, anna.currency, anna.number) == ("anna@example.com", "Anna Klein", "EUR", str(orders[0]["id"]))
    headset, wired = anna.lines
    assert (headset.sku, headset.quantity, headset.backordered_quantity, headset.unit_price_minor) == ("HS-200", 3, 2, 14900)
    assert (wired.sku, wired.backordered_quantity) == ("HS-120", None)  # in stock: WooCommerce marks nothing


async def test_webhook_payloads_become_changes(woo_store: FakeWooCommerce, receiver: Receiver) -> None:
    woo_store.add_product("HS-200", "Headset", "149.00", stock=0, backorders="notify")
    tee = woo_store.add_variable_product("Tee", [("TEE-S", "19.90", 4, "no")])
    async with _connected(woo_store) as adapter:
        await adapter.register_webhooks(receiver.url)
        order = woo_store.place_order([("HS-200", 1)])
        await woo_store.fire("order.created", order["id"])
        await woo_store.fire("order.deleted", order["id"])
        await woo_store.fire("product.updated", woo_store.by_sku("HS-200")["id"])
        await woo_store.fire("product.updated", tee["id"])  # the variable parent: nothing to say
        woo_store.products[tee["variations"][0]] = woo_store.variations[tee["variations"][0]] | {"type": "variation"}
        await woo_store.fire("product.updated", tee["variations"][0])
        deliveries = [webhook for webhook in receiver.received if not webhook.ping]
        changes = [adapter.parse_webhook(webhook.topic, webhook.payload) for webhook in deliveries]
    assert [webhook.topic for webhook in deliveries] == ["order.created", "order.deleted", "product.updated", "product.updated", "product.updated"]
    created, deleted, product, parent, variation = changes
    assert isinstance(created[0], OrderSeen) and created[0].order.lines[0].backordered_quantity == 1
    assert deleted == [OrderDeleted(str(order["id"]))]
    assert isinstance(product[0], ProductsSeen) and isinstance(product[1], StockCounted)
    assert [(count.sku, count.available) for count in product[1].counts] == [("HS-200", -1)]
    assert parent == []
    assert isinstance(variation[0], ProductsSeen) and variation[0].products[0].store_id == str(tee["id"])


async def test_reconciling_reads_what_changed_since_and_revives_disabled_webhooks(
    woo_store: FakeWooCommerce, receiver: Receiver
) -> None:
    moment = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    woo_store.now = lambda: moment[0]
    woo_store.add_product("HS-120", "Wired headset", "89.00", stock=10)
    old = woo_store.place_order([("HS-120", 1)])
    moment[0] += timedelta(hours=1)
    since = moment[0]
    moment[0] += timedelta(minutes=5)
    new = woo_store.place_order([("HS-120", 2)])
    async with _connected(woo_store) as adapter:
        await adapter.register_webhooks(receiver.url)
        receiver_down = [hook_id for hook_id in woo_store.webhooks if woo_store.webhooks[hook_id]["topic"] == "order.updated"]
        woo_store.webhooks[receiver_down[0]]["delivery_url"] = receiver.url + "-gone"
        for _ in range(7):  # WooCommerce never retries; the seventh failure in a row disables the webhook
            await woo_store.fire("order.updated", old["id"])
            assert woo_store.webhooks[receiver_down[0]]["status"] == ("active" if _ < 6 else "disabled")
        assert woo_store.webhooks[receiver_down[0]]["status"] == "disabled"
        woo_store.webhooks[receiver_down[0]]["delivery_url"] = receiver.url
        changes = await adapter.changes_since(since)
    orders = [change.order.store_id for change in changes if isinstance(change, OrderSeen)]
    assert orders == [str(new["id"])]
    assert changes[0] == WebhooksChecked(revived=["order.updated"])
    assert woo_store.webhooks[receiver_down[0]]["status"] == "active"
    assert ("GET", "/wp-json/wc/v3/orders?orderby=id&order=asc&modified_after=2026-12-01T09:59:59&dates_are_gmt=true&page=1&per_page=100") in woo_store.requests


def _cancel(order: dict, sku: str, quantity: int, refund_minor: int, **changes: object) -> WriteBackRequest:
    line = next(item for item in order["line_items"] if item["sku"] == sku)
    fields: dict = dict(
        kind="cancel", idempotency_key="evt_0123abcd", order_number=order["number"], order_store_id=str(order["id"]),
        line_store_id=str(line["id"]), sku=sku, quantity=quantity, keep_quantity=line["quantity"] - quantity, refund_minor=refund_minor, currency="EUR",
        note="Backorder Desk: the customer cancelled 1 × HS-200 in the chat on 2 Dec 2026, 11:30.", refunds_by_hand=False,
        steps={},
    )
    return WriteBackRequest(**(fields | changes))  # type: ignore[arg-type]


async def test_a_cancel_refunds_the_line_as_woocommerce_does_and_notes_it_once(woo_store: FakeWooCommerce) -> None:
    woo_store.add_product("HS-200", "Headset", "149.00", stock=0, backorders="notify")
    woo_store.add_product("HS-120", "Wired headset", "89.00", stock=5)
    order = woo_store.place_order([("HS-200", 2), ("HS-120", 1)])
    request = _cancel(order, "HS-200", 1, 14900)
    async with _connected(woo_store) as adapter:
        result = await adapter.write_back(request)
        again = await adapter.write_back(request)  # a retry that lost the first answer
    refunds = woo_store.refunds[order["id"]]
    assert [(refund["amount"], refund["refunded_payment"]) for refund in refunds] == [("149.00", True)]
    line_id = order["line_items"][0]["id"]
    assert refunds[0]["line_items"] == [{"id": line_id, "quantity": -1, "total": "-149.00"}]
    assert woo_store.by_sku("HS-200")["stock_quantity"] == -1  # one of the two backordered units back
    assert woo_store.orders[order["id"]]["total"] == "387.00"  # the books change through the refund only
    assert result.refund_reference == again.refund_reference == str(refunds[0]["id"])
    assert [note["note"] for note in woo_store.notes[order["id"]]] == [
        "Backorder Desk: the customer cancelled 1 × HS-200 in the chat on 2 Dec 2026, 11:30. [evt_0123abcd]"
    ]


async def test_a_store_outage_midway_resumes_from_the_steps_done(woo_store: FakeWooCommerce) -> None:
    woo_store.add_product("HS-200", "Headset", "149.00", stock=0, backorders="notify")
    order = woo_store.place_order([("HS-200", 2)])
    request = _cancel(order, "HS-200", 2, 29800)
    async with _connected(woo_store) as adapter:
        woo_store.fail_next(502, times=10, path_contains="/notes")
        with pytest.raises(StoreUnavailable) as down:
            await adapter.write_back(request)
        assert list(down.value.steps) == ["refund_id"]
        woo_store.faults.clear()
        done = await adapter.write_back(replace(request, steps=down.value.steps))
    assert [refund["amount"] for refund in woo_store.refunds[order["id"]]] == ["298.00"]
    assert done.steps == {"refund_id": done.refund_reference, "noted": True}
    assert len(woo_store.notes[order["id"]]) == 1


async def test_a_cancel_with_nothing_to_refund_lowers_the_line_once(woo_store: FakeWooCommerce) -> None:
    woo_store.add_product("HS-200", "Headset", "149.00", stock=0, backorders="notify")
    order = woo_store.place_order([("HS-200", 2)], status="on-hold")
    request = _cancel(order, "HS-200", 1, 0)
    async with _connected(woo_store) as adapter:
        await adapter.write_back(request)
        await adapter.write_back(request)
    assert [(item["quantity"], item["total"]) for item in woo_store.orders[order["id"]]["line_items"]] == [(1, "149.00")]
    assert woo_store.refunds[order["id"]] == []


async def test_a_swap_moves_the_lines_money_to_the_substitute_and_refunds_the_difference(woo_store: FakeWooCommerce) -> None:
    woo_store.add_product("HS-200", "Headset", "149.00", stock=0, backorders="notify")
    lite = woo_store.add_product("HS-120", "Wired headset", "89.00", stock=5)
    order = woo_store.place_order([("HS-200", 1)])
    request = _cancel(order, "HS-200", 1, 6000, kind="swap", substitute_sku="HS-120", substitute_variant_id=str(lite["id"]),
                      substitute_quantity=1)
    async with _connected(woo_store) as adapter:
        await adapter.write_back(request)
        await adapter.write_back(request)
    stored = woo_store.orders[order["id"]]
    assert [(item["sku"], item["quantity"], item["total"]) for item in stored["line_items"]] == [("HS-120", 1, "149.00")]
    assert stored["total"] == "149.00"
    assert [refund["amount"] for refund in woo_store.refunds[order["id"]]] == ["60.00"]  # paid 149, keeps an 89 item
    assert woo_store.by_sku("HS-120")["stock_quantity"] == 4


async def test_refunds_by_hand_only_note_the_order(woo_store: FakeWooCommerce) -> None:
    woo_store.add_product("HS-200", "Headset", "149.00", stock=0, backorders="notify")
    order = woo_store.place_order([("HS-200", 1)])
    async with _connected(woo_store) as adapter:
        result = await adapter.write_back(_cancel(order, "HS-200", 1, 14900, refunds_by_hand=True))
    assert woo_store.refunds[order["id"]] == [] and woo_store.orders[order["id"]]["line_items"][0]["quantity"] == 1
    assert len(woo_store.notes[order["id"]]) == 1 and result.refund_reference is None


async def test_a_refusal_is_the_stores_message_and_final(woo_store: FakeWooCommerce) -> None:
    woo_store.add_product("HS-200", "Headset", "149.00", stock=0, backorders="notify")
    order = woo_store.place_order([("HS-200", 1)])
    async with _connected(woo_store) as adapter:
        with pytest.raises(StoreRefused, match="Invalid refund amount"):
            await adapter.write_back(_cancel(order, "HS-200", 1, 99900))  # more than was paid


async def test_reconciling_finds_a_variation_changed_on_its_own(woo_store: FakeWooCommerce) -> None:
    moment = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    woo_store.now = lambda: moment[0]
    woo_store.add_variable_product("Tee", [("TEE-S", "19.90", 4, "notify"), ("TEE-M", "19.90", 0, "notify")])
    woo_store.add_variable_product("Cap", [("CAP-1", "9.90", 2, "notify")])
    moment[0] += timedelta(hours=1)
    since = moment[0]
    moment[0] += timedelta(minutes=5)
    woo_store.set_stock("TEE-M", 6)  # a delivery booked on the variation; its product's own time stays
    async with _connected(woo_store) as adapter:
        changes = await adapter.changes_since(since)
    [seen] = [change for change in changes if isinstance(change, ProductsSeen)]
    [counted] = [change for change in changes if isinstance(change, StockCounted)]
    assert [[variant.sku for variant in product.variants] for product in seen.products] == [["TEE-M"]]
    assert [(count.sku, count.available) for count in counted.counts] == [("TEE-M", 6)]
