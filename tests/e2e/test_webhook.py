"""Telegram's webhook into our real bot: only requests with the secret are handled, and the reply reaches the
(fake) Bot API server; and `serving` sets the webhook, or long-polls without one."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import Application

from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.config import Settings
from bot.i18n import translator
from bot.metrics import BotMetrics
from bot.render import conversation
from bot.sandbox import FakeBotApi
from bot.sandbox.chat_objects import JSON
from bot.services.unit_of_work import ShopPolicy
from bot.telegram_app import build_application
from bot.web.app import build_web_app
from bot.web.app_keys import WEBHOOK_INBOX
from bot.web.telegram_webhook import SECRET_HEADER, WEBHOOK_PATH
from bot.web_jobs import configuration_problem, serving
from db.models import ProcessedUpdate
from tests.e2e.chat_bot import chat_settings

SECRET = "webhook-secret_0123456789"
KEY = "k" * 32  # SECRET_KEY: the shortest serve accepts
HELP = conversation.help_menu(translator("en")).text


@dataclass
class WebhookBot:
    fake: FakeBotApi
    application: Application  # type: ignore[type-arg]
    metrics: BotMetrics
    client: TestClient

    async def deliver(self, update: Any, secret: str | None = SECRET) -> aiohttp.ClientResponse:
        """Telegram posting `update` (JSON, or raw bytes) to the webhook with `secret` in the header."""
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        if isinstance(update, bytes):
            return await self.client.post(WEBHOOK_PATH, data=update, headers=headers)
        return await self.client.post(WEBHOOK_PATH, json=update, headers=headers)

    async def settled(self) -> None:
        """Every queued or stored update handled."""
        await self.application.update_queue.join()
        if (inbox := self.client.app.get(WEBHOOK_INBOX)) is not None:
            await inbox.settled()


async def processed_updates(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(ProcessedUpdate))).scalar_one()


def deps_for(fake: FakeBotApi, sessions: async_sessionmaker[AsyncSession], clock: ManualClock, policy: ShopPolicy, **settings: Any) -> ChatDeps:
    return ChatDeps(chat_settings(fake, **settings), sessions, clock, policy)


@pytest.fixture
async def webhook_bot(fake_api: FakeBotApi, session_factory, clock: ManualClock, policy: ShopPolicy) -> AsyncIterator[WebhookBot]:
    """Our Application started without polling, behind the web app's webhook route."""
    deps = deps_for(fake_api, session_factory, clock, policy, webhook_secret=SECRET)
    application = build_application(deps)
    metrics = BotMetrics()
    async with application:
        await application.start()
        async with TestClient(TestServer(build_web_app(deps, application, metrics))) as client:
            yield WebhookBot(fake_api, application, metrics, client)
        await application.stop()


def help_request(fake: FakeBotApi) -> JSON:
    update = fake.send_command(fake.add_user("Ada"), "help")
    assert update is not None
    return update


async def test_an_update_with_the_secret_is_handled_and_the_reply_arrives(webhook_bot: WebhookBot, session_factory) -> None:
    update = help_request(webhook_bot.fake)

    response = await webhook_bot.deliver(update)

    assert response.status == 200
    reply = await webhook_bot.fake.wait_for_reply(update)
    assert reply.text == HELP
    await webhook_bot.settled()
    assert await processed_updates(session_factory) == 1


@pytest.mark.parametrize(("secret", "status"), [(None, 401), ("wrong-secret", 403), (SECRET + "x", 403), ("", 403)])
async def test_an_update_without_the_right_secret_is_refused_and_never_seen(
    webhook_bot: WebhookBot, session_factory, secret: str | None, status: int
) -> None:
    update = help_request(webhook_bot.fake)

    response = await webhook_bot.deliver(update, secret=secret)

    assert response.status == status
    assert (await response.json())["error"]["code"] == ("missing_secret" if secret is None else "wrong_secret")
    assert webhook_bot.application.update_queue.qsize() == 0
    await webhook_bot.settled()
    assert await processed_updates(session_factory) == 0
    assert webhook_bot.fake.requests("sendMessage") == []
    assert webhook_bot.metrics.registry.get_sample_value("backorder_telegram_updates_handled_total") == 0


NESTED_100_000_DEEP = b'{"update_id": 7, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}', b'{"update_id": 7, "message": "hi"}', NESTED_100_000_DEEP],
    ids=["not json", "a list", "no update_id", "a text update_id", "a text message", "nested 100,000 deep"],
)
async def test_a_malformed_update_is_a_400_and_not_queued(webhook_bot: WebhookBot, body: bytes) -> None:
    response = await webhook_bot.deliver(body)

    assert response.status == 400
    assert (await response.json())["error"]["code"] == "malformed_update"
    assert webhook_bot.application.update_queue.qsize() == 0


async def test_without_a_configured_secret_the_webhook_accepts_nothing(
    fake_api: FakeBotApi, session_factory, clock: ManualClock, policy: ShopPolicy
) -> None:
    deps = deps_for(fake_api, session_factory, clock, policy, webhook_secret="")
    application = build_application(deps)
    async with TestClient(TestServer(build_web_app(deps, application))) as client:
        response = await client.post(WEBHOOK_PATH, json=help_request(fake_api), headers={SECRET_HEADER: ""})

    assert response.status == 403
    assert application.update_queue.qsize() == 0


async def test_serving_with_a_webhook_url_tells_telegram_where_and_with_which_secret(
    fake_api: FakeBotApi, session_factory, clock: ManualClock, policy: ShopPolicy
) -> None:
    url = "https://shop.example/telegram/webhook"
    deps = deps_for(fake_api, session_factory, clock, policy, webhook_url=url, webhook_secret=SECRET)

    async with serving(deps, "127.0.0.1", 0) as server, aiohttp.ClientSession() as http:
        assert fake_api.webhook["url"] == url
        assert fake_api.webhook["secret_token"] == SECRET
        assert server.receives_by == "webhook"
        update = help_request(fake_api)
        async with http.post(
            f"http://127.0.0.1:{server.port}{WEBHOOK_PATH}", json=update, headers={SECRET_HEADER: SECRET}
        ) as response:
            assert response.status == 200
        assert (await fake_api.wait_for_reply(update)).text == HELP
        await server.application.update_queue.join()
    assert fake_api.requests("getUpdates") == []


async def test_serving_without_a_webhook_url_long_polls(
    fake_api: FakeBotApi, session_factory, clock: ManualClock, policy: ShopPolicy
) -> None:
    deps = deps_for(fake_api, session_factory, clock, policy)

    async with serving(deps, "127.0.0.1", 0) as server:
        assert server.receives_by == "polling"
        update = help_request(fake_api)
        assert (await fake_api.wait_for_reply(update)).text == HELP
        await fake_api.wait_until(lambda: fake_api.is_confirmed(update), what="the update confirmed")
        await server.application.update_queue.join()
    assert fake_api.webhook == {}


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"bot_token": ""}, "BOT_TOKEN"),
        ({"secret_key": ""}, "SECRET_KEY is not set"),
        ({"secret_key": "x"}, "secrets.token_urlsafe(32)"),
        ({"secret_key": "a" * 31}, "at least 32"),
        ({"webhook_url": "http://shop.example/telegram/webhook", "webhook_secret": SECRET}, "https://"),
        ({"webhook_url": "https://shop.example/telegram/webhook", "webhook_secret": ""}, "WEBHOOK_SECRET"),
        ({"webhook_url": "https://shop.example/telegram/webhook", "webhook_secret": "has spaces"}, "WEBHOOK_SECRET"),
    ],
)
def test_serve_refuses_a_configuration_it_cannot_run_safely(settings: dict[str, str], complaint: str) -> None:
    problem = configuration_problem(Settings(_env_file=None, **({"bot_token": "1:token", "secret_key": KEY} | settings)))

    assert problem is not None and complaint in problem


def test_a_polling_or_webhook_configuration_is_accepted() -> None:
    assert configuration_problem(Settings(_env_file=None, bot_token="1:token", secret_key=KEY)) is None
    assert configuration_problem(
        Settings(
            _env_file=None, bot_token="1:token", secret_key=KEY, webhook_url="https://shop.example/telegram/webhook", webhook_secret=SECRET
        )
    ) is None
