"""Benchmark: a customer's /orders reply while the merchant imports a large orders file, against the bot idle.

The real bot answers a linked customer through the fake Bot API (in a process of its own, as Telegram's work is
not on the bot's CPU); the import runs as the merchant runs it, `backorder-bot import orders FILE.csv` in a
process of its own on the same database. The shop has 1,000 products with some stock (imported first); the
orders file is bench/csv_import.py's (two lines per order, 0.3 customers per order). The customer asks every
`--ask-every` seconds: idle before the import, throughout it, and idle again after it.

    .venv/bin/python -m bench.import_latency                                 # 100,000 lines on SQLite
    .venv/bin/python -m bench.import_latency --lines 10000                   # a quick run
    createdb -h 127.0.0.1 -U postgres bench_import_latency && \\
      .venv/bin/python -m bench.import_latency --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_import_latency
"""

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.broadcast_delivery import Latencies, ask, forget_updates, link_asking_customers, our_bot
from bench.csv_import import orders_file, products_file
from bench.fake_server_process import FakeServerProcess
from bot.clock import SystemClock
from bot.config import Settings
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade_async


async def run(args: argparse.Namespace, url: str, folder: Path) -> str:
    await upgrade_async(url)
    products, orders = folder / "products.csv", folder / "orders.csv"
    products.write_text(products_file(), encoding="utf-8")
    orders.write_text(orders_file(args.lines), encoding="utf-8")
    await import_file("products", products, url, folder)
    engine = create_engine(url)
    try:
        sessions = create_session_factory(engine)
        async with FakeServerProcess() as fake:
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None,
                database_url=url,
                bot_token=fake.token,
                telegram_api_base_url=fake.url,
                secret_key="benchmark-secret-key-0123456789-0123456789",
            )
            clock = SystemClock(settings.timezone)
            [asker] = await fake.add_users(1, "Asking Customer")
            await forget_updates(fake)
            await link_asking_customers(sessions, clock, [asker])
            async with our_bot(fake, sessions, clock, settings, None) as bot:
                await ask(fake, bot, asker)  # warm-up: first-contact work stays out of the figures
                idle = Latencies()
                idle.seconds += await asks(fake, bot, asker, args.idle_asks // 2, args.ask_every)
                started = time.perf_counter()
                importing = asyncio.create_task(import_file("orders", orders, url, folder))
                during = Latencies()
                while not importing.done():
                    during.seconds += await asks(fake, bot, asker, 1, args.ask_every)
                import_seconds = time.perf_counter() - started
                await importing
                idle.seconds += await asks(fake, bot, asker, args.idle_asks - args.idle_asks // 2, args.ask_every)
    finally:
        await engine.dispose()
    ratio = statistics.median(during.seconds) / statistics.median(idle.seconds) if during.seconds else float("nan")
    return "\n".join([
        f"backend: {engine.dialect.name}; {args.lines:,} order lines imported in {import_seconds:.1f} s"
        " (a process of its own, beside the bot)",
        f"  /orders reply idle:          {idle.summary()}",
        f"  /orders reply during import: {during.summary()}  ({ratio:.2f}x idle, median)",
        f"  machine load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
    ])


async def asks(fake: FakeServerProcess, bot: object, asker: object, times: int, every: float) -> list[float]:
    """`times` /orders from the customer, `every` seconds apart (Telegram allows a chat one message a second)."""
    seconds = []
    for _ in range(times):
        await asyncio.sleep(every)
        seconds.append(await ask(fake, bot, asker))  # type: ignore[arg-type]
    return seconds


async def import_file(kind: str, path: Path, url: str, folder: Path) -> None:
    """`backorder-bot import KIND FILE` on the database, as the merchant runs it; fails loudly if it fails."""
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("backorder-bot")), "import", kind, str(path),
        cwd=folder,  # no .env from the checkout
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    if process.returncode:
        raise SystemExit(f"import {kind} failed ({process.returncode}): {err.decode()[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="order lines in the imported file")
    parser.add_argument("--ask-every", type=float, default=1.0, help="seconds between the customer's /orders")
    parser.add_argument("--idle-asks", type=int, default=20, help="/orders asked without an import (half before, half after)")
    parser.add_argument("--database-url", help="an empty database to use, e.g. PostgreSQL (default: a fresh SQLite file)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        print(asyncio.run(run(args, url, Path(tmp))))


if __name__ == "__main__":
    main()
