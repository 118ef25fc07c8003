"""/orders, the order list button, one item's card, and an order number typed in the chat."""

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.chat import customer_id, deps, present, reply, show, tr
from bot.render import backorder_card, conversation
from bot.render.callback_data import CallbackData
from bot.render.errors import domain_error
from bot.services.backorders.status import get_backorder_status, get_line_view, get_order_status
from bot.services.errors import DomainError, OrderNotFound
from db.models import OPEN_LINE_STATUSES


async def orders(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/orders: every waiting item and what was resolved lately."""
    customer = customer_id(context)
    if customer is None:
        await reply(update, conversation.not_linked(tr(context)))
        return
    status = await get_backorder_status(deps(context).uow(), customer)
    await reply(update, backorder_card.order_list(status.waiting, status.recently_resolved, tr(context), mini_app=_mini_app(context)))


async def orders_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Show the customer's waiting and recently resolved items in place of the pressed message, so the chat stays tidy."""
    status = await get_backorder_status(deps(context).uow(), customer_id(context))
    await show(update.callback_query, backorder_card.order_list(status.waiting, status.recently_resolved, tr(context), mini_app=_mini_app(context)))


async def orders_page_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """‹ Previous / Next ›: another page of the list, in place."""
    status = await get_backorder_status(deps(context).uow(), customer_id(context))
    screen = backorder_card.order_list(
        status.waiting, status.recently_resolved, tr(context), data.ids[0], mini_app=_mini_app(context)
    )
    await show(update.callback_query, screen)


async def orders_at_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """« Back from an item: the page of the list that holds it, in place."""
    status = await get_backorder_status(deps(context).uow(), customer_id(context))
    screen = backorder_card.order_list_at(
        status.waiting, status.recently_resolved, data.ids[0], tr(context), mini_app=_mini_app(context)
    )
    await show(update.callback_query, screen)


async def line_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Show one item's card: its ETA and why, and what the customer can do about it."""
    t = tr(context)
    try:
        line = await get_line_view(deps(context).uow(), customer_id(context), data.ids[0])
    except DomainError as refused:
        # The press was answered already (button_pressed answers first), so say it in the chat.
        await reply(update, domain_error(refused, t))
        return
    if line.status in OPEN_LINE_STATUSES:
        screen = backorder_card.backorder_card(line, t, mini_app=_mini_app(context))
    else:
        screen = backorder_card.resolved_card(line, t)
    await present(update, screen)


async def show_order(update: Update, context: ContextTypes.DEFAULT_TYPE, order_number: str) -> None:
    """An order number mentioned in the chat: that order's items, if it is the customer's."""
    t = tr(context)
    try:
        order = await get_order_status(deps(context).uow(), customer_id(context), order_number)
    except OrderNotFound:
        await reply(update, conversation.order_not_found(order_number, t))
        return
    waiting = [line for line in order.lines if line.status in OPEN_LINE_STATUSES]
    resolved = [line for line in order.lines if line.status not in OPEN_LINE_STATUSES]
    await reply(update, backorder_card.order_list(waiting, resolved, t, paged=False, mini_app=_mini_app(context)))


def _mini_app(context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """The Mini App's address for this chat's buttons; none before the chat is linked, which the app would only refuse."""
    return deps(context).mini_app_url if customer_id(context) is not None else None
