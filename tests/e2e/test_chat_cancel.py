"""Cancelling a waiting item in the chat: the confirmation with the refund, the result, and presses that must not act."""

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Translator
from bot.sandbox import FakeBotApi, Fault
from bot.services.audit import Actor
from bot.services.purchasing.stock import set_available_stock
from bot.services.unit_of_work import UnitOfWork
from db.models import LineStatus, OrderLine, Refund
from tests.e2e.chat_driver import CustomerChat, Pressed, link_chat, read_all, read_scalar
from tests.e2e.chat_shop import ANNA_ORDER, HEADSET, AnnasShop, annas_backorder, annas_linked_backorder

ITEM = f"{HEADSET} × 1"
REFUND = {"en": "€149.00", "de": "149,00\xa0€"}  # Babel's German keeps the amount and sign together
# Written out, not built with the bot's own gettext calls, so a wrong or missing translation shows here.
PROMISE = {
    "en": "We'll refund €149.00 to your original payment method within 14 days.",
    "de": "Wir erstatten dir 149,00\xa0€ auf dem ursprünglichen Zahlungsweg, in der Regel innerhalb von 14 Tagen.",
}
CONFIRMATION = {
    "en": [f"Cancel 1 × {HEADSET} from order {ANNA_ORDER}?", PROMISE["en"]],
    "de": [f"1 × {HEADSET} aus Bestellung {ANNA_ORDER} stornieren?", PROMISE["de"]],
}
CONFIRMATION_BUTTONS = {"en": ["Yes, cancel", "No, keep waiting"], "de": ["Ja, stornieren", "Nein, ich warte"]}
DONE = {
    "en": f"Done: 1 × {HEADSET} is cancelled. " + PROMISE["en"],
    "de": f"Erledigt: 1 × {HEADSET} ist storniert. " + PROMISE["de"],
}


async def open_cancel(chat: CustomerChat, t: Translator) -> Pressed:
    """From /orders to the cancel confirmation of Anna's headset."""
    [order_list] = await chat.command("orders")
    card = await chat.press(order_list, ITEM)
    return await chat.press(card.message, t.gettext("Cancel"))


async def refunds(session_factory: async_sessionmaker[AsyncSession]) -> list[tuple[int, int]]:
    return [tuple(row) for row in await read_all(session_factory, select(Refund.line_id, Refund.amount_minor))]


async def line_state(session_factory: async_sessionmaker[AsyncSession], line_id: int) -> tuple[LineStatus, int]:
    row = (await read_all(session_factory, select(OrderLine.status, OrderLine.cancelled_quantity).where(OrderLine.id == line_id)))[0]
    return row.status, row.cancelled_quantity


async def test_cancel_says_what_and_how_much_then_cancels_and_owes_the_refund(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator, language: str
) -> None:
    shop = await annas_linked_backorder(session, uow, chat)

    asked = await open_cancel(chat, t)
    done = await chat.press(asked.message, t.gettext("Yes, cancel"))

    assert asked.message.text.split("\n") == CONFIRMATION[language]
    assert asked.message.button_labels == CONFIRMATION_BUTTONS[language]
    assert done.message.message_id == asked.message.message_id and done.new == []
    assert done.message.text == DONE[language]
    assert done.message.button_labels == [t.gettext("« My orders")]
    assert await refunds(session_factory) == [(shop.line_id, 14900)]
    assert await line_state(session_factory, shop.line_id) == (LineStatus.CANCELLED, 1)


async def test_no_keep_waiting_leaves_the_item_alone(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    shop = await annas_linked_backorder(session, uow, chat)
    asked = await open_cancel(chat, t)

    kept = await chat.press(asked.message, t.gettext("No, keep waiting"))

    assert kept.message.text.split("\n")[0] == ITEM
    assert await refunds(session_factory) == []
    assert await line_state(session_factory, shop.line_id) == (LineStatus.BACKORDERED, 0)


async def test_pressing_yes_again_on_the_old_confirmation_changes_nothing(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator, language: str
) -> None:
    shop = await annas_linked_backorder(session, uow, chat)
    asked = await open_cancel(chat, t)
    yes = asked.message.callback_data(t.gettext("Yes, cancel"))
    await chat.press(asked.message, t.gettext("Yes, cancel"))

    # A second device, or a client that still shows the old keyboard, sends the same press again.
    again = await chat.press_data(asked.message, yes)

    assert again.message.text.startswith(t.gettext("This was already cancelled.") + "\n")
    assert REFUND[language] in again.message.text
    assert await refunds(session_factory) == [(shop.line_id, 14900)]
    assert await line_state(session_factory, shop.line_id) == (LineStatus.CANCELLED, 1)


async def test_a_confirmed_cancel_holds_when_telegram_refuses_to_answer_the_press(
    chat: CustomerChat, fake: FakeBotApi, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator, language: str
) -> None:
    shop = await annas_linked_backorder(session, uow, chat)
    asked = await open_cancel(chat, t)
    # What Telegram answers for a press that waited in a backlog longer than it keeps presses open.
    fake.inject_fault("answerCallbackQuery", Fault(400, "Bad Request: query is too old and response timeout expired or query ID is invalid"))

    done = await chat.press(asked.message, t.gettext("Yes, cancel"))

    assert done.message.text == DONE[language]
    assert await refunds(session_factory) == [(shop.line_id, 14900)]
    assert await line_state(session_factory, shop.line_id) == (LineStatus.CANCELLED, 1)


def foreign_line(shop: AnnasShop) -> int:
    return shop.others[0].lines[0].id


@pytest.mark.parametrize(
    ("forged", "data"),
    [
        ("another customer's line", lambda shop: f"c1:cy:{foreign_line(shop)}"),
        ("another customer's card", lambda shop: f"c1:ln:{foreign_line(shop)}"),
        ("another customer's alternatives", lambda shop: f"c1:al:{foreign_line(shop)}"),
        ("the largest id a row could have", lambda shop: f"c1:cy:{2**31 - 1}"),
    ],
)
async def test_a_forged_press_for_another_customers_line_is_refused_like_a_missing_one(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator, forged: str, data
) -> None:
    shop = await annas_backorder(session, uow, ahead=1)
    await link_chat(session, shop.anna, chat)
    [order_list] = await chat.command("orders")

    pressed = await chat.press_data(order_list, data(shop))

    assert [message.text for message in pressed.new] == [t.gettext("I couldn't find that item on your orders.")]
    assert pressed.message.text == order_list.text  # nothing of the other customer's item is shown
    assert pressed.answer is not None
    assert await refunds(session_factory) == []
    assert await line_state(session_factory, foreign_line(shop)) == (LineStatus.BACKORDERED, 0)


@pytest.mark.parametrize(
    "data", ["c1:cy:not-a-number", "c0:cy:{line}", "c1:zz:{line}", "c1:cy:{line}:{line}", "", "c1:cy:2147483648", "c1:ln:99999999999"]
)
async def test_garbage_or_old_version_button_data_is_refused_with_an_alert(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator, data: str
) -> None:
    shop = await annas_linked_backorder(session, uow, chat)
    [order_list] = await chat.command("orders")

    pressed = await chat.press_data(order_list, data.format(line=shop.line_id))

    assert pressed.answer is not None and pressed.answer.show_alert
    assert pressed.answer.text == t.gettext("Sorry, that button doesn't work any more.")
    assert pressed.new == [] and pressed.message.edit_count == 0
    assert await refunds(session_factory) == []
    assert await line_state(session_factory, shop.line_id) == (LineStatus.BACKORDERED, 0)


@pytest.mark.parametrize("became", ["allocated", "shipped"])
async def test_an_item_that_became_ready_or_shipped_meanwhile_is_not_cancelled_and_says_why(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator, became: str
) -> None:
    shop = await annas_linked_backorder(session, uow, chat)
    asked = await open_cancel(chat, t)
    await set_available_stock(uow, shop.headset.sku, 1, Actor.merchant())
    if became == "shipped":
        await session.execute(update(OrderLine).where(OrderLine.id == shop.line_id).values(status=LineStatus.SHIPPED))
        await session.commit()

    refused = await chat.press(asked.message, t.gettext("Yes, cancel"))

    reasons = {
        "allocated": t.gettext("This item is reserved for you and ready to ship, so it can't be cancelled here."),
        "shipped": t.gettext("This item has already shipped, so it can't be cancelled here."),
    }
    status = {"allocated": t.gettext("ready to ship"), "shipped": t.gettext("shipped")}
    assert [message.text for message in refused.new] == [reasons[became]]
    # The confirmation gives way to the item as it is now, without a Cancel button.
    assert refused.message.text.split("\n")[1] == t.gettext("Order {order} · {status}").format(
        order=ANNA_ORDER, status=status[became]
    )
    assert refused.message.button_labels == [t.gettext("« Back")]
    assert await refunds(session_factory) == []
    assert await read_scalar(session_factory, select(func.count()).select_from(Refund)) == 0
