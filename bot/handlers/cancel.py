"""Cancel a waiting item: a confirmation that says what will be refunded, then the result."""

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.chat import customer_id, deps, present, show, tr
from bot.handlers.orders import line_button
from bot.handlers.support import say_refused
from bot.render import cancel as render
from bot.render.callback_data import CallbackData
from bot.services.audit import Actor
from bot.services.backorders.cancel import cancel_line, preview_cancel
from bot.services.errors import DomainError


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Ask the customer to confirm a cancel, showing exactly what will be cancelled and refunded."""
    try:
        preview = await preview_cancel(deps(context).uow(), customer_id(context), data.ids[0])
    except DomainError as refused:
        await _refused(update, context, data, refused)
        return
    await present(update, render.confirm_cancel(preview, tr(context)))


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Cancel the confirmed item; a repeated press changes nothing, as the service is idempotent."""
    customer = customer_id(context)
    try:
        result = await cancel_line(deps(context).uow(), customer, data.ids[0], Actor.customer(customer))
    except DomainError as refused:
        await _refused(update, context, data, refused)
        return
    await show(update.callback_query, render.cancelled(result, tr(context)))


async def _refused(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData, refused: DomainError) -> None:
    """Say why (offering a person where one could help), then show the item as it is now."""
    await say_refused(update, context, refused, data.ids[0])
    if refused.code != "line_not_found":
        await line_button(update, context, data)
