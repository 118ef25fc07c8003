"""A ticket's place in the support group: its topic and context card, notices about it, and a new topic when
its old one was deleted."""

import logging

from telegram import Bot, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.render import support as render
from bot.render.phrases import topic_name
from bot.render.screen import Screen
from bot.render.screen_limits import check_screen
from bot.services.support.tickets import ClosedTicket, TicketView, attach_topic, get_ticket, ticket_context
from bot.support.group import SupportGroup

log = logging.getLogger(__name__)


def thread_gone(error: TelegramError) -> bool:
    """Telegram's answer for a topic that was deleted."""
    text = str(error).lower()
    return isinstance(error, BadRequest) and ("thread not found" in text or "topic_id_invalid" in text or "topic_deleted" in text)


async def post_ticket(desk: SupportGroup, bot: Bot, ticket_id: int, *, replacing_thread_id: int | None = None) -> TicketView:
    """Open the ticket's topic (where the group has topics) and post its context card there as the first post."""
    context = await ticket_context(desk.uow(), ticket_id)
    thread_id = None
    if await desk.uses_topics(bot):
        try:
            topic = await bot.create_forum_topic(desk.chat_id, topic_name(context, desk.t))
            thread_id = topic.message_thread_id
        except BadRequest as refused:
            log.warning("could not open a topic for ticket %s (%s); posting it in the General topic", ticket_id, refused)
    card = render.context_card(context, desk.tz, desk.t)
    message = await _send(bot, desk.chat_id, card, thread_id)
    ticket = await attach_topic(desk.uow(), ticket_id, thread_id, message.message_id, replacing_thread_id=replacing_thread_id)
    if replacing_thread_id is not None and thread_id is not None:
        await _send(bot, desk.chat_id, render.continues_here(desk.t), thread_id)
    return ticket


async def ensure_posted(desk: SupportGroup, bot: Bot, ticket_id: int) -> TicketView:
    """The ticket, posted to the group if it was not yet (its posting failed, or a restart came between)."""
    async with desk.topic_lock(ticket_id):
        ticket = await get_ticket(desk.uow(), ticket_id)
        if ticket.context_message_id is not None:
            return ticket
        return await post_ticket(desk, bot, ticket_id)


async def reopen_topic(desk: SupportGroup, bot: Bot, ticket_id: int, deleted_thread_id: int) -> TicketView:
    """The ticket's topic was deleted: say so in the General topic and open a new one with a fresh context card."""
    async with desk.topic_lock(ticket_id):
        ticket = await get_ticket(desk.uow(), ticket_id)
        if ticket.topic_thread_id != deleted_thread_id:
            return ticket  # replaced already
        log.warning("the topic of ticket %s was deleted; opening a new one", ticket_id)
        await _send_quietly(bot, desk.chat_id, render.topic_replaced(ticket_id, desk.t), None)
        return await post_ticket(desk, bot, ticket_id, replacing_thread_id=deleted_thread_id)


async def close_topic(desk: SupportGroup, bot: Bot, ticket: TicketView) -> None:
    """Close the ticket's topic, if it has one; a topic deleted or closed by hand meanwhile is fine."""
    if ticket.topic_thread_id is None:
        return
    try:
        await bot.close_forum_topic(desk.chat_id, ticket.topic_thread_id)
    except TelegramError as failed:
        log.info("could not close the topic of ticket %s: %s", ticket.id, failed)


async def ticket_closed(desk: SupportGroup, bot: Bot, closed: ClosedTicket, notice: Screen) -> None:
    """After a ticket was closed: `notice` in its topic, the topic closed, and the customer's ✅ Resolved button gone."""
    if closed.already_closed:
        return
    await notify(desk, bot, closed.ticket, notice)
    await close_topic(desk, bot, closed.ticket)
    await _remove_resolved_button(bot, closed.ticket)


async def _remove_resolved_button(bot: Bot, ticket: TicketView) -> None:
    """Left in place, the button would close a ticket that is closed already; a message deleted meanwhile is fine."""
    if ticket.resolved_button_message_id is None:
        return
    try:
        await bot.edit_message_reply_markup(ticket.customer_chat_id, ticket.resolved_button_message_id, reply_markup=None)
    except TelegramError as failed:
        log.info("could not remove the Resolved button of ticket %s: %s", ticket.id, failed)


async def notify(desk: SupportGroup, bot: Bot, ticket: TicketView, screen: Screen) -> None:
    """Tell the group something about a ticket: in its topic; without one, as a reply to its context card.

    Where the topic is gone, in the General topic. A notice that cannot be posted is only logged.
    """
    try:
        await _send(bot, desk.chat_id, screen, ticket.topic_thread_id, reply_to=None if ticket.topic_thread_id else ticket.context_message_id)
        return
    except TelegramError as failed:
        if not thread_gone(failed):
            log.warning("could not post a notice about ticket %s: %s", ticket.id, failed)
            return
    await _send_quietly(bot, desk.chat_id, Screen(f"#{ticket.id}: {screen.text}"), None)


async def _send(bot: Bot, chat_id: int, screen: Screen, thread_id: int | None, *, reply_to: int | None = None) -> Message:
    check_screen(screen)
    return await bot.send_message(
        chat_id,
        screen.text,
        message_thread_id=thread_id,
        reply_markup=screen.keyboard,
        parse_mode=ParseMode.HTML,
        disable_web_page_preview=True,
        reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None,
    )


async def _send_quietly(bot: Bot, chat_id: int, screen: Screen, thread_id: int | None) -> None:
    try:
        await _send(bot, chat_id, screen, thread_id)
    except TelegramError as failed:
        log.warning("could not post in the support group: %s", failed)
