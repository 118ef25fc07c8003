"""/language: switch between English and German."""

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.handlers.chat import deps, intake, menu_buttons, reply, show, tr
from bot.render import conversation
from bot.render.callback_data import LANGUAGE_CODES, CallbackData
from bot.services.conversations.chat_session import choose_language


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/language: offer the languages."""
    await reply(update, conversation.choose_language(tr(context)))


async def language_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Store the language the customer picked and answer in it from now on."""
    code = LANGUAGE_CODES[data.ids[0]]
    await choose_language(deps(context).uow(), update.effective_user.id, code)
    current = intake(context)
    if current is not None:
        current.language = code
    if update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
        await menu_buttons(context).person_wrote(context.bot, update.effective_chat.id, code)
    await show(update.callback_query, conversation.language_set(deps(context).settings.voice.translator(code)))
