"""Every inline button press arrives here: answered, parsed, checked, then handed to its action."""

from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers import (
    alternatives,
    cancel,
    delay_notice,
    human,
    language,
    merchant,
    notifications,
    orders,
    privacy,
    support,
)
from bot.handlers.chat import answer_press, customer_id, deps, reply, tr
from bot.render import conversation
from bot.render.callback_data import AGENT_ACTIONS, Action, CallbackData, InvalidCallbackData, parse_callback_data

ButtonAction = Callable[[Update, ContextTypes.DEFAULT_TYPE, CallbackData], Awaitable[None]]

# Actions that change something; on a message older than the shop's policy allows they show the current state instead.
_CHANGING = {Action.CANCEL_CONFIRM, Action.PICK_CONFIRM}

_ACTIONS: dict[Action, ButtonAction] = {
    Action.ORDERS: orders.orders_button,
    Action.ORDERS_PAGE: orders.orders_page_button,
    Action.ORDERS_AT: orders.orders_at_button,
    Action.LINE: orders.line_button,
    Action.CANCEL_ASK: cancel.ask,
    Action.CANCEL_CONFIRM: cancel.confirm,
    Action.ALTERNATIVES: alternatives.offer,
    Action.PICK_ASK: alternatives.ask,
    Action.PICK_CONFIRM: alternatives.confirm,
    Action.HUMAN: human.human_button,
    Action.ESCALATE: support.escalate_button,
    Action.RESOLVED: support.resolved_button,
    Action.RATE: support.rate_button,
    Action.LANGUAGE: language.language_button,
    Action.DELAY_AGREE: delay_notice.agree,
    Action.DELAY_CANCEL: delay_notice.cancel,
    Action.NOTIFICATIONS: notifications.notifications_button,
    Action.BROADCAST_AUDIENCE: merchant.audience_button,
    Action.BROADCAST_SKIP: merchant.skip_button,
    Action.BROADCAST_SEND: merchant.send_button,
    Action.BROADCAST_SEND_URGENT: merchant.send_button,
    Action.BROADCAST_ABORT: merchant.abort_button,
    Action.BROADCAST_CATEGORY: merchant.category_button,
    Action.BACKORDERS_PAGE: merchant.backorders_page_button,
    Action.PRIVACY: privacy.privacy_button,
    Action.PRIVACY_EXPORT: privacy.export_button,
    Action.PRIVACY_FORGET_ASK: privacy.forget_ask,
    Action.PRIVACY_FORGET_CONFIRM: privacy.forget_confirm,
}
# Actions for people who need no linked order: choosing a language, their data, the merchants' broadcast buttons.
_NO_CUSTOMER_NEEDED = {
    Action.LANGUAGE,
    Action.PRIVACY,
    Action.PRIVACY_EXPORT,
    Action.PRIVACY_FORGET_ASK,
    Action.PRIVACY_FORGET_CONFIRM,
    Action.BROADCAST_AUDIENCE,
    Action.BROADCAST_SKIP,
    Action.BROADCAST_SEND,
    Action.BROADCAST_SEND_URGENT,
    Action.BROADCAST_ABORT,
    Action.BROADCAST_CATEGORY,
    Action.BACKORDERS_PAGE,
}


async def button_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a button press; forged, foreign or stale presses change nothing."""
    query = update.callback_query
    t = tr(context)
    try:
        data = parse_callback_data(query.data)
    except InvalidCallbackData:
        await answer_press(query, conversation.invalid_button(t).text, alert=True)
        return
    if data.action in AGENT_ACTIONS:  # the agent tools work in the support group only (handlers/agent_tools.py)
        await answer_press(query, conversation.invalid_button(t).text, alert=True)
        return
    # Act first, answer after: the answer only stops the button's spinner, and Telegram refuses it for a press
    # that waited in a backlog, which must not cost the customer what they confirmed.
    try:
        await _act(update, context, data)
    finally:
        await answer_press(query)


async def _act(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """The press's action, for a linked customer (where it needs one) on a button not a week old."""
    if data.action not in _NO_CUSTOMER_NEEDED and customer_id(context) is None:
        await reply(update, conversation.not_linked(tr(context)))
        return
    if data.action in _CHANGING and _is_stale(update.callback_query.message, context):
        await reply(update, conversation.stale_button(tr(context)))
        await orders.line_button(update, context, CallbackData(Action.LINE, data.ids[:1]))
        return
    await _ACTIONS[data.action](update, context, data)


def _is_stale(message: object, context: ContextTypes.DEFAULT_TYPE) -> bool:
    # A message edited since it was sent shows the buttons of its last edit, so that is their age.
    shown_at = getattr(message, "edit_date", None) or getattr(message, "date", None)
    now, policy = deps(context).clock.now(), deps(context).policy
    return shown_at is not None and now - shown_at > timedelta(days=policy.button_stale_after_days)
