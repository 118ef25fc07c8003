"""Delay notices under the FTC preset: first notice (silence is consent), renewed notice (it is not), answers,
automatic cancellation with a full refund, and a job that can run any number of times a day.

Today is 27 November 2026, handling takes a day. Anna ordered a €149 headset on 1 November; without a
promised date the shop promised to ship within 30 days, by 1 December.
"""

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.i18n import translator
from bot.render.proactive import render_outgoing
from bot.services.audit import Actor
from bot.services.backorders.delay_notices import (
    DelayNoticePolicy,
    agree_to_wait,
    cancel_for_refund,
    list_delay_notices,
    process_delay_notices,
)
from bot.services.backorders.eta import recompute_all_etas
from bot.services.event_log import read_events
from bot.services.errors import DelayNoticeNotFound, DelayNoticeSuperseded, LineNotCancellable
from bot.services.purchasing.purchase_orders import add_purchase_order, move_purchase_order, receive_purchase_order
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, DelayResponse, LineStatus, OutboxMessage, RefundReason
from tests import readback
from tests.shop import T0, add_customer, add_order, add_product

Sessions = async_sessionmaker[AsyncSession]
MERCHANT = Actor.merchant("shop")
FTC = DelayNoticePolicy()
DEC_1, DEC_10, DEC_11, DEC_20, DEC_21 = (date(2026, 12, day) for day in (1, 10, 11, 20, 21))


@dataclass(frozen=True)
class Waiting:
    customer: Customer
    line_id: int


async def annas_headset(
    session: AsyncSession, uow: UnitOfWork, *, promised: date | None = None, telegram_user_id: int | None = 5001, **flags: bool
) -> Waiting:
    """Anna waits for one headset; a purchase order due 10 December makes its ETA 11 December."""
    anna = await add_customer(session, "Anna Klein")
    anna.telegram_user_id = telegram_user_id
    anna.language = "en"
    for flag, value in flags.items():
        setattr(anna, flag, value)
    headset = await add_product(session, "HS-200", price=14900, name="Studio Pro Wireless Headset")
    order = await add_order(session, anna, [(headset, 1)], number="1042")
    order.promised_ship_by = promised
    await session.commit()
    await add_purchase_order(uow, "PO-1", "HS-200", 1, DEC_10, MERCHANT)
    return Waiting(anna, order.lines[0].id)


async def notices_sent(sessions: Sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage).where(OutboxMessage.template.like("delay%")).order_by(OutboxMessage.id)
        )
        return list(rows.scalars())


async def test_a_first_delay_within_30_days_is_noticed_once_and_silence_counts_as_consent(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork, clock: ManualClock
) -> None:
    anna = await annas_headset(session, uow)

    first = await process_delay_notices(uow, FTC)
    again = await process_delay_notices(uow, FTC)
    clock.advance(days=20)  # 17 December: past the new date, still waiting and nobody answered
    later = await process_delay_notices(uow, FTC)

    assert (first.first_notices, again.notices_sent, later.notices_sent, later.auto_cancelled) == (1, 0, 0, 0)
    [notice] = await list_delay_notices(uow)
    assert (notice.line_id, notice.sequence, notice.promised_ship_by, notice.new_ship_by, notice.respond_by) == (
        anna.line_id,
        1,
        DEC_1,
        DEC_11,
        None,
    )
    assert notice.silence_is_consent and notice.response is None
    [message] = await notices_sent(session_factory)
    assert (message.template, message.chat_id, message.optional, message.params["notice_id"]) == (
        "delay_notice",
        5001,
        False,
        notice.notice_id,
    )
    screen = render_outgoing(message.template, message.params, translator(message.language))
    assert "Tuesday,\xa01\xa0December\xa02026" in screen.text and "Friday,\xa011\xa0December\xa02026" in screen.text and "€149.00" in screen.text
    assert [button.text for row in screen.keyboard.inline_keyboard for button in row] == [
        "Yes, I'll wait",
        "Cancel and get my money back",
    ]
    assert (await readback.line(session_factory, anna.line_id)).status == LineStatus.BACKORDERED


async def test_a_line_that_will_ship_in_time_gets_no_notice(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    await annas_headset(session, uow, promised=date(2026, 12, 15))

    result = await process_delay_notices(uow, FTC)

    assert result.notices_sent == 0 and await list_delay_notices(uow) == []


async def test_a_further_delay_needs_consent_and_silence_cancels_the_line_with_a_full_refund(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork, clock: ManualClock
) -> None:
    anna = await annas_headset(session, uow)
    await process_delay_notices(uow, FTC)
    await move_purchase_order(uow, "PO-1", DEC_20, MERCHANT)  # ships 21 Dec: misses the 11 Dec just promised

    renewed = await process_delay_notices(uow, FTC)
    clock.advance(days=14)  # 11 December, the last day to agree: not cancelled yet
    on_the_day = await process_delay_notices(uow, FTC)
    clock.advance(days=1)  # 12 December
    after = await process_delay_notices(uow, FTC)
    once_more = await process_delay_notices(uow, FTC)

    assert (renewed.further_notices, on_the_day.auto_cancelled, after.auto_cancelled, once_more.auto_cancelled) == (
        1,
        0,
        1,
        0,
    )
    first, second = await list_delay_notices(uow)
    assert (second.sequence, second.promised_ship_by, second.new_ship_by, second.respond_by) == (2, DEC_11, DEC_21, DEC_11)
    assert second.auto_cancelled and second.response == DelayResponse.AUTO_CANCELLED and first.response is None
    line = await readback.line(session_factory, anna.line_id)
    assert (line.status, line.cancelled_quantity) == (LineStatus.CANCELLED, 1)
    [refund] = await readback.refunds(session_factory, anna.line_id)
    assert (refund.amount_minor, refund.reason) == (14900, RefundReason.CANCELLED)
    [cancelled] = await readback.audit_entries(session_factory, "delay_notice.auto_cancelled")
    assert (cancelled.actor_type.value, cancelled.details["respond_by"]) == ("system", "2026-12-11")
    messages = await notices_sent(session_factory)
    assert [m.template for m in messages] == ["delay_notice", "delay_notice", "delay_auto_cancelled"]
    renewed_text = render_outgoing("delay_notice", messages[1].params, translator("en")).text
    assert "Unless you tell us by Friday,\xa011\xa0December\xa02026 that you will wait" in renewed_text
    told = render_outgoing("delay_auto_cancelled", messages[2].params, translator("en")).text
    assert "cancelled 1 × Studio Pro Wireless Headset" in told and "€149.00" in told
    # The shop's systems read it once, as the bot's own doing, with the refund owed.
    events = (await read_events(uow, None, ["line.cancelled", "refund.owed", "delay_notice.*"])).events
    assert [(event.type, event.data.get("by")) for event in events][-3:] == [
        ("delay_notice.sent", None), ("line.cancelled", "automatic"), ("refund.owed", "automatic"),
    ]  # fmt: skip
    assert [event.type for event in events].count("line.cancelled") == 1


async def test_agreeing_to_a_further_delay_keeps_the_line_until_the_next_miss(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork, clock: ManualClock
) -> None:
    anna = await annas_headset(session, uow)
    await process_delay_notices(uow, FTC)
    await move_purchase_order(uow, "PO-1", DEC_20, MERCHANT)
    await process_delay_notices(uow, FTC)
    _, renewed = await list_delay_notices(uow)

    answer = await agree_to_wait(uow, anna.customer.id, renewed.notice_id)
    repeat = await agree_to_wait(uow, anna.customer.id, renewed.notice_id)
    clock.advance(days=16)  # 13 December, past the deadline
    result = await process_delay_notices(uow, FTC)

    assert (answer.response, answer.already_done, repeat.already_done, answer.new_ship_by) == (
        DelayResponse.AGREED,
        False,
        True,
        DEC_21,
    )
    assert result.auto_cancelled == 0
    assert (await readback.line(session_factory, anna.line_id)).status == LineStatus.BACKORDERED
    [agreed] = await readback.audit_entries(session_factory, "delay_notice.agreed")
    assert agreed.actor_id == str(anna.customer.id)

    await move_purchase_order(uow, "PO-1", date(2026, 12, 28), MERCHANT)
    third = await process_delay_notices(uow, FTC)
    assert third.further_notices == 1
    assert (await list_delay_notices(uow))[-1].respond_by == DEC_21


async def test_an_older_notice_s_buttons_answer_with_the_newer_one(
    session: AsyncSession, uow: UnitOfWork
) -> None:
    anna = await annas_headset(session, uow)
    await process_delay_notices(uow, FTC)
    await move_purchase_order(uow, "PO-1", DEC_20, MERCHANT)
    await process_delay_notices(uow, FTC)
    first, _ = await list_delay_notices(uow)

    with pytest.raises(DelayNoticeSuperseded):
        await agree_to_wait(uow, anna.customer.id, first.notice_id)
    with pytest.raises(DelayNoticeSuperseded):
        await cancel_for_refund(uow, anna.customer.id, first.notice_id)


async def test_cancelling_from_the_notice_refunds_in_full_once(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    anna = await annas_headset(session, uow)
    await process_delay_notices(uow, FTC)
    [notice] = await list_delay_notices(uow)

    answer = await cancel_for_refund(uow, anna.customer.id, notice.notice_id)
    repeat = await cancel_for_refund(uow, anna.customer.id, notice.notice_id)

    assert (answer.response, answer.cancel.refund_minor, repeat.already_done) == (DelayResponse.CANCELLED, 14900, True)
    assert len(await readback.refunds(session_factory, anna.line_id)) == 1
    [entry] = await list_delay_notices(uow)
    assert entry.response == DelayResponse.CANCELLED and entry.responded_at is not None
    # The customer's own answer is shown in the chat; no message is queued about it.
    assert [m.template for m in await notices_sent(session_factory)] == ["delay_notice"]


async def test_a_notice_for_an_item_that_shipped_meanwhile_cannot_cancel_it(
    session: AsyncSession, uow: UnitOfWork
) -> None:
    anna = await annas_headset(session, uow)
    await process_delay_notices(uow, FTC)
    [notice] = await list_delay_notices(uow)
    await receive_purchase_order(uow, "PO-1", MERCHANT)

    with pytest.raises(LineNotCancellable):
        await cancel_for_refund(uow, anna.customer.id, notice.notice_id)
    agreed = await agree_to_wait(uow, anna.customer.id, notice.notice_id)
    assert agreed.response is None and agreed.already_done


async def test_someone_else_s_notice_looks_like_none_at_all(session: AsyncSession, uow: UnitOfWork) -> None:
    await annas_headset(session, uow)
    await process_delay_notices(uow, FTC)
    [notice] = await list_delay_notices(uow)
    async with uow:
        other = await add_customer(uow.session, "Mallory Other")
        await uow.commit()

    with pytest.raises(DelayNoticeNotFound):
        await agree_to_wait(uow, other.id, notice.notice_id)
    with pytest.raises(DelayNoticeNotFound):
        await cancel_for_refund(uow, other.id, 10**9)


async def test_an_unknown_new_date_needs_consent_within_30_days_of_the_promised_date(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork, clock: ManualClock
) -> None:
    anna = await add_customer(session, "Anna Klein")
    anna.telegram_user_id = 5001
    headset = await add_product(session, "HS-200", price=14900)
    order = await add_order(session, anna, [(headset, 1)], number="1042")  # never given an ETA
    await session.commit()

    await process_delay_notices(uow, FTC)
    [notice] = await list_delay_notices(uow)
    clock.advance(days=35)  # 1 January 2027, after 31 December
    result = await process_delay_notices(uow, FTC)

    assert (notice.new_ship_by, notice.respond_by, result.auto_cancelled) == (None, date(2026, 12, 31), 1)
    assert (await readback.line(session_factory, order.lines[0].id)).status == LineStatus.CANCELLED
    text = render_outgoing("delay_notice", (await notices_sent(session_factory))[0].params, translator("en")).text
    assert "cannot give you a new ship date yet" in text and "cancel at any time until the item ships" in text


async def test_a_delay_of_more_than_30_days_needs_consent_by_the_new_date(
    session: AsyncSession, uow: UnitOfWork
) -> None:
    await annas_headset(session, uow, promised=date(2026, 11, 5))  # 11 Dec is 36 days late

    await process_delay_notices(uow, FTC)

    [notice] = await list_delay_notices(uow)
    assert (notice.new_ship_by, notice.respond_by) == (DEC_11, DEC_11)


async def test_legal_notices_reach_opted_out_customers_but_not_blocked_or_unlinked_ones(
    session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    quiet = await annas_headset(session, uow, notifications_opt_out=True)
    async with uow:
        blocked = await add_customer(uow.session, "Blake Blocked")
        blocked.telegram_user_id, blocked.bot_blocked = 5002, True
        unlinked = await add_customer(uow.session, "Una Linked")
        mixer = await add_product(uow.session, "MX-500", price=34900)  # estimated for 18 December
        await add_order(uow.session, blocked, [(mixer, 1)], number="2001")
        await add_order(uow.session, unlinked, [(mixer, 1)], number="2002")
        await uow.commit()
    await recompute_all_etas(uow)

    result = await process_delay_notices(uow, FTC)
    again = await process_delay_notices(uow, FTC)

    assert (result.first_notices, result.unreachable, again.first_notices, again.unreachable) == (1, 2, 0, 2)
    assert [m.customer_id for m in await notices_sent(session_factory)] == [quiet.customer.id]


async def test_with_the_policy_off_nothing_is_sent(session: AsyncSession, uow: UnitOfWork) -> None:
    await annas_headset(session, uow)

    result = await process_delay_notices(uow, DelayNoticePolicy(enabled=False))

    assert result.notices_sent == 0 and await list_delay_notices(uow) == []


async def test_the_record_lists_notices_sent_or_answered_since_a_time(
    session: AsyncSession, uow: UnitOfWork, clock: ManualClock
) -> None:
    anna = await annas_headset(session, uow)
    await process_delay_notices(uow, FTC)
    [notice] = await list_delay_notices(uow)
    clock.advance(days=1)
    since = clock.now()

    assert await list_delay_notices(uow, since=since) == []
    await agree_to_wait(uow, anna.customer.id, notice.notice_id)
    [answered] = await list_delay_notices(uow, since=since)
    assert (answered.order_number, answered.sku, answered.customer_name, answered.response) == (
        "1042",
        "HS-200",
        "Anna Klein",
        DelayResponse.AGREED,
    )
    assert answered.notified_at < since <= answered.responded_at
    assert T0 < answered.notified_at
