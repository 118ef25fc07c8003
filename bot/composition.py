"""What a running process shares: its settings, database sessions, clock and the shop's policy.

Built once at start (see `bot/wiring.py`) and handed to the Telegram handlers, the web app, the support desk
and the background jobs alike, so it lives below all of them.
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.services.unit_of_work import ShopPolicy, UnitOfWork

MINI_APP_PATH = "/mini-app/"


@dataclass
class ChatDeps:
    """Shared by all handlers (through `application.bot_data`), the web app and the background jobs."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    policy: ShopPolicy
    # The demo's Mini App address: plain http on this machine, which only its sandbox Telegram opens.
    sandbox_mini_app_url: str | None = None

    @property
    def mini_app_url(self) -> str | None:
        """Where web_app buttons open the customers' Mini App: under PUBLIC_URL if https (Telegram opens only https), or the sandbox's."""
        if self.sandbox_mini_app_url:
            return self.sandbox_mini_app_url
        public = self.settings.public_url.rstrip("/")
        return f"{public}{MINI_APP_PATH}" if public.startswith("https://") else None

    def uow(self) -> UnitOfWork:
        """A fresh unit of work; never shared between concurrent updates."""
        return UnitOfWork(self.session_factory, self.clock, self.policy)
