"""The merchant's weekly digest: SKUs customers wait for with nothing on order, suppliers slipping, the oldest
backorders; queued once per merchant and week through the outbox, and worded in English and German.

Today is Friday 27 November 2026 (ISO week 48).
"""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.i18n import translator
from bot.render.proactive import render_outgoing
from bot.services.audit import Actor
from bot.services.purchasing.merchant_digest import queue_weekly_digest, weekly_digest
from bot.services.purchasing.purchase_orders import add_purchase_order, receive_purchase_order
from bot.services.purchasing.suppliers import SupplierFields, add_supplier, assign_products
from bot.services.unit_of_work import UnitOfWork
from db.models import OutboxMessage
from tests.shop import T0, add_customer, add_order, add_product, minutes_after

MERCHANT = Actor.merchant("anna")


async def digest_shop(session: AsyncSession, uow: UnitOfWork, clock: ManualClock) -> None:
    """MX-500: 3 waiting, nothing on order; HS-200: 1 waiting on a purchase order of a supplier 2–4 days late."""
    mixer = await add_product(session, "MX-500", name="Stand Mixer")
    headset = await add_product(session, "HS-200", name="Headset")
    customer = await add_customer(session)
    await add_order(session, customer, [(mixer, 2)], placed_at=T0, number="1042")
    await add_order(session, customer, [(headset, 1)], placed_at=minutes_after(T0, 60 * 24), number="1043")
    await add_order(session, customer, [(mixer, 1)], placed_at=minutes_after(T0, 60 * 48), number="1044")
    await session.commit()
    supplier = (await add_supplier(uow, SupplierFields("Slow Sounds"), MERCHANT)).supplier
    await add_supplier(uow, SupplierFields("On Time Co"), MERCHANT)
    await add_product(session, "HS-OLD")
    await session.commit()
    await assign_products(uow, supplier.id, ["HS-200", "HS-OLD"], MERCHANT)
    for index, late in enumerate([2, 3, 4]):
        await add_purchase_order(uow, f"OLD-{index}", "HS-OLD", 1, clock.today() - timedelta(days=late), MERCHANT)
        await receive_purchase_order(uow, f"OLD-{index}", MERCHANT)
    await add_purchase_order(uow, "PO-1", "HS-200", 1, clock.today() + timedelta(days=7), MERCHANT)


async def test_the_digest_names_unordered_skus_slipping_suppliers_and_the_oldest_backorders(
    session: AsyncSession, uow: UnitOfWork, clock: ManualClock
) -> None:
    await digest_shop(session, uow, clock)

    digest = await weekly_digest(uow)

    assert [(item.sku, item.waiting) for item in digest.unordered] == [("MX-500", 3)]
    assert [(supplier.name, supplier.median_days_late) for supplier in digest.slipping] == [("Slow Sounds", 3.0)]
    assert [(line.order_number, line.sku, line.days_waiting) for line in digest.oldest] == [
        ("1042", "MX-500", 26), ("1043", "HS-200", 25), ("1044", "MX-500", 24),
    ]
    english = render_outgoing("merchant_digest", digest.params(), translator("en", clock.today())).text
    german = render_outgoing("merchant_digest", digest.params(), translator("de", clock.today())).text
    assert english.split("\n") == [
        "<b>Your week in backorders</b>", "", "Customers wait, nothing is on order:",
        "• MX-500 Stand Mixer — 3 pcs waiting", "", "Suppliers slipping:", "• Slow Sounds — 3 days late (median)",
        "", "Oldest backorders:", "• order 1042 · MX-500 — waiting 26 days", "• order 1043 · HS-200 — waiting 25 days",
        "• order 1044 · MX-500 — waiting 24 days", "", "/reorder says what to order and by when.",
    ]
    assert "• Slow Sounds – 3 Tage zu spät (Median)" in german and "• MX-500 Stand Mixer – 3 Stück warten" in german


async def test_each_merchant_gets_it_once_a_week(
    session: AsyncSession, uow: UnitOfWork, clock: ManualClock, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await digest_shop(session, uow, clock)

    first = await queue_weekly_digest(uow, [111, 222], "de")
    again = await queue_weekly_digest(uow, [111, 222], "de")
    clock.advance(days=3)  # Monday, week 49
    next_week = await queue_weekly_digest(uow, [111, 222], "de")

    assert (first, again, next_week) == (2, 0, 2)
    async with session_factory() as check:
        rows = (await check.execute(select(OutboxMessage.chat_id, OutboxMessage.dedupe_key, OutboxMessage.language))).all()
    assert sorted(rows) == [
        (111, "merchant-digest:2026-W48:111", "de"), (111, "merchant-digest:2026-W49:111", "de"),
        (222, "merchant-digest:2026-W48:222", "de"), (222, "merchant-digest:2026-W49:222", "de"),
    ]


async def test_with_nobody_waiting_the_digest_says_all_is_well(uow: UnitOfWork, clock: ManualClock) -> None:
    digest = await weekly_digest(uow)

    text = render_outgoing("merchant_digest", digest.params(), translator("en", clock.today())).text
    assert text == "<b>Your week in backorders</b>\nNothing needs your attention: nobody is waiting for stock."
