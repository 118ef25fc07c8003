"""Talk to a person: /support and the button on an item's card."""

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.callback_data import CallbackData
from bot.handlers.chat import deps, reply, show, tr
from bot.render import conversation


async def support(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/support: how to reach a person."""
    await reply(update, conversation.reach_a_person(deps(context).settings.support_contact, tr(context)))


async def human_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    await show(update.callback_query, conversation.reach_a_person(deps(context).settings.support_contact, tr(context)))
