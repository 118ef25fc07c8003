"""Talking to a person, the customer's side: opening a ticket, relaying what they send while it is open,
marking it resolved and rating the help."""

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.handlers.chat import customer_id, deps, intake, present, reply, show, tr
from bot.render import conversation
from bot.render import support as render
from bot.render.callback_data import REFUSAL_CODES, CallbackData
from bot.render.errors import domain_error
from bot.services.audit import Actor
from bot.services.conversations.chat_session import HelpAfterMisunderstanding, misunderstood_message, reset_misunderstood
from bot.services.errors import DomainError
from bot.services.support.ticket_relay import queue_customer_message
from bot.services.support.tickets import (
    Escalation,
    EscalationKind,
    close_ticket,
    note_resolved_button,
    open_ticket,
    rate_ticket,
)
from bot.support.desk import support_desk
from bot.support.topics import ensure_posted, notify, ticket_closed

log = logging.getLogger(__name__)


async def escalate(update: Update, context: ContextTypes.DEFAULT_TYPE, escalation: Escalation) -> bool:
    """Open (or continue) the customer's ticket and say when a person will answer.

    False where there is nobody to hand over to: no support group set up or reachable, or a chat that is
    not linked to a customer yet; the caller then says how to reach a person.
    """
    desk = support_desk(context)
    customer = customer_id(context)
    if desk is None or customer is None or update.effective_chat is None or not await desk.available(context.bot):
        return False
    t = tr(context)
    try:
        opened = await open_ticket(desk.uow(), customer, update.effective_chat.id, escalation, desk.policy)
    except DomainError as refused:  # a forged button naming someone else's item
        await present(update, domain_error(refused, t))
        return True
    try:
        await ensure_posted(desk, context.bot, opened.ticket.id)
    except TelegramError as failed:
        # The ticket is safe in the database; the relay worker posts it once the group can be reached.
        log.warning("could not post ticket %s to the support group yet: %s", opened.ticket.id, failed)
    shown = await present(update, render.ticket_opened(opened.ticket, opened.answer, opened.created, t))
    if shown is not None:
        await note_resolved_button(desk.uow(), opened.ticket.id, shown)
    return True


async def customer_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """While the customer's ticket is open, whatever they send goes to the support group, and nothing else answers."""
    desk = support_desk(context)
    message, user = update.effective_message, update.effective_user
    if desk is None or message is None or user is None or user.is_bot:
        return
    queued = await queue_customer_message(desk.uow(), update.update_id, user.id, message.chat_id, message.message_id)
    if queued is None:
        return  # no open ticket: the bot answers as usual
    if queued.relay_id is not None:
        await desk.relay.deliver(context.bot, queued.relay_id)
    raise ApplicationHandlerStop


async def misunderstood(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message the bot did not understand: the help, until the shop's policy hands the customer to a person."""
    answer = await misunderstood_message(deps(context).uow(), update.effective_user.id)
    if answer is HelpAfterMisunderstanding.PERSON and await escalate(update, context, Escalation(EscalationKind.MISUNDERSTOOD)):
        await _relay_this_message(update, context)
        return
    await reply(update, conversation.help_menu(tr(context)))


async def understood(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot understood the customer: their run of misunderstood messages is over."""
    current = intake(context)
    if current is not None and current.misunderstood_in_a_row:
        await reset_misunderstood(deps(context).uow(), current.telegram_user_id)


async def say_refused(update: Update, context: ContextTypes.DEFAULT_TYPE, refused: DomainError, line_id: int) -> None:
    """Why an action is not allowed; where a person could help and a support group is set up, with that offer."""
    t = tr(context)
    if support_desk(context) is not None and refused.code in REFUSAL_CODES.values():
        await reply(update, render.refused_with_help(refused, line_id, t))
    else:
        await reply(update, domain_error(refused, t))


async def escalate_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """"Talk to a person" under a refusal: a ticket that says what was refused, for which item."""
    line_id, refusal = data.ids
    if not await escalate(update, context, Escalation(EscalationKind.REFUSED, line_id, REFUSAL_CODES[refusal])):
        await show(update.callback_query, conversation.reach_a_person(deps(context).settings.support_contact, tr(context)))


async def resolved_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """Close the ticket the customer marked resolved, and its topic, then ask them to rate the help."""
    customer = customer_id(context)
    t = tr(context)
    try:
        closed = await close_ticket(deps(context).uow(), data.ids[0], Actor.customer(customer), customer_id=customer)
    except DomainError as refused:
        await show(update.callback_query, domain_error(refused, t))
        return
    desk = support_desk(context)
    if desk is not None:
        await ticket_closed(desk, context.bot, closed, render.closed_by_customer(closed.ticket, desk.t))
    await show(update.callback_query, render.rate_request(closed.ticket.id, t))


async def rate_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """1–5 stars for the help; the first rating stands."""
    ticket_id, stars = data.ids
    t = tr(context)
    try:
        rating = await rate_ticket(deps(context).uow(), customer_id(context), ticket_id, stars)
    except DomainError as refused:
        await show(update.callback_query, domain_error(refused, t))
        return
    await show(update.callback_query, render.rated(rating, t))
    desk = support_desk(context)
    if desk is not None and not rating.already_rated:
        await notify(desk, context.bot, rating.ticket, render.customer_rated(rating, desk.t))


async def _relay_this_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The message that made the bot give up goes to the agents first, so they see what was asked."""
    desk = support_desk(context)
    message = update.effective_message
    if desk is None or message is None:
        return
    queued = await queue_customer_message(desk.uow(), None, update.effective_user.id, message.chat_id, message.message_id)
    if queued is not None and queued.relay_id is not None:
        await desk.relay.deliver(context.bot, queued.relay_id)

