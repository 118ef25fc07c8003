"""The merchant's list of everything still waiting for stock, longest-waiting first, a page at a time."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Row, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.services.backorders.allocation import open_quantity, waiting
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, EtaBasis, LineStatus, Order, OrderLine, Product, PurchaseOrder
from db.types import MAX_ROW_ID

MAX_PAGE_SIZE = 200


# `<microseconds since 1970>-<line id>`: any text of this shape is a place in the queue, so none is refused.
CURSOR_PATTERN = r"([0-9]{1,17})-([0-9]{1,10})"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class QueueCursor:
    """Where a page ended: the next page starts after this line in (queued_at, line id) order."""

    queued_at: datetime
    line_id: int

    def encode(self) -> str:
        return f"{(self.queued_at - _EPOCH) // _MICROSECOND}-{self.line_id}"

    @classmethod
    def decode(cls, text: str) -> "QueueCursor":
        """The place `text` names; ValueError if it is not a cursor. A line id past any row is after them all."""
        match = re.fullmatch(CURSOR_PATTERN, text)
        if match is None:
            raise ValueError("is not a cursor this API gave out")
        return cls(_EPOCH + int(match.group(1)) * _MICROSECOND, min(int(match.group(2)), MAX_ROW_ID))


@dataclass(frozen=True)
class WaitingLine:
    line_id: int
    order_number: str
    placed_at: datetime
    customer_id: int
    customer_name: str
    customer_email: str
    sku: str
    product_name: str
    category: str
    quantity: int
    open_quantity: int
    allocated_quantity: int
    status: LineStatus
    days_waiting: int  # whole days since the order was placed, in the shop's time zone
    queue_position: int  # 1 = next to be served from this SKU's stock
    eta: date | None
    eta_basis: EtaBasis | None
    purchase_order_reference: str | None  # the supplier shipment the ETA rests on, if any


@dataclass(frozen=True)
class BackorderPage:
    lines: list[WaitingLine]
    next_after: QueueCursor | None  # None on the last page


async def list_backorders(
    uow: UnitOfWork,
    *,
    sku: str | None = None,
    category: str | None = None,
    min_age_days: int | None = None,
    limit: int = 50,
    after: QueueCursor | None = None,
) -> BackorderPage:
    """Waiting lines, oldest order first, optionally of one SKU or category and waiting at least `min_age_days`."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be 1 to {MAX_PAGE_SIZE}")
    async with uow:
        rows = await _waiting_rows(uow.session, uow.clock, sku, category, min_age_days, limit + 1, after)
    lines = [_waiting_line(row, uow.clock) for row in rows[:limit]]
    more = len(rows) > limit
    next_after = QueueCursor(rows[limit - 1].queued_at, rows[limit - 1].id) if more else None
    return BackorderPage(lines, next_after)


async def _waiting_rows(
    session: AsyncSession,
    clock: Clock,
    sku: str | None,
    category: str | None,
    min_age_days: int | None,
    limit: int,
    after: QueueCursor | None,
) -> list[Row[Any]]:
    # Queue places are counted over the SKU's whole queue, before the age and page filters narrow it.
    ranked = (
        select(
            OrderLine.id,
            OrderLine.queued_at,
            func.row_number()
            .over(partition_by=OrderLine.product_id, order_by=(OrderLine.queued_at, OrderLine.id))
            .label("queue_position"),
        )
        .join(Product, Product.id == OrderLine.product_id)
        .where(waiting())
    )
    if sku is not None:
        ranked = ranked.where(Product.sku == sku)
    if category is not None:
        ranked = ranked.where(Product.category == category)
    queue = ranked.subquery()
    statement = (
        select(
            OrderLine.id,
            queue.c.queued_at,
            queue.c.queue_position,
            Order.number,
            Order.placed_at,
            Customer.id.label("customer_id"),
            Customer.name.label("customer_name"),
            Customer.email,
            Product.sku,
            Product.name.label("product_name"),
            Product.category,
            OrderLine.quantity,
            open_quantity().label("open_quantity"),
            OrderLine.allocated_quantity,
            OrderLine.status,
            OrderLine.eta,
            OrderLine.eta_basis,
            PurchaseOrder.reference,
        )
        .join(OrderLine, OrderLine.id == queue.c.id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Customer, Customer.id == Order.customer_id)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(PurchaseOrder, PurchaseOrder.id == OrderLine.eta_purchase_order_id)
        .order_by(queue.c.queued_at, queue.c.id)
        .limit(limit)
    )
    if min_age_days is not None:
        statement = statement.where(queue.c.queued_at < _start_of_day_after(clock, min_age_days))
    if after is not None:
        statement = statement.where(tuple_(queue.c.queued_at, queue.c.id) > tuple_(after.queued_at, after.line_id))
    return list((await session.execute(statement)).all())


def _start_of_day_after(clock: Clock, days_ago: int) -> datetime:
    """Orders placed before this instant have waited at least `days_ago` whole days in the shop's calendar."""
    day = clock.today() - timedelta(days=days_ago - 1)
    return datetime.combine(day, time(), clock.tz).astimezone(timezone.utc)


def _waiting_line(row: Row[Any], clock: Clock) -> WaitingLine:
    placed_on = row.placed_at.astimezone(clock.tz).date()
    return WaitingLine(
        line_id=row.id,
        order_number=row.number,
        placed_at=row.placed_at,
        customer_id=row.customer_id,
        customer_name=row.customer_name,
        customer_email=row.email,
        sku=row.sku,
        product_name=row.product_name,
        category=row.category,
        quantity=row.quantity,
        open_quantity=row.open_quantity,
        allocated_quantity=row.allocated_quantity,
        status=LineStatus(row.status),
        days_waiting=max((clock.today() - placed_on).days, 0),
        queue_position=row.queue_position,
        eta=row.eta,
        eta_basis=row.eta_basis,
        purchase_order_reference=row.reference,
    )
