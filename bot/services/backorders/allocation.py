"""Handing a SKU's unallocated stock to its waiting lines, first come, first served."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.services.audit import Actor, AuditFact, record_all
from bot.services.event_log import ReadyLine, lines_ready_to_ship
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
    return await allocate_stock_of(session, clock, actor, [product_id])


_CHUNK = 500  # SKUs per statement: keeps IN (...) lists well inside every driver's parameter limit


async def allocate_stock_of(
    session: AsyncSession, clock: Clock, actor: Actor, product_ids: Collection[int], *, held: Collection[int] = ()
) -> list[AllocationChange]:
    """allocate_available_stock for many SKUs at once, in a few statements per 500 SKUs (an import's thousands).

    The `held` lines (ids) keep their place in the queue but get nothing this time."""
    changes: list[AllocationChange] = []
    ordered = sorted(set(product_ids))
    for start in range(0, len(ordered), _CHUNK):
        changes += await _allocate_chunk(session, clock, actor, ordered[start : start + _CHUNK], held)
    return changes


async def reserve_supplied(
    session: AsyncSession, clock: Clock, actor: Actor, supplied: Mapping[int, int]
) -> list[AllocationChange]:
    """Allocate units a store already handed these lines from its own stock ({line id: units}), ahead of the queue;
    they are taken off the SKUs' unallocated stock as far as it holds them. Does not commit.

    A store that sells on backorder says how much of a line it could not supply; the rest is the customer's."""
    wanted = {line_id: units for line_id, units in supplied.items() if units > 0}
    if not wanted:
        return []
    lines = (
        await session.execute(
            _line_columns().where(OrderLine.id.in_(list(wanted))).order_by(OrderLine.product_id, OrderLine.id)
            .with_for_update(of=OrderLine)
        )
    ).all()
    stock = await _locked_stock(session, sorted({line.product_id for line in lines}))
    remaining = dict(stock)
    picks = []
    for line in lines:
        units = min(wanted[line.id], _need(line))
        if units > 0:
            picks.append((line, units))
            if line.product_id in remaining:
                remaining[line.product_id] = max(0, remaining[line.product_id] - units)
    return await _book(session, clock.now(), actor, picks, stock, remaining)


def _need(line: Row[Any]) -> int:
    return int(line.quantity - line.allocated_quantity - line.cancelled_quantity - line.substituted_quantity)


async def _locked_stock(session: AsyncSession, product_ids: list[int]) -> dict[int, int]:
    """The SKUs' unallocated stock that is there to give.

    The stock rows are the SKUs' locks: two allocations of one SKU take turns (FOR UPDATE; SQLite already
    serialises writers). Taken in product order, so two multi-SKU allocations cannot deadlock."""
    return dict(
        (
            await session.execute(
                select(StockLevel.product_id, StockLevel.available)
                .where(StockLevel.product_id.in_(product_ids), StockLevel.available > 0)
                .order_by(StockLevel.product_id)
                .with_for_update()
            )
        ).all()
    )


async def _allocate_chunk(
    session: AsyncSession, clock: Clock, actor: Actor, product_ids: list[int], held: Collection[int]
) -> list[AllocationChange]:
    stock = await _locked_stock(session, product_ids)
    if not stock:
        return []
    remaining = dict(stock)
    picks = []
    for line in await _lines_stock_can_reach(session, list(stock), held):
        need = _need(line)
        if remaining[line.product_id] <= 0 or need <= 0:
            continue
        picks.append((line, min(need, remaining[line.product_id])))
        remaining[line.product_id] -= picks[-1][1]
    return await _book(session, clock.now(), actor, picks, stock, remaining)


async def _book(
    session: AsyncSession, now: datetime, actor: Actor, picks: list[tuple[Row[Any], int]], stock: dict[int, int],
    remaining: dict[int, int],
) -> list[AllocationChange]:
    """Write the units picked for each line and what stock is left; audit them and log the lines ready to ship."""
    changes: list[AllocationChange] = []
    updates: list[dict[str, object]] = []
    facts: list[AuditFact] = []
    ready_lines: list[ReadyLine] = []
    for line, allocated_now in picks:
        ready = allocated_now == _need(line)
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
        facts.append(
            AuditFact("line.allocated", "order_line", line.id, {"quantity": allocated_now, "ready_to_ship": ready})
        )
        if ready:
            to_pick = line.quantity - line.cancelled_quantity - line.substituted_quantity
            ready_lines.append(ReadyLine(line.order_number, line.id, line.sku, line.product_name, to_pick))
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
    levels = StockLevel.__table__
    left = [{"stocked": product_id, "left": units} for product_id, units in remaining.items() if units != stock[product_id]]
    if left:
        await session.execute(
            update(levels).where(levels.c.product_id == bindparam("stocked")).values(available=bindparam("left"), updated_at=now),
            left,
        )
    await record_all(session, actor, now, facts)
    await lines_ready_to_ship(session, now, ready_lines)
    return changes


async def _lines_stock_can_reach(session: AsyncSession, product_ids: list[int], held: Collection[int] = ()) -> list[Row[Any]]:
    """The waiting lines, in queue order per SKU, that start before its available units run out; locked for update."""
    need = open_quantity()
    in_turn = [OrderLine.product_id.in_(product_ids), waiting()]
    if held:
        in_turn.append(OrderLine.id.not_in(list(held)))
    queue = (
        select(
            OrderLine.id,
            OrderLine.product_id,
            (
                func.sum(need).over(
                    partition_by=OrderLine.product_id, order_by=(OrderLine.queued_at, OrderLine.id), rows=(None, 0)
                )
                - need
            ).label("needed_before"),
        )
        .where(*in_turn)
        .subquery()
    )
    reachable = (
        select(queue.c.id)
        .join(StockLevel, StockLevel.product_id == queue.c.product_id)
        .where(queue.c.needed_before < StockLevel.available)
    )
    result = await session.execute(
        _line_columns()
        # Re-checked under the lock: a line cancelled meanwhile drops out rather than being over-allocated.
        .where(OrderLine.id.in_(reachable), waiting())
        .order_by(OrderLine.product_id, OrderLine.queued_at, OrderLine.id)
        .with_for_update(of=OrderLine)
    )
    return list(result.all())


def _line_columns() -> Select[Any]:
    """What allocating to a line reads of it, its order and its product."""
    return (
        select(
            OrderLine.id,
            OrderLine.product_id,
            OrderLine.quantity,
            OrderLine.allocated_quantity,
            OrderLine.cancelled_quantity,
            OrderLine.substituted_quantity,
            Order.customer_id,
            Order.number.label("order_number"),
            Product.sku,
            Product.name.label("product_name"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
    )
