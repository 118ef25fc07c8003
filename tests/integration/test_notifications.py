"""Customers are told first when something happens to their waiting items, in the transaction of the change.

Today is 27 November 2026 and handling takes a day: a shipment due on 4 December confirms 5 December;
a line nothing is on order for is estimated at today + 21 days, 18 December.
"""

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import translator
from bot.render.proactive import render_outgoing
from bot.services.audit import Actor
from bot.services.backorders.alternatives import pick_alternative
from bot.services.backorders.cancel import cancel_line, cancel_order
from bot.services.backorders.eta import recompute_all_etas
from bot.services.backorders.notifications import (
    notification_setting,
    notify_eta_moves,
    set_notifications,
)
from bot.services.outbox import OutgoingMessage, enqueue
from bot.services.purchasing.purchase_orders import add_purchase_order, move_purchase_order, receive_purchase_order
from bot.services.purchasing.stock import set_available_stock
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, OutboxMessage, OutboxStatus
from tests import readback
from tests.shop import T0, add_chat_customer, add_customer, add_order, add_product, minutes_after

Sessions = async_sessionmaker[AsyncSession]
MERCHANT = Actor.merchant("anna")
AGENT = Actor.agent(777)
DEC_4, DEC_5, DEC_8, DEC_9, DEC_18 = (date(2026, 12, day) for day in (4, 5, 8, 9, 18))


async def outbox(sessions: Sessions, template: str | None = None) -> list[OutboxMessage]:
    async with sessions() as session:
        statement = select(OutboxMessage).order_by(OutboxMessage.id)
        if template is not None:
            statement = statement.where(OutboxMessage.template == template)
        return list((await session.execute(statement)).scalars())


async def headset_queue(session: AsyncSession, customers: list[Customer], quantity: int = 1) -> list[int]:
    """One headset (HS-200, €149) ordered by each customer in turn; returns their line ids."""
    headset = await add_product(session, "HS-200", price=14900, name="Studio Pro Wireless Headset", tags=["headset"])
    line_ids = []
    for index, customer in enumerate(customers):
        order = await add_order(
            session, customer, [(headset, quantity)], placed_at=minutes_after(T0, index), number=f"10{42 + index}"
        )
        line_ids.append(order.lines[0].id)
    await session.commit()
    return line_ids


async def test_a_line_s_first_eta_is_no_news_but_a_purchase_order_moved_by_days_is(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    anna = await add_chat_customer(session, "Anna Klein", 5001, language="de")
    [line_id] = await headset_queue(session, [anna])

    await recompute_all_etas(uow)  # the line's first ETA: 18 Dec, estimated
    await add_purchase_order(uow, "PO-1", "HS-200", 1, DEC_4, MERCHANT)  # 18 Dec → 5 Dec
    [earlier] = await outbox(session_factory)
    await move_purchase_order(uow, "PO-1", DEC_8, MERCHANT)  # 5 Dec → 9 Dec

    assert earlier.params["old_eta"] == "2026-12-18" and earlier.params["new_eta"] == "2026-12-05"
    later = (await outbox(session_factory))[-1]
    assert (later.template, later.chat_id, later.customer_id, later.language, later.optional) == (
        "eta_moved",
        5001,
        anna.id,
        "de",
        True,
    )
    assert later.params["line_id"] == line_id
    assert (later.params["old_eta"], later.params["new_eta"], later.params["reason"]) == (
        "2026-12-05",
        "2026-12-09",
        "purchase_order_moved",
    )
    text = render_outgoing(later.template, later.params, translator(later.language)).text
    assert text.startswith("Bestellung 1042: Studio Pro Wireless Headset wird jetzt voraussichtlich am 9.\xa0Dez. statt am 5.\xa0Dez.")
    assert "weil der Lieferant den Wareneingang verschoben hat" in text


async def test_no_message_when_only_the_basis_changes_on_the_same_day(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    anna = await add_chat_customer(session, "Anna Klein", 5001)
    await headset_queue(session, [anna])
    await recompute_all_etas(uow)  # 18 Dec, estimated from the lead time

    # Due on 17 Dec, shipping 18 Dec: now confirmed, but the same day.
    result = await add_purchase_order(uow, "PO-1", "HS-200", 1, date(2026, 12, 17), MERCHANT)

    assert [(move.old_eta, move.new_eta) for move in result.eta_moves] == [(DEC_18, DEC_18)]
    assert await outbox(session_factory) == []


async def test_stock_arriving_tells_the_lines_it_makes_ready_once_even_when_the_receipt_is_retried(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    anna = await add_chat_customer(session, "Anna Klein", 5001)
    ben = await add_chat_customer(session, "Ben Carter", 5002)
    anna_line, ben_line = await headset_queue(session, [anna, ben])
    await recompute_all_etas(uow)
    await add_purchase_order(uow, "PO-1", "HS-200", 1, DEC_4, MERCHANT)
    before = len(await outbox(session_factory))

    await receive_purchase_order(uow, "PO-1", MERCHANT, idempotency_key="delivery-1")
    await receive_purchase_order(uow, "PO-1", MERCHANT, idempotency_key="delivery-1")

    ready = await outbox(session_factory, "ready_to_ship")
    assert [(message.customer_id, message.params["line_id"], message.optional) for message in ready] == [
        (anna.id, anna_line, True)
    ]
    assert len(await outbox(session_factory)) == before + 1  # Ben's estimate did not move: no news for him
    assert "ready to ship" in render_outgoing("ready_to_ship", ready[0].params, translator("en")).text
    assert ben_line not in [message.params.get("line_id") for message in ready]


async def test_a_stock_count_that_serves_the_queue_tells_the_customer(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    anna = await add_chat_customer(session, "Anna Klein", 5001)
    [line_id] = await headset_queue(session, [anna])
    await recompute_all_etas(uow)

    await set_available_stock(uow, "HS-200", 3, MERCHANT)

    assert [(m.template, m.params["line_id"]) for m in await outbox(session_factory)] == [("ready_to_ship", line_id)]


async def test_the_same_moves_notified_twice_are_queued_once(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    anna = await add_chat_customer(session, "Anna Klein", 5001)
    await headset_queue(session, [anna])
    await recompute_all_etas(uow)
    result = await add_purchase_order(uow, "PO-1", "HS-200", 1, DEC_4, MERCHANT)

    async with uow:
        assert await notify_eta_moves(uow, result.eta_moves) == 0
        await uow.commit()

    assert len(await outbox(session_factory, "eta_moved")) == 1


async def test_cancels_and_swaps_by_the_shop_are_told_but_the_customer_s_own_are_not(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    anna = await add_chat_customer(session, "Anna Klein", 5001)
    ben = await add_chat_customer(session, "Ben Carter", 5002)
    clara = await add_chat_customer(session, "Clara Schmidt", 5003)
    wired = await add_product(session, "HS-120", price=8900, name="Studio Wired Headset", tags=["headset"], available=5)
    anna_line, ben_line, clara_line = await headset_queue(session, [anna, ben, clara])
    await recompute_all_etas(uow)

    await cancel_line(uow, anna.id, anna_line, Actor.customer(anna.id))
    await cancel_line(uow, ben.id, ben_line, AGENT)
    await pick_alternative(uow, clara.id, clara_line, wired.id, MERCHANT)

    told = {(m.template, m.customer_id): m for m in await outbox(session_factory) if m.template != "eta_moved"}
    assert set(told) == {("line_cancelled", ben.id), ("line_substituted", clara.id)}
    cancelled = told["line_cancelled", ben.id]
    assert (cancelled.optional, cancelled.params["refund_minor"], cancelled.params["quantity"]) == (False, 14900, 1)
    assert "€149.00" in render_outgoing(cancelled.template, cancelled.params, translator("en")).text
    swapped = told["line_substituted", clara.id]
    assert swapped.params["new_product_name"] == "Studio Wired Headset" and swapped.params["refund_minor"] == 6000
    assert "Studio Wired Headset" in render_outgoing(swapped.template, swapped.params, translator("en")).text


async def test_an_order_cancelled_by_an_agent_tells_each_waiting_line_once(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    anna = await add_chat_customer(session, "Anna Klein", 5001)
    headset = await add_product(session, "HS-200", price=14900)
    mixer = await add_product(session, "MX-500", price=34900)
    order = await add_order(session, anna, [(headset, 1), (mixer, 2)], number="1042")
    await session.commit()

    await cancel_order(uow, anna.id, "1042", AGENT)
    await cancel_order(uow, anna.id, "1042", AGENT)

    cancelled = await outbox(session_factory, "line_cancelled")
    assert sorted(m.params["line_id"] for m in cancelled) == sorted(line.id for line in order.lines)


async def test_opted_out_customers_miss_optional_news_but_not_what_the_shop_did_and_blocked_ones_get_nothing(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    quiet = await add_chat_customer(session, "Quinn Quiet", 5001, notifications_opt_out=True)
    gone = await add_chat_customer(session, "Blake Blocked", 5002, bot_blocked=True)
    unlinked = await add_customer(session, "Una Linked")
    lines = await headset_queue(session, [quiet, gone, unlinked])
    await recompute_all_etas(uow)

    await add_purchase_order(uow, "PO-1", "HS-200", 3, DEC_4, MERCHANT)  # every ETA moves, 18 Dec → 5 Dec
    for customer, line_id in zip((quiet, gone, unlinked), lines):
        await cancel_line(uow, customer.id, line_id, AGENT)

    assert [(m.template, m.customer_id) for m in await outbox(session_factory)] == [("line_cancelled", quiet.id)]


async def test_a_customer_turns_optional_updates_off_and_on(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    anna = await add_chat_customer(session, "Anna Klein", 5001)
    await session.commit()

    assert (await notification_setting(uow, anna.id)).enabled
    off = await set_notifications(uow, anna.id, False)
    again = await set_notifications(uow, anna.id, False)

    assert (off.enabled, off.changed, again.changed) == (False, True, False)
    assert not (await notification_setting(uow, anna.id)).enabled
    assert [entry.action for entry in await readback.audit_entries(session_factory, "notifications.turned_off")] == [
        "notifications.turned_off"
    ]
    assert (await set_notifications(uow, anna.id, True)).enabled
    async with session_factory() as check:
        assert (await check.get_one(Customer, anna.id)).notifications_opt_out is False


async def test_turning_notifications_off_withdraws_optional_messages_already_queued_but_not_legal_ones(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    anna = await add_chat_customer(session, "Anna Klein", 5001)
    ben = await add_chat_customer(session, "Ben Weber", 5002)
    await session.commit()
    waiting_for_morning = [  # queued during quiet hours, before Anna turned updates off
        OutgoingMessage(chat_id=5001, template="broadcast", language="en", params={"text": "Sale"}, customer_id=anna.id),
        OutgoingMessage(chat_id=5001, template="broadcast", language="en", params={"text": "Delay notice"}, customer_id=anna.id, optional=False),
        OutgoingMessage(chat_id=5002, template="broadcast", language="en", params={"text": "Sale"}, customer_id=ben.id),
    ]
    async with session_factory() as queueing:
        await enqueue(queueing, uow.clock, waiting_for_morning)
        await queueing.commit()

    await set_notifications(uow, anna.id, False)

    statuses = {(m.customer_id, m.params["text"]): m.status for m in await outbox(session_factory)}
    assert statuses == {
        (anna.id, "Sale"): OutboxStatus.CANCELLED,
        (anna.id, "Delay notice"): OutboxStatus.PENDING,  # what the law requires still goes out
        (ben.id, "Sale"): OutboxStatus.PENDING,
    }
    [turned_off] = await readback.audit_entries(session_factory, "notifications.turned_off")
    assert turned_off.details["queued_messages_withdrawn"] == 1
