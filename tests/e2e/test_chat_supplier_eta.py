"""A customer's card when the supplier of their shipment is habitually late: the promised date stays in view,
the ETA allows for the supplier's usual slip and says so in plain words, in English and German; with the
adjustment turned off (SUPPLIER_ETA_ADJUSTMENT=false) the card is back on the supplier's date."""

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.i18n import Translator
from bot.services.audit import Actor
from bot.services.purchasing.purchase_orders import add_purchase_order, receive_purchase_order
from bot.services.purchasing.suppliers import SupplierFields, add_supplier, assign_products, refresh_supplier_slips
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.models import PurchaseOrder
from tests.e2e.chat_driver import CustomerChat, link_chat
from tests.e2e.chat_shop import HEADSET, annas_backorder
from tests.shop import add_product

MERCHANT = Actor.merchant("shop")


async def late_suppliers_shipment(session: AsyncSession, uow: UnitOfWork, clock: ManualClock, chat: CustomerChat) -> None:
    """Anna, 3rd of 12, waits for PO-2026-118 (due 3 Dec) of a supplier whose last shipments were 2–3 days late."""
    shop = await annas_backorder(session, uow, ahead=2, behind=9)
    await add_product(session, "HS-OLD")
    await session.commit()
    supplier = (await add_supplier(uow, SupplierFields("Slow Sounds Ltd"), MERCHANT)).supplier
    await assign_products(uow, supplier.id, ["HS-OLD"], MERCHANT)
    await session.execute(
        update(PurchaseOrder).where(PurchaseOrder.id == shop.purchase_order.id).values(supplier_id=supplier.id)
    )
    await session.commit()
    # Its last five shipments came 2 to 3 days after the date it promised.
    for index, late in enumerate([3, 2, 3, 3, 3]):
        await add_purchase_order(uow, f"OLD-{index}", "HS-OLD", 1, clock.today() - timedelta(days=late), MERCHANT)
        await receive_purchase_order(uow, f"OLD-{index}", MERCHANT)
    await link_chat(session, shop.anna, chat)


async def test_the_card_says_the_supplier_is_usually_late_and_when_we_expect_to_ship(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, clock: ManualClock, t: Translator, language: str
) -> None:
    await late_suppliers_shipment(session, uow, clock, chat)

    [order_list] = await chat.command("orders")
    card = (await chat.press(order_list, f"{HEADSET} × 1")).message

    lines = card.text.split("\n")
    expected = {
        "en": (
            "Supplier shipment due 3\xa0Dec; this supplier has recently been about 3 days late, so we expect to ship"
            " by 7\xa0Dec — you are number 3 of 12 in the queue.",
            "Last change: 4\xa0Dec → 7\xa0Dec, because the supplier's recent deliveries changed our estimate.",
        ),
        "de": (
            "Wareneingang zugesagt für 3.\xa0Dez.; dieser Lieferant war zuletzt etwa 3 Tage zu spät, deshalb rechnen"
            " wir mit dem Versand bis 7.\xa0Dez. – du bist auf Platz 3 von 12.",
            "Letzte Änderung: 4.\xa0Dez. → 7.\xa0Dez., weil die letzten Lieferungen des Lieferanten unsere Schätzung"
            " geändert haben.",
        ),
    }
    assert (lines[3], lines[4]) == expected[language]
    assert t.gettext("• {item} — order {order} — ships {date}").format(
        item=f"{HEADSET} × 1", order="1042", date=t.date(date(2026, 12, 7))
    ) in order_list.text


async def test_with_the_adjustment_turned_off_the_card_is_back_on_the_suppliers_date(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, clock: ManualClock, policy: ShopPolicy, language: str,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await late_suppliers_shipment(session, uow, clock, chat)
    turned_off = replace(policy, supplier_record=replace(policy.supplier_record, adjust_etas=False))

    await refresh_supplier_slips(UnitOfWork(session_factory, clock, turned_off))  # the next daily run

    [order_list] = await chat.command("orders")
    card = (await chat.press(order_list, f"{HEADSET} × 1")).message
    expected = {
        "en": "Supplier delivery due 3\xa0Dec — you are number 3 of 12 in the queue. Expected to ship on 4\xa0Dec"
        " (supplier date confirmed).",
        "de": "Wareneingang erwartet am 3.\xa0Dez. – du bist auf Platz 3 von 12. Voraussichtlich am 4.\xa0Dez."
        " versandbereit (Termin vom Lieferanten bestätigt).",
    }
    assert card.text.split("\n")[3] == expected[language]
