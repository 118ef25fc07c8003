"""The customer blocked (or stopped) the bot in their private chat: note it, so nobody writes to them in vain."""

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ContextTypes

from bot.handlers.chat import deps
from bot.services.outreach.reachability import mark_bot_blocked

# What Telegram reports as the bot's new status in a private chat once the user has blocked it.
_BLOCKED = (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)


def blocks_bot(update: Update) -> bool:
    """Whether the update is the user blocking the bot in their private chat."""
    change = update.my_chat_member
    return (
        change is not None
        and change.chat.type == ChatType.PRIVATE
        and change.new_chat_member.status in _BLOCKED
    )


async def bot_membership_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Blocked: record it (unblocking needs nothing here: the intake notes any update from the user)."""
    if blocks_bot(update):
        await mark_bot_blocked(deps(context).uow(), update.my_chat_member.from_user.id)
