"""The support group as the bot sees it: what the bot may do there, checked with Telegram, and the locks that
keep a ticket's topic from being opened twice. The desk, its relay worker and the topic helpers all stand on it."""

import asyncio
import logging
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from telegram import Bot, ChatMemberRestricted
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.composition import ChatDeps
from bot.i18n import Translator
from bot.services.support.tickets import TicketView
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

RECHECK_AFTER_SECONDS = 60.0


@dataclass(frozen=True)
class GroupCheck:
    """What the bot may do in the support group."""

    can_post: bool
    is_forum: bool
    can_manage_topics: bool
    problem: str | None = None

    @property
    def uses_topics(self) -> bool:
        return self.can_post and self.is_forum and self.can_manage_topics


class SupportGroup:
    """The support group as the bot sees it: where to post, in what language, and whether topics can be opened."""

    def __init__(self, deps: ChatDeps) -> None:
        settings = deps.settings
        assert settings.support_chat_id is not None
        self.deps = deps
        self.chat_id: int = settings.support_chat_id
        self.default_language = settings.default_language
        self.voice = settings.voice
        self._check: GroupCheck | None = None
        self._checked_at = 0.0
        self._topic_locks: dict[int, asyncio.Lock] = {}

    @property
    def tz(self) -> ZoneInfo:
        return self.deps.clock.tz

    def uow(self) -> UnitOfWork:
        return self.deps.uow()

    @property
    def t(self) -> Translator:
        """The support group's language."""
        return self.voice.translator(self.default_language, self.deps.clock.today())

    def customer_translator(self, ticket: TicketView) -> Translator:
        return self.voice.translator(ticket.language or self.default_language, self.deps.clock.today())

    def topic_lock(self, ticket_id: int) -> asyncio.Lock:
        """Held while a ticket's topic is opened or replaced, so it happens once."""
        return self._topic_locks.setdefault(ticket_id, asyncio.Lock())

    async def check(self, bot: Bot) -> GroupCheck:
        """Ask Telegram what the bot may do in the support group, and log what is missing."""
        self._checked_at = time.monotonic()
        try:
            chat = await bot.get_chat(self.chat_id)
            me = await bot.get_chat_member(self.chat_id, bot.id)
        except TelegramError as failed:
            log.error(
                "SUPPORT_CHAT_ID=%s: the bot cannot reach the support group (%s). Add the bot to the group as an admin; "
                "until then customers who ask for a person are given SUPPORT_CONTACT.",
                self.chat_id, failed,
            )
            self._check = GroupCheck(False, False, False, str(failed))
            return self._check
        admin = me.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
        restricted = isinstance(me, ChatMemberRestricted)
        can_post = admin or me.status == ChatMemberStatus.MEMBER or (restricted and me.can_send_messages)
        can_manage_topics = me.status == ChatMemberStatus.OWNER or (admin and bool(getattr(me, "can_manage_topics", False)))
        self._check = GroupCheck(can_post, bool(chat.is_forum), can_manage_topics)
        if not can_post:
            log.error(
                "SUPPORT_CHAT_ID=%s: the bot may not post in %r. Make it an admin of the group; until then customers who "
                "ask for a person are given SUPPORT_CONTACT.", self.chat_id, chat.title,
            )
        elif not chat.is_forum:
            log.warning(
                "The support group %r has no topics: each ticket is one message there, and agents answer by replying to "
                "it. Turn topics on for a topic per ticket.", chat.title,
            )
        elif not can_manage_topics:
            log.warning(
                "The bot may not manage topics in the support group %r: tickets are posted in its General topic. Make "
                "the bot an admin allowed to manage topics.", chat.title,
            )
        else:
            log.info("Support group %r is ready: one topic per ticket.", chat.title)
        return self._check

    async def available(self, bot: Bot) -> bool:
        """Whether tickets can be posted; after a failed check, asks Telegram again at most once a minute."""
        if self._check is None or (not self._check.can_post and time.monotonic() - self._checked_at > RECHECK_AFTER_SECONDS):
            await self.check(bot)
        assert self._check is not None
        return self._check.can_post

    async def uses_topics(self, bot: Bot) -> bool:
        if self._check is None:
            await self.check(bot)
        assert self._check is not None
        return self._check.uses_topics
