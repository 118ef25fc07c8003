"""Runs before every handler: drop duplicates, stay quiet in groups unless addressed, load the user."""

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Forbidden
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.handlers.chat import INTAKE_KEY, deps, menu_buttons, reply, tr
from bot.handlers.membership import blocks_bot
from bot.render import conversation
from bot.services.conversations.update_intake import begin_update
from bot.services.outreach.reachability import mark_bot_blocked

log = logging.getLogger(__name__)


async def take_in(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Claim the update once, then let the handlers run; otherwise stop here."""
    user = update.effective_user
    if user is None or user.is_bot:
        raise ApplicationHandlerStop
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE and not _addressed_to_bot(update, context):
        raise ApplicationHandlerStop
    current = await begin_update(
        deps(context).uow(),
        update.update_id,
        user.id,
        chat.id if chat and chat.type == ChatType.PRIVATE else None,
        user.language_code,
        reachable=not blocks_bot(update),
    )
    if current is None:
        log.info("update %s was delivered again; handled once already", update.update_id)
        raise ApplicationHandlerStop
    context.user_data[INTAKE_KEY] = current
    if chat is not None and chat.type == ChatType.PRIVATE:
        await menu_buttons(context).person_wrote(context.bot, chat.id, current.language)
    if chat is not None and chat.type != ChatType.PRIVATE:
        # Orders are private: never show them in a group, point to the private chat instead.
        await reply(update, conversation.move_to_private(context.bot.username, tr(context)))
        raise ApplicationHandlerStop


def _addressed_to_bot(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    message = update.effective_message
    if message is None:
        return False
    username = (context.bot.username or "").lower()
    text = (message.text or message.caption or "").lower()
    replied_to = message.reply_to_message
    return (
        (bool(username) and f"@{username}" in text)
        or (replied_to is not None and replied_to.from_user is not None and replied_to.from_user.id == context.bot.id)
    )


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure, record a customer who blocked the bot, and apologise where we still can."""
    error = context.error
    if not isinstance(update, Update) or update.effective_user is None:
        log.error("error outside an update", exc_info=error)
        return
    if isinstance(error, Forbidden):
        log.info("user %s has blocked the bot", update.effective_user.id)
        await mark_bot_blocked(deps(context).uow(), update.effective_user.id)
        return
    log.error("handling update %s failed", update.update_id, exc_info=error)
    try:
        await reply(update, conversation.something_went_wrong(tr(context)))
    except Exception:  # noqa: BLE001 - Telegram itself may be what failed; the log above has the cause
        log.warning("could not tell user %s about the failure", update.effective_user.id)
