"""The support group: agents answer customers in a ticket's topic, and use the ticket's tools there.

These handlers run before the customer chat's intake (see telegram_app) and stop the update there, so the
customer chat's rules never apply in the support group; each claims its update itself. Only agents (see
bot/support/agents.py) can act on a ticket: anyone else is refused and nothing changes.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import TypeVar

from telegram import Message, ReplyParameters, Update, User
from telegram.constants import ParseMode
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.handlers.chat import answer_press, menu_buttons
from bot.i18n import SUPPORTED_LANGUAGES, translator
from bot.render import conversation
from bot.render import support as render
from bot.render.callback_data import AGENT_ACTIONS, Action, CallbackData, InvalidCallbackData, parse_callback_data
from bot.render.errors import domain_error
from bot.render.screen import Screen
from bot.render.screen_limits import check_screen
from bot.services.audit import Actor
from bot.services.backorders.cancel import preview_cancel
from bot.services.backorders.status import get_line_view
from bot.services.conversations.chat_session import claim_update, resolve_language
from bot.services.errors import CannedReplyNotFound, DomainError, TicketClosed
from bot.services.support.canned_replies import canned_reply_for, list_canned_replies, save_canned_reply
from bot.services.support.ticket_relay import queue_agent_message
from bot.services.support.ticket_tools import cancel_for_customer, offer_alternatives, ticket_for_tools
from bot.services.support.tickets import (
    TicketView,
    assign_ticket,
    close_ticket,
    find_ticket,
    ticket_queue,
)
from bot.support.desk import SupportDesk, support_desk
from bot.support.topics import notify, ticket_closed

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]
T = TypeVar("T")
_LINE_NUMBER = re.compile(r"\d{1,16}")


@dataclass(frozen=True)
class Agent:
    """An agent acting in the support group, checked with Telegram."""

    desk: SupportDesk
    user: User

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.full_name


def in_support_group(handler: Handler) -> Handler:
    """Run the handler, then stop: nothing meant for the customer chat runs on a support group update."""

    @wraps(handler)
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await handler(update, context)
        raise ApplicationHandlerStop

    return run


# ---- messages in a ticket's topic ---------------------------------------------------------------


@in_support_group
async def group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message in the support group: an agent's, in a ticket's topic (or replying to it), goes to the customer.

    Messages starting with # are notes for the team and / starts a command: both stay in the group.
    """
    desk, message, user = support_desk(context), update.message, update.effective_user
    if desk is None or message is None or user is None or user.is_bot or _is_service(message):
        return
    if (message.text or message.caption or "").startswith(("#", "/")):
        return
    ticket = await _ticket_of(desk, message)
    if ticket is None:
        return  # the team talking among themselves
    if not await _is_agent(context, desk, user):
        await _answer(message, render.not_relayed_not_agent(desk.t))
        return
    try:
        queued = await queue_agent_message(desk.uow(), update.update_id, ticket.id, user.id, message.chat_id, message.message_id)
    except TicketClosed:
        await _answer(message, render.ticket_is_closed(ticket.id, desk.t))
        return
    if queued.relay_id is not None:
        await desk.relay.deliver(context.bot, queued.relay_id)


@in_support_group
async def other_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Edits and anything else in the support group: nothing to do (an edit is not relayed again)."""


# ---- commands -----------------------------------------------------------------------------------


@in_support_group
async def close_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/close: close the ticket and its topic, and ask the customer to rate the help."""
    found = await _agent_and_ticket(update, context)
    if found:
        await _close(context, found[0], found[1].id, update.effective_message)


@in_support_group
async def assign_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/assign: the ticket is mine."""
    found = await _agent_and_ticket(update, context)
    if found:
        await _assign(context, found[0], found[1].id, update.effective_message)


@in_support_group
async def cancel_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel N: ask to confirm cancelling the customer's item N (as on the context card)."""
    found = await _agent_and_ticket(update, context, needs_line="cancel")
    if found:
        await _ask_cancel(found[0], found[1].id, found[2], update.effective_message)


@in_support_group
async def alternatives_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/alternatives N: send the customer the alternatives for their item N, with the usual buttons."""
    found = await _agent_and_ticket(update, context, needs_line="alternatives")
    if found:
        await _send_alternatives(context, found[0], found[1].id, found[2], update.effective_message)


@in_support_group
async def eta_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/eta N: post item N's current ship date to the customer."""
    found = await _agent_and_ticket(update, context, needs_line="eta")
    if found:
        await _post_eta(context, found[0], found[1].id, found[2], update.effective_message)


@in_support_group
async def reply_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reply KEY: send a canned reply, in the customer's language where it has one."""
    agent = await _agent(update, context)
    message = update.effective_message
    if agent is None:
        return
    key = context.args[0] if context.args else ""
    if not key:
        await _answer(message, render.usage("reply", agent.desk.t))
        return
    ticket = await _ticket_of(agent.desk, message)
    if ticket is None:
        await _answer(message, render.no_ticket_here(agent.desk.t))
        return
    desk = agent.desk
    try:
        canned = await canned_reply_for(desk.uow(), key, ticket.language)
    except CannedReplyNotFound:
        await _answer(message, render.canned_missing(key, [ticket.language or desk.default_language, desk.default_language], desk.t))
        return
    await _post_for_customer(context, agent, ticket, Screen(canned.text), "ticket.canned_reply_sent", key=canned.key, language=canned.language)


@in_support_group
async def canned_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/canned add KEY [language] text, /canned list."""
    agent = await _agent(update, context)
    message = update.effective_message
    if agent is None:
        return
    desk = agent.desk
    words = (message.text or "").split(maxsplit=2)
    if len(words) >= 2 and words[1].lower() == "list":
        await _answer(message, render.canned_list(await list_canned_replies(desk.uow()), desk.t))
        return
    parsed = _canned_addition(words[2] if len(words) == 3 and words[1].lower() == "add" else "")
    if parsed is None:
        await _answer(message, render.usage("canned", desk.t))
        return
    key, language, text = parsed
    language = language or resolve_language(None, None, agent.user.language_code, desk.default_language)
    try:
        saved = await save_canned_reply(desk.uow(), key, language, text, agent.id)
    except DomainError as refused:
        await _answer(message, domain_error(refused, desk.t))
        return
    await _answer(message, render.canned_saved(saved, desk.t))


@in_support_group
async def queue_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/queue: the open tickets, how long each has waited, who has it, and which are past the response target."""
    agent = await _agent(update, context)
    if agent is None:
        return
    await _answer(update.effective_message, await _queue(context, agent, 1))


async def _queue(context: ContextTypes.DEFAULT_TYPE, agent: Agent, page: int) -> Screen:
    desk = agent.desk
    tickets = await ticket_queue(desk.uow(), desk.response_target_minutes)
    assignees = {ticket.assignee_telegram_id for ticket in tickets if ticket.assignee_telegram_id}
    names = {user_id: await desk.agents.name_of(context.bot, user_id) for user_id in assignees}
    return render.queue(tickets, names, desk.response_target_minutes, desk.t, page)


# ---- the context card's buttons -----------------------------------------------------------------


def is_agent_payload(data: object) -> bool:
    """Whether a button press carries one of the agent tools (wherever it was pressed)."""
    try:
        return isinstance(data, str) and parse_callback_data(data).action in AGENT_ACTIONS
    except InvalidCallbackData:
        return False


@in_support_group
async def agent_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button of the agent tools: only in the support group, only for agents."""
    query = update.callback_query
    desk = support_desk(context)
    data = parse_callback_data(query.data)
    if desk is None or query.message is None or query.message.chat.id != desk.chat_id:
        await answer_press(query, conversation.invalid_button(desk.t if desk else translator(None)).text, alert=True)
        return
    if not await claim_update(desk.uow(), update.update_id):
        return
    if not await _is_agent(context, desk, query.from_user):
        await answer_press(query, render.not_an_agent(desk.t).text, alert=True)
        return
    try:  # act first, answer after, as for the customer's buttons (handlers/buttons.py)
        await _use_tool(context, Agent(desk, query.from_user), data, query.message)
    finally:
        await answer_press(query)


async def _use_tool(context: ContextTypes.DEFAULT_TYPE, agent: Agent, data: CallbackData, message: Message) -> None:
    ticket_id = data.ids[0]
    line_id = data.ids[1] if len(data.ids) > 1 else 0
    if data.action is Action.AGENT_CANCEL_ASK:
        await _ask_cancel(agent, ticket_id, line_id, message)
    elif data.action is Action.AGENT_CANCEL_CONFIRM:
        await _cancel(context, agent, ticket_id, line_id, message)
    elif data.action is Action.AGENT_KEEP:
        await _edit(message, render.agent_kept(agent.desk.t))
    elif data.action is Action.AGENT_ALTERNATIVES:
        await _send_alternatives(context, agent, ticket_id, line_id, message)
    elif data.action is Action.AGENT_ETA:
        await _post_eta(context, agent, ticket_id, line_id, message)
    elif data.action is Action.AGENT_ASSIGN:
        await _assign(context, agent, ticket_id, message)
    elif data.action is Action.AGENT_CLOSE:
        await _close(context, agent, ticket_id, message)
    elif data.action is Action.AGENT_QUEUE_PAGE:
        await _edit(message, await _queue(context, agent, data.ids[0]))
    elif data.action is Action.AGENT_CANNED_PAGE:
        await _edit(message, render.canned_list(await list_canned_replies(agent.desk.uow()), agent.desk.t, data.ids[0]))


# ---- the tools ----------------------------------------------------------------------------------


async def _ask_cancel(agent: Agent, ticket_id: int, line_id: int, message: Message) -> None:
    desk = agent.desk
    found = await _for_customer(agent, ticket_id, line_id, message, lambda customer: preview_cancel(desk.uow(), customer, line_id))
    if found:
        await _answer(message, render.confirm_agent_cancel(ticket_id, found[1], desk.t))


async def _cancel(context: ContextTypes.DEFAULT_TYPE, agent: Agent, ticket_id: int, line_id: int, message: Message) -> None:
    """Cancel for the customer: the same rules and refund as their own cancel, recorded as the agent's."""
    desk = agent.desk
    try:
        result = await cancel_for_customer(desk.uow(), ticket_id, line_id, agent.id)
    except DomainError as refused:
        await _edit(message, render.agent_error(refused, line_id, desk.t))
        return
    await _edit(message, render.agent_cancelled(result, agent.name, desk.t))


async def _send_alternatives(context: ContextTypes.DEFAULT_TYPE, agent: Agent, ticket_id: int, line_id: int, message: Message) -> None:
    """The customer gets the ordinary alternatives screen, with its buttons; the team sees what was offered."""
    desk = agent.desk
    try:
        offered = await offer_alternatives(desk.uow(), ticket_id, line_id, agent.id)
    except DomainError as refused:
        await _answer(message, render.agent_error(refused, line_id, desk.t))
        return
    if not offered.result.alternatives:
        await _answer(message, render.alternatives_sent(offered.result, agent.name, desk.t))
    elif not offered.queued:
        await notify(desk, context.bot, offered.ticket, render.customer_unreachable(desk.t))
    else:
        await notify(desk, context.bot, offered.ticket, render.alternatives_sent(offered.result, agent.name, desk.t))


async def _post_eta(context: ContextTypes.DEFAULT_TYPE, agent: Agent, ticket_id: int, line_id: int, message: Message) -> None:
    desk = agent.desk
    found = await _for_customer(agent, ticket_id, line_id, message, lambda customer: get_line_view(desk.uow(), customer, line_id))
    if not found:
        return
    ticket, line = found
    screen = render.eta_for_customer(line, desk.customer_translator(ticket))
    await _post_for_customer(context, agent, ticket, screen, "ticket.eta_sent", line_id=line_id)


async def _post_for_customer(
    context: ContextTypes.DEFAULT_TYPE, agent: Agent, ticket: TicketView, screen: Screen, action: str, **details: object
) -> None:
    """Post a text in the ticket's topic and relay it to the customer as if the agent had written it."""
    desk = agent.desk
    check_screen(screen)
    posted = await context.bot.send_message(
        desk.chat_id,
        screen.text,
        message_thread_id=ticket.topic_thread_id,
        parse_mode=ParseMode.HTML,
        reply_parameters=(
            None if ticket.topic_thread_id or not ticket.context_message_id
            else ReplyParameters(ticket.context_message_id, allow_sending_without_reply=True)
        ),
    )
    try:
        queued = await queue_agent_message(desk.uow(), None, ticket.id, agent.id, desk.chat_id, posted.message_id, action=action, **details)
    except TicketClosed:
        await _answer(posted, render.ticket_is_closed(ticket.id, desk.t))
        return
    if queued.relay_id is not None:
        await desk.relay.deliver(context.bot, queued.relay_id)


async def _assign(context: ContextTypes.DEFAULT_TYPE, agent: Agent, ticket_id: int, message: Message) -> None:
    desk = agent.desk
    desk.agents.note_name(agent.id, agent.name)
    try:
        assignment = await assign_ticket(desk.uow(), ticket_id, agent.id)
    except DomainError as refused:
        await _answer(message, render.agent_error(refused, None, desk.t))
        return
    await notify(desk, context.bot, assignment.ticket, render.assigned(assignment, agent.name, desk.t))


async def _close(context: ContextTypes.DEFAULT_TYPE, agent: Agent, ticket_id: int, message: Message) -> None:
    """Close the ticket; the customer is asked to rate the help through the outbox (see close_ticket)."""
    desk = agent.desk
    try:
        closed = await close_ticket(desk.uow(), ticket_id, Actor.agent(agent.id))
    except DomainError as refused:
        await _answer(message, render.agent_error(refused, None, desk.t))
        return
    if closed.already_closed:
        await _answer(message, render.already_closed(closed.ticket, desk.t))
        return
    await ticket_closed(desk, context.bot, closed, render.closed_by_agent(closed.ticket, agent.name, desk.t))


# ---- shared steps -------------------------------------------------------------------------------


async def _is_agent(context: ContextTypes.DEFAULT_TYPE, desk: SupportDesk, user: User) -> bool:
    """Whether the user may act as an agent; one who may gets the console behind their own chat's menu button,
    as listed agents do: a member of the support group may be known to the bot only from here."""
    if not await desk.agents.is_agent(context.bot, user.id):
        return False
    language = resolve_language(None, None, user.language_code, desk.default_language)
    await menu_buttons(context).agent_acted(context.bot, user.id, language)
    return True


async def _agent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Agent | None:
    """The agent giving a command, once per update; anyone else is told no and nothing happens."""
    desk, user, message = support_desk(context), update.effective_user, update.effective_message
    if desk is None or user is None or message is None or not await claim_update(desk.uow(), update.update_id):
        return None
    if not await _is_agent(context, desk, user):
        await _answer(message, render.not_an_agent(desk.t))
        return None
    return Agent(desk, user)


async def _agent_and_ticket(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, needs_line: str | None = None
) -> tuple[Agent, TicketView, int] | None:
    """The agent, the ticket whose topic the command was given in and, where `needs_line`, the item number."""
    agent = await _agent(update, context)
    if agent is None:
        return None
    message = update.effective_message
    line_id = 0
    if needs_line is not None:
        argument = context.args[0] if context.args else ""
        if not _LINE_NUMBER.fullmatch(argument):
            await _answer(message, render.usage(needs_line, agent.desk.t))
            return None
        line_id = int(argument)
    ticket = await _ticket_of(agent.desk, message)
    if ticket is None:
        await _answer(message, render.no_ticket_here(agent.desk.t))
        return None
    return agent, ticket, line_id


async def _ticket_of(desk: SupportDesk, message: Message) -> TicketView | None:
    """The ticket a message in the support group is about: by its topic, else by the ticket message it replies to."""
    thread_id = message.message_thread_id if message.is_topic_message else None
    replied = message.reply_to_message
    reply_id = replied.message_id if replied is not None and replied.message_id != thread_id else None
    if thread_id is None and reply_id is None:
        return None
    return await find_ticket(desk.uow(), desk.chat_id, thread_id=thread_id, reply_to_message_id=reply_id)


async def _for_customer(
    agent: Agent, ticket_id: int, line_id: int, message: Message, load: Callable[[int], Awaitable[T]]
) -> tuple[TicketView, T] | None:
    """The open ticket and what `load` finds for its customer; a refusal is answered in the group, giving None."""
    try:
        ticket = await ticket_for_tools(agent.desk.uow(), ticket_id)
        return ticket, await load(ticket.customer_id)
    except DomainError as refused:
        await _answer(message, render.agent_error(refused, line_id, agent.desk.t))
        return None


def _canned_addition(text: str) -> tuple[str, str | None, str] | None:
    """'KEY text' or 'KEY de text' → (key, language or None, text)."""
    parts = text.split(maxsplit=1)
    if len(parts) != 2:
        return None
    key, rest = parts
    language, _, after = rest.partition(" ")
    if language.lower() in SUPPORTED_LANGUAGES and after.strip():
        return key, language.lower(), after.strip()
    return key, None, rest.strip()


def _is_service(message: Message) -> bool:
    """A notice such as "topic created", rather than something a person wrote."""
    return message.text is None and message.caption is None and message.effective_attachment is None


async def _answer(message: Message, screen: Screen) -> None:
    check_screen(screen)
    await message.reply_text(screen.text, reply_markup=screen.keyboard, parse_mode=ParseMode.HTML, disable_web_page_preview=True)


async def _edit(message: object, screen: Screen) -> None:
    check_screen(screen)
    await message.edit_text(screen.text, reply_markup=screen.keyboard, parse_mode=ParseMode.HTML)  # type: ignore[attr-defined]

