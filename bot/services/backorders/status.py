"""What a customer sees: each backordered item with its place in line, its ETA and why it moved."""

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from itertools import groupby
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from bot.clock import Clock
from bot.services.backorders.ownership import customer_order
from bot.services.errors import LineNotFound
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    OPEN_LINE_STATUSES,
    EtaBasis,
    LineStatus,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    Refund,
    RefundStatus,
    Shipment,
    ShipmentLine,
    Supplier,
)
from db.models import EtaChange as EtaChangeRow

RESOLVED_STATUSES = (LineStatus.ALLOCATED, LineStatus.SHIPPED, LineStatus.CANCELLED, LineStatus.SUBSTITUTED)


@dataclass(frozen=True)
class EtaChange:
    old: date | None
    new: date | None
    old_basis: EtaBasis | None
    new_basis: EtaBasis | None
    reason: str
    changed_at: datetime


@dataclass(frozen=True)
class LineView:
    line_id: int
    order_number: str
    sku: str
    product_name: str
    quantity: int
    open_quantity: int
    allocated_quantity: int
    cancelled_quantity: int
    substituted_quantity: int
    status: LineStatus
    unit_price_minor: int
    currency: str
    placed_at: datetime
    # Waiting lines: days since the order was placed; resolved lines: how many days they waited.
    days_waiting: int
    # "3rd of 12 waiting" for this SKU; None for lines that no longer wait.
    queue_position: int | None
    queue_size: int | None
    eta: date | None
    eta_basis: EtaBasis | None
    purchase_order_reference: str | None
    purchase_order_expected_on: date | None
    resolved_at: datetime | None
    eta_history: list[EtaChange]  # newest first
    outcome: "LineOutcome | None" = None  # resolved lines: how the shop closed them (shipped, refund paid)
    # Days the ETA allows for because the purchase order's supplier usually delivers that late; None or 0: none.
    supplier_slip_days: int | None = None

    @property
    def is_waiting(self) -> bool:
        return self.status in OPEN_LINE_STATUSES

    @property
    def eta_confirmed(self) -> bool:
        """Backed by stock on hand or a supplier shipment, rather than the supplier's usual lead time."""
        return self.eta_basis in (EtaBasis.IN_STOCK, EtaBasis.PURCHASE_ORDER)


@dataclass(frozen=True)
class LineOutcome:
    """What the shop did about a line that stopped waiting: its latest parcel, and the refund it paid."""

    shipped_on: date | None = None  # in the shop's time zone
    carrier: str | None = None
    tracking_url: str | None = None
    refund_paid_minor: int = 0


@dataclass(frozen=True)
class CustomerBackorders:
    customer_id: int
    waiting: list[LineView]  # oldest order first
    recently_resolved: list[LineView]  # most recently resolved first


@dataclass(frozen=True)
class OrderView:
    order_number: str
    placed_at: datetime
    currency: str
    lines: list[LineView]


async def get_backorder_status(uow: UnitOfWork, customer_id: int) -> CustomerBackorders:
    """The customer's waiting items, and the items that stopped waiting within the last few days.

    A resolved line is listed only if it once waited, which the data shows by any of: an ETA or ETA history
    (ETAs are given to waiting lines only), a cancelled or substituted quantity, or being the substitute
    for a waiting line. A line allocated from stock when the order came in never waited, and is left out.
    """
    since = uow.clock.now() - timedelta(days=uow.policy.recently_resolved_days)
    async with uow.connection(read_only=True) as connection:
        views = await _line_views(connection, uow.clock, _CUSTOMER_LINES, customer_id=customer_id, since=since)
        views = await _with_outcomes(connection, views, uow.clock.tz)
    waiting = sorted((view for view in views if view.is_waiting), key=lambda view: (view.placed_at, view.line_id))
    resolved = sorted(
        (view for view in views if not view.is_waiting),
        key=lambda view: (view.resolved_at, view.line_id),
        reverse=True,
    )
    return CustomerBackorders(customer_id=customer_id, waiting=waiting, recently_resolved=resolved)


async def get_order_status(uow: UnitOfWork, customer_id: int, order_number: str) -> OrderView:
    """Every line of one of the customer's orders; OrderNotFound for anyone else's."""
    async with uow.read_only():
        order = await customer_order(uow.session, customer_id, order_number)
        views = await _line_views(await uow.session.connection(), uow.clock, _ORDER_LINES, order_id=order.id)
        return OrderView(
            order_number=order.number,
            placed_at=order.placed_at,
            currency=order.currency,
            lines=sorted(views, key=lambda view: view.line_id),
        )


async def get_line_view(uow: UnitOfWork, customer_id: int, line_id: int) -> LineView:
    """One of the customer's lines, whatever its status; LineNotFound for anyone else's."""
    async with uow.connection(read_only=True) as connection:
        views = await _line_views(connection, uow.clock, _ONE_LINE, customer_id=customer_id, line_id=line_id)
        views = await _with_outcomes(connection, views, uow.clock.tz)
    if not views:
        raise LineNotFound()
    return views[0]


def _is_waiting(line: Any) -> ColumnElement[bool]:
    # Spelled with literals, exactly as in the WHERE of ix_order_lines_waiting_queue, so SQLite and
    # PostgreSQL can prove the query implies it and use that partial index.
    return _status_in(line, OPEN_LINE_STATUSES)


def _status_in(line: Any, statuses: tuple[LineStatus, ...]) -> ColumnElement[bool]:
    # Literals rather than a list of bound values, which SQLAlchemy would render into the SQL on every execution.
    return line.status.in_([literal_column(f"'{status.value}'") for status in statuses])


def _once_waited() -> ColumnElement[bool]:
    return or_(
        OrderLine.eta.is_not(None),
        OrderLine.cancelled_quantity > 0,
        OrderLine.substituted_quantity > 0,
        OrderLine.substitute_for_line_id.is_not(None),
        exists().where(EtaChangeRow.line_id == OrderLine.id),
    )


def _line_rows() -> Select[*tuple[Any, ...]]:
    """Lines with their order, product, purchase order, place in the queue (if waiting) and ETA history.

    One round trip: a line comes back once per ETA change, newest first, or once if it has none.
    """
    other = aliased(OrderLine)
    history = aliased(EtaChangeRow, name="history")
    same_queue = and_(other.product_id == OrderLine.product_id, _is_waiting(other))
    ahead = (
        select(func.count())
        .where(same_queue, tuple_(other.queued_at, other.id) < tuple_(OrderLine.queued_at, OrderLine.id))
        .scalar_subquery()
    )
    size = select(func.count()).where(same_queue).scalar_subquery()
    waiting = _is_waiting(OrderLine)
    return (
        select(
            OrderLine.id,
            Order.number,
            Order.placed_at,
            Order.currency,
            Product.sku,
            Product.name,
            OrderLine.quantity,
            OrderLine.allocated_quantity,
            OrderLine.cancelled_quantity,
            OrderLine.substituted_quantity,
            OrderLine.status,
            OrderLine.unit_price_minor,
            OrderLine.eta,
            OrderLine.eta_basis,
            PurchaseOrder.reference,
            PurchaseOrder.expected_on,
            Supplier.eta_slip_days,
            OrderLine.resolved_at,
            case((waiting, ahead + 1)).label("queue_position"),
            case((waiting, size)).label("queue_size"),
            history.old_eta.label("history_old_eta"),
            history.new_eta.label("history_new_eta"),
            history.old_basis.label("history_old_basis"),
            history.new_basis.label("history_new_basis"),
            history.reason.label("history_reason"),
            history.changed_at.label("history_changed_at"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(PurchaseOrder, PurchaseOrder.id == OrderLine.eta_purchase_order_id)
        .outerjoin(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .outerjoin(history, history.line_id == OrderLine.id)
        .order_by(OrderLine.id, history.changed_at.desc(), history.id.desc())
    )


# Built once: constructing these statements costs more than running them.
_CUSTOMER_LINES = _line_rows().where(
    Order.customer_id == bindparam("customer_id"),
    or_(
        _is_waiting(OrderLine),
        and_(_status_in(OrderLine, RESOLVED_STATUSES), OrderLine.resolved_at >= bindparam("since"), _once_waited()),
    ),
)
_ORDER_LINES = _line_rows().where(OrderLine.order_id == bindparam("order_id"))
_ONE_LINE = _line_rows().where(OrderLine.id == bindparam("line_id"), Order.customer_id == bindparam("customer_id"))


class _LineRow(NamedTuple):
    """A row of _line_rows(), read by position: SQLAlchemy's Row takes ten times as long to look up a name."""

    id: int
    number: str
    placed_at: datetime
    currency: str
    sku: str
    name: str
    quantity: int
    allocated_quantity: int
    cancelled_quantity: int
    substituted_quantity: int
    status: LineStatus
    unit_price_minor: int
    eta: date | None
    eta_basis: EtaBasis | None
    reference: str | None
    expected_on: date | None
    eta_slip_days: int | None
    resolved_at: datetime | None
    queue_position: int | None
    queue_size: int | None
    history_old_eta: date | None
    history_new_eta: date | None
    history_old_basis: EtaBasis | None
    history_new_basis: EtaBasis | None
    history_reason: str | None
    history_changed_at: datetime | None


if tuple(_ORDER_LINES.selected_columns.keys()) != _LineRow._fields:
    raise RuntimeError("_LineRow's fields must name the columns of _line_rows(), in order")


async def _line_views(
    connection: AsyncConnection, clock: Clock, statement: Select[*tuple[Any, ...]], **params: Any
) -> list[LineView]:
    # Through the connection, not the ORM: these are plain rows, and the ORM layer would double the time.
    rows = [_LineRow._make(row) for row in await connection.execute(statement, params)]
    views = []
    today = clock.today()
    for _, group in groupby(rows, key=attrgetter("id")):
        line_rows = list(group)
        history = [_eta_change(row) for row in line_rows if row.history_changed_at is not None]
        views.append(_line_view(line_rows[0], clock.tz, today, history))
    return views


async def _with_outcomes(connection: AsyncConnection, views: list[LineView], tz: tzinfo) -> list[LineView]:
    """The views, resolved ones with their latest parcel and paid refunds; no query when nothing is resolved."""
    resolved = [view.line_id for view in views if not view.is_waiting]
    if not resolved:
        return views
    parcels = {
        row.line_id: row
        for row in await connection.execute(
            select(ShipmentLine.line_id, Shipment.shipped_at, Shipment.carrier, Shipment.tracking_url)
            .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
            .where(ShipmentLine.line_id.in_(resolved))
            .order_by(Shipment.shipped_at, Shipment.id)  # the latest parcel of a line wins
        )
    }
    paid = dict(
        (
            await connection.execute(
                select(Refund.line_id, func.sum(Refund.amount_minor))
                .where(Refund.line_id.in_(resolved), Refund.status == RefundStatus.PAID)
                .group_by(Refund.line_id)
            )
        ).all()
    )
    outcomes = {
        line_id: LineOutcome(
            parcels[line_id].shipped_at.astimezone(tz).date() if line_id in parcels else None,
            parcels[line_id].carrier if line_id in parcels else None,
            parcels[line_id].tracking_url if line_id in parcels else None,
            int(paid.get(line_id) or 0),
        )
        for line_id in resolved
        if line_id in parcels or line_id in paid
    }
    return [replace(view, outcome=outcomes.get(view.line_id)) for view in views]


def _eta_change(row: _LineRow) -> EtaChange:
    return EtaChange(
        old=row.history_old_eta,
        new=row.history_new_eta,
        old_basis=row.history_old_basis,
        new_basis=row.history_new_basis,
        reason=row.history_reason,
        changed_at=row.history_changed_at,
    )


def _line_view(row: _LineRow, tz: tzinfo, today: date, history: list[EtaChange]) -> LineView:
    status = LineStatus(row.status)
    waiting = status in OPEN_LINE_STATUSES
    placed_on = row.placed_at.astimezone(tz).date()
    if waiting:
        waited_until = today
    elif row.resolved_at is not None:
        waited_until = row.resolved_at.astimezone(tz).date()
    else:
        waited_until = placed_on
    purchase_order = row.eta_basis == EtaBasis.PURCHASE_ORDER
    return LineView(
        line_id=row.id,
        order_number=row.number,
        sku=row.sku,
        product_name=row.name,
        quantity=row.quantity,
        open_quantity=row.quantity - row.allocated_quantity - row.cancelled_quantity - row.substituted_quantity,
        allocated_quantity=row.allocated_quantity,
        cancelled_quantity=row.cancelled_quantity,
        substituted_quantity=row.substituted_quantity,
        status=status,
        unit_price_minor=row.unit_price_minor,
        currency=row.currency,
        placed_at=row.placed_at,
        days_waiting=max((waited_until - placed_on).days, 0),
        queue_position=row.queue_position,
        queue_size=row.queue_size,
        eta=row.eta,
        eta_basis=row.eta_basis,
        purchase_order_reference=row.reference if purchase_order else None,
        purchase_order_expected_on=row.expected_on if purchase_order else None,
        resolved_at=row.resolved_at,
        eta_history=history,
        supplier_slip_days=row.eta_slip_days if purchase_order else None,
    )
