"""Benchmark: chat updates handled per second by 1, 2 and 3 `backorder-bot serve` instances on one PostgreSQL,
behind a round-robin load balancer, as deployed (tests/e2e/test_scale_out.py runs the same processes).

    createdb -h 127.0.0.1 -U postgres bench_scale && .venv/bin/python -m bench.scale_out_updates \
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_scale [--instances 1 2 3] [--customers 600]

The database is emptied before each run (its schema dropped and migrated afresh): give it one of its own.

Every update is a linked customer asking /orders (a database read and a reply with their waiting item). Telegram
pushes each chat's updates one at a time and up to 40 chats' at once (the webhook's default max_connections);
here one customer's first /help, untimed, opens the chat, and a second later (the chat's one message a second)
each customer's /orders is timed, from the first push until the fake Bot API has every answer. The fake Bot API
enforces no flood limit and the bot is configured for 1,000 messages a second, so Telegram's 30 a second does not
cap the figure; replies still book their turn and their chat's in PostgreSQL, as in production.

Everything shares the machine's cores: the serve processes, PostgreSQL, and this process, which runs the fake Bot
API, the load balancer and the pushing. The report gives the CPU the serve processes used per update and the load
average, so a figure taken on a busy machine can be read for what it is.
"""

import argparse
import asyncio
import logging
import os
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
from sqlalchemy import text

from bot.sandbox import FakeBotApi, FakeUser
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade_async
from tests.e2e.harness import fake_bot_api
from tests.e2e.instances import Process, Telegram, bot_environment, free_port, launch, load_balancer, started, until_healthy
from tests.shop import add_customer, add_order, add_product

PUSHING_AT_ONCE = 40  # Telegram's default max_connections for a webhook


def cpu_seconds(process: Process) -> float:
    """User and system CPU seconds the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{process.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def link_customers(url: str, users: list[FakeUser]) -> None:
    """Each user a customer waiting on one item, so /orders lists it."""
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            product = await add_product(session, f"HS-{users[0].id}", name="Studio Headset", lead_time_days=30)
            for user in users:
                customer = await add_customer(session, user.first_name)
                customer.telegram_user_id = user.id
                await add_order(session, customer, [(product, 1)], placed_at=datetime.now(timezone.utc) - timedelta(days=3))
            await session.commit()
    finally:
        await engine.dispose()


async def push_all(telegram: Telegram, session: aiohttp.ClientSession, updates: list[dict[str, object]]) -> None:
    """Push the updates, PUSHING_AT_ONCE at a time."""
    room = asyncio.Semaphore(PUSHING_AT_ONCE)

    async def one(update: dict[str, object]) -> None:
        async with room:
            await telegram.push(session, update)

    await asyncio.gather(*(one(update) for update in updates))


async def measure(url: str, instances: int, customers: int, folder: Path) -> str:
    async with fake_bot_api() as fake:
        users = [fake.add_user(f"Customer{i}") for i in range(customers)]
        await link_customers(url, users)
        ports = [free_port() for _ in range(instances)]
        servers = [
            launch(f"serve-{i}", "serve", bot_environment(fake, url, WEB_PORT=str(port), OUTBOX_WORKERS="0", OUTBOX_RATE_PER_SECOND="1000"), folder)
            for i, port in enumerate(ports)
        ]
        with started(servers):
            await asyncio.gather(*(until_healthy(port, server) for port, server in zip(ports, servers)))
            async with load_balancer(ports) as (_, port), aiohttp.ClientSession() as session:
                telegram = Telegram(port)
                await push_all(telegram, session, [fake.send_command(user, "help") for user in users])
                await fake.wait_until(lambda: fake.sent_message_count >= customers, 120, what="the first answers")
                await asyncio.sleep(1.2)  # each chat's one message a second
                orders = [fake.send_command(user, "orders") for user in users]
                cpu_before = sum(cpu_seconds(server) for server in servers)
                started_at = time.perf_counter()
                await push_all(telegram, session, orders)
                await fake.wait_until(lambda: fake.sent_message_count >= 2 * customers, 300, what="every /orders answer")
                seconds = time.perf_counter() - started_at
                cpu = sum(cpu_seconds(server) for server in servers) - cpu_before
    return (
        f"{instances} serve instance(s): {customers} /orders in {seconds:.1f} s = {customers / seconds:.1f} updates/s;"
        f" {1000 * cpu / customers:.1f} ms of the serve processes' CPU per update;"
        f" load average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


async def empty_database(url: str) -> None:
    """The database as `db upgrade` leaves a new one: each run's customers and updates start afresh."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
    await upgrade_async(url)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for instances in args.instances:
            await empty_database(args.database_url)
            print(await measure(args.database_url, instances, args.customers, Path(folder)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database of its own, emptied before each run")
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--customers", type=int, default=600)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parser.parse_args()))
