"""Several `serve` instances behind one webhook URL, on PostgreSQL: a chat's updates may land on any of them and
are still handled once each, in the order Telegram numbered them, and an instance that dies loses none."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.clock import ManualClock
from bot.i18n import translator
from bot.metrics import BotMetrics
from bot.sandbox import FakeBotApi
from bot.services.conversations.update_inbox import begin_handling, chat_lease, store_update, waiting_updates
from bot.services.job_leases import hold_lease
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from bot.telegram_app import build_application
from bot.web.app import build_web_app
from bot.web.app_keys import WEBHOOK_INBOX
from bot.webhook_inbox import CHAT_LEASE, SWEEP_EVERY_SECONDS
from db.engine import create_engine, create_session_factory
from db.models import Customer, ProcessedUpdate
from tests.e2e.chat_shop import ANNA_EMAIL, ANNA_ORDER, annas_backorder
from tests.e2e.chat_driver import read_scalar
from tests.e2e.test_webhook import HELP, SECRET, WebhookBot, deps_for, help_request, processed_updates

t = translator("en")
ASK_EMAIL = t.gettext("Thanks! Now the e-mail address you used for order {order}, please.").format(order=ANNA_ORDER)
CONNECTED = t.gettext("Thanks, {name} — you're connected. Here are your orders:").format(name="Anna")


@pytest.fixture
async def instances(
    engine: AsyncEngine, fake_api: FakeBotApi, database_url: str, is_postgres: bool, clock: ManualClock, policy: ShopPolicy
) -> AsyncIterator[list[WebhookBot]]:
    """Two instances of the bot: each its own engine, Application and web server, one database and Bot API."""
    if not is_postgres:
        pytest.skip("several instances need PostgreSQL; on SQLite one instance serves and its updates queue in memory")
    async with AsyncExitStack() as stack:
        bots = []
        for _ in range(2):
            own = create_engine(database_url)
            stack.push_async_callback(own.dispose)
            deps = deps_for(fake_api, create_session_factory(own), clock, policy, webhook_secret=SECRET)
            application = build_application(deps)
            await stack.enter_async_context(application)
            await application.start()
            stack.push_async_callback(application.stop)
            client = await stack.enter_async_context(TestClient(TestServer(build_web_app(deps, application, BotMetrics()))))
            bots.append(WebhookBot(fake_api, application, BotMetrics(), client))
        yield bots


async def settle(bots: list[WebhookBot]) -> None:
    for bot in bots:
        await bot.settled()


async def test_a_customers_two_quick_messages_on_two_instances_are_handled_in_order(
    instances: list[WebhookBot], fake_api: FakeBotApi, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    shop = await annas_backorder(session, uow)
    first, second = instances
    anna = fake_api.add_user("Anna")
    order_number = fake_api.send_text(anna, f"hi, my order is {ANNA_ORDER}")
    email = fake_api.send_text(anna, ANNA_EMAIL)

    # Telegram posts the next update as soon as the first got its 200; the load balancer picks the other instance.
    assert (await first.deliver(order_number)).status == 200
    assert (await second.deliver(email)).status == 200
    await settle(instances)

    texts = [message.text for message in fake_api.bot_messages(anna.id)]
    assert texts[:2] == [ASK_EMAIL, CONNECTED]
    linked = await read_scalar(session_factory, select(Customer.telegram_user_id).where(Customer.id == shop.anna.id))
    assert linked == anna.id


async def test_an_update_delivered_to_two_instances_is_handled_once(
    instances: list[WebhookBot], fake_api: FakeBotApi, session_factory
) -> None:
    update = help_request(fake_api)
    # The first instance was slow to answer, so Telegram (or the load balancer) delivered it again elsewhere.
    assert [(await bot.deliver(update)).status for bot in instances] == [200, 200]
    await settle(instances)

    assert len(fake_api.bot_messages(update["message"]["chat"]["id"])) == 1
    assert await processed_updates(session_factory) == 1


async def test_the_updates_of_an_instance_that_died_are_handled_by_another(
    instances: list[WebhookBot], fake_api: FakeBotApi, uow: UnitOfWork, clock: ManualClock, session_factory
) -> None:
    update = help_request(fake_api)
    chat_id = update["message"]["chat"]["id"]
    # An instance stored the update, answered 200, took the chat, began handling it (claiming it as handled) and was
    # killed before it answered.
    await store_update(uow, update["update_id"], chat_id, update)
    assert await hold_lease(uow, chat_lease(chat_id), "killed-instance", CHAT_LEASE) is not None
    [begun] = await waiting_updates(uow, chat_id, 10)
    await begin_handling(uow, begun, "killed-instance")
    async with session_factory() as session:
        session.add(ProcessedUpdate(update_id=update["update_id"], processed_at=clock.now()))
        await session.commit()

    clock.advance(seconds=CHAT_LEASE.total_seconds() + SWEEP_EVERY_SECONDS + 1)
    reply = await fake_api.wait_for_reply(update, timeout=4 * SWEEP_EVERY_SECONDS)

    assert reply.text == HELP
    await settle(instances)
    assert len(fake_api.bot_messages(chat_id)) == 1
    assert await waiting_updates(uow, chat_id, 10) == []
