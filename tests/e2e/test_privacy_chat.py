"""/privacy in the chat: what is kept and why, the customer's data as a file, and "Forget me" with confirmation."""

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.sandbox.fake_bot_api import FakeBotApi
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, TelegramUser
from tests.e2e.chat_driver import CustomerChat, link_chat, read_scalar
from tests.e2e.chat_shop import ANNA_EMAIL, ANNA_ORDER, annas_backorder

# Written out, not built with the bot's own gettext calls, so a wrong or missing translation shows here.
SEND_DATA = {"en": "Send me my data", "de": "Meine Daten schicken"}
FORGET = {"en": "Forget me", "de": "Vergiss mich"}
YES_FORGET = {"en": "Yes, forget me", "de": "Ja, vergiss mich"}
KEEP = {"en": "Keep my data", "de": "Daten behalten"}
TITLE = {"en": "Your data", "de": "Deine Daten"}
CAPTION = {"en": "Everything I have stored about you.", "de": "Alles, was ich über dich gespeichert habe."}
DONE = {
    "en": "Done: I have forgotten you. If you write again, we start afresh.",
    "de": "Erledigt: Ich habe dich vergessen. Wenn du wieder schreibst, fangen wir von vorn an.",
}


async def test_privacy_explains_and_sends_the_customers_data_as_a_file(
    chat: CustomerChat, fake: FakeBotApi, session: AsyncSession, uow: UnitOfWork, language: str
) -> None:
    shop = await annas_backorder(session, uow)
    await link_chat(session, shop.anna, chat)

    [overview] = await chat.command("privacy")
    pressed = await chat.press(overview, SEND_DATA[language])

    assert overview.text.startswith(TITLE[language])
    assert overview.button_labels == [SEND_DATA[language], FORGET[language]]
    [sent] = pressed.new
    assert sent.text == CAPTION[language] and sent.raw["document"]["file_name"] == "my-data.json"
    document = json.loads(fake.files[sent.raw["document"]["file_id"]].content)
    assert document["data"]["customers"][0]["email"] == ANNA_EMAIL
    assert [order["number"] for order in document["data"]["orders"]] == [ANNA_ORDER]


async def test_forget_me_asks_first_then_erases_and_the_next_message_starts_afresh(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, language: str
) -> None:
    shop = await annas_backorder(session, uow)
    await link_chat(session, shop.anna, chat)
    linked_to = select(Customer.telegram_user_id).where(Customer.id == shop.anna.id)

    [overview] = await chat.command("privacy")
    asked = await chat.press(overview, FORGET[language])
    kept = await read_scalar(session_factory, linked_to)
    back = await chat.press(asked.message, KEEP[language])
    asked_again = await chat.press(back.message, FORGET[language])
    done = await chat.press(asked_again.message, YES_FORGET[language])

    assert asked.message.button_labels == [YES_FORGET[language], KEEP[language]]
    assert kept == chat.user.id  # nothing happens before the customer confirms
    assert back.message.text.startswith(TITLE[language])
    assert done.message.text == DONE[language]
    assert await read_scalar(session_factory, linked_to) is None
    assert await read_scalar(session_factory, select(Customer.email).where(Customer.id == shop.anna.id)) != ANNA_EMAIL
    assert await read_scalar(session_factory, select(Customer.id).where(Customer.email == ANNA_EMAIL)) is None
    # The next message comes from a stranger: nothing links this chat to Anna's orders any more.
    await chat.command("orders")
    assert await read_scalar(session_factory, select(Customer.id).where(Customer.telegram_user_id == chat.user.id)) is None
    assert await read_scalar(
        session_factory, select(TelegramUser.conversation_state).where(TelegramUser.telegram_user_id == chat.user.id)
    ) is None
