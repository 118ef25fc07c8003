"""How long a large orders CSV takes to import, and to import again (when nothing changes).

Builds a fresh database (a temporary SQLite file unless --database-url names an empty one), imports 200
products with some stock, then an orders file of --orders orders with two lines each, through the same
service the `backorder-bot import orders` command uses: checking every row, creating customers, allocating
stock in queue order and computing every ETA, in one transaction.

    .venv/bin/python bench/csv_import.py
    .venv/bin/python bench/csv_import.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_csv
"""

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import ManualClock  # noqa: E402
from bot.services.audit import Actor  # noqa: E402
from bot.services.intake.csv_import import import_orders, import_products  # noqa: E402
from bot.services.unit_of_work import UnitOfWork  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade_async  # noqa: E402

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
MERCHANT = Actor.merchant("bench")
PRODUCTS = 200


def products_file() -> str:
    rows = [f"P-{n},Product {n},bench,{10 + n}.50,EUR,21,{n * 3}" for n in range(PRODUCTS)]
    return "sku,name,category,price,currency,lead_time_days,available\n" + "\n".join(rows) + "\n"


def orders_file(orders: int) -> str:
    """Two lines per order, a third as many customers as orders, each with a phone number."""
    customers = orders // 3 + 1
    rows = ["order_number,placed_at,customer_email,customer_name,customer_phone,sku,quantity,unit_price,currency"]
    for n in range(orders):
        customer = n % customers
        for k in range(2):
            rows.append(
                f"{100000 + n},2026-10-{1 + n % 28:02d}T10:{n % 60:02d}:00+01:00,c{customer}@example.com,"
                f"Customer {customer},0151 2345{customer % 10000:04d},P-{(n * 7 + k * 13) % PRODUCTS},{1 + k},10.50,EUR"
            )
    return "\n".join(rows) + "\n"


async def run(database_url: str, orders: int) -> None:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    uow = UnitOfWork(create_session_factory(engine), ManualClock(NOW))
    try:
        await import_products(uow, products_file(), MERCHANT)
        text = orders_file(orders)
        for attempt in ("first import", "same file again"):
            started = time.perf_counter()
            result = await import_orders(uow, text, MERCHANT, "DE")
            elapsed = time.perf_counter() - started
            print(
                f"{attempt:16} {elapsed:6.2f} s  created {len(result.created)}, unchanged {len(result.unchanged)},"
                f" {sum(a.allocated_now for a in result.allocations)} units allocated, {len(result.eta_moves)} ETAs set"
            )
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite file)")
    parser.add_argument("--orders", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        print(f"{args.orders} orders, {2 * args.orders} lines, on {url.split(':')[0]}")
        asyncio.run(run(url, args.orders))


if __name__ == "__main__":
    main()
