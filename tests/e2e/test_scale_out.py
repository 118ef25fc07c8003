"""The bot scaled out on PostgreSQL, as deployed: three `backorder-bot serve` processes behind a round-robin load
balancer, two `backorder-bot deliver` processes, and a Bot API enforcing 30 messages a second and one a second per
chat. Customers chat (with double taps on buttons) while a broadcast goes out; then one instance is killed with
SIGKILL and the rest carry on. Nothing is lost or handled twice, each chat's answers come in order, Telegram never
answers 429, and the daily jobs run once."""

import asyncio
import signal
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.i18n import translator
from bot.render import conversation
from bot.sandbox import FakeBotApi, FakeUser, RateLimits
from bot.webhook_inbox import CHAT_LEASE, SWEEP_EVERY_SECONDS
from db.models import OutboxStatus, ProcessedUpdate, WebhookUpdate
from tests.e2e.instances import Telegram, bot_environment, free_port, launch, load_balancer, started, until_healthy
from tests.outbox_queue import broadcast_text, outbox_rows, queue
from tests.shop import add_customer, add_order, add_product

Sessions = async_sessionmaker[AsyncSession]
HELP = conversation.help_menu(translator("en")).text
CHATTERS = 6
RECIPIENTS = 210  # at 30 a second, seven seconds: longer than the first round, shorter than all three
ROUNDS = 3  # each round: /help, /orders, a double tap on the first item; one instance is killed after round 1
KILLED_AFTER = 1
# Seconds an answer may take: a second or two when the machine is quiet; a loaded CI machine needs the headroom, and
# only a lost answer should fail the test.
ANSWER_WITHIN = 60


async def shop(sessions: Sessions, chatters: list[FakeUser]) -> None:
    """Each chatting customer waits on a headset, so /orders lists it with a button."""
    async with sessions() as session:
        headset = await add_product(session, "HS-1", name="Studio Headset", lead_time_days=30)
        for user in chatters:
            customer = await add_customer(session, user.first_name)
            customer.telegram_user_id = user.id
            await add_order(session, customer, [(headset, 1)], placed_at=datetime.now(timezone.utc) - timedelta(days=3))
        await session.commit()


async def chat(fake: FakeBotApi, telegram: Telegram, session: aiohttp.ClientSession, user: FakeUser, rounds: range) -> None:
    """/help, /orders, then the first item's button tapped twice in quick succession, each as soon as the answer to
    the one before came: the answers keep to Telegram's one message a second per chat, whichever instance sends them."""
    for _ in rounds:
        help_request = fake.send_command(user, "help")
        await telegram.push(session, help_request)
        await fake.wait_for_reply(help_request, timeout=ANSWER_WITHIN)
        orders_request = fake.send_command(user, "orders")
        await telegram.push(session, orders_request)
        listing = await fake.wait_for_reply(orders_request, timeout=ANSWER_WITHIN)
        button = listing.inline_keyboard[0][0]["callback_data"]
        first = fake.press_button(user, listing, button)
        second = fake.press_button(user, listing, button)
        await telegram.push(session, first)
        await telegram.push(session, second)  # the double tap: the next update, most likely on another instance


async def until_handled(sessions: Sessions, timeout: float) -> None:
    for _ in range(int(timeout / 0.1)):
        if not await count(sessions, WebhookUpdate):
            return
        await asyncio.sleep(0.1)
    async with sessions() as session:
        left = (await session.execute(select(WebhookUpdate.update_id, WebhookUpdate.chat_key, WebhookUpdate.started_by))).all()
    raise AssertionError(f"updates still waiting after {timeout} s: {left}")


async def count(sessions: Sessions, model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.postgres_only
async def test_three_instances_and_two_senders_lose_and_repeat_nothing_even_when_one_is_killed(
    fake_api: FakeBotApi, session_factory: Sessions, database_url: str, is_postgres: bool, tmp_path: Path
) -> None:
    if not is_postgres:
        pytest.skip("several instances share one database only on PostgreSQL; SQLite is one process's database")
    fake = fake_api
    chatters = [fake.add_user(f"Chatter{i}") for i in range(CHATTERS)]
    recipients = [fake.add_user(f"Recipient{i}") for i in range(RECIPIENTS)]
    for user in recipients:
        fake.send_command(user, "start")  # a bot may only write to users who opened the chat
    await shop(session_factory, chatters)
    fake.enforce_rate_limits(RateLimits(per_chat_per_second=1, global_per_second=30))

    ports = [free_port() for _ in range(3)]
    servers = [
        launch(f"serve-{i}", "serve", bot_environment(fake, database_url, WEB_PORT=str(port), OUTBOX_WORKERS="0"), tmp_path)
        for i, port in enumerate(ports)
    ]
    senders = [launch(f"deliver-{i}", "deliver", bot_environment(fake, database_url, OUTBOX_WORKERS="2"), tmp_path) for i in range(2)]
    with started(servers + senders):
        await asyncio.gather(*(until_healthy(port, server) for port, server in zip(ports, servers)))
        queued_a_minute_ago = ManualClock(datetime.now(timezone.utc) - timedelta(minutes=1))
        broadcast_ids = await queue(session_factory, queued_a_minute_ago, [broadcast_text(u.id, "Winter sale") for u in recipients])
        async with load_balancer(ports) as (balancer, port), aiohttp.ClientSession() as session:
            telegram = Telegram(port)
            await asyncio.gather(*(chat(fake, telegram, session, user, range(KILLED_AFTER)) for user in chatters))
            broadcast_left = sum(1 for u in recipients if not fake.bot_messages(u.id))
            servers[0].popen.send_signal(signal.SIGKILL)  # mid-way, under load
            servers[0].popen.wait()
            await asyncio.gather(*(chat(fake, telegram, session, user, range(KILLED_AFTER, ROUNDS)) for user in chatters))
            await fake.wait_until(
                lambda: sum(1 for u in recipients if fake.bot_messages(u.id)) == RECIPIENTS, timeout=120, what="the broadcast"
            )
            # What the killed instance had taken is handled elsewhere once its chats' leases run out.
            await until_handled(session_factory, timeout=CHAT_LEASE.total_seconds() + 3 * SWEEP_EVERY_SECONDS + 10)
        outputs = [server.output() for server in servers]

    # Every update pushed was handled, once.
    async with session_factory() as check:
        handled = set(await check.scalars(select(ProcessedUpdate.update_id)))
    assert set(telegram.pushed) <= handled
    taps = [r.params["callback_query_id"] for r in fake.requests("answerCallbackQuery") if r.ok]
    assert len(taps) == len(set(taps)) == CHATTERS * ROUNDS * 2
    # Each chat's answers came in the order the customer wrote: help, list, help, list, ...
    for user in chatters:
        answers = [m.text == HELP for m in fake.bot_messages(user.id)]
        assert answers == [True, False] * ROUNDS, f"{user.first_name}: {[m.text[:60] for m in fake.bot_messages(user.id)]}"
    # The broadcast, still going when the instance was killed, reached everyone once; Telegram refused nothing.
    assert broadcast_left > 0
    assert all([m.text for m in fake.bot_messages(u.id)] == ["Winter sale"] for u in recipients)
    assert all(row.status is OutboxStatus.SENT for row in await outbox_rows(session_factory, broadcast_ids))
    assert Counter((v.scope, v.chat_id) for v in fake.rate_limit_violations) == Counter()
    # The daily jobs ran in one instance; the killed one's updates went elsewhere.
    assert sum(output.count("daily jobs:") for output in outputs) == 1, outputs
    assert len(balancer.routed) == 3 and all(balancer.routed.values())
