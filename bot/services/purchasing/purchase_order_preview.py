"""What moving or receiving a purchase order would do to the waiting lines, before the merchant confirms it.

The preview makes the change in a transaction, lets the ETA engine and the allocation work it out exactly as
the real change would, reads what moved, and rolls everything back. So there is one rule for ETAs, and a
preview can never disagree with what confirming then does (unless the shop changes in between).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor
from bot.services.backorders.allocation import AllocationChange, allocate_available_stock
from bot.services.backorders.eta import (
    REASON_PURCHASE_ORDER_MOVED,
    REASON_PURCHASE_ORDER_RECEIVED,
    EtaMove,
    recompute_etas,
)
from bot.services.backorders.notifications import worth_telling
from bot.services.errors import InvalidQuantity
from bot.services.purchasing.purchase_orders import locked_purchase_order, require_open
from bot.services.purchasing.stock import add_to_stock
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, PurchaseOrder, PurchaseOrderStatus


@dataclass(frozen=True)
class PreviewLine:
    """A waiting line the change would touch: its ETA date moves, or it becomes ready to ship."""

    line_id: int
    order_number: str
    customer_id: int
    customer_name: str
    old_eta: date | None
    new_eta: date | None  # None when it becomes ready to ship
    ready_to_ship: bool = False

    @property
    def later(self) -> bool:
        return self.old_eta is not None and self.new_eta is not None and self.new_eta > self.old_eta


@dataclass(frozen=True)
class PurchaseOrderPreview:
    """What a move or receipt would change; nothing has been changed."""

    reference: str
    sku: str
    expected_on: date  # the purchase order's date now
    outstanding: int  # units not yet received
    lines: tuple[PreviewLine, ...]  # those becoming ready to ship first, then those whose ETA moves

    @property
    def lines_moving(self) -> int:
        """Waiting lines whose ETA date would move (and whose customers would be told)."""
        return sum(not line.ready_to_ship for line in self.lines)

    @property
    def lines_later(self) -> int:
        return sum(line.later for line in self.lines)

    @property
    def lines_earlier(self) -> int:
        return self.lines_moving - self.lines_later

    @property
    def lines_ready(self) -> int:
        return sum(line.ready_to_ship for line in self.lines)

    @property
    def customers_affected(self) -> int:
        return len({line.customer_id for line in self.lines})


async def preview_move_purchase_order(uow: UnitOfWork, reference: str, expected_on: date) -> PurchaseOrderPreview:
    """Which customers' ETAs would move if the purchase order were expected on `expected_on`; changes nothing."""
    async with uow:
        session = uow.session
        purchase_order, sku = await locked_purchase_order(session, reference)
        current = purchase_order.expected_on
        moves: list[EtaMove] = []
        if expected_on != current:
            require_open(purchase_order)
            purchase_order.expected_on = expected_on
            await session.flush()
            moves = await recompute_etas(
                session, uow.clock, uow.policy, REASON_PURCHASE_ORDER_MOVED, [purchase_order.product_id]
            )
        preview = await _preview(session, purchase_order, sku, current, purchase_order.outstanding, (), moves)
        await uow.rollback()
    return preview


async def preview_receive_purchase_order(
    uow: UnitOfWork, reference: str, quantity: int | None = None
) -> PurchaseOrderPreview:
    """Which lines would become ready to ship, and whose ETAs would move, if `quantity` units (default: all
    outstanding) arrived now; changes nothing."""
    async with uow:
        session = uow.session
        purchase_order, sku = await locked_purchase_order(session, reference)
        require_open(purchase_order)
        current, outstanding = purchase_order.expected_on, purchase_order.outstanding
        received = outstanding if quantity is None else quantity
        if not 0 < received <= outstanding:
            raise InvalidQuantity.beyond_outstanding(reference=reference, outstanding=outstanding, received=received)
        purchase_order.received_quantity += received
        if purchase_order.outstanding == 0:
            purchase_order.status = PurchaseOrderStatus.RECEIVED
        await session.flush()
        await add_to_stock(session, purchase_order.product_id, received, uow.clock.now())
        allocations = await allocate_available_stock(session, uow.clock, Actor.system(), purchase_order.product_id)
        moves = await recompute_etas(
            session, uow.clock, uow.policy, REASON_PURCHASE_ORDER_RECEIVED, [purchase_order.product_id]
        )
        ready = [change for change in allocations if change.ready_to_ship]
        preview = await _preview(session, purchase_order, sku, current, outstanding, ready, moves)
        await uow.rollback()
    return preview


async def _preview(
    session: AsyncSession,
    purchase_order: PurchaseOrder,
    sku: str,
    expected_on: date,
    outstanding: int,
    ready: Sequence[AllocationChange],
    moves: Sequence[EtaMove],
) -> PurchaseOrderPreview:
    """The lines a customer would hear about, read inside the transaction before it is rolled back."""
    telling = worth_telling(moves)
    ready_ids = {change.line_id for change in ready}
    customer_ids = {change.customer_id for change in ready} | {move.customer_id for move in telling}
    names: dict[int, str] = {}
    if customer_ids:
        rows = await session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(customer_ids)))
        names = {customer_id: name for customer_id, name in rows}
    lines = [
        PreviewLine(change.line_id, change.order_number, change.customer_id, names[change.customer_id], None, None, True)
        for change in ready
    ] + [
        PreviewLine(move.line_id, move.order_number, move.customer_id, names[move.customer_id], move.old_eta, move.new_eta)
        for move in telling
        if move.line_id not in ready_ids
    ]
    return PurchaseOrderPreview(
        reference=purchase_order.reference,
        sku=sku,
        expected_on=expected_on,
        outstanding=outstanding,
        lines=tuple(lines),
    )
