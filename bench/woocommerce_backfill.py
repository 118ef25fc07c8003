"""A WooCommerce store's first load and its webhooks, against the tests' fake store (tests/fakes/woocommerce_store.py).

1. Backfill: the store has 200 products (some in stock, the rest sold out with backorders allowed) and N open orders
   of one or two lines, 100 a page as WooCommerce gives them; the backfill loads products, every open order and the
   stock through the connector's use cases, exactly as `backorder-bot connect woocommerce` does. Seconds and the
   process's peak RSS.
2. Webhook intake: M signed `order.updated` deliveries of those orders, posted 32 at a time to the real web app's
   `POST /connectors/woocommerce/webhooks`, which checks each signature over the raw body and queues it (one INSERT,
   deduplicated). Deliveries per second, and the app's CPU per delivery (the fake store and the poster share the
   process, so the wall-clock rate is a floor).

The fake store runs in the same process and the same event loop: what it costs is in the figures.

    .venv/bin/python bench/woocommerce_backfill.py --orders 10000 --webhooks 3000
    .venv/bin/python bench/woocommerce_backfill.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_woo
"""

import argparse
import asyncio
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import ClientSession  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.composition import ChatDeps  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.connectors.backfill_run import run_backfill  # noqa: E402
from bot.connectors.woocommerce.adapter import WooCommerceAdapter  # noqa: E402
from bot.services.audit import Actor  # noqa: E402
from bot.services.connectors import save_connection  # noqa: E402
from bot.services.unit_of_work import ShopPolicy, UnitOfWork  # noqa: E402
from bot.web.app import build_web_app  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade_async  # noqa: E402
from tests.fakes.woocommerce_store import FakeWooCommerce, signature, wordpress_json  # noqa: E402

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SECRET = "bench-webhook-secret"
PRODUCTS = 200
IN_FLIGHT = 32


def stock_the_store(store: FakeWooCommerce, orders: int) -> None:
    store.now = lambda: NOW
    for n in range(PRODUCTS):
        store.add_product(f"P-{n}", f"Product {n}", f"{10 + n % 90}.90", stock=(n % 4) * 10, backorders="notify")
    start = NOW - timedelta(days=30)
    for n in range(orders):
        lines = [(f"P-{n * 7 % PRODUCTS}", 1 + n % 3)] + ([(f"P-{(n * 13 + 1) % PRODUCTS}", 1)] if n % 2 else [])
        store.place_order(lines, email=f"c{n % 3000}@example.com", first_name="Customer", last_name=str(n % 3000),
                          phone=f"0151 2{n % 3000:07d}", country="DE", number=str(100000 + n),
                          created=start + timedelta(seconds=n * 60))


async def run(database_url: str, orders: int, webhooks: int) -> None:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    clock = ManualClock(NOW)
    policy = ShopPolicy(handling_days=1, alternative_surcharge_cap_percent=15, recently_resolved_days=14)
    sessions = create_session_factory(engine)
    uow = UnitOfWork(sessions, clock, policy)
    store = FakeWooCommerce()
    await store.start()
    try:
        stock_the_store(store, orders)
        credentials = {"key": store.key, "secret": store.secret, "webhook_secret": SECRET}
        connection = await save_connection(uow, "woocommerce", store.base_url, credentials, {"currency": "EUR"}, Actor.merchant("bench"))
        adapter = WooCommerceAdapter(store.base_url, credentials, connection.settings)
        started = time.perf_counter()
        report = await run_backfill(uow, adapter, connection)
        seconds = time.perf_counter() - started
        await adapter.aclose()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"backfill: {orders} open orders in {seconds:.1f} s ({orders / seconds:.0f} orders/s), peak RSS {peak:.0f} MB;"
              f" {dict(sorted(report.counts.items()))}")
        if webhooks:
            await intake(ChatDeps(Settings(_env_file=None), sessions, clock, policy), store, webhooks)  # type: ignore[call-arg]
    finally:
        await store.stop()
        await engine.dispose()


async def intake(deps: ChatDeps, store: FakeWooCommerce, count: int) -> None:
    bodies = []
    for n, order in enumerate(list(store.orders.values())[:count]):
        order = dict(order, date_modified_gmt=(NOW + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S"))
        bodies.append(wordpress_json(order))
    async with TestServer(build_web_app(deps)) as server, ClientSession() as client:
        url = str(server.make_url("/connectors/woocommerce/webhooks"))
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)
        statuses: list[int] = []

        async def post() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                headers = {"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Signature": signature(SECRET, body),
                           "Content-Type": "application/json"}
                async with client.post(url, data=body, headers=headers) as response:
                    statuses.append(response.status)

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(post() for _ in range(IN_FLIGHT)))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    bad = sum(1 for status in statuses if status != 200)
    print(f"webhook intake: {len(statuses)} verified and queued in {seconds:.1f} s = {len(statuses) / seconds:.0f}/s,"
          f" {cpu / len(statuses) * 1000:.2f} ms of this process's CPU each (poster included); {bad} not 200")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--webhooks", type=int, default=3_000)
    parser.add_argument("--database-url", help="PostgreSQL: a database is created next to this one and dropped")
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(on_postgres(args.database_url, args.orders, args.webhooks))
        return
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(f"sqlite+aiosqlite:///{folder}/bench.sqlite3", args.orders, args.webhooks))


async def on_postgres(admin_url: str, orders: int, webhooks: int) -> None:
    admin = make_url(admin_url)
    name = f"bench_woo_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        await run(admin.set(database=name).render_as_string(hide_password=False), orders, webhooks)
    finally:
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


if __name__ == "__main__":
    main()
