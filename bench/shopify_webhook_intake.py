"""Shopify webhooks verified and queued per second by one serving process, through the real web app.

The bot's web app (every middleware, the store-webhook route: HMAC-SHA256 checked over the raw body, then one
INSERT that drops a repeated delivery id) serves in this process; a client in a process of its own posts N signed
`inventory_levels/update` webhooks, C at a time over keep-alive connections, as Shopify's senders would. Reports
the rate the client saw and this process's CPU time per webhook (what a loaded machine distorts least).

    .venv/bin/python bench/shopify_webhook_intake.py [--webhooks 5000] [--concurrency 32]
    .venv/bin/python bench/shopify_webhook_intake.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_intake
"""

import argparse
import asyncio
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.shopify_shop import SHOP, connect_shop, run_bench  # noqa: E402
from bot.composition import ChatDeps  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.services.unit_of_work import ShopPolicy  # noqa: E402
from bot.web.app import build_web_app  # noqa: E402
from db.models import StoreWebhook  # noqa: E402

PORT = 18_950
SECRET = "shpss_bench_secret"


def post_webhooks(count: int, concurrency: int, results: "multiprocessing.Queue[tuple[float, int]]") -> None:  # type: ignore[type-arg]
    """Shopify's side: signed webhooks, `concurrency` in flight; puts (seconds, answers that were 200)."""
    import json
    import uuid
    from datetime import datetime, timezone

    import aiohttp

    from tests.fakes.shopify_store import sign

    async def main() -> None:
        bodies = []
        for index in range(count):
            body = json.dumps({"inventory_item_id": 271878346596884015 + index % 500, "location_id": 24826418,
                               "available": index % 7, "updated_at": datetime.now(timezone.utc).isoformat()}).encode()
            headers = {"Content-Type": "application/json", "X-Shopify-Topic": "inventory_levels/update",
                       "X-Shopify-Shop-Domain": SHOP, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                       "X-Shopify-Hmac-Sha256": sign(body, SECRET),
                       "X-Shopify-Triggered-At": datetime.now(timezone.utc).isoformat()}
            bodies.append((body, headers))
        queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
        for item in bodies:
            queue.put_nowait(item)
        ok = 0
        url = f"http://127.0.0.1:{PORT}/connectors/shopify/webhooks"

        async def sender(session: aiohttp.ClientSession) -> None:
            nonlocal ok
            while not queue.empty():
                body, headers = queue.get_nowait()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    ok += response.status == 200

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            started = time.perf_counter()
            await asyncio.gather(*(sender(session) for _ in range(concurrency)))
            results.put((time.perf_counter() - started, ok))

    asyncio.run(main())


async def run(database_url: str, args: argparse.Namespace) -> None:
    count, concurrency = args.webhooks, args.concurrency
    shop = await connect_shop(database_url, {"access_token": "t", "client_secret": SECRET}, {"currency": "EUR"})
    sessions, clock = shop.sessions, shop.uow.clock
    settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    runner = web.AppRunner(build_web_app(ChatDeps(settings, sessions, clock, ShopPolicy())), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", PORT).start()

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    client = context.Process(target=post_webhooks, args=(count, concurrency, results), daemon=True)
    client.start()
    cpu = time.process_time()
    elapsed, ok = await asyncio.get_running_loop().run_in_executor(None, results.get)
    cpu = time.process_time() - cpu
    client.join(10)
    await runner.cleanup()
    async with sessions() as session:
        queued = await session.scalar(select(func.count()).select_from(StoreWebhook))
    print(
        f"{ok} of {count} webhooks answered 200 and {queued} queued in {elapsed:.2f} s = {ok / elapsed:.0f} webhooks/s"
        f" ({concurrency} at a time); {1000 * cpu / max(ok, 1):.2f} ms of the serving process's CPU per webhook"
        f" = {ok / max(cpu, 1e-9):.0f} per CPU-second (CPU includes the client's set-up wait)"
    )
    await shop.engine.dispose()


def main() -> None:
    run_bench(__doc__, {"webhooks": 5000, "concurrency": 32}, run)


if __name__ == "__main__":
    main()
