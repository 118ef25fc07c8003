"""The support desk: the support group as the bot sees it, started and stopped with the Application.

On start the bot checks that it can post in SUPPORT_CHAT_ID and whether it can open topics there, and says
clearly in the log what is wrong if not; the customer side runs on regardless.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from telegram import Bot, BotCommandScopeChat, ChatMemberRestricted
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.business_hours import parse_business_hours
from bot.handlers.chat import ChatDeps
from bot.i18n import Translator, translator
from bot.render.support import agent_command_menu
from bot.services.support.tickets import TicketPolicy, TicketView
from bot.services.unit_of_work import UnitOfWork
from bot.support.agents import AgentDirectory
from bot.support.relay import RelayWorker

log = logging.getLogger(__name__)

DESK_KEY = "support_desk"
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


class SupportDesk:
    def __init__(self, deps: ChatDeps) -> None:
        settings = deps.settings
        assert settings.support_chat_id is not None
        self.deps = deps
        self.chat_id: int = settings.support_chat_id
        self.default_language = settings.default_language
        self.response_target_minutes = settings.response_target_minutes
        self.policy = TicketPolicy(self.chat_id, parse_business_hours(settings.business_hours), settings.response_target_minutes)
        self.agents = AgentDirectory(self.chat_id, settings.agent_user_ids)
        self.t: Translator = translator(settings.default_language)  # the support group's language
        self.relay = RelayWorker(self)
        self._check: GroupCheck | None = None
        self._checked_at = 0.0
        self._topic_locks: dict[int, asyncio.Lock] = {}

    @property
    def tz(self) -> ZoneInfo:
        return self.deps.clock.tz

    def uow(self) -> UnitOfWork:
        return self.deps.uow()

    def customer_translator(self, ticket: TicketView) -> Translator:
        return translator(ticket.language or self.default_language)

    def topic_lock(self, ticket_id: int) -> asyncio.Lock:
        """Held while a ticket's topic is opened or replaced, so it happens once."""
        return self._topic_locks.setdefault(ticket_id, asyncio.Lock())

    async def start(self, bot: Bot) -> None:
        if (await self.check(bot)).can_post:
            await self._announce_agent_commands(bot)
        self.relay.start(bot)

    async def _announce_agent_commands(self, bot: Bot) -> None:
        """The agents' command menu, in the support group only; a refusal is logged, not fatal."""
        try:
            await bot.set_my_commands(agent_command_menu(self.t), scope=BotCommandScopeChat(self.chat_id))
        except TelegramError as refused:
            log.warning("could not set the support group's command menu: %s", refused)

    async def stop(self) -> None:
        await self.relay.stop()

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


def install_support_desk(application: Application) -> SupportDesk | None:  # type: ignore[type-arg]
    """The desk for SUPPORT_CHAT_ID, kept in bot_data; None when no support group is set up."""
    deps: ChatDeps = application.bot_data["deps"]
    if deps.settings.support_chat_id is None:
        return None
    desk = SupportDesk(deps)
    application.bot_data[DESK_KEY] = desk
    return desk


def support_desk(context: ContextTypes.DEFAULT_TYPE) -> SupportDesk | None:
    return context.application.bot_data.get(DESK_KEY)


async def start_support_desk(application: Application) -> None:  # type: ignore[type-arg]
    desk: SupportDesk | None = application.bot_data.get(DESK_KEY)
    if desk is not None:
        await desk.start(application.bot)


async def stop_support_desk(application: Application) -> None:  # type: ignore[type-arg]
    desk: SupportDesk | None = application.bot_data.get(DESK_KEY)
    if desk is not None:
        await desk.stop()
