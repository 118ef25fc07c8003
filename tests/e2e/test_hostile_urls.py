"""Hostile input in URLs and bodies that once reached the database or the JSON parser and came back as a 500:
every one is now a 4xx that says what is wrong, and nothing changes."""

import pytest
from aiohttp.test_utils import TestClient

from db.types import MAX_ROW_ID
from tests.e2e.web_client import MerchantClient
from tests.row_counts import row_counts
from tests.shop import add_product

NUL_REASON = "must not contain a NUL character (U+0000)"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/backorders", {"sku": "HS\x00200"}, "sku"),
        ("/backorders", {"category": "\x00"}, "category"),
        ("/delay-notices", {"since": "2026-11-01\x00"}, "since"),
        ("/broadcasts/1", {"x\x00": "1"}, "x"),
    ],
)
async def test_a_nul_character_in_the_query_string_is_a_field_error(
    api: MerchantClient, path: str, params: dict[str, str], field: str
) -> None:
    answer = await api.get(path, params=params)

    assert answer.status == 422
    assert answer.problems == {field: NUL_REASON}


async def test_a_nul_character_in_a_path_parameter_is_a_field_error_and_changes_nothing(
    api: MerchantClient, session, session_factory
) -> None:
    await add_product(session, "HS-200", available=0)
    await session.commit()
    before = await row_counts(session_factory)

    stock = await api.put("/stock/HS-200%00", {"available": 5})
    moved = await api.patch("/purchase-orders/PO%00-1", {"expected_on": "2026-12-10"})

    assert (stock.status, stock.problems) == (422, {"sku": NUL_REASON})
    assert (moved.status, moved.problems) == (422, {"reference": NUL_REASON})
    assert await row_counts(session_factory) == before


async def test_a_nul_character_in_a_console_or_other_url_is_a_4xx_too(web_client: TestClient) -> None:
    for url in ("/console/sign-in?next=%2Fconsole%00", "/healthz%00", "/console/backorders?sku=%00"):
        async with web_client.get(url, allow_redirects=False) as response:
            assert response.status == 422, url
            assert (await response.json())["error"]["problems"][0]["reason"] == NUL_REASON


@pytest.mark.parametrize("broadcast_id", [MAX_ROW_ID + 1, 2**63, 10**21])
async def test_a_broadcast_id_beyond_any_row_is_unknown(api: MerchantClient, broadcast_id: int) -> None:
    progress = await api.get(f"/broadcasts/{broadcast_id}")
    cancelled = await api.post(f"/broadcasts/{broadcast_id}/cancel", key="cancel-1")

    assert (progress.status, progress.body["error"]["code"]) == (404, "broadcast_not_found")
    assert (cancelled.status, cancelled.body["error"]["code"]) == (404, "broadcast_not_found")


async def test_a_body_nested_too_deeply_with_an_idempotency_key_is_a_422(api: MerchantClient) -> None:
    nested = b'{"products": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    answer = await api.post("/products", data=nested, key="deep-1")

    assert answer.status == 422
    assert "nested too deeply" in answer.problems[""] or "recursion" in answer.problems[""]


async def test_a_method_no_route_takes_is_a_405_even_with_an_idempotency_key(api: MerchantClient) -> None:
    first = await api.post("/stock/HS-200", {"available": 1}, key="same-key")
    again = await api.put("/purchase-orders", {"reference": "PO-1"}, key="same-key")

    assert (first.status, first.body["error"]["code"]) == (405, "method_not_allowed")
    assert (again.status, again.body["error"]["code"]) == (405, "method_not_allowed")


@pytest.mark.parametrize(
    ("since", "status"),
    [("9999-12-31T23:59:59-12:00", 200), ("0001-01-01T00:00:00+14:00", 200), ("0.5", 422)],
    ids=["past the end in UTC", "before the start in UTC", "seconds, not a date"],
)
async def test_a_since_beyond_the_calendar_in_utc_is_still_a_place_in_time(api: MerchantClient, since: str, status: int) -> None:
    answer = await api.get("/delay-notices", params={"since": since})

    assert answer.status == status
    if status == 200:
        assert answer.body == {"delay_notices": []}
    else:
        assert answer.problems == {"since": "'0.5' is not a date and time like 2026-11-20T14:05:00+01:00"}


async def test_a_feed_cursor_past_any_number_a_column_holds_is_after_every_event(api: MerchantClient) -> None:
    answer = await api.get("/events", params={"after": "9" * 19 + "-" + "9" * 19})

    assert answer.status == 200 and answer.body["events"] == []


async def test_an_empty_cursor_is_not_a_cursor(api: MerchantClient) -> None:
    answer = await api.get("/backorders", params={"cursor": ""})

    assert (answer.status, answer.problems) == (422, {"cursor": "is not a cursor this API gave out"})


@pytest.mark.parametrize("cursor", ["99999999999999999-9999999999", "0-0"], ids=["after every line", "before every line"])
async def test_any_cursor_of_the_documented_shape_is_a_place_in_the_queue(api: MerchantClient, session, cursor: str) -> None:
    await add_product(session, "HS-200")
    await session.commit()

    answer = await api.get("/backorders", params={"cursor": cursor})

    assert answer.status == 200 and answer.body["next_cursor"] is None
