"""/notifications in the chat: the current setting, switching with the button or with on/off."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer
from tests.e2e.chat_driver import CustomerChat, link_chat, read_scalar
from tests.e2e.chat_shop import annas_backorder

# Written out, not built with the bot's own gettext calls, so a wrong or missing translation shows here.
TURN_OFF = {"en": "Turn updates off", "de": "Benachrichtigungen ausschalten"}
TURN_ON = {"en": "Turn updates on", "de": "Benachrichtigungen einschalten"}
NOT_LINKED = {
    "en": "I don't know your orders yet. Send /start to connect them.",
    "de": "Ich kenne deine Bestellungen noch nicht. Sende /start, um sie zu verbinden.",
}


def setting_text(enabled: bool, t: Translator) -> str:
    state = (
        t.gettext("Updates are <b>on</b>: I tell you when a ship date moves and when an item is ready to ship, and pass on news from the shop.")
        if enabled
        else t.gettext("Updates are <b>off</b>: I don't write about new ship dates, items ready to ship or news from the shop.")
    )
    always = t.gettext("Important notices — a delay you need to decide on, or a change the shop made to your order — always reach you.")
    return f"{state}\n{always}".replace("<b>", "").replace("</b>", "")


async def test_the_setting_is_shown_and_switched_with_the_button_and_with_words(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator, language: str
) -> None:
    shop = await annas_backorder(session, uow)
    await link_chat(session, shop.anna, chat)
    opted_out = select(Customer.notifications_opt_out).where(Customer.id == shop.anna.id)

    [shown] = await chat.command("notifications")
    switched = await chat.press(shown, TURN_OFF[language])
    off_in_db = await read_scalar(session_factory, opted_out)
    [on_again] = await chat.command("notifications", "on" if language == "en" else "an")

    assert shown.text == setting_text(True, t) and shown.button_labels == [TURN_OFF[language]]
    assert switched.message.text == setting_text(False, t) and switched.message.button_labels == [TURN_ON[language]]
    assert off_in_db is True
    assert on_again.text == setting_text(True, t)
    assert await read_scalar(session_factory, opted_out) is False


async def test_a_chat_without_orders_is_asked_to_connect_them_first(chat: CustomerChat, language: str) -> None:
    [answer] = await chat.command("notifications")

    assert answer.text == NOT_LINKED[language]
