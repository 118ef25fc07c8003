"""A customer's cancel and swap in the chat, through the real bot, end in the Shopify store as an edited and
refunded order with a note, once the connector worker has run."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.connectors.backfill_run import run_backfill
from bot.connectors.shopify.adapter import ShopifyAdapter
from bot.connectors.worker import ConnectorWorker
from bot.i18n import translator
from bot.services.connectors import ConnectionConfig
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, Product, ProductSubstitute
from tests.e2e.chat_driver import CustomerChat, link_chat
from tests.fakes.shopify_fixtures import Naps
from tests.fakes.shopify_store import FakeShopify


async def test_a_cancel_and_a_swap_in_the_chat_edit_and_refund_the_store_order(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, clock: ManualClock, shopify: FakeShopify,
    shopify_connection: ConnectionConfig, shopify_adapter: ShopifyAdapter, naps: Naps,
) -> None:
    t = translator("de")  # Anna's Shopify order says de-DE: the bot speaks German to her, whatever her client says
    shopify.add_order(1004, "anna@example.com", [("MX-500", 1)], placed_at=clock.now() - timedelta(days=2))
    await run_backfill(uow, shopify_adapter, shopify_connection)
    products = dict((await session.execute(select(Product.sku, Product.id))).all())
    session.add(ProductSubstitute(product_id=products["HS-200"], substitute_id=products["HS-120"], rank=0))
    anna = (await session.execute(select(Customer).where(Customer.email == "anna@example.com"))).scalar_one()
    await link_chat(session, anna, chat)

    [order_list] = await chat.command("orders")
    card = await chat.press(order_list, "ProMix Stand Mixer × 1")
    asked = await chat.press(card.message, t.gettext("Cancel"))
    await chat.press(asked.message, t.gettext("Yes, cancel"))

    [order_list] = await chat.command("orders")
    card = await chat.press(order_list, "Studio Pro Wireless Headset × 1")
    offers = await chat.press(card.message, t.gettext("Alternatives"))
    asked = await chat.press(offers.message, "Studio Wired Headset")
    await chat.press(asked.message, t.gettext("Yes, swap it"))

    worker = ConnectorWorker(lambda: uow, lambda config: ShopifyAdapter(config, sleep=naps), reconcile_every=None)
    await worker.run_once()
    await worker.aclose()

    cancelled = shopify.order_by_name("#1004")
    assert [line.current_quantity for line in cancelled.line_items] == [0]
    assert [Decimal(refund["amount"]) for refund in cancelled.refunds] == [Decimal("349.00")]
    assert "The customer cancelled 1 × MX-500" in (cancelled.note or "")
    swapped = shopify.order_by_name("#1001")
    assert [(line.sku, line.current_quantity) for line in swapped.line_items] == [("HS-200", 0), ("HS-120", 1), ("HS-120", 1)]
    assert [Decimal(refund["amount"]) for refund in swapped.refunds] == [Decimal("60.00")]
    assert "swapped 1 × HS-200 (Studio Pro Wireless Headset) for 1 × HS-120" in (swapped.note or "")
