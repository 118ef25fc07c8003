"""How fast a customer's backorder status comes back with a million order lines in SQLite.

Builds a fresh database with the real migrations, bulk-loads a shop (1,000,000 order lines on 200,000 orders
of 50,000 customers, 1,000 SKUs, recent orders partly waiting with ETAs and ETA history, older ones shipped),
then times get_backorder_status for 2,000 random customers through the real engine and unit of work.

    .venv/bin/python bench/status_lookup.py [--lines N] [--lookups N]
"""

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import ManualClock  # noqa: E402
from bot.services.backorders.status import get_backorder_status  # noqa: E402
from bot.services.unit_of_work import ShopPolicy, UnitOfWork  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 27)
SKUS = 1_000
CATEGORIES = 25
LINES_PER_ORDER = 5
ORDERS_PER_CUSTOMER = 4
RECENT_DAYS = 45  # orders younger than this may still wait; older ones have shipped or were cancelled


def stamp(moment: datetime) -> str:
    """A UTC instant as SQLAlchemy stores it in SQLite (naive, microseconds)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def load_shop(path: Path, lines: int, rng: random.Random) -> int:
    """Bulk-insert the shop with plain sqlite3 (the ORM would take minutes); returns the customer count."""
    orders = lines // LINES_PER_ORDER
    customers = max(orders // ORDERS_PER_CUSTOMER, 1)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("BEGIN")
    t0 = stamp(NOW - timedelta(days=400))
    connection.executemany(
        "INSERT INTO products (id, sku, name, category, price_minor, currency, tags, lead_time_days,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'EUR', ?, ?, ?, ?)",
        (
            (
                pid,
                f"SKU-{pid:05d}",
                f"Product {pid}",
                f"category-{pid % CATEGORIES}",
                rng.randrange(500, 30_000, 10),
                json.dumps(rng.sample(["wireless", "black", "white", "compact", "pro", "kids", "eco"], 2)),
                rng.randrange(7, 43),
                t0,
                t0,
            )
            for pid in range(1, SKUS + 1)
        ),
    )
    connection.executemany(
        "INSERT INTO stock_levels (product_id, available, updated_at) VALUES (?, ?, ?)",
        ((pid, rng.choice([0, 0, 0, 2, 10, 40]), t0) for pid in range(1, SKUS + 1)),
    )
    purchase_orders = list(_purchase_orders(rng))
    connection.executemany(
        "INSERT INTO purchase_orders (id, reference, product_id, quantity, received_quantity, expected_on, status,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, 'open', ?, ?)",
        (
            (po_id, f"PO-{po_id:06d}", pid, qty, expected.isoformat(), t0, t0)
            for po_id, pid, qty, expected in purchase_orders
        ),
    )
    first_po = {}
    for po_id, pid, _qty, expected in purchase_orders:
        first_po.setdefault(pid, (po_id, expected))
    connection.executemany(
        "INSERT INTO customers (id, name, email, notifications_opt_out, bot_blocked, created_at)"
        " VALUES (?, ?, ?, 0, 0, ?)",
        ((cid, f"Customer {cid}", f"customer{cid}@example.com", t0) for cid in range(1, customers + 1)),
    )
    order_rows, line_rows, history_rows = [], [], []
    line_id = 0
    for order_id in range(1, orders + 1):
        placed = NOW - timedelta(minutes=rng.randrange(0, 180 * 24 * 60))
        order_rows.append(
            (order_id, f"BD-{order_id:07d}", rng.randrange(1, customers + 1), stamp(placed), stamp(placed))
        )
        for _ in range(LINES_PER_ORDER):
            line_id += 1
            pid = rng.randrange(1, SKUS + 1)
            line_rows.append(_line(rng, line_id, order_id, pid, placed, first_po.get(pid), history_rows))
        if len(line_rows) >= 100_000:
            _flush(connection, order_rows, line_rows, history_rows)
    _flush(connection, order_rows, line_rows, history_rows)
    connection.execute("COMMIT")
    connection.close()
    return customers


def _purchase_orders(rng: random.Random) -> Iterator[tuple[int, int, int, date]]:
    po_id = 0
    for pid in range(1, SKUS + 1):
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            po_id += 1
            yield po_id, pid, rng.randrange(10, 200), TODAY + timedelta(days=rng.randrange(3, 40))


def _line(
    rng: random.Random,
    line_id: int,
    order_id: int,
    pid: int,
    placed: datetime,
    purchase_order: tuple[int, date] | None,
    history_rows: list[tuple[object, ...]],
) -> tuple[object, ...]:
    quantity = rng.choice([1, 1, 1, 1, 2, 2, 3, 5])
    price = rng.randrange(500, 30_000, 10)
    recent = NOW - placed < timedelta(days=RECENT_DAYS)
    roll = rng.random()
    allocated = cancelled = substituted = 0
    eta = basis = po_id = resolved = None
    if recent and roll < 0.35:  # still waiting: about 9% of all lines
        status = "backordered"
        if quantity > 1 and rng.random() < 0.2:
            status, allocated = "partially_allocated", 1
        if purchase_order and rng.random() < 0.7:
            po_id, expected = purchase_order
            eta, basis = expected + timedelta(days=1), "purchase_order"
        else:
            eta, basis = TODAY + timedelta(days=rng.randrange(7, 43)), "lead_time"
        previous = None
        for step in range(rng.choice([1, 1, 2, 3])):
            moved = eta - timedelta(days=3 * step) if step else eta
            history_rows.append((line_id, previous, moved, "initial" if not step else "purchase_order_delayed", placed))
            previous = moved
    elif recent and roll < 0.75:
        status, allocated = "allocated", quantity
    else:
        status, allocated = "shipped", quantity
        if rng.random() < 0.08:  # waited, then resolved: cancelled or swapped some days ago
            status, allocated = rng.choice([("cancelled", 0), ("substituted", 0)])
            cancelled = quantity if status == "cancelled" else 0
            substituted = quantity if status == "substituted" else 0
            resolved = max(placed, NOW - timedelta(days=rng.randrange(0, 40)))
            history_rows.append((line_id, None, TODAY, "initial", placed))
    eta_text = eta.isoformat() if eta else None
    resolved_text = stamp(resolved) if resolved else None
    return (
        line_id, order_id, pid, quantity, price, status, allocated, cancelled, substituted, stamp(placed),
        eta_text, basis, po_id, resolved_text, stamp(placed), stamp(placed),
    )  # fmt: skip


def _flush(
    connection: sqlite3.Connection,
    order_rows: list[tuple[object, ...]],
    line_rows: list[tuple[object, ...]],
    history_rows: list[tuple[object, ...]],
) -> None:
    connection.executemany(
        "INSERT INTO orders (id, number, customer_id, placed_at, currency, created_at) VALUES (?, ?, ?, ?, 'EUR', ?)",
        order_rows,
    )
    connection.executemany(
        "INSERT INTO order_lines (id, order_id, product_id, quantity, unit_price_minor, status, allocated_quantity,"
        " cancelled_quantity, substituted_quantity, queued_at, eta, eta_basis, eta_purchase_order_id, resolved_at,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        line_rows,
    )
    connection.executemany(
        "INSERT INTO eta_changes (line_id, old_eta, new_eta, reason, changed_at) VALUES (?, ?, ?, ?, ?)",
        (
            (line_id, old.isoformat() if old else None, new.isoformat(), reason, stamp(at))
            for line_id, old, new, reason, at in history_rows
        ),
    )
    order_rows.clear()
    line_rows.clear()
    history_rows.clear()


async def time_lookups(url: str, customers: int, lookups: int, rng: random.Random) -> list[float]:
    """Milliseconds per get_backorder_status call, after a short warm-up."""
    engine = create_engine(url)
    uow = UnitOfWork(create_session_factory(engine), ManualClock(NOW, tz=ZoneInfo("Europe/Berlin")), ShopPolicy())
    try:
        for _ in range(200):
            await get_backorder_status(uow, rng.randrange(1, customers + 1))
        timings, waiting = [], 0
        for _ in range(lookups):
            customer_id = rng.randrange(1, customers + 1)
            started = time.perf_counter()
            status = await get_backorder_status(uow, customer_id)
            timings.append((time.perf_counter() - started) * 1000)
            waiting += len(status.waiting)
        print(f"waiting lines per customer looked up: {waiting / lookups:.1f} on average")
        return timings
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    args = parser.parse_args()
    rng = random.Random(20261127)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        started = time.perf_counter()
        customers = load_shop(path, args.lines, rng)
        with sqlite3.connect(path) as connection:
            waiting = connection.execute(
                "SELECT count(*) FROM order_lines WHERE status IN ('backordered', 'partially_allocated')"
            ).fetchone()[0]
        print(
            f"loaded {args.lines:,} order lines ({waiting:,} waiting), {customers:,} customers, {SKUS:,} SKUs"
            f" in {time.perf_counter() - started:.0f} s"
        )
        timings = asyncio.run(time_lookups(url, customers, args.lookups, rng))
    quantiles = statistics.quantiles(timings, n=100)
    print(
        f"get_backorder_status, {len(timings):,} random customers: p50 {quantiles[49]:.2f} ms,"
        f" p99 {quantiles[98]:.2f} ms, max {max(timings):.2f} ms (target p99 < 5 ms)"
    )


if __name__ == "__main__":
    main()
