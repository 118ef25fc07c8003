"""What every handler shares: the services' dependencies, the user's language and customer, and replying."""

import logging
from typing import Any

from telegram import CallbackQuery, LinkPreviewOptions, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.composition import ChatDeps
from bot.console_button import MENU_BUTTONS_KEY, MenuButtons
from bot.i18n import Translator
from bot.render.screen import Screen
from bot.telegram_send import post_screen

log = logging.getLogger(__name__)
INTAKE_KEY = "intake"


def deps(context: ContextTypes.DEFAULT_TYPE) -> ChatDeps:
    return context.application.bot_data["deps"]


def menu_buttons(context: ContextTypes.DEFAULT_TYPE) -> MenuButtons:
    return context.application.bot_data[MENU_BUTTONS_KEY]


def intake(context: ContextTypes.DEFAULT_TYPE) -> Any:
    """What the intake step learned about this update's user (language, linked customer, state)."""
    return context.user_data.get(INTAKE_KEY) if context.user_data is not None else None


def tr(context: ContextTypes.DEFAULT_TYPE) -> Translator:
    current = intake(context)
    settings = deps(context).settings
    return settings.voice.translator(current.language if current else settings.default_language, deps(context).clock.today())


def customer_id(context: ContextTypes.DEFAULT_TYPE) -> int | None:
    current = intake(context)
    return current.customer_id if current else None


async def reply(update: Update, screen: Screen) -> int | None:
    """Send the screen to the chat the update came from (its topic, if any); the new message's id."""
    message = update.effective_message
    if message is None:
        return None
    sent = await post_screen(
        message.get_bot(),
        "sendMessage",
        screen,
        chat_id=message.chat_id,
        message_thread_id=message.message_thread_id if message.is_topic_message else None,
        business_connection_id=message.business_connection_id,
        link_preview_options=_NO_LINK_PREVIEW,
    )
    return int(sent["message_id"])


async def present(update: Update, screen: Screen) -> int | None:
    """In place of the pressed message for a button; as a new message for anything typed. The message's id."""
    query = update.callback_query
    if query is None:
        return await reply(update, screen)
    await show(query, screen)
    return query.message.message_id if query.message is not None else None


async def show(query: CallbackQuery, screen: Screen) -> None:
    """Replace the pressed message's content, so a conversation stays one tidy message."""
    message = query.message
    if message is None:
        where: dict[str, Any] = {"inline_message_id": query.inline_message_id}
    else:
        where = {"chat_id": message.chat.id, "message_id": message.message_id}
    try:
        await post_screen(query.get_bot(), "editMessageText", screen, **where, link_preview_options=_NO_LINK_PREVIEW)
    except BadRequest as refused:
        # Pressing the same button twice asks for an identical edit, which Telegram refuses; nothing to do.
        if "not modified" not in str(refused).lower():
            raise


async def answer_press(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button press (stopping the client's spinner), after its action: a failed answer changes nothing.

    Telegram refuses answers to presses older than a few seconds ("query is too old"), which is what every
    press in a backlog after an outage is; the action the customer confirmed must happen all the same.
    """
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as refused:
        log.info("could not answer button press %s: %s", query.id, refused)


_NO_LINK_PREVIEW = LinkPreviewOptions(is_disabled=True)
