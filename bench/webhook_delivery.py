"""Webhook deliveries per second from one process to a local receiver, through the real workers.

Builds a fresh database with the real migrations, adds one endpoint per receiver, writes N events over many
order numbers (one order's deliveries go out one at a time, so a single order would measure latency, not
throughput), then lets WebhookWorker deliver until every delivery is booked. The receiver runs in a process of
its own and answers 204 after verifying the signature with the `standardwebhooks` library, as a merchant's would.
Also reports the sending process's CPU time per delivery, which a loaded machine does not distort as much as
the wall-clock rate.

    .venv/bin/python bench/webhook_delivery.py [--events 5000] [--orders 1000] [--endpoints 1]
    .venv/bin/python bench/webhook_delivery.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_hooks
"""

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402
from standardwebhooks.webhooks import Webhook  # noqa: E402

from bot.clock import SystemClock  # noqa: E402
from bot.services.audit import Actor  # noqa: E402
from bot.services.event_log import EventType, emit  # noqa: E402
from bot.services.unit_of_work import UnitOfWork  # noqa: E402
from bot.services.webhooks.deliveries import active_endpoints  # noqa: E402
from bot.services.webhooks.endpoints import add_endpoint  # noqa: E402
from bot.webhook_delivery import WebhookSender, WebhookWorker  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade_async  # noqa: E402
from db.models import WebhookDelivery, WebhookDeliveryStatus  # noqa: E402


def serve_receiver(port: int, secret_queue: "multiprocessing.Queue[str]", ready: "multiprocessing.Event") -> None:  # type: ignore[type-arg]
    """A merchant's receiver: verify, answer 204."""

    async def main() -> None:
        secret = await asyncio.get_running_loop().run_in_executor(None, secret_queue.get)
        verifier = Webhook(secret)

        async def hook(request: web.Request) -> web.Response:
            verifier.verify(await request.read(), dict(request.headers), json_parse=False)
            return web.Response(status=204)

        app = web.Application()
        app.router.add_post("/hooks", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


async def run(database_url: str, events: int, orders: int, endpoints: int) -> None:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    clock = SystemClock(ZoneInfo("Europe/Berlin"))

    def uow() -> UnitOfWork:
        return UnitOfWork(sessions, clock)

    receivers = []
    for index in range(endpoints):
        port = 18_800 + index
        secrets: multiprocessing.Queue[str] = multiprocessing.Queue()
        ready = multiprocessing.Event()
        process = multiprocessing.Process(target=serve_receiver, args=(port, secrets, ready), daemon=True)
        process.start()
        added = await add_endpoint(uow(), f"http://127.0.0.1:{port}/hooks", [], Actor.merchant("bench"))
        secrets.put(added.secret)
        ready.wait(10)
        receivers.append(process)

    written = uow()
    async with written:
        for index in range(events):
            number = f"B-{index % orders}"
            emit(written.session, EventType.LINE_SHIPPED, clock.now(), {"order_number": number, "n": index}, number)
        await written.commit()

    async with WebhookSender() as sender:
        worker = WebhookWorker(uow, sender)
        targets = await active_endpoints(uow())
        started, cpu_started = time.perf_counter(), time.process_time()
        serving = [asyncio.create_task(worker.serve_endpoint(target, idle_seconds=0.01)) for target in targets]
        while await _pending(sessions):
            await asyncio.sleep(0.05)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        for task in serving:
            task.cancel()
        await asyncio.gather(*serving, return_exceptions=True)

    async with sessions() as session:
        counts = dict(
            (await session.execute(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status))).all()
        )
    delivered = counts.get(WebhookDeliveryStatus.DELIVERED, 0)
    print(
        f"{delivered} deliveries to {endpoints} endpoint(s) in {elapsed:.2f} s = {delivered / elapsed:.0f} deliveries/s"
        f" (failed or pending: {sum(counts.values()) - delivered}); {events} events over {orders} order numbers;"
        f" {1000 * cpu / max(delivered, 1):.2f} ms of this process's CPU per delivery"
        f" = {delivered / cpu:.0f} deliveries per CPU-second"
    )
    for process in receivers:
        process.terminate()
    await engine.dispose()


async def _pending(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Events not yet fanned out count as pending too: until the first round, nothing is in the table."""
    async with sessions() as session:
        rows = await session.scalar(select(func.count()).select_from(WebhookDelivery))
        pending = await session.scalar(
            select(func.count()).where(WebhookDelivery.status == WebhookDeliveryStatus.PENDING)
        )
    return pending or (1 if not rows else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=1)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        asyncio.run(run(url, args.events, args.orders, args.endpoints))


if __name__ == "__main__":
    main()
