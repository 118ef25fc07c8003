"""How long a large CSV import takes, and its peak memory, at several sizes: orders, products or purchase orders.

Each size runs in a process of its own on a fresh database (a temporary SQLite file, or with --database-url
a PostgreSQL database created next to the one named and dropped afterwards), through the same service the
`backorder-bot import` command uses: every row checked, customers created, stock allocated in queue order and
every ETA computed, all or nothing. The shop has 1,000 products with some stock; a products file names one of
`--suppliers` suppliers on each row (40 unless told; 0 leaves the column out), added by the first import; an
orders file has two lines per order and 0.3 customers per order (100,000 lines: 50,000 orders, 15,000 customers). The same file is then
imported again, which changes nothing. Peak RSS is the process's whole peak (file, shop set-up and import).
The CPU seconds are the importing process's own (on SQLite that includes the database's work): on a loaded
machine they compare where the wall-clock times do not. On SQLite it also reports the first import's longest hold
of the write lock: how long a write of the bot (every customer message claims its update) could wait behind it.

    .venv/bin/python bench/csv_import.py --lines 10000 50000 100000
    .venv/bin/python bench/csv_import.py --kind products --lines 10000 50000 100000
    .venv/bin/python bench/csv_import.py --kind products --lines 100000 --suppliers 0
    .venv/bin/python bench/csv_import.py --lines 100000 --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_csv
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.services.audit import Actor  # noqa: E402
from bot.services.intake.csv_import import import_orders, import_products, import_purchase_orders  # noqa: E402
from bot.services.unit_of_work import UnitOfWork  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade_async  # noqa: E402
from db.sqlite_connection import WriteLock  # noqa: E402

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
MERCHANT = Actor.merchant("bench")
SKUS = 1000


def products_file(count: int = SKUS, suppliers: int = 0) -> str:
    header = "sku,name,category,price,currency,lead_time_days,tags,substitutes,available"
    rows = [f"P-{n},Product {n},bench,{10 + n % 500}.50,EUR,21,tag{n % 7}|bench,,{n % 5 * 3}" for n in range(count)]
    if suppliers:
        header += ",supplier"
        rows = [f"{row},Supplier {n % suppliers}" for n, row in enumerate(rows)]
    return header + "\n" + "\n".join(rows) + "\n"


def orders_file(lines: int) -> str:
    """Two lines per order, 0.3 customers per order, each customer with a phone number."""
    orders = lines // 2
    customers = max(1, orders * 3 // 10)
    rows = ["order_number,placed_at,customer_email,customer_name,customer_phone,sku,quantity,unit_price,currency"]
    for n in range(orders):
        customer = n % customers
        for k in range(2):
            rows.append(
                f"{100000 + n},2026-10-{1 + n % 28:02d}T10:{n % 60:02d}:00+01:00,c{customer}@example.com,"
                f"Customer {customer},0151 2{customer:07d},P-{(n * 7 + k * 13) % SKUS},{1 + k},10.50,EUR"
            )
    return "\n".join(rows) + "\n"


def purchase_orders_file(count: int) -> str:
    rows = [f"PO-{n},P-{n % SKUS},{5 + n % 20},2026-12-{1 + n % 28:02d}" for n in range(count)]
    return "reference,sku,quantity,expected_on\n" + "\n".join(rows) + "\n"


class _WriteHolds:
    """On SQLite, how long the import held the database's write lock at a stretch: what the bot's writes wait for.

    Timed around the engine's write lock (db/sqlite_connection.py), held from BEGIN IMMEDIATE to COMMIT."""

    def __init__(self) -> None:
        self.longest = 0.0
        acquire, release = WriteLock.acquire, WriteLock.release
        taken: dict[int, float] = {}

        async def timed_acquire(lock: WriteLock) -> None:
            await acquire(lock)
            taken[id(lock)] = time.perf_counter()

        def timed_release(lock: WriteLock) -> None:
            self.longest = max(self.longest, time.perf_counter() - taken.pop(id(lock)))
            release(lock)

        WriteLock.acquire, WriteLock.release = timed_acquire, timed_release  # type: ignore[method-assign]


async def measure(database_url: str, kind: str, lines: int, suppliers: int) -> dict[str, float | int]:
    """Set up the shop, then import the file twice; seconds for each import and the process's peak RSS in MB."""
    holds = _WriteHolds()
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    uow = UnitOfWork(create_session_factory(engine), ManualClock(NOW))
    try:
        if kind == "products":
            file_text = products_file(lines, suppliers)
            run = lambda: import_products(uow, file_text, MERCHANT)  # noqa: E731
        else:
            await import_products(uow, products_file(suppliers=suppliers), MERCHANT)
            if kind == "orders":
                file_text = orders_file(lines)
                run = lambda: import_orders(uow, file_text, MERCHANT, "DE")  # noqa: E731
            else:
                file_text = purchase_orders_file(lines)
                run = lambda: import_purchase_orders(uow, file_text, MERCHANT)  # noqa: E731
        timings, cpu = [], []
        for _ in ("first", "again"):
            holds.longest = 0.0
            started, cpu_started = time.perf_counter(), time.process_time()
            result = await run()
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            if not timings[1:]:
                longest_hold = holds.longest
        assert not result.changed, "importing the same file again changed something"
    finally:
        await engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "lines": lines, "first_s": timings[0], "again_s": timings[1], "peak_rss_mb": peak_mb,
        "first_cpu_s": cpu[0], "again_cpu_s": cpu[1], "longest_write_s": longest_hold,
    }


def fresh_database(base_url: str | None, folder: str) -> tuple[str, str | None]:
    """A URL of an empty database, and the PostgreSQL database's name to drop afterwards (None for SQLite)."""
    if base_url is None:
        return f"sqlite+aiosqlite:///{folder}/bench-{uuid.uuid4().hex}.sqlite3", None
    name = f"bench_csv_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(base_url, f'CREATE DATABASE "{name}"'))
    return make_url(base_url).set(database=name).render_as_string(hide_password=False), name


async def _admin(base_url: str, statement: str) -> None:
    engine = create_engine(make_url(base_url).set(database="postgres").render_as_string(hide_password=False))
    try:
        async with engine.connect() as connection:
            await (await connection.execution_options(isolation_level="AUTOCOMMIT")).execute(text(statement))
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL database to create the bench's databases next to")
    parser.add_argument("--kind", choices=("orders", "products", "purchase-orders"), default="orders")
    parser.add_argument("--lines", type=int, nargs="+", default=[10000, 50000, 100000], help="rows per file")
    parser.add_argument("--suppliers", type=int, default=40, help="suppliers a products file names; 0: no column")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: measure one size on this URL
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(measure(args.one, args.kind, args.lines[0], args.suppliers))))
        return
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"{args.kind} import on {backend}: rows, first import, same file again, peak RSS;"
        " then this process's CPU seconds for each (the database server's not counted)"
        + ("; and the first import's longest hold of the write lock" if backend == "SQLite" else "")
    )
    with tempfile.TemporaryDirectory() as folder:
        for lines in args.lines:
            url, created = fresh_database(args.database_url, folder)
            try:
                child = subprocess.run(
                    [sys.executable, __file__, "--kind", args.kind, "--lines", str(lines), "--suppliers",
                     str(args.suppliers), "--one", url],
                    capture_output=True,
                    text=True,
                )
            finally:
                if created:
                    asyncio.run(_admin(args.database_url, f'DROP DATABASE "{created}" WITH (FORCE)'))
            if child.returncode:
                sys.exit(f"{lines} rows failed:\n{child.stderr}")
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            print(
                f"{figures['lines']:>8,} rows  {figures['first_s']:6.2f} s  {figures['again_s']:6.2f} s"
                f"  {figures['peak_rss_mb']:6.0f} MB   CPU {figures['first_cpu_s']:6.2f} s  {figures['again_cpu_s']:6.2f} s"
                + (f"   longest write {figures['longest_write_s']:5.2f} s" if backend == "SQLite" else "")
                + f"   (load average {os.getloadavg()[0]:.0f} on {os.cpu_count()} CPUs)"
            )


if __name__ == "__main__":
    main()
