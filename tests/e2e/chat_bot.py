"""Our real bot, polling the fake Bot API server, on the test database: the end-to-end set-up."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import Application

from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.config import Settings
from bot.delivery import FloodControlRateLimiter, flood_control_for
from bot.sandbox import FakeBotApi
from bot.services.unit_of_work import ShopPolicy
from bot.telegram_app import build_application
from tests.e2e.harness import RunningBot, running_bot

SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


def chat_settings(fake: FakeBotApi, **overrides: Any) -> Settings:
    """Settings aimed at the fake server, as an operator would set TELEGRAM_API_BASE_URL."""
    api_root = fake.base_url.removesuffix("/bot")
    values: dict[str, Any] = {
        "bot_token": fake.token,
        "telegram_api_base_url": api_root,
        "secret_key": SECRET_KEY,
        "shop_name": "Gadget Garage",
        "support_contact": "help@gadget-garage.example",
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


@asynccontextmanager
async def our_bot(
    fake: FakeBotApi,
    session_factory: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    policy: ShopPolicy,
    *,
    flood_limited: bool = False,
    **settings_overrides: Any,
) -> AsyncIterator[RunningBot]:
    """The real Application from build_application, polling `fake`; a restart builds a fresh one. `flood_limited`:
    its replies keep to Telegram's limits through the flood control, as `run` and `serve` set it up."""

    def factory(server: FakeBotApi) -> Application:
        settings = chat_settings(server, **settings_overrides)
        # As wiring.shop_policy does: the services' default language is the one the settings name.
        deps = ChatDeps(settings, session_factory, clock, replace(policy, default_language=settings.default_language))
        if not flood_limited:
            return build_application(deps)
        flood = flood_control_for(settings, session_factory.kw["bind"])
        return build_application(deps, rate_limiter=FloodControlRateLimiter(flood, max_retries=3))

    async with running_bot(fake, factory) as running:
        yield running
