"""How long creating a broadcast takes for a large audience: checking it, counting and queueing one message per
customer in their language, and writing a new ETA on every waiting line, in one transaction.

Builds a fresh database (a temporary SQLite file unless --database-url names an empty one) with --customers
linked customers (a third German), each waiting on two lines of one SKU, then times preview_broadcast and
create_broadcast (with and without a new ETA) through the same services the API and the chat use.

    .venv/bin/python bench/broadcast_create.py
    .venv/bin/python bench/broadcast_create.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_broadcast
"""

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import ManualClock  # noqa: E402
from bot.services.audit import Actor  # noqa: E402
from bot.services.outreach.broadcasts import Audience, create_broadcast, preview_broadcast  # noqa: E402
from bot.services.unit_of_work import UnitOfWork  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade_async  # noqa: E402
from db.models import Customer, LineStatus, Order, OrderLine, Product, StockLevel  # noqa: E402

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
TEXTS = {"en": "The headsets ship next week.", "de": "Die Kopfhörer kommen nächste Woche."}


async def fill(uow: UnitOfWork, customers: int) -> None:
    async with uow:
        session = uow.session
        product = Product(
            sku="HS-200", name="Headset", category="audio", price_minor=14900, currency="EUR", tags=[],
            lead_time_days=21, created_at=NOW, updated_at=NOW,
        )
        session.add(product)
        await session.flush()
        session.add(StockLevel(product_id=product.id, available=0, updated_at=NOW))
        await session.execute(
            insert(Customer),
            [
                {
                    "name": f"Customer {n}", "email": f"c{n}@example.com", "telegram_user_id": 10_000_000 + n,
                    "language": "de" if n % 3 == 0 else "en", "created_at": NOW,
                }
                for n in range(customers)
            ],
        )
        ids = list(await session.scalars(select(Customer.id).order_by(Customer.id)))
        await session.execute(
            insert(Order),
            [{"number": f"{100000 + n}", "customer_id": ids[n], "placed_at": NOW, "currency": "EUR", "created_at": NOW} for n in range(customers)],
        )
        order_ids = list(await session.scalars(select(Order.id).order_by(Order.id)))
        line = {
            "product_id": product.id, "quantity": 1, "unit_price_minor": 14900, "status": LineStatus.BACKORDERED,
            "allocated_quantity": 0, "cancelled_quantity": 0, "substituted_quantity": 0, "queued_at": NOW,
            "created_at": NOW, "updated_at": NOW,
        }
        await session.execute(insert(OrderLine), [line | {"order_id": order_id} for order_id in order_ids for _ in range(2)])
        await uow.commit()


async def run(database_url: str, customers: int) -> None:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    uow = UnitOfWork(create_session_factory(engine), ManualClock(NOW))
    audience = Audience(skus=["HS-200"])
    try:
        await fill(uow, customers)
        for what, call in (
            ("preview", lambda: preview_broadcast(uow, audience)),
            ("create", lambda: create_broadcast(uow, audience, TEXTS, Actor.merchant("bench"))),
            (
                "create + new ETA",
                lambda: create_broadcast(uow, audience, TEXTS, Actor.merchant("bench"), date(2027, 1, 15)),
            ),
        ):
            started = time.perf_counter()
            result = await call()
            elapsed = time.perf_counter() - started
            count = result if isinstance(result, int) else f"{result.recipient_count} queued, {result.eta_lines_updated} ETAs set"
            print(f"{what:17} {elapsed:6.2f} s  {count}")
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite file)")
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        print(f"{args.customers} customers, {2 * args.customers} waiting lines, on {url.split(':')[0]}")
        asyncio.run(run(url, args.customers))


if __name__ == "__main__":
    main()
