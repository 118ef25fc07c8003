"""The store connector loop exactly as `serve` runs it (run_store_connectors beside the web app): a WooCommerce
webhook posted to the web route is applied, a cancel in the bot is refunded and noted in the store, and an order
whose webhook was lost comes in by the first reconcile — with no test calling a pass by hand."""

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.composition import ChatDeps
from bot.connectors.worker import run_store_connectors
from bot.services.audit import Actor
from bot.services.backorders.cancel import cancel_line
from db.models import LineStatus, Order, OrderLine, Product
from tests.e2e.chat_driver import read_all
from tests.e2e.test_woocommerce_webhooks import hooked  # noqa: F401 - the fixture
from tests.fakes.woocommerce_store import FakeWooCommerce

WAIT_SECONDS = 60.0  # the loop idles a second between passes; the machine may be busy


async def _eventually(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"the connector loop never got to: {what}"
        await asyncio.sleep(0.2)


async def _status(session_factory: async_sessionmaker[AsyncSession], number: str, sku: str) -> LineStatus | None:
    rows = await read_all(
        session_factory,
        select(OrderLine.status).join(Order, Order.id == OrderLine.order_id).join(Product, Product.id == OrderLine.product_id)
        .where(Order.number == number, Product.sku == sku),
    )
    return rows[0][0] if rows else None


async def test_the_serve_loop_applies_webhooks_writes_back_and_reconciles(
    hooked: str, woo_stocked: FakeWooCommerce, web_deps: ChatDeps,  # noqa: F811 - the fixture
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    lost = woo_stocked.place_order([("HS-120", 1)], email="eva@example.com", first_name="Eva", number="1005")
    loop = asyncio.create_task(run_store_connectors(web_deps.uow), name="store-connectors")
    try:
        await _eventually("the order whose webhook was lost", lambda: _has(session_factory, "1005", "HS-120"))
        dora = woo_stocked.place_order([("HS-200", 1)], email="dora@example.com", first_name="Dora", number="1004")
        [delivery] = await woo_stocked.fire("order.created", dora["id"])
        assert delivery.status == 200
        await _eventually("the order.created webhook", lambda: _has(session_factory, "1004", "HS-200"))

        customer_id, line_id = (
            await read_all(
                session_factory,
                select(Order.customer_id, OrderLine.id).join(OrderLine, OrderLine.order_id == Order.id)
                .join(Product, Product.id == OrderLine.product_id).where(Order.number == "1002", Product.sku == "HS-200"),
            )
        )[0]
        await cancel_line(web_deps.uow(), customer_id, line_id, Actor.customer(customer_id))
        ben = woo_stocked.order_by_number("1002")

        async def refunded() -> bool:
            return bool(woo_stocked.refunds.get(ben["id"])) and bool(woo_stocked.notes.get(ben["id"]))

        await _eventually("the write-back of Ben's cancel", refunded)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert [refund["amount"] for refund in woo_stocked.refunds[ben["id"]]] == ["298.00"]
    assert lost["id"] in woo_stocked.orders and await _status(session_factory, "1005", "HS-120") is LineStatus.ALLOCATED


async def _has(session_factory: async_sessionmaker[AsyncSession], number: str, sku: str) -> bool:
    return await _status(session_factory, number, sku) is not None
