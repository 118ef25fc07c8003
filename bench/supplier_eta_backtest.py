"""Backtest: do ETAs that allow for a supplier's track record keep their word better than the promised dates?

Generates a shop history with three suppliers of known behaviour — punctual, habitually late (silently, 3 to
6 days), erratic (−2 to +9 days, and sometimes announcing part of the delay by moving the date) — each
supplying a few SKUs that customers order every day. Every SKU gets a purchase order each week for the
previous week's orders, promised two weeks out. The history is then replayed day by day with the manual
clock through the real use cases (orders queued and allocated as an import does, purchase orders added, moved
and received, the daily job's slip refresh and recompute), twice: with SUPPLIER_ETA_ADJUSTMENT off and on.
Both replays see exactly the same events; only the ETAs differ.

For every line ordered after the warm-up whose ETA rested on a purchase order, it reports: the share that
shipped (the day its stock arrived plus the handling day) on or before the ETA the customer was last told,
the mean absolute error of that last ETA, and the mean absolute error of the ETAs shown over the whole wait.

    .venv/bin/python bench/supplier_eta_backtest.py
    .venv/bin/python bench/supplier_eta_backtest.py --days 240 --warmup 90 --skus-per-supplier 3
"""

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import ManualClock  # noqa: E402
from bot.services.audit import Actor  # noqa: E402
from bot.services.backorders.allocation import allocate_available_stock  # noqa: E402
from bot.services.backorders.eta import REASON_RECALCULATED, recompute_all_etas, recompute_etas  # noqa: E402
from bot.services.purchasing.purchase_orders import (  # noqa: E402
    add_purchase_order,
    move_purchase_order,
    receive_purchase_order,
)
from bot.services.purchasing.suppliers import (  # noqa: E402
    SupplierFields,
    add_supplier,
    assign_products,
    refresh_supplier_slips,
)
from bot.services.unit_of_work import ShopPolicy, SupplierRecordRules, UnitOfWork  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade_async  # noqa: E402
from db.models import (  # noqa: E402
    OPEN_LINE_STATUSES,
    Customer,
    EtaBasis,
    LineStatus,
    Order,
    OrderLine,
    Product,
    StockLevel,
)

START = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
LEAD_TIME_DAYS = 14
ORDER_EVERY_DAYS = 7
HANDLING_DAYS = 1
MERCHANT = Actor.merchant("backtest")
# Days late against the promised date, drawn per purchase order.
BEHAVIOUR = {
    "punctual": [-1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    "habitually late": [3, 4, 4, 4, 5, 5, 6],
    "erratic": list(range(-2, 10)),
}
ANNOUNCES_DELAY = {"punctual": 0.0, "habitually late": 0.0, "erratic": 0.4}


@dataclass(frozen=True)
class PlannedPurchaseOrder:
    reference: str
    sku: str
    quantity: int
    placed_on: int  # day number
    promised_on: int
    arrives_on: int
    moved_to: int | None  # the supplier announces part of the delay, three days before the first date
    supplier_kind: str


@dataclass
class History:
    days: int
    skus: dict[str, str]  # sku -> supplier kind
    orders: dict[int, list[tuple[str, int]]]  # day -> (sku, quantity)
    purchase_orders: list[PlannedPurchaseOrder]


def generate(days: int, skus_per_supplier: int, seed: int) -> History:
    """The same history for both replays: orders per day and purchase orders with their true arrival."""
    rng = random.Random(seed)
    skus = {f"{kind[:4].upper()}-{n}": kind for kind in BEHAVIOUR for n in range(skus_per_supplier)}
    orders: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for day in range(days):
        for sku in skus:
            for _ in range(sum(rng.random() < 0.3 for _ in range(3))):
                orders[day].append((sku, rng.choice((1, 1, 1, 2))))
    purchase_orders = []
    for index, (sku, kind) in enumerate(skus.items()):
        for placed in range(ORDER_EVERY_DAYS + index % ORDER_EVERY_DAYS, days - LEAD_TIME_DAYS, ORDER_EVERY_DAYS):
            ordered = sum(q for day in range(placed - ORDER_EVERY_DAYS, placed) for s, q in orders[day] if s == sku)
            late = rng.choice(BEHAVIOUR[kind])
            promised = placed + LEAD_TIME_DAYS
            moved = None
            if late > 1 and rng.random() < ANNOUNCES_DELAY[kind]:
                moved = promised + max(1, round(late * rng.uniform(0.3, 1.0)))
            purchase_orders.append(
                PlannedPurchaseOrder(
                    f"PO-{sku}-{placed}", sku, max(ordered, 1), placed, promised, promised + late, moved, kind
                )
            )
    return History(days, skus, orders, purchase_orders)


@dataclass
class LineFate:
    sku: str
    ordered_on: int
    etas: list[tuple[int, date]] = field(default_factory=list)  # (day, ETA shown) while it rested on a PO
    last_eta: date | None = None
    last_basis: EtaBasis | None = None
    shipped_on: date | None = None


class Replay:
    def __init__(self, uow: UnitOfWork, clock: ManualClock, history: History) -> None:
        self.uow, self.clock, self.history = uow, clock, history
        self.products: dict[str, int] = {}
        self.customer_id = 0
        self.fates: dict[int, LineFate] = {}

    def day_of(self, day: int) -> date:
        return (START + timedelta(days=day)).date()

    async def set_up(self) -> None:
        async with self.uow:
            session = self.uow.session
            now = self.clock.now()
            for sku in self.history.skus:
                product = Product(
                    sku=sku, name=sku, category="bench", price_minor=1000, currency="EUR", tags=[],
                    lead_time_days=LEAD_TIME_DAYS + 7, created_at=now, updated_at=now,
                )
                session.add(product)
                await session.flush()
                session.add(StockLevel(product_id=product.id, available=0, updated_at=now))
                self.products[sku] = product.id
            customer = Customer(name="Backtest", email="backtest@example.com", created_at=now)
            session.add(customer)
            await session.flush()
            self.customer_id = customer.id
            await self.uow.commit()
        for kind in BEHAVIOUR:
            supplier = (await add_supplier(self.uow, SupplierFields(kind.title()), MERCHANT)).supplier
            await assign_products(self.uow, supplier.id, [s for s, k in self.history.skus.items() if k == kind], MERCHANT)

    async def run(self) -> None:
        by_placed: dict[int, list[PlannedPurchaseOrder]] = defaultdict(list)
        by_arrival: dict[int, list[PlannedPurchaseOrder]] = defaultdict(list)
        by_move: dict[int, list[PlannedPurchaseOrder]] = defaultdict(list)
        for po in self.history.purchase_orders:
            by_placed[po.placed_on].append(po)
            by_arrival[po.arrives_on].append(po)
            if po.moved_to is not None:
                by_move[po.promised_on - 3].append(po)
        for day in range(self.history.days):
            for po in by_arrival[day]:
                await receive_purchase_order(self.uow, po.reference, MERCHANT)
            await self.note_shipped(day)
            for po in by_move[day]:
                await move_purchase_order(self.uow, po.reference, self.day_of(po.moved_to), MERCHANT)
            await self.take_orders(day)
            for po in by_placed[day]:
                await add_purchase_order(self.uow, po.reference, po.sku, po.quantity, self.day_of(po.promised_on), MERCHANT)
            # The daily job.
            await refresh_supplier_slips(self.uow)
            await recompute_all_etas(self.uow)
            await self.note_etas(day)
            self.clock.advance(days=1)

    async def take_orders(self, day: int) -> None:
        """The day's orders, queued and served from stock on hand as an import does."""
        orders = self.history.orders[day]
        if not orders:
            return
        async with self.uow:
            session = self.uow.session
            now = self.clock.now()
            lines = []
            for index, (sku, quantity) in enumerate(orders):
                order = Order(number=f"{day}-{index}", customer_id=self.customer_id, placed_at=now, currency="EUR", created_at=now)
                session.add(order)
                await session.flush()
                line = OrderLine(
                    order_id=order.id, product_id=self.products[sku], quantity=quantity, unit_price_minor=1000,
                    status=LineStatus.BACKORDERED, allocated_quantity=0, cancelled_quantity=0,
                    substituted_quantity=0, queued_at=now, created_at=now, updated_at=now,
                )
                session.add(line)
                lines.append((line, sku))
            await session.flush()
            touched = sorted({self.products[sku] for _, sku in lines})
            for product_id in touched:
                await allocate_available_stock(session, self.clock, MERCHANT, product_id)
            await recompute_etas(session, self.clock, self.uow.policy, REASON_RECALCULATED, touched)
            await self.uow.commit()
        for line, sku in lines:
            self.fates[line.id] = LineFate(sku, day)

    async def note_shipped(self, day: int) -> None:
        """Lines allocated in full today ship after the handling day."""
        async with self.uow.read_only():
            rows = await self.uow.session.execute(
                select(OrderLine.id).where(OrderLine.status == LineStatus.ALLOCATED)
            )
            for (line_id,) in rows:
                fate = self.fates.get(line_id)
                if fate is not None and fate.shipped_on is None:
                    fate.shipped_on = self.day_of(day + HANDLING_DAYS)

    async def note_etas(self, day: int) -> None:
        """What each waiting customer is shown at the end of the day."""
        async with self.uow.read_only():
            rows = await self.uow.session.execute(
                select(OrderLine.id, OrderLine.eta, OrderLine.eta_basis).where(OrderLine.status.in_(OPEN_LINE_STATUSES))
            )
            for line_id, eta, basis in rows:
                fate = self.fates[line_id]
                fate.last_eta, fate.last_basis = eta, basis
                if basis == EtaBasis.PURCHASE_ORDER:
                    fate.etas.append((day, eta))


@dataclass(frozen=True)
class Scores:
    lines: int
    on_or_before: float
    last_eta_error: float
    wait_eta_error: float


def score(replay: Replay, warmup: int, kinds: set[str]) -> Scores:
    hits, last_errors, wait_errors = [], [], []
    for fate in replay.fates.values():
        if fate.ordered_on < warmup or fate.shipped_on is None or fate.last_basis != EtaBasis.PURCHASE_ORDER:
            continue
        if replay.history.skus[fate.sku] not in kinds:
            continue
        hits.append(fate.shipped_on <= fate.last_eta)
        last_errors.append(abs((fate.shipped_on - fate.last_eta).days))
        wait_errors.append(statistics.fmean(abs((fate.shipped_on - eta).days) for _, eta in fate.etas))
    if not hits:
        return Scores(0, 0.0, 0.0, 0.0)
    return Scores(len(hits), sum(hits) / len(hits), statistics.fmean(last_errors), statistics.fmean(wait_errors))


async def replay_once(database_url: str, history: History, adjust: bool, percentile: int) -> Replay:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    try:
        clock = ManualClock(START)
        rules = SupplierRecordRules(window_days=120, minimum_received=5, adjust_etas=adjust, slip_percentile=percentile)
        uow = UnitOfWork(create_session_factory(engine), clock, ShopPolicy(handling_days=HANDLING_DAYS, supplier_record=rules))
        replay = Replay(uow, clock, history)
        await replay.set_up()
        await replay.run()
        return replay
    finally:
        await engine.dispose()


def report(replays: dict[bool, Replay], warmup: int) -> None:
    groups = {"all suppliers": set(BEHAVIOUR)} | {kind: {kind} for kind in BEHAVIOUR}
    print(f"{'':17} {'ETAs':10} {'lines':>6} {'shipped by last ETA':>20} {'MAE last ETA':>13} {'MAE over wait':>14}")
    for name, kinds in groups.items():
        for adjust in (False, True):
            scores = score(replays[adjust], warmup, kinds)
            print(
                f"{name:17} {'adjusted' if adjust else 'promised':10} {scores.lines:6d} {scores.on_or_before:19.1%}"
                f" {scores.last_eta_error:10.2f} d {scores.wait_eta_error:11.2f} d"
            )


async def run(args: argparse.Namespace, tmp: str) -> None:
    history = generate(args.days, args.skus_per_supplier, args.seed)
    print(
        f"{len(history.skus)} SKUs, {sum(len(day) for day in history.orders.values()):,} order lines,"
        f" {len(history.purchase_orders)} purchase orders over {args.days} days; measured from day {args.warmup};"
        f" slip: percentile {args.percentile} of recent lateness"
    )
    replays = {}
    for adjust in (False, True):
        started = time.perf_counter()
        replays[adjust] = await replay_once(
            f"sqlite+aiosqlite:///{tmp}/backtest-{adjust}.sqlite3", history, adjust, args.percentile
        )
        print(f"replay with adjustment {'on' if adjust else 'off'}: {time.perf_counter() - started:.0f} s")
    report(replays, args.warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=240)
    parser.add_argument("--warmup", type=int, default=90, help="lines ordered before this day are not scored")
    parser.add_argument("--skus-per-supplier", type=int, default=3)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument(
        "--percentile", type=int, default=SupplierRecordRules().slip_percentile, help="SUPPLIER_ETA_PERCENTILE"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, tmp))


if __name__ == "__main__":
    main()
