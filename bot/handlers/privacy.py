"""/privacy: the customer sees what is kept, gets their data as a file, or has it erased."""

import json

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.chat import customer_id, deps, reply, show, tr
from bot.render.callback_data import CallbackData
from bot.render.privacy import (
    EXPORT_FILE_NAME,
    export_caption,
    forget_confirmation,
    forgotten,
    nothing_stored,
    privacy_overview,
)
from bot.services.audit import Actor
from bot.services.privacy import PersonNotFound, SubjectQuery, erase_customer, export_customer


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/privacy: what is kept and why, with "Send me my data" and "Forget me"."""
    await reply(update, privacy_overview(tr(context)))


async def privacy_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Back to the overview ("Keep my data")."""
    await show(update.callback_query, privacy_overview(tr(context)))


async def export_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Send everything stored about the person writing, as a JSON document."""
    t = tr(context)
    try:
        document = await export_customer(deps(context).uow(), SubjectQuery(telegram_user_id=update.effective_user.id))
    except PersonNotFound:
        await reply(update, nothing_stored(t))
        return
    content = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    await update.effective_chat.send_document(content, filename=EXPORT_FILE_NAME, caption=export_caption(t))


async def forget_ask(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    await show(update.callback_query, forget_confirmation(tr(context)))


async def forget_confirm(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Erase the person writing; pressing it twice changes nothing more."""
    user_id = update.effective_user.id
    result = await erase_customer(deps(context).uow(), SubjectQuery(telegram_user_id=user_id), _actor(context))
    await show(update.callback_query, forgotten(tr(context)) if result.erased else nothing_stored(tr(context)))


def _actor(context: ContextTypes.DEFAULT_TYPE) -> Actor:
    customer = customer_id(context)
    return Actor.customer(customer) if customer is not None else Actor.system()
