"""The buttons under a delay notice: agree to wait, or cancel for a full refund."""

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.handlers.chat import customer_id, deps, reply, tr
from bot.handlers.orders import line_button
from bot.render import delay_notice as render
from bot.render.callback_data import Action, CallbackData
from bot.render.cancel import cancelled
from bot.render.errors import domain_error
from bot.render.screen import Screen
from bot.services.backorders.delay_notices import agree_to_wait, cancel_for_refund, delay_notice_line
from bot.services.errors import DelayNoticeNotFound, DomainError
from db.models import DelayResponse


async def agree(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Record that the customer waits for the new date; the notice keeps its text and loses its buttons."""
    customer, notice_id = customer_id(context), data.ids[0]
    try:
        answer = await agree_to_wait(deps(context).uow(), customer, notice_id)
    except DomainError as refused:
        await _refused(update, context, notice_id, refused)
        return
    if answer.response is None:
        await _current_state(update, context, answer.line_id, render.no_longer_waiting(tr(context)))
        return
    if answer.already_done and answer.response != DelayResponse.AGREED:
        await _current_state(update, context, answer.line_id, render.already_answered(tr(context)))
        return
    await _close_notice(update)
    await reply(update, render.agreed(answer, tr(context)))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Cancel the delayed item and owe its refund, as the customer's own cancel (a repeated press changes nothing)."""
    customer, notice_id = customer_id(context), data.ids[0]
    try:
        answer = await cancel_for_refund(deps(context).uow(), customer, notice_id)
    except DomainError as refused:
        await _refused(update, context, notice_id, refused)
        return
    await _close_notice(update)
    await reply(update, cancelled(answer.cancel, tr(context)))


async def _refused(update: Update, context: ContextTypes.DEFAULT_TYPE, notice_id: int, refused: DomainError) -> None:
    """A newer notice, or an item that can no longer be cancelled: say so and show the item as it is now."""
    t = tr(context)
    if isinstance(refused, DelayNoticeNotFound):
        await reply(update, domain_error(refused, t))
        return
    line_id = await delay_notice_line(deps(context).uow(), customer_id(context), notice_id)
    await _current_state(update, context, line_id, domain_error(refused, t))


async def _current_state(update: Update, context: ContextTypes.DEFAULT_TYPE, line_id: int, why: Screen) -> None:
    await reply(update, why)
    await line_button(update, context, CallbackData(Action.LINE, (line_id,)))


async def _close_notice(update: Update) -> None:
    """Take the buttons off the answered notice; its words stay in the chat, as the customer read them."""
    try:
        await update.callback_query.edit_message_reply_markup(reply_markup=None)
    except BadRequest:
        pass  # already without buttons (a second press), or too old to edit: nothing to take off
