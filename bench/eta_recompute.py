"""How long a full ETA recompute takes on a large shop.

Builds a fresh database (a temporary SQLite file unless --database-url names an empty one) with 1,000 SKUs,
100,000 backordered lines and a few open purchase orders per SKU, then times recompute_all_etas twice:
the first run, when every line gets an ETA, and a second, when nothing changes. Then one SKU's recompute,
the work behind every purchase-order operation: the first in the process, which also builds its statement, and
the median of the next 20 SKUs, which is what a running bot spends on each.

Besides the wall-clock time it reports the CPU seconds of this process and, when PostgreSQL runs on this
machine, of its server processes: on a machine that other work loads, those say more than the wall clock.

    .venv/bin/python bench/eta_recompute.py
    .venv/bin/python bench/eta_recompute.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_eta
"""

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import ManualClock  # noqa: E402
from bot.services.backorders.eta import recompute_all_etas, recompute_etas  # noqa: E402
from bot.services.unit_of_work import ShopPolicy, UnitOfWork  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade_async  # noqa: E402
from db.models import (  # noqa: E402
    Customer,
    EtaChange,
    LineStatus,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderStatus,
    StockLevel,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
CHUNK = 10_000


async def build_shop(engine: AsyncEngine, skus: int, lines: int, purchase_orders_per_sku: int, seed: int) -> None:
    """Bulk-insert the shop: products with some stock, customers, one-line orders, open purchase orders."""
    rng = random.Random(seed)
    customers = max(1, lines // 10)
    async with engine.begin() as connection:
        await connection.execute(
            insert(Product.__table__),
            [
                {
                    "sku": f"SKU-{n:05d}",
                    "name": f"Product {n}",
                    "category": "bench",
                    "price_minor": 1999,
                    "currency": "EUR",
                    "tags": [],
                    "lead_time_days": rng.randint(7, 42),
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for n in range(1, skus + 1)
            ],
        )
        await connection.execute(
            insert(StockLevel.__table__),
            [
                {"product_id": n, "available": rng.choice((0, 0, 0, 5, 20)), "updated_at": NOW}
                for n in range(1, skus + 1)
            ],
        )
        await connection.execute(
            insert(PurchaseOrder.__table__),
            [
                {
                    "reference": f"PO-{sku:05d}-{k}",
                    "product_id": sku,
                    "quantity": rng.randint(20, 120),
                    "received_quantity": 0,
                    "expected_on": date(2026, 11, 27) + timedelta(days=rng.randint(3, 60)),
                    "status": PurchaseOrderStatus.OPEN,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for sku in range(1, skus + 1)
                for k in range(purchase_orders_per_sku)
            ],
        )
        for start in range(0, customers, CHUNK):
            await connection.execute(
                insert(Customer.__table__),
                [
                    {"name": f"Customer {n}", "email": f"customer{n}@example.com", "created_at": NOW}
                    for n in range(start + 1, min(customers, start + CHUNK) + 1)
                ],
            )
        for start in range(0, lines, CHUNK):
            numbers = range(start + 1, min(lines, start + CHUNK) + 1)
            # Ties in placed_at on purpose: the queue then falls back to line id.
            placed = {n: NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 30)) for n in numbers}
            await connection.execute(
                insert(Order.__table__),
                [
                    {
                        "number": f"B{n:07d}",
                        "customer_id": rng.randint(1, customers),
                        "placed_at": placed[n],
                        "currency": "EUR",
                        "created_at": placed[n],
                    }
                    for n in numbers
                ],
            )
            await connection.execute(
                insert(OrderLine.__table__),
                [
                    {
                        "order_id": n,
                        "product_id": rng.randint(1, skus),
                        "quantity": rng.randint(1, 3),
                        "unit_price_minor": 1999,
                        "status": LineStatus.BACKORDERED,
                        "allocated_quantity": 0,
                        "cancelled_quantity": 0,
                        "substituted_quantity": 0,
                        "queued_at": placed[n],
                        "created_at": placed[n],
                        "updated_at": placed[n],
                    }
                    for n in numbers
                ],
            )


class CpuMeter:
    """CPU seconds of this process and of the database's server processes (PostgreSQL on this machine only)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.started: tuple[float, dict[int, float]] = (0.0, {})

    async def _server(self) -> dict[int, float]:
        if self.engine.dialect.name != "postgresql":
            return {}
        async with self.engine.connect() as connection:
            pids = await connection.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
            return {pid: seconds for pid in pids if (seconds := _process_cpu(pid)) is not None}

    async def start(self) -> None:
        self.started = (time.process_time(), await self._server())

    async def report(self) -> str:
        client = time.process_time() - self.started[0]
        server = await self._server()
        if not server:
            return f"cpu: {client:.2f} s here"
        spent = sum(seconds - self.started[1].get(pid, 0.0) for pid, seconds in server.items())
        return f"cpu: {client:.2f} s here, {spent:.2f} s in the database server"


def _process_cpu(pid: int) -> float | None:
    """User and system CPU seconds of a process on this machine, or None if it is not readable here."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def timed_recompute(uow: UnitOfWork, meter: CpuMeter) -> tuple[float, int, str]:
    await meter.start()
    started = time.perf_counter()
    moves = await recompute_all_etas(uow)
    return time.perf_counter() - started, len(moves), await meter.report()


async def timed_one_sku(uow: UnitOfWork, product_id: int) -> tuple[float, int]:
    async with uow:
        started = time.perf_counter()
        moves = await recompute_etas(uow.session, uow.clock, uow.policy, "bench", [product_id])
        await uow.commit()
        return time.perf_counter() - started, len(moves)


async def run(database_url: str, skus: int, lines: int, purchase_orders_per_sku: int, seed: int) -> None:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    try:
        started = time.perf_counter()
        await build_shop(engine, skus, lines, purchase_orders_per_sku, seed)
        print(f"backend: {engine.dialect.name}")
        print(
            f"built {skus:,} SKUs, {lines:,} backordered lines,"
            f" {skus * purchase_orders_per_sku:,} open purchase orders in {time.perf_counter() - started:.1f} s"
        )
        clock = ManualClock(NOW)
        uow = UnitOfWork(create_session_factory(engine), clock, ShopPolicy(handling_days=1))

        meter = CpuMeter(engine)
        first, moved, cpu = await timed_recompute(uow, meter)
        print(f"full recompute, first run:   {first:6.3f} s  ({moved:,} lines moved; {cpu})")
        second, moved_again, cpu = await timed_recompute(uow, meter)
        print(f"full recompute, second run:  {second:6.3f} s  ({moved_again:,} lines moved; {cpu})")
        one, moved_one = await timed_one_sku(uow, product_id=1)
        print(f"one SKU's recompute, first:  {one * 1000:6.1f} ms ({moved_one:,} lines moved; builds its statement)")
        warm = [(await timed_one_sku(uow, product_id))[0] for product_id in range(2, min(skus, 21) + 1)]
        print(f"one SKU's recompute, then:   {statistics.median(warm) * 1000:6.1f} ms (median of {len(warm)} SKUs)")

        async with engine.connect() as connection:
            history = (await connection.execute(select(func.count()).select_from(EtaChange))).scalar_one()
        print(f"machine load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        if moved != lines or moved_again != 0 or history != lines:
            raise SystemExit(f"unexpected result: {moved} then {moved_again} moves, {history} history rows")
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="an empty database to build in (default: a temporary SQLite file)")
    parser.add_argument("--skus", type=int, default=1_000)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--purchase-orders-per-sku", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(run(args.database_url, args.skus, args.lines, args.purchase_orders_per_sku, args.seed))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        asyncio.run(run(url, args.skus, args.lines, args.purchase_orders_per_sku, args.seed))


if __name__ == "__main__":
    main()
