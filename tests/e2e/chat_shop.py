"""The small shop the chat tests talk about: Anna waits for a headset on order 1042, others queue with her."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.backorders.eta import recompute_all_etas
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, Order, Product, PurchaseOrder
from tests.e2e.chat_driver import CustomerChat, link_chat
from tests.shop import T0, add_customer, add_order, add_product, add_purchase_order, minutes_after

ANNA_EMAIL = "anna@example.com"
ANNA_ORDER = "1042"
HEADSET = "Studio Pro Wireless Headset"
SHIPMENT_DUE = date(2026, 12, 3)  # six days after the test clock's today
PURCHASE_ORDER = "PO-2026-118"


@dataclass(frozen=True)
class AnnasShop:
    anna: Customer
    order: Order
    headset: Product
    purchase_order: PurchaseOrder
    others: list[Order]  # the other customers' orders in the headset's queue, first placed first

    @property
    def line_id(self) -> int:
        return self.order.lines[0].id


async def annas_backorder(
    session: AsyncSession, uow: UnitOfWork, *, ahead: int = 0, behind: int = 0, phone: str | None = None
) -> AnnasShop:
    """Anna's order 1042: one headset, waiting for a supplier shipment due 3 Dec that covers the whole queue.

    `ahead` and `behind` other customers ordered one headset each before and after her.
    """
    headset = await add_product(session, "HS-200", price=14900, tags=["headset", "wireless"], name=HEADSET)
    queue_size = ahead + 1 + behind
    purchase_order = await add_purchase_order(session, headset, queue_size, SHIPMENT_DUE, reference=PURCHASE_ORDER)
    others = []
    for index in range(ahead):
        other = await add_customer(session, f"Early Bird{index}")
        others.append(await add_order(session, other, [(headset, 1)], placed_at=minutes_after(T0, -60 + index)))
    anna = await add_customer(session, "Anna Klein", email=ANNA_EMAIL, phone=phone)
    order = await add_order(session, anna, [(headset, 1)], placed_at=T0, number=ANNA_ORDER)
    for index in range(behind):
        other = await add_customer(session, f"Late Comer{index}")
        others.append(await add_order(session, other, [(headset, 1)], placed_at=minutes_after(T0, 60 + index)))
    await session.commit()
    await recompute_all_etas(uow)
    return AnnasShop(anna, order, headset, purchase_order, others)


async def annas_linked_backorder(session: AsyncSession, uow: UnitOfWork, chat: CustomerChat, **options: int) -> AnnasShop:
    """Anna's order 1042 (options as for annas_backorder), with `chat` already linked to her."""
    shop = await annas_backorder(session, uow, **options)  # type: ignore[arg-type]
    await link_chat(session, shop.anna, chat)
    return shop
