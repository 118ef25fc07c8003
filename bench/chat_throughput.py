"""Benchmark: updates per second for our bot answering linked customers' /orders, against a bare PTB echo bot.

    .venv/bin/python bench/chat_throughput.py [--n 2000] [--repeat 3] [--customers 300]

Both bots run in the same process, one after the other, through `measure_updates_per_second` (bench/
updates_throughput.py) against a fresh fake Bot API server each time, so the figures compare directly.
Ours runs the real Application from build_application on a temporary SQLite database built with the real
migrations and holding a small shop; each timed update is a linked customer asking for their backorders.

Telegram's own flood limit (about 30 messages a second across all chats), which the bot's rate limiter
keeps to in production, would cap any bot at that rate; the fake server has no such limit and the echo bot
no limiter, so ours runs here with that pacing off and everything else (retries included) as shipped; that
includes handling different customers' updates concurrently (bot/update_order.py), which in production hides
Telegram's network latency but here, where every reply is answered in-process at once, mostly adds the
HTTP client's cost of juggling several connections.

The target compares with the bare echo bot, on PTB's default networking (httpx). Ours sends over aiohttp
(bot/telegram_http.py), which alone more than halves a reply's client cost; so the same echo bot on aiohttp
is measured too, and the report says how ours compares with that one as well.

Our bot sets the garbage collector for a long-running server when it starts (bot/memory.py); that lasts for
the process, so from the second round on the echo bots run with it too, and compare with ours on equal terms.
"""

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402
from telegram.ext import Application, MessageHandler, filters  # noqa: E402

from bench.echo_bot import build_echo_bot, echo, order_question  # noqa: E402
from bench.updates_throughput import measure_updates_per_second  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.composition import ChatDeps  # noqa: E402
from bot.sandbox import FakeBotApi  # noqa: E402
from bot.services.backorders.eta import recompute_all_etas  # noqa: E402
from bot.services.unit_of_work import ShopPolicy, UnitOfWork  # noqa: E402
from bot.telegram_app import BOT_CONNECTIONS, build_application  # noqa: E402
from bot.telegram_errors import RetryingRateLimiter  # noqa: E402
from bot.telegram_http import AiohttpRequest  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import ProcessedUpdate  # noqa: E402
from tests.e2e.chat_bot import chat_settings  # noqa: E402
from tests.e2e.harness import AppFactory, application_builder, fake_bot_api, running_bot  # noqa: E402
from tests.shop import add_customer, add_order, add_product, add_purchase_order  # noqa: E402

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
PRODUCTS = 24
USERS = 100  # measure_updates_per_second's default number of customers writing in
# The fake server numbers its users from here (FakeBotApi._user_ids); the factory checks it still does.
FIRST_FAKE_USER_ID = 5_000_001


async def build_shop(session_factory: async_sessionmaker[AsyncSession], clock: ManualClock, customers: int) -> None:
    """`customers` customers with one or two orders of one to three lines, most waiting; the first USERS linked."""
    rng = Random(42)
    async with session_factory() as session:
        products = [
            await add_product(
                session,
                f"SKU-{index:03d}",
                price=rng.randrange(990, 29_900, 10),
                category=f"category-{index % 4}",
                available=rng.choice([0, 0, 0, 2, 10]),
                name=f"Product {index}",
            )
            for index in range(PRODUCTS)
        ]
        for product in products[::2]:
            await add_purchase_order(session, product, rng.randrange(5, 40), date(2026, 12, 1) + timedelta(days=rng.randrange(30)))
        for index in range(customers):
            customer = await add_customer(session, f"Customer {index}", email=f"customer{index}@example.com")
            for order in range(rng.choice([1, 1, 2])):
                chosen = rng.sample(products, rng.randrange(1, 4))
                placed_at = NOW - timedelta(days=rng.randrange(1, 40), minutes=index)
                await add_order(session, customer, [(product, rng.randrange(1, 3)) for product in chosen], placed_at=placed_at)
            if index < USERS:
                customer.telegram_user_id = FIRST_FAKE_USER_ID + index
        await session.commit()
    await recompute_all_etas(UnitOfWork(session_factory, clock, ShopPolicy()))


def our_bot_factory(session_factory: async_sessionmaker[AsyncSession], clock: ManualClock) -> AppFactory:
    """Builds our bot on the shop's database for a fake server whose users are the linked customers."""

    def build(fake: FakeBotApi) -> Application:
        expected = set(range(FIRST_FAKE_USER_ID, FIRST_FAKE_USER_ID + USERS))
        if {user.id for user in fake.users} != expected:
            raise RuntimeError("the fake server's user ids are not the ones the shop's customers are linked to")
        deps = ChatDeps(chat_settings(fake), session_factory, clock, ShopPolicy())
        # Telegram's ~30 messages/s cap off (see the module docstring); 429 and 5xx retries stay on.
        return build_application(deps, rate_limiter=RetryingRateLimiter(overall_max_rate=0, max_retries=3))

    return build


def orders_command(_: int) -> str:
    return "/orders"


def build_echo_bot_on_aiohttp(fake: FakeBotApi) -> Application:
    """The echo bot with our networking backend (bot/telegram_http.py), to show what of the gap that closes."""
    application = application_builder(fake).request(AiohttpRequest(BOT_CONNECTIONS)).get_updates_request(AiohttpRequest()).build()
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return application


async def run(url: str, n: int, repeat: int, customers: int) -> tuple[list[float], list[float], list[float]]:
    """(echo rates, our rates, echo-on-aiohttp rates), the bots taking turns."""
    engine = create_engine(url)
    session_factory = create_session_factory(engine)
    clock = ManualClock(NOW)
    try:
        await build_shop(session_factory, clock, customers)
        await check_replies(session_factory, clock)
        echo, ours, echo_on_aiohttp = [], [], []
        for _ in range(repeat):
            echo.append(await measure_updates_per_second(build_echo_bot, order_question, n, users=USERS))
            echo_on_aiohttp.append(await measure_updates_per_second(build_echo_bot_on_aiohttp, order_question, n, users=USERS))
            await forget_handled_updates(session_factory)
            ours.append(await measure_updates_per_second(our_bot_factory(session_factory, clock), orders_command, n, users=USERS))
    finally:
        await engine.dispose()
    return echo, ours, echo_on_aiohttp


async def forget_handled_updates(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Each fake server numbers its updates from the same id, which the bot would take for duplicates."""
    async with session_factory() as session:
        await session.execute(delete(ProcessedUpdate))
        await session.commit()


async def check_replies(session_factory: async_sessionmaker[AsyncSession], clock: ManualClock) -> None:
    """Make sure the bot under test answers /orders with a customer's list, not an error or a help text."""
    async with fake_bot_api() as fake:
        users = [fake.add_user(f"Customer {i}") for i in range(USERS)]
        async with running_bot(fake, our_bot_factory(session_factory, clock)) as running:
            update_sent = fake.send_command(users[0], "orders")
            await running.settle(update_sent)
        [reply] = fake.bot_messages(users[0].id)
    if "Product" not in (reply.text or "") or not reply.inline_keyboard:
        raise RuntimeError(f"the bot did not answer /orders with the order list: {reply.text!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="timed updates per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each bot; medians are compared")
    parser.add_argument("--customers", type=int, default=300, help="customers in the shop")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/chat-bench.sqlite3"
        upgrade(url)  # Alembic runs its own event loop, so before ours
        echo, ours, echo_on_aiohttp = asyncio.run(run(url, args.n, args.repeat, args.customers))
    ratio = statistics.median(ours) / statistics.median(echo)
    print(f"{args.n} updates per run, {USERS} customers writing, shop of {args.customers} customers (SQLite)")
    print("bare PTB echo bot:        " + ", ".join(f"{rate:.0f}" for rate in echo) + f" updates/s (median {statistics.median(echo):.0f})")
    print("our bot, linked /orders:  " + ", ".join(f"{rate:.0f}" for rate in ours) + f" updates/s (median {statistics.median(ours):.0f})")
    print(f"ratio: {ratio:.2f}x the echo bot (target 0.70x)")
    print(
        "the echo bot on our networking backend (aiohttp): " + ", ".join(f"{rate:.0f}" for rate in echo_on_aiohttp)
        + f" updates/s (median {statistics.median(echo_on_aiohttp):.0f}; ours is"
        f" {statistics.median(ours) / statistics.median(echo_on_aiohttp):.2f}x that)"
    )


if __name__ == "__main__":
    main()
