"""The support desk: the support group with its agents and relay worker, started and stopped with the Application.

On start the bot checks that it can post in SUPPORT_CHAT_ID and whether it can open topics there (see
`bot/support/group.py`), and says clearly in the log what is wrong if not; the customer side runs on regardless.
"""

import logging

from telegram import Bot, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.business_hours import parse_business_hours
from bot.composition import ChatDeps
from bot.config import Settings
from bot.render.support import agent_command_menu
from bot.services.support.tickets import TicketPolicy
from bot.support.agents import AgentDirectory
from bot.support.group import SupportGroup
from bot.support.relay import RelayWorker

log = logging.getLogger(__name__)

DESK_KEY = "support_desk"


class SupportDesk(SupportGroup):
    """The support group plus what runs in it: the agents' directory and the relay worker."""

    def __init__(self, deps: ChatDeps) -> None:
        super().__init__(deps)
        settings = deps.settings
        self.response_target_minutes = settings.response_target_minutes
        self.policy = TicketPolicy(self.chat_id, parse_business_hours(settings.business_hours), settings.response_target_minutes)
        self.agents = AgentDirectory(self.chat_id, settings.agent_user_ids)
        self.relay = RelayWorker(self)

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


def ticket_policy(settings: Settings) -> TicketPolicy | None:
    """The ticket rules of SUPPORT_CHAT_ID; None when no support group is set up."""
    if settings.support_chat_id is None:
        return None
    return TicketPolicy(settings.support_chat_id, parse_business_hours(settings.business_hours), settings.response_target_minutes)


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
