"""Reorder suggestions on a known history: demand over the windows, waiting and incoming units, the supplier's
real lead time → how much to order and by when, explained in words.

Today is Friday 27 November 2026.
"""

from datetime import date, datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.i18n import translator
from bot.render.reorder import explanation, reorder_list
from bot.services.audit import Actor
from bot.services.purchasing.purchase_orders import add_purchase_order, receive_purchase_order
from bot.services.purchasing.reorder_suggestions import reorder_suggestions
from bot.services.purchasing.suppliers import SupplierFields, add_supplier, assign_products
from bot.services.unit_of_work import UnitOfWork
from tests.shop import add_customer, add_order, add_product

MERCHANT = Actor.merchant("anna")
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 27)


async def test_suggestions_follow_demand_waiting_incoming_and_the_suppliers_real_lead_time(
    session: AsyncSession, uow: UnitOfWork
) -> None:
    headset = await add_product(session, "HS-200", name="Studio Headset", lead_time_days=30)
    await add_product(session, "HS-OLD")
    mixer = await add_product(session, "MX-500", name="Stand Mixer", lead_time_days=10, available=30)
    covered = await add_product(session, "CB-1", name="Cable", lead_time_days=10, available=100)
    customer = await add_customer(session)
    # HS-200: 31 ordered and allocated ten days ago, 11 waiting since yesterday: 42 in 30 days; 5 more 40 days ago.
    await add_order(session, customer, [(headset, 31)], placed_at=NOW - timedelta(days=10), allocated=[31])
    for _ in range(11):
        await add_order(session, customer, [(headset, 1)], placed_at=NOW - timedelta(days=1))
    await add_order(session, customer, [(headset, 5)], placed_at=NOW - timedelta(days=40), allocated=[5])
    # MX-500: 30 ordered in 30 days, all served from stock that still holds 30.
    await add_order(session, customer, [(mixer, 30)], placed_at=NOW - timedelta(days=5), allocated=[30])
    await add_order(session, customer, [(covered, 3)], placed_at=NOW - timedelta(days=5), allocated=[3])
    await session.commit()
    supplier = (await add_supplier(uow, SupplierFields("Nordic Audio", lead_time_days=14), MERCHANT)).supplier
    await assign_products(uow, supplier.id, ["HS-200", "HS-OLD"], MERCHANT)
    for index, late in enumerate([3, 4, 5]):  # 4 days late on average
        await add_purchase_order(uow, f"OLD-{index}", "HS-OLD", 1, TODAY - timedelta(days=late), MERCHANT)
        await receive_purchase_order(uow, f"OLD-{index}", MERCHANT)
    await add_purchase_order(uow, "PO-7001", "HS-200", 6, date(2026, 12, 10), MERCHANT)

    suggestions = await reorder_suggestions(uow)

    assert [s.sku for s in suggestions] == ["HS-200", "MX-500"]  # the cable's stock covers it; most urgent first
    headsets, mixers = suggestions
    assert (headsets.ordered_7_days, headsets.ordered_30_days, headsets.ordered_90_days) == (11, 42, 47)
    assert (headsets.waiting, headsets.incoming, headsets.on_hand) == (11, 6, 0)
    assert (headsets.usual_lead_time_days, headsets.supplier_days_late, headsets.lead_time_days) == (14, 4, 18)
    # 11 waiting + ceil(42 / 30 × (18 + 28)) = 11 + 65 = 76, less the 6 coming; customers already wait: today.
    assert (headsets.suggested_quantity, headsets.order_by) == (70, TODAY)
    # 30 a month from stock of 30, product lead time 10: ceil(1 × 38) − 30 = 8, by the day stock runs out − 10.
    assert (mixers.suggested_quantity, mixers.order_by, mixers.supplier_name) == (8, TODAY + timedelta(days=20), None)

    english, german = translator("en", TODAY), translator("de", TODAY)
    assert explanation(headsets, english) == (
        "42 ordered in the last 30 days, 11 waiting, 6 incoming; Nordic Audio has been 4 days late on average;"
        " order 70 by 27\xa0Nov to cover the next 4 weeks."
    )
    assert explanation(mixers, german) == (
        "30 in den letzten 30 Tagen bestellt, 0 wartend, 0 unterwegs; bis 17.\xa0Dez. 8 bestellen, um die nächsten"
        " 4 Wochen abzudecken."
    )
    screen = reorder_list(suggestions, english)
    assert screen.text.startswith("<b>2 SKUs to reorder</b>") and "Nordic Audio has been 4 days late" in screen.text


async def test_nothing_to_reorder_says_so(session: AsyncSession, uow: UnitOfWork, clock: ManualClock) -> None:
    await add_product(session, "CB-1", available=10)
    await session.commit()

    assert await reorder_suggestions(uow) == []
    assert reorder_list([], translator("en", clock.today())).text == (
        "Nothing needs reordering: stock and open purchase orders cover the demand."
    )
