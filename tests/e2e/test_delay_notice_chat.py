"""A delay notice in the chat: its two buttons, a press on an older notice, someone else's notice, and what
silence means under the `ftc` and the `eu` rule.

Anna's headset was promised for 1 December; the supplier shipment is due 3 December, so it ships on the 4th.
The job queues the notice; here the outbox rows are sent as the outbox workers would send them.
"""

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.constants import ParseMode

from bot.clock import ManualClock
from bot.i18n import Translator, translator
from bot.render.proactive import render_outgoing
from bot.sandbox import ChatMessage
from bot.services.audit import Actor
from bot.services.backorders.delay_notices import DelayNoticePolicy, list_delay_notices, process_delay_notices
from bot.services.purchasing.purchase_orders import move_purchase_order
from bot.services.unit_of_work import UnitOfWork
from db.models import DelayResponse, LineStatus, Order, OrderLine, OutboxMessage, OutboxStatus, Refund
from tests.e2e.chat_driver import CustomerChat, link_chat, read_all, read_scalar
from tests.e2e.chat_shop import ANNA_ORDER, HEADSET, PURCHASE_ORDER, AnnasShop, annas_backorder
from tests.e2e.harness import RunningBot
from tests.shop import add_customer

FTC = DelayNoticePolicy()
EU = DelayNoticePolicy(rule="eu")
REFUND = {"en": "€149.00", "de": "149,00\xa0€"}


async def delayed_anna(session: AsyncSession, uow: UnitOfWork, chat: CustomerChat) -> AnnasShop:
    shop = await annas_backorder(session, uow)
    await session.execute(update(Order).where(Order.id == shop.order.id).values(promised_ship_by=date(2026, 12, 1)))
    await session.commit()
    await link_chat(session, shop.anna, chat)
    await chat.command("start")  # a bot can only write to someone who has written to it
    return shop


async def deliver(bot: RunningBot, sessions: async_sessionmaker[AsyncSession], chat: CustomerChat) -> list[ChatMessage]:
    """Send the pending outbox messages as the outbox workers would; what the customer now sees."""
    async with sessions() as session:
        pending = list(
            (await session.execute(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING))).scalars()
        )
        for message in pending:
            screen = render_outgoing(message.template, message.params, translator(message.language, date(2026, 11, 27)))
            await bot.application.bot.send_message(
                message.chat_id, screen.text, reply_markup=screen.keyboard, parse_mode=ParseMode.HTML
            )
            message.status = OutboxStatus.SENT
        await session.commit()
    return chat.fake.bot_messages(chat.chat_id)[-len(pending) :] if pending else []


async def test_agreeing_to_wait_is_recorded_and_the_notice_keeps_its_words_without_buttons(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator, language: str
) -> None:
    await delayed_anna(session, uow, chat)
    await process_delay_notices(uow, FTC)
    [notice] = await deliver(chat.bot, session_factory, chat)

    pressed = await chat.press(notice, t.gettext("Yes, I'll wait"))

    assert notice.text.startswith(t.gettext("Shipping delay — order {order}").format(order=ANNA_ORDER))
    assert t.gettext("The new expected ship date is {date}.").format(date=t.long_date(date(2026, 12, 4))) in notice.text
    assert notice.button_labels == [t.gettext("Yes, I'll wait"), t.gettext("Cancel and get my money back")]
    assert pressed.message.text == notice.text and pressed.message.button_labels == []
    assert [message.text for message in pressed.new] == [
        t.gettext("Thank you for waiting. We now expect to ship it on {date}.").format(date=t.long_date(date(2026, 12, 4)))
    ]
    [recorded] = await list_delay_notices(uow)
    assert recorded.response == DelayResponse.AGREED


async def test_cancelling_from_the_notice_refunds_what_was_paid(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator, language: str
) -> None:
    shop = await delayed_anna(session, uow, chat)
    await process_delay_notices(uow, FTC)
    [notice] = await deliver(chat.bot, session_factory, chat)

    pressed = await chat.press(notice, t.gettext("Cancel and get my money back"))

    assert [message.text for message in pressed.new] == [
        {
            "en": "Done: 1 × Studio Pro Wireless Headset is cancelled. We'll refund €149.00 to your original payment"
            " method within 14 days.",
            "de": "Erledigt: 1 × Studio Pro Wireless Headset ist storniert. Wir erstatten dir 149,00\xa0€ auf dem"
            " ursprünglichen Zahlungsweg, in der Regel innerhalb von 14 Tagen.",
        }[language]
    ]
    assert pressed.message.button_labels == []
    assert await read_scalar(session_factory, select(OrderLine.status).where(OrderLine.id == shop.line_id)) == LineStatus.CANCELLED
    assert await read_all(session_factory, select(Refund.line_id, Refund.amount_minor)) == [(shop.line_id, 14900)]
    [recorded] = await list_delay_notices(uow)
    assert recorded.response == DelayResponse.CANCELLED


async def test_a_button_of_a_replaced_notice_shows_the_item_as_it_is_now(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    await delayed_anna(session, uow, chat)
    await process_delay_notices(uow, FTC)
    [first] = await deliver(chat.bot, session_factory, chat)
    await move_purchase_order(uow, PURCHASE_ORDER, date(2026, 12, 10), Actor.merchant("shop"))  # ships 11 Dec
    await process_delay_notices(uow, FTC)
    # The renewed notice is the one asking again; the two may leave the outbox in either order.
    delivered = await deliver(chat.bot, session_factory, chat)
    [renewed] = [m for m in delivered if t.gettext("Yes, I'll wait") in m.button_labels]
    [eta_moved] = [m for m in delivered if m is not renewed]

    pressed = await chat.press(first, t.gettext("Yes, I'll wait"))

    assert t.gettext("Unless you tell us by {date} that you will wait, we will cancel the item and refund {amount}.").split(
        "{date}"
    )[0] in renewed.text
    assert [message.text for message in pressed.new] == [
        t.gettext("This notice has been replaced by a newer one.")
    ]
    assert pressed.message.text.startswith(f"{HEADSET} × 1")  # the old notice became the item's card
    assert [notice.response for notice in await list_delay_notices(uow)] == [None, None]
    assert t.date(date(2026, 12, 11)) in eta_moved.text and t.date(date(2026, 12, 4)) in eta_moved.text


async def test_someone_else_s_notice_does_nothing(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    await delayed_anna(session, uow, chat)
    await process_delay_notices(uow, FTC)
    [notice] = await deliver(chat.bot, session_factory, chat)
    other = CustomerChat(chat.fake, chat.bot, chat.fake.add_user("Mallory", language_code=t.language))
    async with session_factory() as check:
        mallory = await add_customer(check, "Mallory Other")
        await check.commit()
    await link_chat(session, mallory, other)
    [own_message] = await other.command("start")

    pressed = await other.press_data(own_message, notice.callback_data(t.gettext("Yes, I'll wait")))

    assert [message.text for message in pressed.new] == [t.gettext("I couldn't find that notice on your orders.")]
    [recorded] = await list_delay_notices(uow)
    assert recorded.response is None


async def test_under_the_ftc_rule_silence_after_a_renewed_delay_cancels_and_the_customer_is_told(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, clock: ManualClock, language: str
) -> None:
    shop = await delayed_anna(session, uow, chat)
    await process_delay_notices(uow, FTC)
    [_first] = await deliver(chat.bot, session_factory, chat)
    await move_purchase_order(uow, PURCHASE_ORDER, date(2026, 12, 10), Actor.merchant("shop"))  # ships 11 Dec
    await process_delay_notices(uow, FTC)
    _eta_moved, renewed = await deliver(chat.bot, session_factory, chat)
    clock.advance(days=8)  # 5 December: the answer was due by the 4th
    result = await process_delay_notices(uow, FTC)
    [told] = await deliver(chat.bot, session_factory, chat)

    assert {
        "en": "Unless you tell us by Friday,\xa04\xa0December\xa02026 that you will wait, we will cancel the item and"
        " refund €149.00.",
        "de": "Wenn du uns nicht bis Freitag,\xa04.\xa0Dezember\xa02026 sagst, dass du wartest, stornieren wir den"
        " Artikel und erstatten dir 149,00\xa0€.",
    }[language] in renewed.text
    assert result.auto_cancelled == 1
    assert await read_scalar(session_factory, select(OrderLine.status).where(OrderLine.id == shop.line_id)) == LineStatus.CANCELLED
    assert {
        "en": "we have cancelled 1 × Studio Pro Wireless Headset.\nWe'll refund €149.00 to your original payment method"
        " within 14 days.",
        "de": "haben wir 1 × Studio Pro Wireless Headset storniert.\nWir erstatten dir 149,00\xa0€ auf dem"
        " ursprünglichen Zahlungsweg, in der Regel innerhalb von 14 Tagen.",
    }[language] in told.text


async def test_under_the_eu_rule_silence_never_cancels_and_the_customer_may_still_choose(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, clock: ManualClock, t: Translator, language: str
) -> None:
    shop = await delayed_anna(session, uow, chat)
    await process_delay_notices(uow, EU)
    [first] = await deliver(chat.bot, session_factory, chat)
    await move_purchase_order(uow, PURCHASE_ORDER, date(2026, 12, 10), Actor.merchant("shop"))  # ships 11 Dec
    await process_delay_notices(uow, EU)
    _eta_moved, renewed = await deliver(chat.bot, session_factory, chat)
    clock.advance(days=30)
    result = await process_delay_notices(uow, EU)

    silence = {
        "en": "If you don't answer, nothing changes: the item keeps waiting for you.",
        "de": "Wenn du nicht antwortest, ändert sich nichts: Der Artikel wartet weiter auf dich.",
    }[language]
    assert silence in first.text and silence in renewed.text
    assert {
        "en": "The new expected ship date is Friday,\xa011\xa0December\xa02026.",
        "de": "Wir erwarten jetzt, den Artikel am Freitag,\xa011.\xa0Dezember\xa02026 zu versenden.",
    }[language] in renewed.text
    assert renewed.button_labels == [t.gettext("Yes, I'll wait"), t.gettext("Cancel and get my money back")]
    assert result.auto_cancelled == 0 and [notice.respond_by for notice in await list_delay_notices(uow)] == [None, None]
    assert await read_scalar(session_factory, select(OrderLine.status).where(OrderLine.id == shop.line_id)) == LineStatus.BACKORDERED

    pressed = await chat.press(renewed, t.gettext("Cancel and get my money back"))

    assert pressed.message.button_labels == []
    assert await read_scalar(session_factory, select(OrderLine.status).where(OrderLine.id == shop.line_id)) == LineStatus.CANCELLED
