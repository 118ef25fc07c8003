"""In a Shopify shop whose prices exclude tax, the refund the chat promises for a cancel is the price and its tax,
and that is what the store refunds."""

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
from db.models import Customer
from tests.e2e.chat_driver import CustomerChat, link_chat
from tests.fakes.shopify_fixtures import Naps
from tests.fakes.shopify_store import FakeShopify


async def test_the_refund_the_chat_promises_includes_the_tax_and_is_what_the_store_refunds(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, clock: ManualClock, shopify: FakeShopify,
    shopify_connection: ConnectionConfig, shopify_adapter: ShopifyAdapter, naps: Naps,
) -> None:
    t = translator("de")
    shopify.tax_rate, shopify.taxes_included = Decimal("0.19"), False  # 19 % on top of the shown prices
    order = shopify.add_order(1004, "anna@example.com", [("MX-500", 1)], placed_at=clock.now() - timedelta(days=2))
    await run_backfill(uow, shopify_adapter, shopify_connection)
    anna = (await session.execute(select(Customer).where(Customer.email == "anna@example.com"))).scalar_one()
    await link_chat(session, anna, chat)

    [order_list] = await chat.command("orders")
    card = await chat.press(order_list, "ProMix Stand Mixer × 1")
    asked = await chat.press(card.message, t.gettext("Cancel"))
    done = await chat.press(asked.message, t.gettext("Yes, cancel"))
    worker = ConnectorWorker(lambda: uow, lambda config: ShopifyAdapter(config, sleep=naps), reconcile_every=None)
    await worker.run_once()
    await worker.aclose()

    assert "415,31" in asked.message.text  # 349.00 and 66.31 tax, as the customer paid it
    assert "415,31" in " ".join(message.text for message in [done.message, *done.new])
    assert [Decimal(refund["amount"]) for refund in order.refunds] == [Decimal("415.31")]
    assert shopify.balance(order) == 0
