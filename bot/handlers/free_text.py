"""Free text: an e-mail the bot asked for, an order number, a common request, or a short help."""

import re

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers import alternatives, cancel, human, linking
from bot.handlers.chat import deps, intake, reply, tr
from bot.handlers.orders import orders, show_order
from bot.handlers.support import misunderstood, understood
from bot.render import backorder_card, conversation
from bot.render.callback_data import Action, CallbackData
from bot.services.backorders.status import get_backorder_status
from bot.services.conversations.intents import MAX_TEXT_LENGTH, IntentKind, detect_intent

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a typed message by what it asks for."""
    text = update.effective_message.text or ""
    if len(text) > MAX_TEXT_LENGTH:
        await reply(update, conversation.too_long(tr(context)))
        return
    current = intake(context)
    if current is None or current.customer_id is None:
        await _unlinked_text(update, context, text)
        return
    intent = detect_intent(text)
    if intent.order_numbers or intent.kind is not IntentKind.UNKNOWN:
        await understood(context)
    if intent.order_numbers:
        await show_order(update, context, intent.order_numbers[0])
    elif intent.kind is IntentKind.STATUS:
        await orders(update, context)
    elif intent.kind in (IntentKind.CANCEL, IntentKind.ALTERNATIVES):
        await _item_action(update, context, current.customer_id, intent.kind)
    elif intent.kind is IntentKind.HUMAN:
        await human.support(update, context)
    elif intent.kind is IntentKind.GREETING:
        await reply(update, conversation.greeting(tr(context)))
    elif intent.kind is IntentKind.THANKS:
        await reply(update, conversation.thanks(tr(context)))
    else:
        await misunderstood(update, context)


async def _item_action(update: Update, context: ContextTypes.DEFAULT_TYPE, customer: int, kind: IntentKind) -> None:
    """Cancelling and swapping start from an item: the only waiting one straight away, else the list to pick from."""
    status = await get_backorder_status(deps(context).uow(), customer)
    if len(status.waiting) != 1:
        await reply(update, backorder_card.order_list(status.waiting, status.recently_resolved, tr(context)))
        return
    line_id = status.waiting[0].line_id
    if kind is IntentKind.CANCEL:
        await cancel.ask(update, context, CallbackData(Action.CANCEL_ASK, (line_id,)))
    else:
        await alternatives.offer(update, context, CallbackData(Action.ALTERNATIVES, (line_id,)))


async def _unlinked_text(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """Before linking, text is the order number and e-mail (in one message or two)."""
    current = intake(context)
    email = _EMAIL.search(text)
    order_numbers = detect_intent(_EMAIL.sub(" ", text)).order_numbers
    awaiting = current.data.get("order_number") if current and current.state == linking.AWAITING_EMAIL else None
    if email and (order_numbers or awaiting):
        await linking.email_given(update, context, order_numbers[0] if order_numbers else awaiting, email.group(0))
    elif order_numbers:
        await linking.order_number_given(update, context, order_numbers[0])
    elif email:
        await reply(update, conversation.ask_order_number(tr(context)))
    elif detect_intent(text).kind is IntentKind.HUMAN:
        await human.support(update, context)
    else:
        await linking.not_understood(update, context)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help, and any command the bot does not know."""
    await reply(update, conversation.help_menu(tr(context)))
