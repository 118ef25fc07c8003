"""The bot scaled out on PostgreSQL, as deployed: three `backorder-bot serve` processes behind a round-robin load
balancer, two `backorder-bot deliver` processes, and a Bot API enforcing 30 messages a second and one a second per
chat. Customers chat (with double taps on buttons) while a broadcast goes out; then one instance is killed with
SIGKILL and the rest carry on. Nothing is lost or handled twice, each chat's answers come in order, Telegram never
answers 429, and the daily jobs run once."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.i18n import translator
from bot.render import conversation
from bot.sandbox import FakeBotApi, FakeUser, RateLimits
from bot.sandbox.chat_objects import JSON
from bot.web.telegram_webhook import SECRET_HEADER, WEBHOOK_PATH
from bot.webhook_inbox import CHAT_LEASE, SWEEP_EVERY_SECONDS
from db.models import OutboxStatus, ProcessedUpdate, WebhookUpdate
from tests.e2e.chat_bot import SECRET_KEY
from tests.outbox_queue import broadcast_text, outbox_rows, queue
from tests.shop import add_customer, add_order, add_product

Sessions = async_sessionmaker[AsyncSession]
SECRET = "scale-out-webhook-secret"
HELP = conversation.help_menu(translator("en")).text
BACKORDER_BOT = Path(sys.executable).with_name("backorder-bot")
CHATTERS = 6
RECIPIENTS = 450  # at 30 a second, longer than the customers chat
ROUNDS = 4  # each round: /help, /orders, a double tap on the first item; one instance is killed after round 2


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class LoadBalancer:
    """Round-robin over the serve instances; a request an instance cannot take goes to the next one."""

    ports: list[int]
    turn: int = 0
    routed: Counter[int] = field(default_factory=Counter)

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name: value for name, value in request.headers.items() if name.lower() in {SECRET_HEADER.lower(), "content-type"}}
        for _ in range(len(self.ports)):
            port = self.ports[self.turn % len(self.ports)]
            self.turn += 1
            try:
                async with self.session.post(f"http://127.0.0.1:{port}{request.path}", data=body, headers=headers) as answer:
                    self.routed[port] += 1
                    return web.Response(status=answer.status, body=await answer.read(), content_type="application/json")
            except aiohttp.ClientError:
                continue  # that instance is gone: the next one
        return web.Response(status=502)

    session: aiohttp.ClientSession = field(init=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_environment(fake: FakeBotApi, database_url: str, **settings: str) -> dict[str, str]:
    values = {
        "DATABASE_URL": database_url,
        "BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url.removesuffix("/bot"),
        "SECRET_KEY": SECRET_KEY,
        "WEBHOOK_URL": "https://bot.example.com/telegram/webhook",
        "WEBHOOK_SECRET": SECRET,
        "QUIET_HOURS_START": "00:00",
        "QUIET_HOURS_END": "00:00",
        "OUTBOX_RATE_PER_SECOND": "30",
        # The daily jobs run (once); without delay notices, so each chat holds only the answers to its customer.
        "DELAY_NOTICE_POLICY": "off",
    }
    keep = {name: value for name, value in os.environ.items() if name in {"PATH", "HOME", "LANG", "LC_ALL"}}
    return keep | values | settings


@contextmanager
def started(processes: list[Process]) -> Iterator[list[Process]]:
    try:
        yield processes
    finally:
        for process in processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()


def launch(name: str, command: str, environment: dict[str, str], folder: Path) -> Process:
    log = folder / f"{name}.log"
    popen = subprocess.Popen(
        [str(BACKORDER_BOT), command], env=environment, cwd=folder, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    return Process(name, popen, log)


async def until_healthy(port: int, process: Process, timeout: float = 120.0) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(int(timeout / 0.2)):
            assert process.popen.poll() is None, f"{process.name} stopped:\n{process.output()}"
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{process.name} did not answer /healthz within {timeout} s:\n{process.output()}")


@asynccontextmanager
async def load_balancer(ports: list[int]) -> AsyncIterator[tuple[LoadBalancer, int]]:
    balancer = LoadBalancer(ports)
    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, balancer.forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with aiohttp.ClientSession() as session:
        balancer.session = session
        try:
            yield balancer, port
        finally:
            await runner.cleanup()


class Telegram:
    """Pushes a chat's updates to the webhook one at a time, each once it got a 200, and again until it does."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        self.pushed: list[int] = []
        self.retries = 0

    async def push(self, session: aiohttp.ClientSession, update: JSON) -> None:
        async with asyncio.timeout(60):
            while True:
                try:
                    async with session.post(self.url, json=update, headers={SECRET_HEADER: SECRET}) as answer:
                        if answer.status == 200:
                            self.pushed.append(update["update_id"])
                            return
                except aiohttp.ClientError:
                    pass
                self.retries += 1
                await asyncio.sleep(0.5)


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
    """/help, /orders, then the first item's button tapped twice in quick succession; each message a second after
    the answer to the one before, as a person reads and writes (and as Telegram's one message a second per chat
    allows the answers: a reply does not wait for its chat's limit)."""
    for _ in rounds:
        help_request = fake.send_command(user, "help")
        await telegram.push(session, help_request)
        await fake.wait_for_reply(help_request, timeout=15)
        await asyncio.sleep(1.1)
        orders_request = fake.send_command(user, "orders")
        await telegram.push(session, orders_request)
        listing = await fake.wait_for_reply(orders_request, timeout=15)
        button = listing.inline_keyboard[0][0]["callback_data"]
        first = fake.press_button(user, listing, button)
        second = fake.press_button(user, listing, button)
        await telegram.push(session, first)
        await telegram.push(session, second)  # the double tap: the next update, most likely on another instance
        await asyncio.sleep(1.1)


async def until_handled(sessions: Sessions, timeout: float) -> None:
    for _ in range(int(timeout / 0.5)):
        if not await count(sessions, WebhookUpdate):
            return
        await asyncio.sleep(0.5)
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
        for port, server in zip(ports, servers):
            await until_healthy(port, server)
        queued_a_minute_ago = ManualClock(datetime.now(timezone.utc) - timedelta(minutes=1))
        broadcast_ids = await queue(session_factory, queued_a_minute_ago, [broadcast_text(u.id, "Winter sale") for u in recipients])
        async with load_balancer(ports) as (balancer, port), aiohttp.ClientSession() as session:
            telegram = Telegram(port)
            await asyncio.gather(*(chat(fake, telegram, session, user, range(ROUNDS // 2)) for user in chatters))
            broadcast_left = sum(1 for u in recipients if not fake.bot_messages(u.id))
            servers[0].popen.send_signal(signal.SIGKILL)  # mid-way, under load
            servers[0].popen.wait()
            await asyncio.gather(*(chat(fake, telegram, session, user, range(ROUNDS // 2)) for user in chatters))
            await fake.wait_until(
                lambda: sum(1 for u in recipients if fake.bot_messages(u.id)) == RECIPIENTS, timeout=60, what="the broadcast"
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
