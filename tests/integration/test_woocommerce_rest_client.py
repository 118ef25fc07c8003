"""The WooCommerce REST client against the fake store: auth both ways, pages, errors, retries and their limits."""

import pytest

from bot.connectors.woocommerce.rest_client import RetryPolicy, WooApiError, WooRestClient, WooUnreachable
from tests.fakes.woocommerce_store import FakeWooCommerce

waits: list[float] = []


async def _no_wait(seconds: float) -> None:
    waits.append(seconds)


def _client(store: FakeWooCommerce, **options: object) -> WooRestClient:
    waits.clear()
    return WooRestClient(store.base_url, store.key, store.secret, sleep=_no_wait, **options)  # type: ignore[arg-type]


async def test_pages_through_a_list_with_basic_auth_or_the_query_string(woo_store: FakeWooCommerce) -> None:
    for number in range(7):
        woo_store.add_product(f"SKU-{number}", f"Product {number}", "10.00", stock=3)
    for query_string_auth in (False, True):
        client = _client(woo_store, query_string_auth=query_string_auth)
        try:
            first = await client.page("products", 1, per_page=5, params={"orderby": "id", "order": "asc"})
            second = await client.page("products", 2, per_page=5, params={"orderby": "id", "order": "asc"})
        finally:
            await client.aclose()
        assert (first.total, first.total_pages) == (7, 2)
        assert [item["sku"] for item in first.items + second.items] == [f"SKU-{n}" for n in range(7)]
    assert any("consumer_key=" in path for _, path in woo_store.requests)


async def test_a_wrong_key_or_secret_is_woocommerces_own_error(woo_store: FakeWooCommerce) -> None:
    for key, secret, message in [
        ("ck_wrong", woo_store.secret, "Consumer key is invalid."),
        (woo_store.key, "cs_wrong", "Consumer secret is invalid."),
    ]:
        client = WooRestClient(woo_store.base_url, key, secret, sleep=_no_wait)
        try:
            with pytest.raises(WooApiError) as refused:
                await client.get("products")
        finally:
            await client.aclose()
        assert (refused.value.status, refused.value.code, refused.value.message) == (
            401, "woocommerce_rest_authentication_error", message,
        )
        assert not refused.value.temporary


async def test_reads_are_retried_after_429_and_5xx_honouring_retry_after(woo_store: FakeWooCommerce) -> None:
    woo_store.add_product("SKU-1", "Product", "10.00")
    woo_store.fail_next(429, retry_after=7)
    woo_store.fail_next(502)
    client = _client(woo_store)
    try:
        page = await client.page("products", 1)
    finally:
        await client.aclose()
    assert [item["sku"] for item in page.items] == ["SKU-1"]
    assert waits[0] == 7  # as the store asked
    assert 0.5 * 2 * 0.75 <= waits[1] <= 0.5 * 2 * 1.25  # then backing off
    assert len(woo_store.requests) == 3


async def test_reads_give_up_after_the_last_attempt_with_the_stores_error(woo_store: FakeWooCommerce) -> None:
    woo_store.outage = True
    client = _client(woo_store, retry=RetryPolicy(attempts=3, first_wait=0.1))
    try:
        with pytest.raises(WooApiError) as failed:
            await client.get("orders/1")
    finally:
        await client.aclose()
    assert failed.value.status == 503 and failed.value.temporary
    assert len(woo_store.requests) == 3 and len(waits) == 2


async def test_a_write_that_may_have_happened_is_not_repeated(woo_store: FakeWooCommerce) -> None:
    woo_store.add_product("SKU-1", "Product", "10.00", stock=5)
    order = woo_store.place_order([("SKU-1", 1)])
    woo_store.fail_next(500, method="POST")
    client = _client(woo_store)
    try:
        with pytest.raises(WooApiError):
            await client.post(f"orders/{order['id']}/notes", {"note": "hello"})
        assert len(woo_store.requests) == 1  # a 500 may follow a write that happened: the caller looks first
        woo_store.fail_next(503, method="POST", retry_after=1)
        note = await client.post(f"orders/{order['id']}/notes", {"note": "hello"})
    finally:
        await client.aclose()
    assert note["note"] == "hello" and len(woo_store.notes[order["id"]]) == 1  # 503 said "not done": retried once


async def test_an_unreachable_store_and_a_site_without_the_api_are_told_apart(woo_store: FakeWooCommerce) -> None:
    client = WooRestClient("http://127.0.0.1:9", "ck", "cs", sleep=_no_wait, retry=RetryPolicy(attempts=2))
    try:
        with pytest.raises(WooUnreachable, match="cannot reach 127.0.0.1:9"):
            await client.get("products")
    finally:
        await client.aclose()
    client = _client(woo_store)
    try:
        with pytest.raises(WooApiError) as missing:
            await client.get("no-such-route")
    finally:
        await client.aclose()
    assert (missing.value.status, missing.value.code) == (404, "rest_no_route")
