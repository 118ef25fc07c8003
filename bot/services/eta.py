"""ETAs, computed and never typed in: each waiting line's place in its SKU's queue against stock and supply.

A SKU's waiting lines are served first come, first served (queued_at, then id). Walking them in that order,
unallocated stock covers the first ones (ETA = today + handling days); then the open purchase orders, by
expected date, cover the next ones (ETA = the date of the purchase order that completes the line, plus
handling days, *confirmed*); the rest get today + the product's supplier lead time, *estimated*.

The walk is done in SQL with running totals, so a recompute is a few statements whatever the number of lines.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Integer, Select, and_, bindparam, case, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.clock import Clock
from bot.services.allocation import open_quantity
from bot.services.audit import Actor, record
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.models import (
    EtaBasis,
    OPEN_LINE_STATUSES,
    EtaChange,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderStatus,
    StockLevel,
)

# Why an ETA moved; stored on each EtaChange row.
REASON_PURCHASE_ORDER_ADDED = "purchase_order_added"
REASON_PURCHASE_ORDER_MOVED = "purchase_order_moved"
REASON_PURCHASE_ORDER_CANCELLED = "purchase_order_cancelled"
REASON_PURCHASE_ORDER_RECEIVED = "purchase_order_received"
REASON_STOCK_CHANGED = "stock_changed"
REASON_RECALCULATED = "recalculated"

@dataclass(frozen=True, slots=True)
class EtaMove:
    """A waiting line whose ETA date, or the basis of it, changed."""

    line_id: int
    customer_id: int
    order_number: str
    sku: str
    old_eta: date | None
    new_eta: date | None
    old_basis: EtaBasis | None
    new_basis: EtaBasis | None
    reason: str


class _days_after(FunctionElement[date]):
    """`day + days` as a date, on SQLite and PostgreSQL alike."""

    type = Date()
    inherit_cache = True
    name = "days_after"


@compiles(_days_after, "sqlite")
def _days_after_sqlite(element: _days_after, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = element.clauses
    # SQLite keeps dates as 'YYYY-MM-DD' text, which is what date() returns.
    return f"date({compiler.process(day, **kw)}, '+' || ({compiler.process(days, **kw)}) || ' days')"


@compiles(_days_after, "postgresql")
def _days_after_postgresql(element: _days_after, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = element.clauses
    return f"(CAST({compiler.process(day, **kw)} AS DATE) + CAST({compiler.process(days, **kw)} AS INTEGER))"


def _computed_etas(today: date, handling_days: int, product_ids: Collection[int] | None) -> Select[Any]:
    """One row per waiting line whose computed ETA, basis or purchase order differs from the stored one."""
    queue_filter = [OrderLine.status.in_(OPEN_LINE_STATUSES)]
    supply_filter = [PurchaseOrder.status == PurchaseOrderStatus.OPEN]
    if product_ids is not None:
        queue_filter.append(OrderLine.product_id.in_(list(product_ids)))
        supply_filter.append(PurchaseOrder.product_id.in_(list(product_ids)))

    queue = (
        select(
            OrderLine.id,
            OrderLine.product_id,
            OrderLine.order_id,
            OrderLine.eta,
            OrderLine.eta_basis,
            OrderLine.eta_purchase_order_id,
            func.sum(open_quantity())
            .over(partition_by=OrderLine.product_id, order_by=(OrderLine.queued_at, OrderLine.id), rows=(None, 0))
            .label("needed_through"),
        )
        .where(*queue_filter)
        .cte("queue")
    )
    outstanding = PurchaseOrder.quantity - PurchaseOrder.received_quantity
    supplied_through = func.sum(outstanding).over(
        partition_by=PurchaseOrder.product_id,
        order_by=(PurchaseOrder.expected_on, PurchaseOrder.id),
        rows=(None, 0),
    )
    supply = (
        select(
            PurchaseOrder.id,
            PurchaseOrder.product_id,
            PurchaseOrder.expected_on,
            (supplied_through - outstanding).label("supplied_before"),
            supplied_through.label("supplied_through"),
        )
        .where(*supply_filter)
        .cte("supply")
    )

    today_param = literal(today, Date)
    handling = literal(handling_days, Integer)
    shortfall = queue.c.needed_through - func.coalesce(StockLevel.available, 0)
    # A late purchase order has not arrived yet, so the earliest it can ship from is today.
    arrival = case((supply.c.expected_on < today_param, today_param), else_=supply.c.expected_on)
    new_eta = case(
        (shortfall <= 0, _days_after(today_param, handling)),
        (supply.c.id.is_not(None), _days_after(arrival, handling)),
        else_=_days_after(today_param, Product.lead_time_days),
    )
    new_basis = case(
        (shortfall <= 0, literal(EtaBasis.IN_STOCK.value)),
        (supply.c.id.is_not(None), literal(EtaBasis.PURCHASE_ORDER.value)),
        else_=literal(EtaBasis.LEAD_TIME.value),
    )
    new_purchase_order_id = case((shortfall <= 0, None), else_=supply.c.id)

    computed = (
        select(
            queue.c.id.label("line_id"),
            Order.customer_id,
            Order.number.label("order_number"),
            Product.sku,
            queue.c.eta.label("old_eta"),
            queue.c.eta_basis.label("old_basis"),
            queue.c.eta_purchase_order_id.label("old_purchase_order_id"),
            new_eta.label("new_eta"),
            new_basis.label("new_basis"),
            new_purchase_order_id.label("new_purchase_order_id"),
        )
        .select_from(queue)
        .join(Product, Product.id == queue.c.product_id)
        .join(Order, Order.id == queue.c.order_id)
        .outerjoin(StockLevel, StockLevel.product_id == queue.c.product_id)
        .outerjoin(
            supply,
            and_(
                supply.c.product_id == queue.c.product_id,
                shortfall > supply.c.supplied_before,
                shortfall <= supply.c.supplied_through,
            ),
        )
        .subquery("computed")
    )
    return select(computed).where(
        or_(
            computed.c.old_eta.is_distinct_from(computed.c.new_eta),
            computed.c.old_basis.is_distinct_from(computed.c.new_basis),
            computed.c.old_purchase_order_id.is_distinct_from(computed.c.new_purchase_order_id),
        )
    )


async def recompute_etas(
    session: AsyncSession,
    clock: Clock,
    policy: ShopPolicy,
    reason: str,
    product_ids: Collection[int] | None = None,
) -> list[EtaMove]:
    """Recompute the ETA of every waiting line of the given SKUs (all when None); does not commit.

    Lines whose ETA is unchanged are left alone; every line whose date or basis moved gets a history row
    and is returned.
    """
    if product_ids is not None and not product_ids:
        return []
    rows = (await session.execute(_computed_etas(clock.today(), policy.handling_days, product_ids))).all()
    if not rows:
        return []
    now = clock.now()
    moves = [
        EtaMove(
            line_id=row.line_id,
            customer_id=row.customer_id,
            order_number=row.order_number,
            sku=row.sku,
            old_eta=row.old_eta,
            new_eta=row.new_eta,
            old_basis=row.old_basis,
            new_basis=EtaBasis(row.new_basis),
            reason=reason,
        )
        for row in rows
        if row.old_eta != row.new_eta or row.old_basis != row.new_basis
    ]
    await _store_etas(session, rows, now)
    await _store_history(session, moves, now)
    return moves


async def _store_etas(session: AsyncSession, rows: Sequence[Any], now: datetime) -> None:
    lines = OrderLine.__table__
    statement = (
        update(lines)
        .where(lines.c.id == bindparam("line_id"))
        .values(
            eta=bindparam("new_eta"),
            eta_basis=bindparam("new_basis"),
            eta_purchase_order_id=bindparam("new_purchase_order_id"),
            updated_at=bindparam("now"),
        )
    )
    await session.execute(
        statement,
        [
            {
                "line_id": row.line_id,
                "new_eta": row.new_eta,
                "new_basis": EtaBasis(row.new_basis),
                "new_purchase_order_id": row.new_purchase_order_id,
                "now": now,
            }
            for row in rows
        ],
    )


async def _store_history(session: AsyncSession, moves: Sequence[EtaMove], now: datetime) -> None:
    if not moves:
        return
    await session.execute(
        insert(EtaChange.__table__),
        [
            {
                "line_id": move.line_id,
                "old_eta": move.old_eta,
                "new_eta": move.new_eta,
                "old_basis": move.old_basis,
                "new_basis": move.new_basis,
                "reason": move.reason,
                "changed_at": now,
            }
            for move in moves
        ],
    )


async def recompute_all_etas(uow: UnitOfWork, reason: str = REASON_RECALCULATED) -> list[EtaMove]:
    """Recompute every waiting line's ETA in one transaction and return the lines whose ETA moved."""
    async with uow:
        moves = await recompute_etas(uow.session, uow.clock, uow.policy, reason)
        record(
            uow.session,
            Actor.system(),
            "etas.recomputed",
            "shop",
            "all",
            at=uow.clock.now(),
            reason=reason,
            lines_moved=len(moves),
        )
        await uow.commit()
    return moves
