"""A customer's cancel and swap in the chat, ending as a refunded (and for the swap, edited) WooCommerce order with a
note — once, through a store outage, and only as a note when the merchant refunds by hand."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.connectors.backfill_run import run_backfill
from bot.connectors.woocommerce.adapter import WooCommerceAdapter
from bot.connectors.worker import ConnectorWorker
from bot.i18n import Translator
from bot.services.connectors import ConnectionConfig
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, Product, Refund, RefundStatus, StoreWriteBack, StoreWriteBackStatus
from tests.e2e.chat_driver import CustomerChat, link_chat, read_all
from tests.fakes.woocommerce_fixtures import woo_adapter_for, woo_connect
from tests.fakes.woocommerce_store import FakeWooCommerce
from tests.shop import add_substitute

HEADSET = "Studio Pro Wireless Headset"


async def _annas_chat(
    uow: UnitOfWork, session: AsyncSession, adapter: WooCommerceAdapter, connection: ConnectionConfig, chat: CustomerChat
) -> None:
    """The store loaded into the bot, and the chat linked to Anna (order 1001: a headset waiting, a wired one not)."""
    await run_backfill(uow, adapter, connection)
    anna = (await session.execute(select(Customer).where(Customer.email == "anna@example.com"))).scalar_one()
    await link_chat(session, anna, chat)


async def _cancel_the_headset(chat: CustomerChat, t: Translator) -> None:
    [order_list] = await chat.command("orders")
    card = await chat.press(order_list, f"{HEADSET} × 1")
    asked = await chat.press(card.message, t.gettext("Cancel"))
    await chat.press(asked.message, t.gettext("Yes, cancel"))


def _anna(store: FakeWooCommerce) -> dict:
    return store.order_by_number("1001")


async def _refunds(session_factory: async_sessionmaker[AsyncSession]) -> list[tuple[int, RefundStatus, str | None]]:
    rows = await read_all(session_factory, select(Refund.amount_minor, Refund.status, Refund.payment_reference))
    return [tuple(row) for row in rows]


async def test_a_cancel_in_the_chat_is_refunded_and_noted_in_the_store_once(
    chat: CustomerChat, t: Translator, session: AsyncSession, uow: UnitOfWork, woo_adapter: WooCommerceAdapter,
    woo_connection: ConnectionConfig, woo_stocked: FakeWooCommerce, woo_worker: ConnectorWorker,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await _annas_chat(uow, session, woo_adapter, woo_connection, chat)
    await _cancel_the_headset(chat, t)

    await woo_worker.run_once()
    await woo_worker.run_once()  # nothing left to do: nothing twice

    order = _anna(woo_stocked)
    [refund] = woo_stocked.refunds[order["id"]]
    headset_line = next(item for item in order["line_items"] if item["sku"] == "HS-200")
    assert (refund["amount"], refund["line_items"]) == ("149.00", [{"id": headset_line["id"], "quantity": -1, "total": "-149.00"}])
    assert woo_stocked.by_sku("HS-200")["stock_quantity"] == -2  # Anna's unit no longer waits in the store either
    [note] = woo_stocked.notes[order["id"]]
    assert "The customer cancelled 1 × HS-200 (Studio Pro Wireless Headset)" in note["note"]
    assert await _refunds(session_factory) == [(14900, RefundStatus.PAID, f"woocommerce:{refund['id']}")]


async def test_a_swap_in_the_chat_edits_the_store_order_and_refunds_the_difference(
    chat: CustomerChat, t: Translator, session: AsyncSession, uow: UnitOfWork, woo_adapter: WooCommerceAdapter,
    woo_connection: ConnectionConfig, woo_stocked: FakeWooCommerce, woo_worker: ConnectorWorker,
) -> None:
    await _annas_chat(uow, session, woo_adapter, woo_connection, chat)
    products = {p.sku: p for p in (await session.execute(select(Product))).scalars()}
    await add_substitute(session, products["HS-200"], products["HS-120"])
    await session.commit()

    [order_list] = await chat.command("orders")
    card = await chat.press(order_list, f"{HEADSET} × 1")
    offers = await chat.press(card.message, t.gettext("Alternatives"))
    asked = await chat.press(offers.message, "Studio Wired Headset")
    await chat.press(asked.message, t.gettext("Yes, swap it"))
    await woo_worker.run_once()

    order = _anna(woo_stocked)
    assert sorted((item["sku"], item["quantity"], item["total"]) for item in order["line_items"]) == [
        ("HS-120", 1, "149.00"), ("HS-120", 1, "89.00"),  # the wired one she had, and the swapped-in one
    ]
    assert [refund["amount"] for refund in woo_stocked.refunds[order["id"]]] == ["60.00"]
    assert "swapped 1 × HS-200 (Studio Pro Wireless Headset) for 1 × HS-120" in woo_stocked.notes[order["id"]][0]["note"]


async def test_a_store_down_during_write_back_loses_nothing_and_refunds_once(
    chat: CustomerChat, t: Translator, session: AsyncSession, uow: UnitOfWork, woo_adapter: WooCommerceAdapter,
    woo_connection: ConnectionConfig, woo_stocked: FakeWooCommerce, woo_worker: ConnectorWorker, clock: ManualClock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await _annas_chat(uow, session, woo_adapter, woo_connection, chat)
    await _cancel_the_headset(chat, t)
    woo_stocked.fail_next(503, times=1000, path_contains="/notes")  # the refund goes through, then the store falls over

    await woo_worker.run_once()
    jobs = await read_all(session_factory, select(StoreWriteBack.status, StoreWriteBack.last_error, StoreWriteBack.steps))
    assert [(status, error) for status, error, _ in jobs] == [(StoreWriteBackStatus.PENDING, "WooCommerce answered 503: Scripted failure")]
    assert list(jobs[0][2]) == ["refund_id"]
    woo_stocked.outage = True
    for _ in range(3):  # an hour of retries against a store that is down
        clock.advance(minutes=20)
        await woo_worker.run_once()
    woo_stocked.outage = False
    woo_stocked.faults.clear()
    clock.advance(hours=1)
    await woo_worker.run_once()

    order = _anna(woo_stocked)
    assert [refund["amount"] for refund in woo_stocked.refunds[order["id"]]] == ["149.00"]
    assert len(woo_stocked.notes[order["id"]]) == 1
    [(status, error, _)] = await read_all(session_factory, select(StoreWriteBack.status, StoreWriteBack.last_error, StoreWriteBack.steps))
    assert (status, error) == (StoreWriteBackStatus.DONE, None)


async def test_refunds_by_hand_leave_a_note_and_the_refund_owed(
    chat: CustomerChat, t: Translator, session: AsyncSession, uow: UnitOfWork, woo_stocked: FakeWooCommerce,
    woo_worker: ConnectorWorker, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    connection = await woo_connect(uow, woo_stocked, refunds_by_hand=True)
    adapter = woo_adapter_for(connection)
    await _annas_chat(uow, session, adapter, connection, chat)
    await adapter.aclose()
    await _cancel_the_headset(chat, t)
    await woo_worker.run_once()

    order = _anna(woo_stocked)
    assert woo_stocked.refunds[order["id"]] == []
    assert "Refund owed: 149.00 EUR" in woo_stocked.notes[order["id"]][0]["note"]
    assert await _refunds(session_factory) == [(14900, RefundStatus.OWED, None)]
    [status] = await read_all(session_factory, select(StoreWriteBack.status))
    assert status[0] is StoreWriteBackStatus.BY_HAND
