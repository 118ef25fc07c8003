"""Talk to a person: /support and the button on an item's card.

With a support group set up (SUPPORT_CHAT_ID) this opens a ticket there; without one, or before the chat is
linked to an order, it says how to reach a person.
"""

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.chat import deps, reply, show, tr
from bot.handlers.support import escalate
from bot.render import conversation
from bot.render.callback_data import CallbackData
from bot.services.support.tickets import Escalation, EscalationKind


async def support(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/support: a person from the support team, or how to reach one."""
    if await escalate(update, context, Escalation(EscalationKind.ASKED)):
        return
    await reply(update, conversation.reach_a_person(deps(context).settings.support_contact, tr(context)))


async def human_button(update: Update, context: ContextTypes.DEFAULT_TYPE, data: CallbackData) -> None:
    """"Talk to a person" on an item's card: a ticket about that item."""
    line_id = data.ids[0] or None
    if await escalate(update, context, Escalation(EscalationKind.ITEM if line_id else EscalationKind.ASKED, line_id)):
        return
    await show(update.callback_query, conversation.reach_a_person(deps(context).settings.support_contact, tr(context)))
