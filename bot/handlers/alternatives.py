"""Alternatives for a waiting item: the list, the swap confirmation, and the swap."""

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.chat import customer_id, deps, present, show, tr
from bot.handlers.orders import line_button
from bot.handlers.support import say_refused
from bot.render import alternatives as render
from bot.render.callback_data import CallbackData
from bot.services.audit import Actor
from bot.services.backorders.alternatives import list_alternatives, pick_alternative
from bot.services.errors import AlternativeNotOffered, DomainError


async def offer(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """List up to three in-stock alternatives for a waiting item, each with its price difference."""
    try:
        result = await list_alternatives(deps(context).uow(), customer_id(context), data.ids[0])
    except DomainError as refused:
        await _refused(update, context, data, refused)
        return
    await present(update, render.alternatives_list(result, tr(context)))


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Ask the customer to confirm a swap, saying what it costs or refunds, before anything changes."""
    line_id, product_id = data.ids
    try:
        result = await list_alternatives(deps(context).uow(), customer_id(context), line_id)
        chosen = next((a for a in result.alternatives if a.product_id == product_id), None)
        if chosen is None:
            raise AlternativeNotOffered()
    except DomainError as refused:
        await _refused(update, context, data, refused)
        return
    await show(update.callback_query, render.confirm_pick(line_id, chosen, tr(context)))


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Swap the item for the confirmed alternative in one transaction; if it just sold out, say so plainly."""
    customer = customer_id(context)
    line_id, product_id = data.ids
    try:
        result = await pick_alternative(deps(context).uow(), customer, line_id, product_id, Actor.customer(customer))
    except DomainError as refused:
        await _refused(update, context, data, refused)
        return
    await show(update.callback_query, render.swapped(result, tr(context)))


async def _refused(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData, refused: DomainError) -> None:
    await say_refused(update, context, refused, data.ids[0])
    if refused.code != "line_not_found":
        await line_button(update, context, CallbackData(data.action, data.ids[:1]))
