"""Backfill of a Shopify store's open orders from the fake Shopify, through the real adapter and use cases.

The fake runs in a process of its own (Shopify's work is not the bot's), with N open orders of one or two lines
over a few hundred variants, some sold out (so lines wait) and some in stock. The connection is made in a fresh
database with the real migrations, then products, open orders (a bulk operation: polled, its JSONL downloaded and
read a page at a time) and stock are loaded. Reports the time of each part and this process's peak RSS.

    .venv/bin/python bench/shopify_backfill.py [--orders 10000] [--variants 500]
    .venv/bin/python bench/shopify_backfill.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_shopify
"""

import argparse
import asyncio
import multiprocessing
import resource
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from bench.shopify_shop import connect_shop, run_bench  # noqa: E402
from bot.connectors.backfill_run import run_backfill  # noqa: E402
from bot.connectors.shopify.adapter import ShopifyAdapter  # noqa: E402
from db.models import Order, OrderLine  # noqa: E402

PORT = 18_900


def serve_fake(orders: int, variants: int, ready: "multiprocessing.Event") -> None:  # type: ignore[type-arg]
    """The fake Shopify with the store to load, on PORT."""
    from aiohttp import web

    from tests.fakes.shopify_store import FakeShopify

    store = FakeShopify(bucket_size=1000, restore_rate=50)  # a standard plan's rate limit
    for index in range(variants):
        store.add_variant(f"SKU-{index:05d}", f"Product {index}", "19.90", 0 if index % 3 == 0 else 50)
    now = datetime.now(timezone.utc)
    skus = [f"SKU-{index:05d}" for index in range(variants)]
    for number in range(orders):
        lines = [(skus[number % variants], 1)]
        if number % 2:
            lines.append((skus[(number * 7 + 1) % variants], 2))
        store.add_order(10_000 + number, f"customer{number % (orders // 3 + 1)}@example.com", lines,
                        placed_at=now - timedelta(minutes=orders - number), name=f"Customer {number}")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/admin/api/{version}/graphql.json", store.graphql)
        app.router.add_get("/bulk/{operation}.jsonl", store.bulk_file)
        store.url = f"http://127.0.0.1:{PORT}"
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", PORT).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


class Timer:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.parts: dict[str, float] = {}
        self._last = self.started

    def page_done(self, resource_name: str, done: int, total: int | None) -> None:
        now = time.perf_counter()
        self.parts[resource_name] = self.parts.get(resource_name, 0.0) + now - self._last
        self._last = now


async def run(database_url: str, args: argparse.Namespace) -> None:
    orders, variants = args.orders, args.variants
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    fake = context.Process(target=serve_fake, args=(orders, variants, ready), daemon=True)
    fake.start()
    if not ready.wait(300):
        raise SystemExit("the fake Shopify did not start")
    shop = await connect_shop(
        database_url, {"access_token": "shpat_good", "client_secret": "s"},
        {"api_base_url": f"http://127.0.0.1:{PORT}", "currency": "EUR", "phone_region": "DE"},
    )
    uow, config, sessions = shop.uow, shop.config, shop.sessions
    adapter = ShopifyAdapter(config, poll_seconds=0.2)
    timer = Timer()
    cpu = time.process_time()
    report = await run_backfill(uow, adapter, config, timer)
    elapsed, cpu = time.perf_counter() - timer.started, time.process_time() - cpu
    await adapter.aclose()
    async with sessions() as session:
        loaded = await session.scalar(select(func.count()).select_from(Order))
        lines = await session.scalar(select(func.count()).select_from(OrderLine))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timer.parts.items())
    print(
        f"{loaded} open orders ({lines} lines) over {variants} variants backfilled in {elapsed:.1f} s ({parts});"
        f" {cpu:.1f} s of this process's CPU; peak RSS {peak_mb:.0f} MB; {dict(sorted(report.counts.items()))}"
    )
    fake.terminate()
    await shop.engine.dispose()


def main() -> None:
    run_bench(__doc__, {"orders": 10_000, "variants": 500}, run)


if __name__ == "__main__":
    main()
