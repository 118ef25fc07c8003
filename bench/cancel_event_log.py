"""The event log's extra time on a customer's cancel, measured side by side with the same cancel without it.

Builds a fresh database with the real migrations and a shop of waiting lines (each SKU's queue several lines
deep, so the cancel recomputes the ETAs behind it as it does in a shop), then cancels lines one by one through
the real cancel_line use case, alternating: one with the event log (line.cancelled and refund.owed written in
the transaction) and one with the two event writes left out. Reports the median time of each and the difference,
then the same for this process's CPU time, which other work on a loaded machine disturbs less (a PostgreSQL
server's own CPU time is not in it).

    .venv/bin/python bench/cancel_event_log.py [--cancels 600] [--skus 50] [--queue 30]
    .venv/bin/python bench/cancel_event_log.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_cancel
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bot.services.backorders.cancel as cancel_module  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.services.audit import Actor  # noqa: E402
from bot.services.backorders.cancel import cancel_line  # noqa: E402
from bot.services.backorders.eta import recompute_all_etas  # noqa: E402
from bot.services.unit_of_work import UnitOfWork  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade_async  # noqa: E402
from db.models import Customer, LineStatus, Order, OrderLine, Product, StockLevel  # noqa: E402

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


async def load_shop(uow: UnitOfWork, skus: int, queue: int) -> list[tuple[int, int]]:
    """(customer id, line id) of every waiting line, in an order that spreads the cancels over the SKUs."""
    async with uow:
        session = uow.session
        products = [
            Product(sku=f"SKU-{index:04d}", name=f"Product {index}", category="bench", price_minor=4900, currency="EUR",
                    tags=[], lead_time_days=21, created_at=NOW, updated_at=NOW)
            for index in range(skus)
        ]
        session.add_all(products)
        await session.flush()
        session.add_all(StockLevel(product_id=product.id, available=0, updated_at=NOW) for product in products)
        lines = []
        for position in range(queue):
            for product in products:
                placed = NOW - timedelta(days=30) + timedelta(minutes=position)
                customer = Customer(name=f"Customer {product.id}-{position}", email=f"c{product.id}-{position}@example.com",
                                    created_at=placed)
                session.add(customer)
                await session.flush()
                order = Order(number=f"{product.id}-{position}", customer_id=customer.id, placed_at=placed, currency="EUR",
                              created_at=placed)
                session.add(order)
                await session.flush()
                line = OrderLine(order_id=order.id, product_id=product.id, quantity=1, unit_price_minor=4900,
                                 status=LineStatus.BACKORDERED, allocated_quantity=0, cancelled_quantity=0,
                                 substituted_quantity=0, queued_at=placed, created_at=placed, updated_at=placed)
                session.add(line)
                lines.append((customer, line))
        await session.flush()
        pairs = [(customer.id, line.id) for customer, line in lines]
        await uow.commit()
    await recompute_all_etas(uow)
    return pairs


async def _no_events(*args: object, **kwargs: object) -> None:
    """The cancel's event writes left out."""


async def run(database_url: str, cancels: int, skus: int, queue: int) -> None:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    uow = UnitOfWork(create_session_factory(engine), ManualClock(NOW, tz=ZoneInfo("Europe/Berlin")))
    pairs = await load_shop(uow, skus, queue)
    with_log = cancel_module.line_cancelled
    timings: dict[str, list[float]] = {"with the event log": [], "without": []}
    cpu: dict[str, list[float]] = {"with the event log": [], "without": []}
    for index, (customer_id, line_id) in enumerate(pairs[: cancels + 20]):
        mode = "with the event log" if index % 2 else "without"
        cancel_module.line_cancelled = with_log if index % 2 else _no_events
        started, cpu_started = time.perf_counter(), time.process_time()
        await cancel_line(uow, customer_id, line_id, Actor.customer(customer_id))
        elapsed, cpu_used = time.perf_counter() - started, time.process_time() - cpu_started
        if index >= 20:  # the first ones warm caches up
            timings[mode].append(elapsed)
            cpu[mode].append(cpu_used)
    cancel_module.line_cancelled = with_log
    for label, figures in (("cancel median", timings), ("this process's CPU per cancel, median", cpu)):
        base, logged = (statistics.median(figures[mode]) * 1000 for mode in ("without", "with the event log"))
        print(
            f"{label}: {logged:.2f} ms with the event log vs {base:.2f} ms without = {logged - base:+.2f} ms"
            f" = {100 * (logged - base) / base:+.1f} % (n={len(figures['without'])} each, alternating; {skus} SKUs,"
            f" queues {queue} deep)"
        )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cancels", type=int, default=600)
    parser.add_argument("--skus", type=int, default=50)
    parser.add_argument("--queue", type=int, default=30)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        asyncio.run(run(url, args.cancels, args.skus, args.queue))


if __name__ == "__main__":
    main()
