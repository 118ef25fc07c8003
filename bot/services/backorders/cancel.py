"""A customer cancels what is still waiting, is refunded for it, and everyone behind moves up."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, record
from bot.services.backorders.eta import REASON_QUEUE_CHANGED, EtaMove, recompute_etas
from bot.services.backorders.notifications import notify_cancelled, notify_eta_moves
from bot.services.backorders.ownership import customer_line, customer_order, locked_customer_line, locked_order_lines
from bot.services.backorders.results import CancelResult
from bot.services.errors import LineNotCancellable, LineNotFound, OrderNotFound
from bot.services.event_log import line_cancelled
from bot.services.unit_of_work import UnitOfWork
from db.models import OPEN_LINE_STATUSES, LineStatus, Order, OrderLine, Refund, RefundReason, RefundStatus

_WHY_NOT_CANCELLABLE = {
    LineStatus.SHIPPED: "it has already shipped",
    LineStatus.ALLOCATED: "it is reserved for the customer and ready to ship",
    LineStatus.SUBSTITUTED: "it was swapped for an alternative",
    LineStatus.CANCELLED: "it has already been cancelled",
}


@dataclass(frozen=True)
class CancelPreview:
    """What a cancel would do: `quantity` units are cancelled and refunded, `keeps_allocated_quantity`
    units are already allocated to the customer and still ship."""

    line_id: int
    order_number: str
    sku: str
    product_name: str
    quantity: int
    keeps_allocated_quantity: int
    refund_minor: int
    currency: str

    @property
    def partial(self) -> bool:
        return self.keeps_allocated_quantity > 0


@dataclass(frozen=True)
class KeptLine:
    """A line of the order that was not cancelled, and why."""

    line_id: int
    sku: str
    product_name: str
    status: LineStatus
    reason: str


@dataclass(frozen=True)
class OrderCancelResult:
    order_number: str
    cancelled: list[CancelResult]
    kept: list[KeptLine]
    refund_minor: int
    currency: str
    already_done: bool
    eta_moves: tuple[EtaMove, ...] = ()


async def preview_cancel(uow: UnitOfWork, customer_id: int, line_id: int) -> CancelPreview:
    """What cancelling the line would cancel and refund; changes nothing."""
    async with uow.read_only():
        line = await customer_line(uow.session, customer_id, line_id)
        _check_cancellable(line)
        return CancelPreview(
            line_id=line.id,
            order_number=line.order.number,
            sku=line.product.sku,
            product_name=line.product.name,
            quantity=line.open_quantity,
            keeps_allocated_quantity=line.allocated_quantity,
            refund_minor=line.open_quantity * line.unit_price_minor,
            currency=line.order.currency,
        )


async def cancel_line(uow: UnitOfWork, customer_id: int, line_id: int, actor: Actor) -> CancelResult:
    """Cancel what is still waiting of the line and owe the refund; a repeat returns the first result."""
    async with uow:
        session = uow.session
        line = await locked_customer_line(session, customer_id, line_id)
        result = await cancel_waiting_line(uow, line, actor)
        if result.already_done:
            return result
        await session.flush()
        moves = await recompute_etas(session, uow.clock, uow.policy, REASON_QUEUE_CHANGED, [line.product_id])
        await notify_cancelled(uow, actor, [result])
        await notify_eta_moves(uow, moves)
        await uow.commit()
    return replace(result, eta_moves=tuple(moves))


async def cancel_order(uow: UnitOfWork, customer_id: int, order_number: str, actor: Actor) -> OrderCancelResult:
    """Cancel every waiting line of the order; lines that already shipped or are reserved are kept, with why."""
    async with uow:
        return await _cancel_order(uow, await customer_order(uow.session, customer_id, order_number), actor)


async def cancel_for_shop(
    uow: UnitOfWork, order_number: str, actor: Actor, skus: Collection[str] = (), *,
    units: Mapping[str, int] | None = None,
) -> OrderCancelResult:
    """The shop cancels what still waits of an order (of the SKUs named, or all); the customer is told.

    With `units`, only that many waiting units of each SKU named there are cancelled (the store lowered a line's
    quantity): the units that came last in the queue go, so what is reserved or nearest to stock stays.
    OrderNotFound for an unknown order; LineNotFound when a SKU named is not on it.
    """
    async with uow:
        order = (await uow.session.execute(select(Order).where(Order.number == order_number))).scalar_one_or_none()
        if order is None:
            raise OrderNotFound()
        return await _cancel_order(uow, order, actor, set(skus) | set(units or {}), units)


async def _cancel_order(
    uow: UnitOfWork, order: Order, actor: Actor, skus: set[str] | None = None, units: Mapping[str, int] | None = None
) -> OrderCancelResult:
    """Cancel the order's waiting lines (of `skus` only, when given; `units` of a SKU at most) and commit if anything
    changed."""
    session = uow.session
    cancelled: list[CancelResult] = []
    kept: list[KeptLine] = []
    changed_skus: set[int] = set()
    lines = await locked_order_lines(session, order)
    if skus and skus - {line.product.sku for line in lines}:
        raise LineNotFound()
    left = dict(units or {})
    # With a number of units to cancel, the newest lines of a SKU give theirs first.
    for line in sorted(lines, key=lambda each: -each.id) if units else lines:
        if skus and line.product.sku not in skus:
            continue
        sku = line.product.sku
        if units is not None and (left.get(sku, 0) <= 0 or line.open_quantity == 0):
            continue
        if _was_cancelled(line):
            cancelled.append(await _earlier_cancel(session, line))
        elif line.status in OPEN_LINE_STATUSES:
            quantity = min(line.open_quantity, left[sku]) if units is not None else None
            cancelled.append(await _cancel(uow, line, actor, quantity))
            if units is not None:
                left[sku] -= quantity or 0
            changed_skus.add(line.product_id)
        else:
            kept.append(KeptLine(line.id, line.product.sku, line.product.name, line.status, _why_not(line)))
    moves: list[EtaMove] = []
    if changed_skus:
        await session.flush()
        moves = await recompute_etas(session, uow.clock, uow.policy, REASON_QUEUE_CHANGED, changed_skus)
        await notify_cancelled(uow, actor, cancelled)
        await notify_eta_moves(uow, moves)
        await uow.commit()
    return OrderCancelResult(
        order_number=order.number,
        cancelled=cancelled,
        kept=kept,
        refund_minor=sum(result.refund_minor for result in cancelled),
        currency=order.currency,
        already_done=bool(cancelled) and not changed_skus,
        eta_moves=tuple(moves),
    )


async def cancel_waiting_line(uow: UnitOfWork, line: OrderLine, actor: Actor) -> CancelResult:
    """Cancel what still waits of a locked line and owe its refund, in the caller's transaction; does not commit.

    A line cancelled before returns that cancel (`already_done`); the caller recomputes the SKU's ETAs.
    """
    if _was_cancelled(line):
        return await _earlier_cancel(uow.session, line)
    _check_cancellable(line)
    return await _cancel(uow, line, actor)


def _was_cancelled(line: OrderLine) -> bool:
    """Its waiting quantity was cancelled before: asking again is a repeat, not a new request."""
    return line.cancelled_quantity > 0 and line.open_quantity == 0


def _why_not(line: OrderLine) -> str:
    if _was_cancelled(line):
        return _WHY_NOT_CANCELLABLE[LineStatus.CANCELLED]
    return _WHY_NOT_CANCELLABLE[line.status]


def _check_cancellable(line: OrderLine) -> None:
    if _was_cancelled(line) or line.status not in OPEN_LINE_STATUSES:
        raise LineNotCancellable(LineStatus.CANCELLED.value if _was_cancelled(line) else line.status.value)


async def _cancel(uow: UnitOfWork, line: OrderLine, actor: Actor, quantity: int | None = None) -> CancelResult:
    """Cancel the line's waiting quantity (or `quantity` of it), owe its refund, audit it and log its events, in the
    current transaction."""
    now = uow.clock.now()
    quantity = line.open_quantity if quantity is None else min(quantity, line.open_quantity)
    refund = quantity * line.unit_price_minor
    line.cancelled_quantity += quantity
    if line.open_quantity:  # some still waits: the line keeps its place in the queue
        line.status = LineStatus.PARTIALLY_ALLOCATED if line.allocated_quantity else LineStatus.BACKORDERED
    else:
        # What was allocated still ships; a line with nothing allocated is cancelled outright.
        line.status = LineStatus.ALLOCATED if line.allocated_quantity else LineStatus.CANCELLED
        line.resolved_at = now
    line.updated_at = now
    owed = Refund(
        line_id=line.id,
        amount_minor=refund,
        currency=line.order.currency,
        reason=RefundReason.CANCELLED,
        status=RefundStatus.OWED,
        created_at=now,
    )
    uow.session.add(owed)
    await uow.session.flush()  # the refund's id, which its event names
    await line_cancelled(uow.session, line, quantity, owed.id, refund, actor, now)
    record(
        uow.session,
        actor,
        "line.cancelled",
        "order_line",
        line.id,
        at=now,
        order_number=line.order.number,
        sku=line.product.sku,
        quantity=quantity,
        refund_minor=refund,
    )
    return _result(line, refund, already_done=False)


async def _earlier_cancel(session: AsyncSession, line: OrderLine) -> CancelResult:
    """The result of the cancel that already happened, rebuilt from the line and the refund it owed."""
    refund = (
        await session.execute(
            # A line the store lowered step by step has one refund per step.
            select(func.sum(Refund.amount_minor)).where(Refund.line_id == line.id, Refund.reason == RefundReason.CANCELLED)
        )
    ).scalar_one_or_none()
    return _result(line, int(refund or 0), already_done=True)


def _result(line: OrderLine, refund: int, *, already_done: bool) -> CancelResult:
    return CancelResult(
        line_id=line.id,
        order_number=line.order.number,
        sku=line.product.sku,
        product_name=line.product.name,
        cancelled_quantity=line.cancelled_quantity,
        kept_quantity=line.allocated_quantity,
        refund_minor=refund,
        currency=line.order.currency,
        status=line.status,
        already_done=already_done,
    )
