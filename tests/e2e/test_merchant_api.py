"""The merchant API through the real aiohttp app on the test database: auth, validation, every endpoint's
effect, idempotency, paging, and the OpenAPI document against the routes.

Today is Friday 27 November 2026 in Berlin and handling takes a day: a shipment due on 4 December makes an
ETA of 5 December.
"""

import asyncio
import base64
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.merchant_access.api_tokens import create_token, revoke_token
from bot.services.unit_of_work import UnitOfWork
from bot.web.app import MERCHANT_API
from db.models import (
    ActorType,
    Customer,
    DelayNotice,
    DelayResponse,
    EtaBasis,
    EtaChange,
    LineStatus,
    Order,
    OrderLine,
    OutboxMessage,
    Product,
    ProductSubstitute,
    PurchaseOrder,
)
from tests import readback
from tests.e2e.web_client import MerchantClient
from tests.import_cases import ORDER_TIMES_OUTSIDE_REASON
from tests.row_counts import row_counts
from tests.shop import add_customer, add_order, add_product, add_waiting_lines

Sessions = async_sessionmaker[AsyncSession]
DEC_4, DEC_5, DEC_10, DEC_11 = date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 10), date(2026, 12, 11)

HEADSET = {
    "name": "Studio Pro Wireless Headset",
    "category": "audio",
    "price_minor": 14900,
    "currency": "EUR",
    "lead_time_days": 28,
    "tags": ["headset", "wireless"],
}


async def waiting_lines(session: AsyncSession, uow: UnitOfWork, quantities: list[int], sku: str = "HS-200") -> list[int]:
    """Product `sku` with one order per quantity, in queue order, ETAs computed; the line ids."""
    return await add_waiting_lines(session, uow, quantities, sku)


async def count(sessions: Sessions, model: type, *where: object) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def product(sessions: Sessions, sku: str) -> Product:
    async with sessions() as session:
        return (await session.execute(select(Product).where(Product.sku == sku))).scalar_one()


# ---- authentication ------------------------------------------------------------------------------------


async def test_a_request_without_a_token_is_refused_and_changes_nothing(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    [line_id] = await waiting_lines(session, uow, [1])

    answer = await api.put("/stock/HS-200", {"available": 5}, token=None)

    assert answer.status == 401
    assert answer.body["error"]["code"] == "missing_token"
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert (await readback.line(session_factory, line_id)).status == LineStatus.BACKORDERED


@pytest.mark.parametrize("wrong", ["bd_not-a-token-we-made", "Basic dXNlcjpwYXNz", ""])
async def test_a_wrong_token_is_refused(api: MerchantClient, wrong: str) -> None:
    answer = await api.get("/backorders", token=wrong)

    assert answer.status == 401
    assert answer.body["error"]["code"] in ("invalid_token", "missing_token")


async def test_a_revoked_token_stops_working_at_once(api: MerchantClient, uow: UnitOfWork) -> None:
    plaintext, token = await create_token(uow, "old shop system")
    assert (await api.get("/backorders", token=plaintext)).status == 200

    await revoke_token(uow, token.id)

    answer = await api.get("/backorders", token=plaintext)
    assert answer.status == 401
    assert answer.body["error"] == {
        "code": "invalid_token",
        "message": "This API token is not valid: it is unknown or has been revoked.",
    }


async def test_changes_are_audited_with_the_token_that_made_them(api: MerchantClient, session_factory) -> None:
    answer = await api.put("/products/HS-200", HEADSET)

    assert answer.status == 201
    [created] = await readback.audit_entries(session_factory, "product.created")
    assert (created.actor_type, created.actor_id) == (ActorType.MERCHANT, f"api-token:{api.token_id}")


# ---- validation and all-or-nothing -----------------------------------------------------------------------


async def test_invalid_fields_are_listed_by_name_with_a_reason(api: MerchantClient, session_factory) -> None:
    body = HEADSET | {"price_minor": "149.00", "lead_time_days": -1, "colour": "black"}
    del body["name"]

    answer = await api.put("/products/HS-200", body)

    assert answer.status == 422
    assert answer.body["error"]["code"] == "invalid_request"
    assert set(answer.problems) == {"price_minor", "lead_time_days", "colour", "name"}
    assert "integer" in answer.problems["price_minor"]
    assert await count(session_factory, Product) == 0


async def test_a_body_that_is_not_json_is_a_422(api: MerchantClient) -> None:
    answer = await api.put("/products/HS-200", data=b'{"name": "Headset",')

    assert answer.status == 422
    assert answer.problems[""].startswith("the body is not valid JSON")


async def test_a_batch_with_one_bad_product_writes_none_of_them(api: MerchantClient, session_factory) -> None:
    before = await row_counts(session_factory)
    good = HEADSET | {"sku": "HS-200"}
    bad = HEADSET | {"sku": "HS-120", "currency": "EUX", "substitutes": ["NOPE-1"]}

    answer = await api.post("/products", {"products": [good, bad]})

    assert answer.status == 422
    assert answer.problems == {
        "products[1].currency": "'EUX' is not an ISO 4217 currency code such as EUR",
        "products[1].substitutes": "NOPE-1 is not a SKU of this file or of the shop",
    }
    assert await row_counts(session_factory) == before


async def test_a_batch_naming_a_sku_twice_is_refused(api: MerchantClient) -> None:
    products = [HEADSET | {"sku": "HS-200"}, HEADSET | {"sku": "HS-200", "price_minor": 1}]

    answer = await api.post("/products", {"products": products})

    assert answer.status == 422
    assert answer.problems == {"products[1].sku": "SKU HS-200 is already at products[0]"}


async def test_a_body_over_one_megabyte_is_refused_with_413(api: MerchantClient, session_factory) -> None:
    huge = HEADSET | {"sku": "HS-200", "name": "x" * (1024 * 1024)}

    answer = await api.post("/products", {"products": [huge]})

    assert answer.status == 413
    assert answer.body["error"]["code"] == "body_too_large"
    assert await count(session_factory, Product) == 0


async def test_a_batch_wrong_in_every_order_lists_the_first_hundred_problems_and_the_total(
    api: MerchantClient, session: AsyncSession, session_factory
) -> None:
    await add_product(session, "HS-200")
    await session.commit()
    before = await row_counts(session_factory)
    orders = [order(str(5000 + index), ("HS-200", 1), ("NOPE-1", 1)) for index in range(250)]

    answer = await api.post("/orders", {"orders": orders})

    assert answer.status == 422
    error = answer.body["error"]
    assert error["message"] == "The request was not accepted, nothing was changed: 250 problems. The first 100 are listed."
    assert error["problems_total"] == 250
    assert list(answer.problems) == [f"orders[{index}].lines[1].sku" for index in range(100)]
    assert await row_counts(session_factory) == before


async def test_a_short_list_of_problems_comes_without_a_total(api: MerchantClient) -> None:
    answer = await api.post("/products", {"products": [HEADSET | {"sku": "HS-200", "currency": "EUX"}]})

    assert answer.status == 422
    assert "problems_total" not in answer.body["error"]


# ---- products and stock ----------------------------------------------------------------------------------


async def test_putting_a_product_creates_it_then_updates_only_what_differs(api: MerchantClient, session_factory) -> None:
    created = await api.put("/products/HS-200", HEADSET | {"available": 4})
    repeated = await api.put("/products/HS-200", HEADSET)
    cheaper = await api.put("/products/HS-200", HEADSET | {"price_minor": 12900})

    assert (created.status, created.body["outcome"]) == (201, "created")
    assert (repeated.status, repeated.body["outcome"]) == (200, "unchanged")
    assert (cheaper.status, cheaper.body["outcome"]) == (200, "updated")
    stored = await product(session_factory, "HS-200")
    assert (stored.price_minor, stored.currency, stored.tags, stored.lead_time_days) == (12900, "EUR", ["headset", "wireless"], 28)
    assert await readback.available(session_factory, stored.id) == 4
    assert len(await readback.audit_entries(session_factory, "product.updated")) == 1


async def test_tags_left_out_stay_and_an_empty_list_clears_them(api: MerchantClient, session_factory) -> None:
    await api.put("/products/HS-200", HEADSET)
    without_tags = {key: value for key, value in HEADSET.items() if key != "tags"}

    await api.put("/products/HS-200", without_tags)
    assert (await product(session_factory, "HS-200")).tags == ["headset", "wireless"]

    await api.put("/products/HS-200", without_tags | {"tags": []})
    assert (await product(session_factory, "HS-200")).tags == []


async def test_a_batch_creates_products_with_their_substitutes(api: MerchantClient, session_factory) -> None:
    products = [
        HEADSET | {"sku": "HS-200", "substitutes": ["HS-120"]},
        HEADSET | {"sku": "HS-120", "name": "Studio Wired Headset", "price_minor": 8900, "tags": ["headset", "wired"]},
    ]

    answer = await api.post("/products", {"products": products})

    assert answer.status == 200
    assert (answer.body["created"], answer.body["updated"], answer.body["unchanged"]) == (["HS-200", "HS-120"], [], [])
    headset, wired = await product(session_factory, "HS-200"), await product(session_factory, "HS-120")
    assert await count(session_factory, ProductSubstitute, ProductSubstitute.product_id == headset.id, ProductSubstitute.substitute_id == wired.id) == 1


async def test_new_stock_in_a_product_goes_to_the_waiting_lines(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    first, second = await waiting_lines(session, uow, [1, 2])
    catalogue = HEADSET | {"lead_time_days": 21, "tags": []}

    answer = await api.put("/products/HS-200", catalogue | {"available": 2})

    assert answer.status == 200
    assert [line["line_id"] for line in answer.body["ready_to_ship"]] == [first]
    assert [(line["line_id"], line["allocated_now"]) for line in answer.body["partly_allocated"]] == [(second, 1)]
    assert (await readback.line(session_factory, first)).status == LineStatus.ALLOCATED


async def test_counting_stock_makes_the_first_line_ready_to_ship(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    first, second = await waiting_lines(session, uow, [1, 1])

    answer = await api.put("/stock/HS-200", {"available": 1})

    assert answer.status == 200
    assert (answer.body["sku"], answer.body["counted"], answer.body["available"]) == ("HS-200", 1, 0)
    assert answer.body["ready_to_ship"] == [
        {"line_id": first, "order_number": "HS-200-1", "customer_id": answer.body["ready_to_ship"][0]["customer_id"],
         "sku": "HS-200", "allocated_now": 1}
    ]
    assert (await readback.line(session_factory, first)).status == LineStatus.ALLOCATED
    assert (await readback.line(session_factory, second)).status == LineStatus.BACKORDERED


async def test_stock_of_an_unknown_sku_is_a_404_with_the_reason(api: MerchantClient) -> None:
    answer = await api.put("/stock/NOPE-1", {"available": 1})

    assert answer.status == 404
    assert answer.body["error"] == {"code": "product_not_found", "message": "There is no product with SKU NOPE-1."}


async def test_negative_stock_is_refused_before_anything_happens(api: MerchantClient) -> None:
    answer = await api.put("/stock/HS-200", {"available": -1})

    assert answer.status == 422
    assert set(answer.problems) == {"available"}


# ---- orders ----------------------------------------------------------------------------------------------


def order(number: str, *lines: tuple[str, int], email: str = "anna@example.com", placed_at: str = "2026-11-20T09:15:00+01:00") -> dict:
    return {
        "number": number,
        "placed_at": placed_at,
        "currency": "EUR",
        "customer": {"email": email, "name": "Anna Klein", "phone": "0151 23456789", "language": "de"},
        "lines": [{"sku": sku, "quantity": quantity, "unit_price_minor": 14900} for sku, quantity in lines],
    }


async def test_orders_are_imported_with_their_customer_and_wait_with_an_eta(
    api: MerchantClient, session: AsyncSession, session_factory
) -> None:
    await add_product(session, "HS-200", available=1)
    await session.commit()

    answer = await api.post("/orders", {"orders": [order("5001", ("HS-200", 1)), order("5002", ("HS-200", 2))]})

    assert answer.status == 200
    assert (answer.body["created"], answer.body["unchanged"], answer.body["customers_created"]) == (["5001", "5002"], [], 1)
    assert [line["order_number"] for line in answer.body["ready_to_ship"]] == ["5001"]
    async with session_factory() as check:
        customer = (await check.execute(select(Customer))).scalar_one()
        assert (customer.email, customer.phone, customer.language) == ("anna@example.com", "+4915123456789", "de")
        waiting = (
            await check.execute(select(OrderLine).join(Order).where(Order.number == "5002"))
        ).scalar_one()
    assert waiting.status == LineStatus.BACKORDERED and waiting.eta is not None


async def test_an_order_sent_again_is_unchanged_and_one_with_other_content_is_refused(
    api: MerchantClient, session: AsyncSession, session_factory
) -> None:
    await add_product(session, "HS-200")
    await add_product(session, "HS-120")
    await session.commit()
    await api.post("/orders", {"orders": [order("5001", ("HS-200", 1))]})
    before = await row_counts(session_factory)

    again = await api.post("/orders", {"orders": [order("5001", ("HS-200", 1))]})
    changed = await api.post("/orders", {"orders": [order("5002", ("HS-120", 1)), order("5001", ("HS-200", 3))]})

    assert (again.status, again.body["created"], again.body["unchanged"]) == (200, [], ["5001"])
    assert changed.status == 422
    assert changed.problems == {
        "orders[1].number": "order 5001 is already in the shop with other lines (differing: HS-200);"
        " an imported order is never changed"
    }
    assert await row_counts(session_factory) == before


async def test_an_order_batch_naming_an_order_or_a_sku_twice_is_refused(api: MerchantClient) -> None:
    twice = [order("5001", ("HS-200", 1)), order("5001", ("HS-200", 1), ("HS-200", 2))]

    answer = await api.post("/orders", {"orders": twice})

    assert answer.status == 422
    assert answer.problems == {
        "orders[1].number": "order 5001 is already at orders[0]",
        "orders[1].lines[1].sku": "SKU HS-200 is already at orders[1].lines[0]",
    }


async def test_a_bad_line_rejects_the_whole_order_batch_naming_it(
    api: MerchantClient, session: AsyncSession, session_factory
) -> None:
    await add_product(session, "HS-200")
    await session.commit()
    before = await row_counts(session_factory)
    future = (date(2026, 11, 27) + timedelta(days=2)).isoformat()

    answer = await api.post(
        "/orders",
        {"orders": [order("5001", ("HS-200", 1)), order("5002", ("HS-200", 1), ("NOPE-1", 1), placed_at=future, email="nope")]},
    )

    assert answer.status == 422
    assert answer.problems == {
        "orders[1].placed_at": f"{future} is in the future",
        "orders[1].customer.email": "'nope' is not an e-mail address",
        "orders[1].lines[1].sku": "NOPE-1 is not a product of the shop; import it first",
    }
    assert await row_counts(session_factory) == before


# ---- purchase orders -------------------------------------------------------------------------------------


async def test_adding_a_purchase_order_confirms_the_etas_it_covers(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    [line_id] = await waiting_lines(session, uow, [1])
    body = {"reference": "PO-7001", "sku": "HS-200", "quantity": 5, "expected_on": "2026-12-04"}

    added = await api.post("/purchase-orders", body)
    again = await api.post("/purchase-orders", body)
    conflict = await api.post("/purchase-orders", body | {"quantity": 6})

    assert added.status == 201
    assert added.body["purchase_order"] == {
        "reference": "PO-7001", "sku": "HS-200", "quantity": 5, "received_quantity": 0, "outstanding": 5,
        "expected_on": "2026-12-04", "status": "open",
    }
    [move] = added.body["eta_moves"]
    assert (move["line_id"], move["new_eta"], move["new_basis"], move["reason"]) == (
        line_id, "2026-12-05", "purchase_order", "purchase_order_added"
    )
    assert (again.status, again.body["changed"], again.body["eta_moves"]) == (200, False, [])
    assert conflict.status == 409 and conflict.body["error"]["code"] == "purchase_order_conflict"
    line = await readback.line(session_factory, line_id)
    assert (line.eta, line.eta_basis) == (DEC_5, EtaBasis.PURCHASE_ORDER)


async def test_moving_a_purchase_order_moves_the_customers_eta_and_records_why(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    [line_id] = await waiting_lines(session, uow, [1])
    await api.post("/purchase-orders", {"reference": "PO-7001", "sku": "HS-200", "quantity": 5, "expected_on": "2026-12-04"})

    answer = await api.patch("/purchase-orders/PO-7001", {"expected_on": "2026-12-10"})

    assert answer.status == 200
    assert answer.body["purchase_order"]["expected_on"] == "2026-12-10"
    [move] = answer.body["eta_moves"]
    assert (move["old_eta"], move["new_eta"], move["reason"]) == ("2026-12-05", "2026-12-11", "purchase_order_moved")
    assert (await readback.line(session_factory, line_id)).eta == DEC_11
    async with session_factory() as check:
        history = (
            await check.execute(select(EtaChange).where(EtaChange.line_id == line_id).order_by(EtaChange.id))
        ).scalars().all()
    assert (history[-1].old_eta, history[-1].new_eta, history[-1].reason) == (DEC_5, DEC_11, "purchase_order_moved")


async def test_moving_an_unknown_purchase_order_is_a_404(api: MerchantClient) -> None:
    answer = await api.patch("/purchase-orders/PO-404", {"expected_on": "2026-12-10"})

    assert answer.status == 404
    assert answer.body["error"]["message"] == "There is no purchase order PO-404."


async def test_a_cancelled_purchase_order_cannot_be_moved(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    [line_id] = await waiting_lines(session, uow, [1])
    await api.post("/purchase-orders", {"reference": "PO-7001", "sku": "HS-200", "quantity": 5, "expected_on": "2026-12-04"})

    cancelled = await api.post("/purchase-orders/PO-7001/cancel")
    moved = await api.patch("/purchase-orders/PO-7001", {"expected_on": "2026-12-10"})

    assert cancelled.status == 200
    assert cancelled.body["purchase_order"]["status"] == "cancelled"
    assert [move["new_basis"] for move in cancelled.body["eta_moves"]] == ["lead_time"]
    assert (await readback.line(session_factory, line_id)).eta_basis == EtaBasis.LEAD_TIME
    assert moved.status == 409
    assert moved.body["error"] == {"code": "purchase_order_closed", "message": "Purchase order PO-7001 is already cancelled."}


async def test_receiving_a_delivery_makes_the_first_lines_ready_to_ship(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    first, second = await waiting_lines(session, uow, [2, 2])
    await api.post("/purchase-orders", {"reference": "PO-7001", "sku": "HS-200", "quantity": 4, "expected_on": "2026-12-04"})

    partial = await api.post("/purchase-orders/PO-7001/receive", {"quantity": 3})
    rest = await api.post("/purchase-orders/PO-7001/receive")
    too_much = await api.post("/purchase-orders/PO-7001/receive", {"quantity": 1})

    assert partial.status == 200
    assert [line["line_id"] for line in partial.body["ready_to_ship"]] == [first]
    assert [(line["line_id"], line["allocated_now"]) for line in partial.body["partly_allocated"]] == [(second, 1)]
    assert (rest.body["received_now"], rest.body["purchase_order"]["status"]) == (1, "received")
    assert [line["line_id"] for line in rest.body["ready_to_ship"]] == [second]
    assert too_much.status == 409 and too_much.body["error"]["code"] == "purchase_order_closed"
    assert {(await readback.line(session_factory, line_id)).status for line_id in (first, second)} == {LineStatus.ALLOCATED}


# ---- idempotency -----------------------------------------------------------------------------------------


async def test_a_retry_with_the_same_key_gets_the_first_answer_and_changes_nothing(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    await waiting_lines(session, uow, [1])
    body = {"reference": "PO-7001", "sku": "HS-200", "quantity": 5, "expected_on": "2026-12-04"}
    first = await api.post("/purchase-orders", body, key="po-7001-create")
    before = await row_counts(session_factory)

    retry = await api.post("/purchase-orders", {"expected_on": "2026-12-04", "quantity": 5, "sku": "HS-200", "reference": "PO-7001"}, key="po-7001-create")

    assert (retry.status, retry.body) == (first.status, first.body) == (201, first.body)
    assert retry.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert retry.body["eta_moves"]  # the first answer, not what a second call would say (nothing moved)
    assert await row_counts(session_factory) == before


async def test_a_key_reused_for_another_request_is_refused(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    await waiting_lines(session, uow, [1])
    body = {"reference": "PO-7001", "sku": "HS-200", "quantity": 5, "expected_on": "2026-12-04"}
    await api.post("/purchase-orders", body, key="k-1")

    other_body = await api.post("/purchase-orders", body | {"reference": "PO-7002"}, key="k-1")
    other_path = await api.put("/stock/HS-200", {"available": 5}, key="k-1")

    for answer in (other_body, other_path):
        assert answer.status == 422
        assert answer.body["error"]["message"] == "Idempotency-Key reused with a different request."
    assert await count(session_factory, PurchaseOrder) == 1


async def test_two_concurrent_requests_with_one_key_make_one_change(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    await waiting_lines(session, uow, [1])
    await api.post("/purchase-orders", {"reference": "PO-7001", "sku": "HS-200", "quantity": 5, "expected_on": "2026-12-04"})

    answers = await asyncio.gather(
        *(api.post("/purchase-orders/PO-7001/receive", {"quantity": 1}, key="delivery-1") for _ in range(3))
    )

    assert {answer.status for answer in answers} == {200}
    assert all(answer.body == answers[0].body for answer in answers)
    assert sorted(answer.headers.get("Idempotent-Replayed", "") for answer in answers) == ["", "true", "true"]
    assert len(await readback.audit_entries(session_factory, "purchase_order.received")) == 1
    async with session_factory() as check:
        received = (await check.execute(select(PurchaseOrder.received_quantity))).scalar_one()
    assert received == 1


async def test_keys_of_different_tokens_do_not_meet(
    api: MerchantClient, uow: UnitOfWork, session: AsyncSession, session_factory
) -> None:
    await waiting_lines(session, uow, [1])
    other, _ = await create_token(uow, "warehouse")

    mine = await api.put("/stock/HS-200", {"available": 1}, key="count-1")
    theirs = await api.put("/stock/HS-200", {"available": 2}, key="count-1", token=other)

    assert (mine.status, theirs.status) == (200, 200)
    assert "Idempotent-Replayed" not in theirs.headers
    assert (mine.body["counted"], theirs.body["counted"]) == (1, 2)
    assert await readback.available(session_factory, (await product(session_factory, "HS-200")).id) == 2


async def test_a_refusal_is_kept_too_so_a_retry_gets_the_same_answer(
    api: MerchantClient, session: AsyncSession
) -> None:
    refused = await api.put("/stock/HS-200", {"available": 1}, key="count-1")
    await add_product(session, "HS-200")
    await session.commit()

    retry = await api.put("/stock/HS-200", {"available": 1}, key="count-1")
    fresh = await api.put("/stock/HS-200", {"available": 1}, key="count-2")

    assert (refused.status, retry.status, fresh.status) == (404, 404, 200)
    assert retry.body == refused.body


# ---- backorders ------------------------------------------------------------------------------------------


async def test_backorders_are_listed_oldest_first_a_page_at_a_time(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork
) -> None:
    headsets = await waiting_lines(session, uow, [1, 2, 1])
    mixers = await waiting_lines(session, uow, [1, 1], sku="MX-500")
    everything = sorted(
        [(index, line_id) for index, line_id in enumerate(headsets)] + [(index, line_id) for index, line_id in enumerate(mixers)]
    )

    seen, cursor, pages = [], None, 0
    while True:
        page = await api.get("/backorders", params={"limit": "2", **({"cursor": cursor} if cursor else {})})
        assert page.status == 200
        seen += [line["line_id"] for line in page.body["backorders"]]
        pages += 1
        cursor = page.body["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == [line_id for _, line_id in everything]


async def test_backorders_can_be_narrowed_to_a_sku_a_category_or_an_age(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork, clock: ManualClock
) -> None:
    headsets = await waiting_lines(session, uow, [1, 2])
    fresh_product = await add_product(session, "MX-500", category="kitchen")
    customer = await add_customer(session, "Ben Carter")
    fresh = await add_order(session, customer, [(fresh_product, 1)], placed_at=clock.now() - timedelta(days=2), number="9001")
    await session.commit()

    by_sku = await api.get("/backorders", params={"sku": "HS-200"})
    by_category = await api.get("/backorders", params={"category": "kitchen"})
    old_ones = await api.get("/backorders", params={"min_age_days": "3"})
    two_days = await api.get("/backorders", params={"min_age_days": "2"})

    assert [line["line_id"] for line in by_sku.body["backorders"]] == headsets
    assert [line["queue_position"] for line in by_sku.body["backorders"]] == [1, 2]
    [kitchen] = by_category.body["backorders"]
    assert (kitchen["line_id"], kitchen["category"], kitchen["days_waiting"]) == (fresh.lines[0].id, "kitchen", 2)
    assert [line["line_id"] for line in old_ones.body["backorders"]] == headsets
    assert fresh.lines[0].id in [line["line_id"] for line in two_days.body["backorders"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"), ({"limit": "many"}, "limit"), ({"cursor": "bm9wZQ"}, "cursor"), ({"colour": "red"}, "colour"),
        # Deeper than Python's parser goes, and short enough for a URL.
        ({"cursor": base64.urlsafe_b64encode(b"[" * 2_500 + b"]" * 2_500).decode()}, "cursor"),
    ],
    ids=["limit 0", "limit many", "a made-up cursor", "an unknown filter", "a cursor nested 2,500 deep"],
)
async def test_bad_backorder_queries_are_refused(api: MerchantClient, params: dict[str, str], field: str) -> None:
    answer = await api.get("/backorders", params=params)

    assert answer.status == 422
    assert set(answer.problems) == {field}


# ---- the OpenAPI document --------------------------------------------------------------------------------


async def test_the_openapi_document_describes_exactly_the_routes_the_app_serves(api: MerchantClient) -> None:
    served = {
        (route.method, route.resource.canonical)
        for route in api.client.app[MERCHANT_API].router.routes()
        if route.resource is not None
    }

    document = (await api.get("/openapi.json")).body
    described = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}

    assert served - described == set(), "served but not described"
    assert described - served == set(), "described but not served"
    assert ("PATCH", "/api/v1/purchase-orders/{reference}") in served


async def test_the_openapi_document_is_served_without_a_token_and_names_the_bearer_scheme(api: MerchantClient) -> None:
    answer = await api.get("/openapi.json", token=None)

    assert answer.status == 200
    document = answer.body
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"]["bearerToken"]["description"],
    }
    assert document["security"] == [{"bearerToken": []}]
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert any(status.startswith("2") for status in operation["responses"]), (method, path)
            if path != "/api/v1/openapi.json":
                assert "401" in operation["responses"], (method, path)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                assert body["$ref"].removeprefix("#/components/schemas/") in schemas


async def test_the_document_states_what_the_api_refuses(api: MerchantClient) -> None:
    schemas = (await api.get("/openapi.json", token=None)).body["components"]["schemas"]

    product = schemas["ProductIn"]["properties"]
    assert "EUR" in product["currency"]["enum"] and "eur" not in product["currency"]["enum"]
    assert product["tags"]["anyOf"][0]["items"]["maxLength"] == 50  # as the import allows
    sku = re.compile(product["sku"]["pattern"])
    assert sku.search("HS-200") and not any(sku.search(bad) for bad in ("HS 200", "HS|200", "HS\x00200", "HS\u3000200"))
    assert re.search(schemas["CustomerIn"]["properties"]["email"]["pattern"], "anna@example.com")
    assert not re.search(schemas["CustomerIn"]["properties"]["email"]["pattern"], "anna@example")
    assert schemas["ProductIn"]["properties"]["name"]["pattern"] == "^[^\\x00]*$"
    assert len(schemas["AudienceIn"]["anyOf"]) == 3  # an audience names SKUs, a category or orders
    assert schemas["BroadcastIn"]["properties"]["texts"]["required"] == ["en"]  # the shop's default language
    assert "line.*" in schemas["WebhookEndpointIn"]["properties"]["event_types"]["items"]["enum"]


async def test_a_whole_number_may_be_written_5_0_but_not_as_text(api: MerchantClient, session: AsyncSession) -> None:
    await add_product(session, "HS-200")
    await session.commit()

    counted = await api.put("/stock/HS-200", {"available": 5.0})
    as_text = await api.put("/stock/HS-200", {"available": "5"})
    a_fraction = await api.put("/stock/HS-200", {"available": 5.5})

    assert (counted.status, counted.body["counted"]) == (200, 5)
    assert (as_text.status, a_fraction.status) == (422, 422)


async def test_unknown_api_paths_answer_in_json(api: MerchantClient) -> None:
    missing = await api.get("/no-such-thing")
    wrong_method = await api.call("DELETE", "/products")

    assert (missing.status, missing.body["error"]["code"]) == (404, "not_found")
    assert (wrong_method.status, wrong_method.body["error"]["code"]) == (405, "method_not_allowed")


# ---- broadcasts and delay notices ------------------------------------------------------------------------

BROADCAST_TEXTS = {"en": "The headsets arrive next week.", "de": "Die Kopfhörer kommen nächste Woche."}


async def headset_waiters(session: AsyncSession) -> dict[str, int]:
    """Anna (English) and Ben (German) wait for HS-200 in the chat; Una waits too but never linked a chat."""
    headset = await add_product(session, "HS-200")
    ids = {}
    for name, telegram_user_id, language in (("Anna Klein", 5001, "en"), ("Ben Carter", 5002, "de"), ("Una Known", None, "en")):
        customer = await add_customer(session, name)
        customer.telegram_user_id, customer.language = telegram_user_id, language
        order_ = await add_order(session, customer, [(headset, 1)], number=f"B-{name.split()[0]}")
        ids[name.split()[0].lower()] = order_.lines[0].id
    await session.commit()
    return ids


async def test_a_broadcast_s_new_eta_in_the_past_or_years_away_is_a_422_and_nothing_is_queued(
    api: MerchantClient, session: AsyncSession, session_factory
) -> None:
    await headset_waiters(session)
    before = await row_counts(session_factory)

    answers = [
        await api.post("/broadcasts", {"audience": {"skus": ["HS-200"]}, "texts": BROADCAST_TEXTS, "new_eta": new_eta})
        for new_eta in ("2026-11-26", "9999-12-31")
    ]

    reason = "The new ETA must be between 2026-11-27 and 2029-11-26."
    assert [(answer.status, answer.problems) for answer in answers] == [(422, {"new_eta": reason})] * 2
    assert await row_counts(session_factory) == before


async def test_a_broadcast_is_queued_for_each_reachable_waiting_customer_in_their_language(
    api: MerchantClient, session: AsyncSession, session_factory
) -> None:
    await headset_waiters(session)

    created = await api.post("/broadcasts", {"audience": {"skus": ["HS-200"]}, "texts": BROADCAST_TEXTS})

    assert created.status == 201
    assert (created.body["status"], created.body["recipient_count"], created.body["pending"]) == ("sending", 2, 2)
    assert created.body["audience"] == {"skus": ["HS-200"], "category": None, "order_numbers": []}
    async with session_factory() as check:
        queued = (await check.execute(
            select(OutboxMessage.chat_id, OutboxMessage.language).where(OutboxMessage.broadcast_id == created.body["id"]).order_by(OutboxMessage.chat_id)
        )).all()
    assert [tuple(row) for row in queued] == [(5001, "en"), (5002, "de")]
    progress = await api.get(f"/broadcasts/{created.body['id']}")
    assert (progress.status, progress.body["pending"], progress.body["sent"]) == (200, 2, 0)


async def test_a_broadcast_can_set_a_new_eta_for_its_audience(
    api: MerchantClient, session: AsyncSession, session_factory
) -> None:
    lines = await headset_waiters(session)

    created = await api.post("/broadcasts", {"audience": {"skus": ["HS-200"]}, "texts": BROADCAST_TEXTS, "new_eta": "2026-12-10"})

    assert (created.status, created.body["new_eta"], created.body["eta_lines_updated"]) == (201, "2026-12-10", 3)
    assert (await readback.line(session_factory, lines["una"])).eta == DEC_10
    assert await count(session_factory, EtaChange, EtaChange.line_id == lines["anna"], EtaChange.new_eta == DEC_10) == 1


async def test_at_night_a_broadcast_says_how_many_wait_for_quiet_hours_and_an_urgent_one_goes_out(
    api: MerchantClient, session: AsyncSession, session_factory, clock: ManualClock
) -> None:
    await headset_waiters(session)
    clock.current = datetime(2026, 11, 27, 21, 30, tzinfo=timezone.utc)  # 22:30 in Berlin: quiet hours until 08:00

    held = await api.post("/broadcasts", {"audience": {"skus": ["HS-200"]}, "texts": BROADCAST_TEXTS})
    urgent = await api.post("/broadcasts", {"audience": {"skus": ["HS-200"]}, "texts": BROADCAST_TEXTS, "urgent": True})
    progress = await api.get(f"/broadcasts/{held.body['id']}")

    assert (held.status, held.body["pending"], held.body["held"], held.body["urgent"]) == (201, 2, 2, False)
    assert held.body["held_until"] == progress.body["held_until"] == "2026-11-28T08:00:00+01:00"
    assert (progress.body["pending"], progress.body["held"]) == (2, 2)
    assert (urgent.status, urgent.body["pending"], urgent.body["held"], urgent.body["held_until"]) == (201, 2, 0, None)
    assert urgent.body["urgent"] is True
    assert await count(session_factory, OutboxMessage, OutboxMessage.optional.is_(False)) == 2


async def test_cancelling_a_broadcast_stops_what_has_not_been_sent(api: MerchantClient, session: AsyncSession) -> None:
    await headset_waiters(session)
    created = await api.post("/broadcasts", {"audience": {"skus": ["HS-200"]}, "texts": BROADCAST_TEXTS})

    cancelled = await api.post(f"/broadcasts/{created.body['id']}/cancel")
    again = await api.post(f"/broadcasts/{created.body['id']}/cancel")

    assert cancelled.status == 200
    assert (cancelled.body["status"], cancelled.body["cancelled"], cancelled.body["pending"]) == ("cancelled", 2, 0)
    assert again.body == cancelled.body


async def test_a_broadcast_retried_with_its_key_is_sent_once(api: MerchantClient, session: AsyncSession, session_factory) -> None:
    await headset_waiters(session)
    body = {"audience": {"skus": ["HS-200"]}, "texts": BROADCAST_TEXTS}

    first = await api.post("/broadcasts", body, key="black-friday-delay")
    retry = await api.post("/broadcasts", body, key="black-friday-delay")

    assert (first.status, retry.status, retry.body["id"]) == (201, 201, first.body["id"])
    assert await count(session_factory, OutboxMessage) == 2


async def test_an_unknown_broadcast_is_a_404(api: MerchantClient) -> None:
    progress = await api.get("/broadcasts/4242")
    cancel = await api.post("/broadcasts/4242/cancel")

    assert (progress.status, cancel.status) == (404, 404)
    assert progress.body["error"] == {"code": "broadcast_not_found", "message": "There is no broadcast 4242."}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"audience": {}, "texts": BROADCAST_TEXTS}, "audience"),
        ({"audience": {"skus": ["NOPE-1"]}, "texts": BROADCAST_TEXTS}, "audience"),
        ({"audience": {"skus": ["HS-200"]}, "texts": {"de": "Nur Deutsch."}}, "texts"),
        ({"audience": {"skus": ["HS-200"]}, "texts": {"en": "x" * 4097}}, "texts"),
        ({"audience": {"skus": ["HS-200"]}, "texts": {}}, "texts"),
        ({"audience": {"sku": "HS-200"}, "texts": BROADCAST_TEXTS}, "audience.sku"),
    ],
)
async def test_a_broadcast_without_a_valid_audience_or_text_is_refused(
    api: MerchantClient, session: AsyncSession, session_factory, body: dict, field: str
) -> None:
    await headset_waiters(session)

    answer = await api.post("/broadcasts", body)

    assert answer.status == 422
    assert set(answer.problems) == {field}
    assert await count(session_factory, OutboxMessage) == 0


async def test_delay_notices_are_listed_with_their_answers_and_can_be_narrowed_by_time(
    api: MerchantClient, session: AsyncSession, clock: ManualClock
) -> None:
    lines = await headset_waiters(session)
    for line_id, notified_at, response in (
        (lines["anna"], clock.now() - timedelta(days=5), DelayResponse.AGREED),
        (lines["ben"], clock.now() - timedelta(hours=1), None),
    ):
        session.add(DelayNotice(line_id=line_id, sequence=1, promised_ship_by=date(2026, 11, 25), new_ship_by=DEC_10,
                                notified_at=notified_at, response=response,
                                responded_at=notified_at + timedelta(hours=2) if response else None))
    await session.commit()

    everything = await api.get("/delay-notices")
    recent = await api.get("/delay-notices", params={"since": (clock.now() - timedelta(days=1)).isoformat()})
    naive = await api.get("/delay-notices", params={"since": "2026-11-26T00:00:00"})

    assert everything.status == 200
    assert [(notice["line_id"], notice["response"]) for notice in everything.body["delay_notices"]] == [
        (lines["anna"], "agreed"), (lines["ben"], None)
    ]
    first = everything.body["delay_notices"][0]
    assert (first["order_number"], first["customer_name"], first["sku"], first["new_ship_by"]) == ("B-Anna", "Anna Klein", "HS-200", "2026-12-10")
    assert [notice["line_id"] for notice in recent.body["delay_notices"]] == [lines["ben"]]
    assert naive.status == 422 and set(naive.problems) == {"since"}


# ---- input no column can hold ----------------------------------------------------------------------------


async def test_a_nul_character_anywhere_in_a_body_is_a_422_naming_the_field(api: MerchantClient, session_factory) -> None:
    before = await row_counts(session_factory)

    product = await api.post("/products", {"products": [HEADSET | {"sku": "HS-200", "name": "Head\x00set"}]})
    orders = await api.post("/orders", {"orders": [order("5001", ("HS-200", 1), email="anna\x00@example.com")]})
    broadcast = await api.post("/broadcasts", {"audience": {"skus": ["HS-200"]}, "texts": {"en": "Soon\x00"}})

    assert (product.status, orders.status, broadcast.status) == (422, 422, 422)
    assert product.problems == {"products[0].name": "contains a NUL character (\\x00), which text cannot hold"}
    assert set(orders.problems) == {"orders[0].customer.email"}
    assert set(broadcast.problems) == {"texts.en"}
    assert await row_counts(session_factory) == before


@pytest.mark.parametrize(("placed_at", "reason"), ORDER_TIMES_OUTSIDE_REASON)
async def test_an_order_placed_outside_reason_is_a_422_naming_the_window(
    api: MerchantClient, session: AsyncSession, session_factory, placed_at: str, reason: str
) -> None:
    await add_product(session, "HS-200")
    await session.commit()
    before = await row_counts(session_factory)

    answer = await api.post(
        "/orders", {"orders": [order("5001", ("HS-200", 1)), order("5002", ("NOPE-1", 1), placed_at=placed_at)]}
    )

    assert answer.status == 422
    assert answer.problems == {
        "orders[1].placed_at": reason,
        "orders[1].lines[0].sku": "NOPE-1 is not a product of the shop; import it first",
    }
    assert await row_counts(session_factory) == before


async def test_a_purchase_order_due_years_away_is_a_422_naming_the_window(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    await waiting_lines(session, uow, [1])
    body = {"reference": "PO-7001", "sku": "HS-200", "quantity": 5, "expected_on": "9999-12-31"}

    added = await api.post("/purchase-orders", body)
    await api.post("/purchase-orders", body | {"expected_on": "2026-12-04"})
    moved = await api.patch("/purchase-orders/PO-7001", {"expected_on": "0001-01-01"})

    window = "is outside the dates a purchase order may be due (2025-11-27 to 2029-11-26)"
    assert (added.status, added.problems) == (422, {"expected_on": f"9999-12-31 {window}"})
    assert (moved.status, moved.problems) == (422, {"expected_on": f"0001-01-01 {window}"})
    async with session_factory() as check:
        stored = (await check.execute(select(PurchaseOrder))).scalar_one()
    assert stored.expected_on == DEC_4
