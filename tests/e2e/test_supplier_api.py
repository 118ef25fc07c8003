"""Suppliers through the real merchant API: kept, assigned to products, their track record read back, and
the ETAs of their next shipment allowing for how late they usually are.

Today is Friday 27 November 2026 in Berlin and handling takes a day. A purchase order due days ago and
received today arrived that many days late.
"""

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.unit_of_work import UnitOfWork
from db.models import PurchaseOrder, Supplier
from tests.e2e.web_client import MerchantClient
from tests.shop import add_customer, add_order, add_product

TODAY = date(2026, 11, 27)
HEADSET = {"name": "Headset", "category": "audio", "price_minor": 14900, "currency": "EUR", "lead_time_days": 28}


async def received_late(api: MerchantClient, sku: str, days_late: list[int]) -> None:
    for index, late in enumerate(days_late):
        due = (TODAY - timedelta(days=late)).isoformat()
        added = await api.post("/purchase-orders", {"reference": f"H-{index}", "sku": sku, "quantity": 1, "expected_on": due})
        received = await api.post(f"/purchase-orders/H-{index}/receive")
        assert (added.status, received.status) == (201, 200)


async def test_a_merchant_keeps_suppliers_through_the_api(api: MerchantClient) -> None:
    await api.put("/products/HS-200", HEADSET)
    added = await api.post("/suppliers", {"name": "Nordic Audio", "contact": "orders@nordic.example", "lead_time_days": 21})
    again = await api.post("/suppliers", {"name": "Nordic Audio", "contact": "orders@nordic.example", "lead_time_days": 21})
    taken = await api.post("/suppliers", {"name": "Nordic Audio"})
    supplier_id = added.body["id"]
    changed = await api.put(f"/suppliers/{supplier_id}", {"name": "Nordic Audio AB", "lead_time_days": 14})
    assigned = await api.put(f"/suppliers/{supplier_id}/products", {"skus": ["HS-200"]})
    in_use = await api.call("DELETE", f"/suppliers/{supplier_id}")

    assert (added.status, again.status, taken.status) == (201, 200, 409)
    assert taken.body["error"]["code"] == "supplier_name_taken"
    assert changed.body | {"created_at": None} == {
        "id": supplier_id, "name": "Nordic Audio AB", "contact": None, "lead_time_days": 14, "eta_slip_days": None,
        "skus": [], "created_at": None,
    }
    assert assigned.body["skus"] == ["HS-200"]
    assert in_use.status == 409
    assert [supplier["name"] for supplier in (await api.get("/suppliers")).body["suppliers"]] == ["Nordic Audio AB"]
    assert (await api.get(f"/suppliers/{supplier_id}")).body["name"] == "Nordic Audio AB"


async def test_bad_supplier_input_is_a_422_and_unknown_ones_a_404(api: MerchantClient) -> None:
    blank = await api.post("/suppliers", {"name": "   "})
    negative = await api.post("/suppliers", {"name": "X", "lead_time_days": -1})
    unknown_field = await api.post("/suppliers", {"name": "X", "email": "x@example.com"})
    missing = await api.get("/suppliers/424242")
    past_32_bits = await api.get(f"/suppliers/{2**31}/performance")
    unknown_sku = await api.put(f"/suppliers/{2**31}/products", {"skus": ["NOPE"]})

    assert (blank.status, negative.status, unknown_field.status) == (422, 422, 422)
    assert "name" in blank.problems and "lead_time_days" in negative.problems
    assert (missing.status, past_32_bits.status, unknown_sku.status) == (404, 404, 404)
    assert (await api.get("/suppliers")).body == {"suppliers": []}


async def test_the_performance_endpoint_reports_the_record_and_the_next_eta_allows_for_it(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork
) -> None:
    await api.put("/products/HS-200", HEADSET)
    supplier_id = (await api.post("/suppliers", {"name": "Slow Sounds"})).body["id"]
    await api.put(f"/suppliers/{supplier_id}/products", {"skus": ["HS-200"]})
    await received_late(api, "HS-200", [0, 2, 3, 3, 3, 3])
    performance = await api.get(f"/suppliers/{supplier_id}/performance")

    assert performance.status == 200
    body = performance.body
    assert (body["received"], body["minimum_received"], body["window_days"]) == (6, 5, 180)
    assert body["on_time_rate"] == 1 / 6
    assert (body["median_days_late"], body["p80_days_late"]) == (3.0, 3)
    assert [shipment["days_late"] for shipment in body["shipments"]] == [0, 2, 3, 3, 3, 3]
    assert body["supplier"]["eta_slip_days"] == 3

    # A customer waits; the supplier's next shipment is due 4 December: expect it 3 days later, ship a day after.
    product = await add_product(session, "HS-300", lead_time_days=21)
    await add_order(session, await add_customer(session), [(product, 1)], number="5001")
    await session.commit()
    await api.put(f"/suppliers/{supplier_id}/products", {"skus": ["HS-300"]})
    added = await api.post("/purchase-orders", {"reference": "PO-NEXT", "sku": "HS-300", "quantity": 1, "expected_on": "2026-12-04"})
    [move] = added.body["eta_moves"]
    assert (move["new_eta"], move["new_basis"]) == ("2026-12-08", "purchase_order")
    assert added.body["purchase_order"]["expected_on"] == "2026-12-04"  # the confirmed date is kept as promised


async def test_reorder_suggestions_come_with_their_figures_and_explanation(api: MerchantClient, session: AsyncSession) -> None:
    product = await add_product(session, "MX-500", name="Stand Mixer", lead_time_days=10)
    await add_product(session, "CB-1", available=100)
    customer = await add_customer(session)
    for number in ("6001", "6002", "6003"):
        await add_order(session, customer, [(product, 2)], number=number)
    await session.commit()

    answer = await api.get("/reorder-suggestions")

    # 6 waiting; 6 ordered 26 days ago: 6 + ceil(0.2 × 38) = 14 to order, today.
    assert answer.status == 200
    assert answer.body == {
        "suggestions": [
            {
                "sku": "MX-500", "product_name": "Stand Mixer", "supplier": None, "ordered_7_days": 0,
                "ordered_30_days": 6, "ordered_90_days": 6, "waiting": 6, "waiting_lines": 3, "on_hand": 0,
                "incoming": 0, "lead_time_days": 10, "supplier_days_late": 0, "suggested_quantity": 14,
                "order_by": "2026-11-27",
                "explanation": "6 ordered in the last 30 days, 6 waiting, 0 incoming; order 14 by 27\xa0Nov to cover"
                " the next 4 weeks.",
            }
        ]
    }


async def test_products_name_their_default_supplier_which_is_added_when_new(api: MerchantClient) -> None:
    created = await api.put("/products/HS-200", HEADSET | {"supplier": "Nordic Audio AB"})
    repeated = await api.put("/products/HS-200", HEADSET | {"supplier": "Nordic Audio AB"})
    kept = await api.put("/products/HS-200", HEADSET)
    batch = await api.post(
        "/products",
        {"products": [HEADSET | {"sku": "HS-200", "supplier": "Studio Sound GmbH"}, HEADSET | {"sku": "HS-120"}]},
    )
    too_long = await api.post("/products", {"products": [HEADSET | {"sku": "HS-120", "supplier": "x" * 201}]})
    nul = await api.post("/products", {"products": [HEADSET | {"sku": "HS-120", "supplier": "Studio\x00Sound"}]})

    assert [answer.body["outcome"] for answer in (created, repeated, kept)] == ["created", "unchanged", "unchanged"]
    assert (batch.body["created"], batch.body["updated"]) == (["HS-120"], ["HS-200"])
    suppliers = {supplier["name"]: supplier["skus"] for supplier in (await api.get("/suppliers")).body["suppliers"]}
    assert suppliers == {"Nordic Audio AB": [], "Studio Sound GmbH": ["HS-200"]}
    assert (too_long.status, nul.status) == (422, 422)
    assert "products[0].supplier" in too_long.problems
    assert nul.problems == {"products[0].supplier": "contains a NUL character (\\x00), which text cannot hold"}


async def test_a_purchase_order_names_its_supplier_by_name_or_id_not_both(api: MerchantClient, session_factory) -> None:
    await api.put("/products/HS-200", HEADSET | {"supplier": "Nordic Audio AB"})
    order = {"sku": "HS-200", "quantity": 5, "expected_on": "2026-12-04"}

    by_default = await api.post("/purchase-orders", order | {"reference": "PO-1"})
    by_name = await api.post("/purchase-orders", order | {"reference": "PO-2", "supplier": " Casa Cucina "})
    both = await api.post("/purchase-orders", order | {"reference": "PO-3", "supplier": "Casa Cucina", "supplier_id": 1})

    assert (by_default.status, by_name.status, both.status) == (201, 201, 422)
    assert both.problems == {"": "give supplier_id or supplier, not both"}
    async with session_factory() as session:
        rows = await session.execute(
            select(PurchaseOrder.reference, Supplier.name).join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        )
        assert dict(rows.all()) == {"PO-1": "Nordic Audio AB", "PO-2": "Casa Cucina"}  # added by name, unpadded
