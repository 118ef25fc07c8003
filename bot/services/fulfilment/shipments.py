"""The shop ships what is allocated: the lines' shipped quantities, the customer told with a tracking button."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.services.audit import Actor, record
from bot.services.backorders.notifications import line_recipients, message_about
from bot.services.backorders.ownership import locked_order_lines
from bot.services.errors import OrderNotFound, ShipmentConflict, ShipmentRefused
from bot.services.event_log import line_shipped
from bot.services.outbox import enqueue
from bot.services.unit_of_work import UnitOfWork
from db.models import LineStatus, Order, OrderLine, Shipment, ShipmentLine

TEMPLATE_LINE_SHIPPED = "line_shipped"


@dataclass(frozen=True)
class ShipmentItem:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Parcel:
    """Where a shipment can be followed; every part optional."""

    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True)
class ShippedLine:
    line_id: int
    sku: str
    product_name: str
    quantity: int  # shipped with this shipment
    status: LineStatus


@dataclass(frozen=True)
class ShipmentResult:
    shipment_id: int
    order_number: str
    parcel: Parcel
    shipped_at: datetime
    lines: list[ShippedLine]
    already_done: bool  # the same tracking number was recorded for this order before


@dataclass(frozen=True)
class ShipmentRequest:
    order_number: str
    items: Sequence[ShipmentItem]
    parcel: Parcel = Parcel()
    shipped_at: datetime | None = None  # None: now


async def record_shipment(uow: UnitOfWork, request: ShipmentRequest, actor: Actor) -> ShipmentResult:
    """Ship these quantities of the order's SKUs, from what is allocated to them, oldest line first.

    Shipping more than is allocated is refused (ShipmentRefused, saying how much could ship); a repeat with the
    same tracking number returns the first result, the same number with other items is ShipmentConflict.
    """
    async with uow:
        result = await ship(uow, request, actor)
        await uow.commit()
        return result


async def ship(uow: UnitOfWork, request: ShipmentRequest, actor: Actor) -> ShipmentResult:
    """record_shipment in the caller's transaction, which it does not commit; refuses before it changes anything."""
    session, parcel = uow.session, request.parcel
    order = (await session.execute(select(Order).where(Order.number == request.order_number))).scalar_one_or_none()
    if order is None:
        raise OrderNotFound()
    wanted = _wanted(request.items)
    lines = await locked_order_lines(session, order)
    if parcel.tracking_number:
        earlier = await _earlier(session, order, parcel.tracking_number)
        if earlier is not None:
            return _repeat(earlier, order, wanted, lines)
    plan = _plan(order, lines, wanted)
    now = uow.clock.now()
    shipment = Shipment(
        order_id=order.id,
        carrier=parcel.carrier,
        tracking_number=parcel.tracking_number,
        tracking_url=parcel.tracking_url,
        shipped_at=request.shipped_at or now,
        created_at=now,
    )
    session.add(shipment)
    await session.flush()
    shipped = []
    for line, quantity in plan:
        line.shipped_quantity += quantity
        if line.shipped_quantity == line.quantity - line.cancelled_quantity - line.substituted_quantity:
            line.status = LineStatus.SHIPPED
            line.resolved_at = now
        line.updated_at = now
        session.add(ShipmentLine(shipment_id=shipment.id, line_id=line.id, quantity=quantity))
        line_shipped(session, now, line, quantity, shipment.id, shipment.shipped_at, _parcel_facts(parcel))
        shipped.append(ShippedLine(line.id, line.product.sku, line.product.name, quantity, line.status))
    record(
        session, actor, "shipment.recorded", "order", order.number, at=now, shipment_id=shipment.id,
        lines={str(line.line_id): line.quantity for line in shipped}, **_parcel_facts(parcel),
    )
    await _tell_customer(uow, shipment, shipped, parcel)
    return ShipmentResult(shipment.id, order.number, parcel, shipment.shipped_at, shipped, already_done=False)


def _wanted(items: Sequence[ShipmentItem]) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for item in items:
        if item.sku in wanted:
            raise ShipmentRefused(ShipmentRefused.SKU_TWICE, sku=item.sku)
        if item.quantity <= 0:
            raise ShipmentRefused(ShipmentRefused.NO_QUANTITY, sku=item.sku)
        wanted[item.sku] = item.quantity
    if not wanted:
        raise ShipmentRefused(ShipmentRefused.NO_LINES)
    return wanted


def _plan(order: Order, lines: list[OrderLine], wanted: dict[str, int]) -> list[tuple[OrderLine, int]]:
    """Which line ships how many: each SKU's quantity from its lines' allocated, unshipped units, oldest first."""
    plan: list[tuple[OrderLine, int]] = []
    for sku, quantity in wanted.items():
        of_sku = [line for line in lines if line.product.sku == sku]
        if not of_sku:
            raise ShipmentRefused(ShipmentRefused.NOT_ON_ORDER, order=order.number, sku=sku)
        shippable = sum(line.allocated_quantity - line.shipped_quantity for line in of_sku)
        if quantity > shippable:
            waiting = sum(line.open_quantity for line in of_sku)
            if waiting:
                raise ShipmentRefused(ShipmentRefused.TOO_MANY_WAITING, shippable=shippable, sku=sku, waiting=waiting)
            raise ShipmentRefused(ShipmentRefused.TOO_MANY, shippable=shippable, sku=sku)
        for line in of_sku:
            take = min(quantity, line.allocated_quantity - line.shipped_quantity)
            if take > 0:
                plan.append((line, take))
                quantity -= take
    return plan


async def _earlier(session: AsyncSession, order: Order, tracking_number: str) -> Shipment | None:
    return (
        await session.execute(
            select(Shipment)
            .where(Shipment.order_id == order.id, Shipment.tracking_number == tracking_number)
            .options(selectinload(Shipment.lines))
        )
    ).scalar_one_or_none()


def _repeat(earlier: Shipment, order: Order, wanted: dict[str, int], lines: list[OrderLine]) -> ShipmentResult:
    """The first result of a shipment sent again; ShipmentConflict when the repeat names other items."""
    by_id = {line.id: line for line in lines}
    shipped = [
        ShippedLine(part.line_id, by_id[part.line_id].product.sku, by_id[part.line_id].product.name, part.quantity,
                    by_id[part.line_id].status)
        for part in earlier.lines
    ]
    totals: dict[str, int] = {}
    for line in shipped:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    if totals != wanted:
        raise ShipmentConflict(earlier.tracking_number or "")
    parcel = Parcel(earlier.carrier, earlier.tracking_number, earlier.tracking_url)
    return ShipmentResult(earlier.id, order.number, parcel, earlier.shipped_at, shipped, already_done=True)


def _parcel_facts(parcel: Parcel) -> dict[str, str | None]:
    return {"carrier": parcel.carrier, "tracking_number": parcel.tracking_number, "tracking_url": parcel.tracking_url}


async def _tell_customer(uow: UnitOfWork, shipment: Shipment, shipped: list[ShippedLine], parcel: Parcel) -> None:
    """Queue one "on its way" message for the shipment, with the tracking link when there is one."""
    recipients = await line_recipients(uow.session, [line.line_id for line in shipped], uow.policy.default_language)
    first = recipients.get(shipped[0].line_id)
    if first is None:
        return
    message = message_about(
        first,
        TEMPLATE_LINE_SHIPPED,
        f"shipped:{shipment.id}",
        optional=False,  # about goods the customer paid for, not an update they can turn off
        items=[{"product_name": line.product_name, "quantity": line.quantity} for line in shipped],
        shipped_on=shipment.shipped_at.date().isoformat(),
        **_parcel_facts(parcel),
    )
    await enqueue(uow.session, uow.clock, [message])
