"""The console as a Mini App behind the menu button of each merchant's chat, and of each agent AGENT_USER_IDS
lists (agents known only as members of the support group have no chat with the bot to put it in).

Offered only where Telegram can open it: PUBLIC_URL on https, as Telegram demands of Mini Apps, or a loopback
address, which only the sandbox's Telegram stand-in can reach (the demo). Set per chat, so the customers'
menu button stays what it is everywhere else.
"""

import logging
from urllib.parse import urlsplit

from telegram import Bot, MenuButtonWebApp, WebAppInfo
from telegram.error import TelegramError

from bot.config import Settings
from bot.i18n import translator

log = logging.getLogger(__name__)

CONSOLE_MINI_APP_PATH = "/console/telegram"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def console_mini_app_url(public_url: str) -> str | None:
    """The address the menu button opens, under PUBLIC_URL when Telegram can open it there; else None."""
    public_url = public_url.strip()
    parts = urlsplit(public_url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return f"{public_url.rstrip('/')}{CONSOLE_MINI_APP_PATH}"
    return None


def staff_chats(settings: Settings) -> list[int]:
    """The private chats (a user's chat with the bot has the user's id) that get the console's button."""
    return list(dict.fromkeys([*settings.merchant_user_ids, *settings.agent_user_ids]))


async def offer_console_button(bot: Bot, settings: Settings) -> int:
    """Put the console behind the menu button of every staff chat; how many took it (a refusal is logged, not fatal)."""
    url = console_mini_app_url(settings.public_url)
    chats = staff_chats(settings)
    if url is None:
        if chats and settings.public_url:
            log.warning("console: PUBLIC_URL is not https, so merchants get no console button in Telegram")
        return 0
    button = MenuButtonWebApp(translator(settings.default_language).gettext("Console"), WebAppInfo(url))
    offered = 0
    for chat_id in chats:
        try:
            await bot.set_chat_menu_button(chat_id=chat_id, menu_button=button)
            offered += 1
        except TelegramError as refused:
            # Most often the person has not started the bot yet; the next start of the bot tries again.
            log.warning("console: could not set the console button in chat %s: %s", chat_id, refused)
    return offered
