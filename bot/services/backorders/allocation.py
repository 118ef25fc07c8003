"""Handing a SKU's unallocated stock to its waiting lines, first come, first served."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.services.audit import Actor, record
from db.models import OPEN_LINE_STATUSES, LineStatus, Order, OrderLine, Product, StockLevel


@dataclass(frozen=True)
class AllocationChange:
    """Units just allocated to a waiting line; `ready_to_ship` when nothing of it is waiting any more."""

    line_id: int
    customer_id: int
    order_number: str
    sku: str
    allocated_now: int
    ready_to_ship: bool


def open_quantity() -> ColumnElement[int]:
    """A line's still-waiting quantity (OrderLine.open_quantity), as a SQL expression."""
    return (
        OrderLine.quantity
        - OrderLine.allocated_quantity
        - OrderLine.cancelled_quantity
        - OrderLine.substituted_quantity
    )


def waiting() -> ColumnElement[bool]:
    """Lines still waiting for stock.

    The statuses are written into the SQL rather than bound, because SQLite only uses the partial queue index
    (ix_order_lines_waiting_queue) when the query repeats the index's condition literally.
    """
    statuses = [status.value for status in OPEN_LINE_STATUSES]
    return OrderLine.status.in_(bindparam("waiting", statuses, expanding=True, literal_execute=True, unique=True))


async def allocate_available_stock(
    session: AsyncSession, clock: Clock, actor: Actor, product_id: int
) -> list[AllocationChange]:
    """Give the SKU's unallocated stock to its waiting lines in queue order, partly if need be; does not commit.

    The caller recomputes the SKU's ETAs afterwards.
    """
    # The stock row is the SKU's lock: two allocations of one SKU take turns (FOR UPDATE; SQLite already
    # serialises writers).
    available = (
        await session.execute(
            select(StockLevel.available).where(StockLevel.product_id == product_id).with_for_update()
        )
    ).scalar_one_or_none()
    if not available:
        return []

    waiting = await _lines_stock_can_reach(session, product_id, available)
    now = clock.now()
    remaining = available
    changes: list[AllocationChange] = []
    updates: list[dict[str, object]] = []
    for line in waiting:
        need = line.quantity - line.allocated_quantity - line.cancelled_quantity - line.substituted_quantity
        if remaining <= 0:
            break
        if need <= 0:
            continue
        allocated_now = min(need, remaining)
        remaining -= allocated_now
        ready = allocated_now == need
        updates.append(
            {
                "line_id": line.id,
                "allocated": line.allocated_quantity + allocated_now,
                "status": LineStatus.ALLOCATED if ready else LineStatus.PARTIALLY_ALLOCATED,
                "resolved_at": now if ready else None,
                "now": now,
            }
        )
        changes.append(
            AllocationChange(line.id, line.customer_id, line.order_number, line.sku, allocated_now, ready)
        )
        record(
            session,
            actor,
            "line.allocated",
            "order_line",
            line.id,
            at=now,
            quantity=allocated_now,
            ready_to_ship=ready,
        )
    if not changes:
        return []

    lines = OrderLine.__table__
    await session.execute(
        update(lines)
        .where(lines.c.id == bindparam("line_id"))
        .values(
            allocated_quantity=bindparam("allocated"),
            status=bindparam("status"),
            resolved_at=bindparam("resolved_at"),
            updated_at=bindparam("now"),
        ),
        updates,
    )
    await session.execute(
        update(StockLevel.__table__)
        .where(StockLevel.__table__.c.product_id == product_id)
        .values(available=remaining, updated_at=now)
    )
    return changes


async def _lines_stock_can_reach(session: AsyncSession, product_id: int, available: int) -> list[Row[Any]]:
    """The waiting lines, in queue order, that start before `available` units run out; locked for update."""
    need = open_quantity()
    queue = (
        select(
            OrderLine.id,
            (
                func.sum(need).over(order_by=(OrderLine.queued_at, OrderLine.id), rows=(None, 0)) - need
            ).label("needed_before"),
        )
        .where(OrderLine.product_id == product_id, waiting())
        .subquery()
    )
    reachable = select(queue.c.id).where(queue.c.needed_before < available)
    result = await session.execute(
        select(
            OrderLine.id,
            OrderLine.quantity,
            OrderLine.allocated_quantity,
            OrderLine.cancelled_quantity,
            OrderLine.substituted_quantity,
            Order.customer_id,
            Order.number.label("order_number"),
            Product.sku,
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        # Re-checked under the lock: a line cancelled meanwhile drops out rather than being over-allocated.
        .where(OrderLine.id.in_(reachable), waiting())
        .order_by(OrderLine.queued_at, OrderLine.id)
        .with_for_update(of=OrderLine)
    )
    return list(result.all())
