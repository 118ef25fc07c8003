"""Stickers, photos, voice, edited messages: a short, polite answer."""

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.chat import reply, tr
from bot.render import conversation


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything that is not text."""
    await reply(update, conversation.non_text(tr(context)))


async def edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message: say it was seen, without acting on it twice."""
    await update.effective_message.reply_text(conversation.edited(tr(context)).text)
