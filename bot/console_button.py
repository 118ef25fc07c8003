"""The console as a Mini App behind the menu button of each merchant's chat and each agent's, and the customers'
Mini App behind theirs, each labelled in the chat's language.

Offered only where Telegram can open it: PUBLIC_URL on https, as Telegram demands of Mini Apps, or a loopback
address, which only the sandbox's Telegram stand-in can reach (the demo). The console is set per chat, so the
customers' menu button stays what it is everywhere else. Telegram keeps one default button for every chat
(named in the shop's language, bot/telegram_app.py) and takes no language for it, so a chat whose person speaks
another language gets its own, once their language is known: when they write to the bot. Staff listed in
MERCHANT_USER_IDS and AGENT_USER_IDS get the console when the bot starts; agents known only as members of the
support group get it the first time they act there as agents.
"""

import logging
from urllib.parse import urlsplit

from telegram import Bot, MenuButtonWebApp, WebAppInfo
from telegram.error import TelegramError

from bot.config import Settings
from bot.i18n import translator

MENU_BUTTONS_KEY = "menu_buttons"

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


class MenuButtons:
    """Each private chat's menu button in its person's language: the console for staff, the Mini App for customers.

    Remembers what it set in each chat while the process runs, so a chat is asked once, not on every update; a
    restart asks again the first time each person writes.
    """

    def __init__(self, settings: Settings, mini_app_url: str | None) -> None:
        self._console_url = console_mini_app_url(settings.public_url)
        self._public_url = settings.public_url
        self._mini_app_url = mini_app_url
        self._default_language = settings.default_language
        self._listed_staff = staff_chats(settings)
        self._staff = set(self._listed_staff)
        self._set: dict[int, tuple[str, str]] = {}  # chat id -> (what, language)

    async def offer_console(self, bot: Bot) -> int:
        """The console behind the menu button of every listed staff chat, in the shop's language until they write;
        how many took it (a refusal is logged, not fatal)."""
        if self._console_url is None:
            if self._listed_staff and self._public_url:
                log.warning("console: PUBLIC_URL is not https, so merchants get no console button in Telegram")
            return 0
        return sum([await self._put(bot, chat_id, "console", self._default_language) for chat_id in self._listed_staff])

    async def person_wrote(self, bot: Bot, chat_id: int, language: str) -> None:
        """Someone wrote in their private chat with the bot, in `language`: staff see the console, customers the Mini App."""
        if chat_id in self._staff:
            await self._put(bot, chat_id, "console", language)
        elif self._set.get(chat_id, ("mini_app", self._default_language)) != ("mini_app", language):
            # The default button already speaks the shop's language; any other needs the chat's own.
            await self._put(bot, chat_id, "mini_app", language)

    async def agent_acted(self, bot: Bot, user_id: int, language: str) -> None:
        """A support-group member acted as an agent: their private chat gets the console, like a listed agent's."""
        self._staff.add(user_id)
        await self._put(bot, user_id, "console", language)

    async def _put(self, bot: Bot, chat_id: int, what: str, language: str) -> bool:
        url = self._console_url if what == "console" else self._mini_app_url
        if url is None or self._set.get(chat_id) == (what, language):
            return False
        words = translator(language)
        text = words.gettext("Console") if what == "console" else words.gettext("Track my items")
        try:
            await bot.set_chat_menu_button(chat_id=chat_id, menu_button=MenuButtonWebApp(text, WebAppInfo(url)))
        except TelegramError as refused:
            # Most often the person has not started the bot yet; the next start of the bot, or their next
            # message, tries again.
            log.warning("menu button: could not set it in chat %s: %s", chat_id, refused)
            return False
        self._set[chat_id] = (what, language)
        return True
