"""Supplier purchase orders: added, moved, cancelled and received, each moving the ETAs of the lines waiting.

Every operation is one transaction, is written to the audit log, is safe to retry, and returns the ETA moves
it caused so customers can be told.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.services.audit import Actor, record
from bot.services.backorders.allocation import AllocationChange, allocate_available_stock
from bot.services.backorders.eta import (
    REASON_PURCHASE_ORDER_ADDED,
    REASON_PURCHASE_ORDER_CANCELLED,
    REASON_PURCHASE_ORDER_MOVED,
    REASON_PURCHASE_ORDER_RECEIVED,
    REASON_SUPPLIER_RECORD,
    EtaMove,
    recompute_etas,
)
from bot.services.backorders.notifications import notify_eta_moves, notify_stock_and_eta_changes
from bot.services.errors import (
    InvalidQuantity,
    PurchaseOrderClosed,
    PurchaseOrderConflict,
    PurchaseOrderNotFound,
    ReceiptKeyConflict,
    SupplierNotFound,
)
from bot.services.event_log import purchase_order_received
from bot.services.purchasing.stock import add_to_stock, product_by_sku
from bot.services.purchasing.supplier_record import refresh_eta_slips
from bot.services.purchasing.suppliers import supplier_ids_by_name
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderReceipt,
    PurchaseOrderStatus,
    Supplier,
)
from db.types import MAX_ROW_ID


@dataclass(frozen=True)
class PurchaseOrderResult:
    """A purchase order after an operation; `changed` is False when the call was a repeat that did nothing."""

    reference: str
    sku: str
    quantity: int
    received_quantity: int
    expected_on: date
    status: PurchaseOrderStatus
    changed: bool
    eta_moves: tuple[EtaMove, ...] = ()

    @property
    def outstanding(self) -> int:
        return self.quantity - self.received_quantity


@dataclass(frozen=True)
class ReceiptResult:
    """A delivery against a purchase order and the waiting lines it served.

    A receipt repeated with its idempotency key changes nothing and returns `replayed=True` with the lines
    the first delivery made ready to ship (each `allocated_now` is then the line's whole allocated quantity);
    its ETA moves and partial allocations were reported by the first call and are not repeated.
    """

    purchase_order: PurchaseOrderResult
    received_now: int
    allocations: tuple[AllocationChange, ...]
    replayed: bool = False

    @property
    def ready_to_ship(self) -> tuple[AllocationChange, ...]:
        return tuple(change for change in self.allocations if change.ready_to_ship)

    @property
    def partly_allocated(self) -> tuple[AllocationChange, ...]:
        return tuple(change for change in self.allocations if not change.ready_to_ship)

    @property
    def eta_moves(self) -> tuple[EtaMove, ...]:
        return self.purchase_order.eta_moves


async def add_purchase_order(
    uow: UnitOfWork,
    reference: str,
    sku: str,
    quantity: int,
    expected_on: date,
    actor: Actor,
    supplier_id: int | None = None,
    supplier_name: str | None = None,
) -> PurchaseOrderResult:
    """Record a supplier's promised shipment; adding the same one again returns it unchanged.

    It is the supplier of `supplier_id`, else the one called `supplier_name` (added when the shop has none of that
    name), else the product's default supplier, if it has one.
    """
    if quantity <= 0:
        raise InvalidQuantity(N_("A purchase order needs a quantity of at least 1."))
    async with uow:
        session = uow.session
        product = await product_by_sku(session, sku)
        if supplier_id is not None and (
            not 1 <= supplier_id <= MAX_ROW_ID or await session.get(Supplier, supplier_id) is None
        ):
            raise SupplierNotFound(supplier_id)
        existing = await _find(session, reference)
        if existing is not None:
            return _same_or_conflict(existing, product, quantity, expected_on)
        now = uow.clock.now()
        if supplier_id is None and supplier_name is not None:
            supplier_id = (await supplier_ids_by_name(session, [supplier_name], actor, now))[supplier_name]
        purchase_order = PurchaseOrder(
            reference=reference,
            product_id=product.id,
            quantity=quantity,
            received_quantity=0,
            expected_on=expected_on,
            first_expected_on=expected_on,
            date_moves=0,
            supplier_id=product.supplier_id if supplier_id is None else supplier_id,
            status=PurchaseOrderStatus.OPEN,
            created_at=now,
            updated_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(purchase_order)
        except IntegrityError:
            # Someone added this reference between our look-up and our insert: theirs stands.
            existing = await _find(session, reference)
            if existing is None:
                raise
            return _same_or_conflict(existing, product, quantity, expected_on)
        record(
            session,
            actor,
            "purchase_order.added",
            "purchase_order",
            reference,
            at=now,
            sku=sku,
            quantity=quantity,
            expected_on=expected_on.isoformat(),
        )
        moves = await recompute_etas(session, uow.clock, uow.policy, REASON_PURCHASE_ORDER_ADDED, [product.id])
        await notify_eta_moves(uow, moves)
        await uow.commit()
    return _result(purchase_order, product.sku, changed=True, moves=moves)


async def move_purchase_order(
    uow: UnitOfWork, reference: str, expected_on: date, actor: Actor
) -> PurchaseOrderResult:
    """Change when a purchase order is expected; moving it to the date it already has does nothing."""
    async with uow:
        session = uow.session
        purchase_order, sku = await locked_purchase_order(session, reference)
        if purchase_order.expected_on == expected_on:
            return _result(purchase_order, sku, changed=False)
        require_open(purchase_order)
        now = uow.clock.now()
        previous = purchase_order.expected_on
        purchase_order.first_expected_on = purchase_order.first_expected_on or previous
        purchase_order.expected_on = expected_on
        purchase_order.date_moves += 1
        purchase_order.updated_at = now
        record(
            session,
            actor,
            "purchase_order.moved",
            "purchase_order",
            reference,
            at=now,
            old_expected_on=previous.isoformat(),
            new_expected_on=expected_on.isoformat(),
        )
        await session.flush()
        moves = await recompute_etas(
            session, uow.clock, uow.policy, REASON_PURCHASE_ORDER_MOVED, [purchase_order.product_id]
        )
        await notify_eta_moves(uow, moves)
        await uow.commit()
    return _result(purchase_order, sku, changed=True, moves=moves)


async def cancel_purchase_order(uow: UnitOfWork, reference: str, actor: Actor) -> PurchaseOrderResult:
    """Cancel what is still outstanding on a purchase order; its waiting lines fall back to later supply."""
    async with uow:
        session = uow.session
        purchase_order, sku = await locked_purchase_order(session, reference)
        if purchase_order.status == PurchaseOrderStatus.CANCELLED:
            return _result(purchase_order, sku, changed=False)
        require_open(purchase_order)
        now = uow.clock.now()
        purchase_order.status = PurchaseOrderStatus.CANCELLED
        purchase_order.updated_at = now
        record(
            session,
            actor,
            "purchase_order.cancelled",
            "purchase_order",
            reference,
            at=now,
            outstanding=purchase_order.outstanding,
        )
        await session.flush()
        moves = await recompute_etas(
            session, uow.clock, uow.policy, REASON_PURCHASE_ORDER_CANCELLED, [purchase_order.product_id]
        )
        await notify_eta_moves(uow, moves)
        await uow.commit()
    return _result(purchase_order, sku, changed=True, moves=moves)


async def receive_purchase_order(
    uow: UnitOfWork,
    reference: str,
    actor: Actor,
    quantity: int | None = None,
    idempotency_key: str | None = None,
) -> ReceiptResult:
    """Book a delivery (all that is outstanding when `quantity` is None) into stock and serve the queue with it.

    Repeating a receipt with the same `idempotency_key` returns the first result and changes nothing.
    """
    async with uow:
        session = uow.session
        # Locking the purchase order first makes a concurrent retry wait here, then find the first's receipt.
        purchase_order, sku = await locked_purchase_order(session, reference)
        if idempotency_key is not None:
            earlier = await _receipt(session, idempotency_key)
            if earlier is not None:
                if earlier.purchase_order_id != purchase_order.id:
                    raise ReceiptKeyConflict(idempotency_key)
                return await _replayed(session, purchase_order, sku, earlier)
        require_open(purchase_order)
        received_now = purchase_order.outstanding if quantity is None else quantity
        if received_now <= 0 or received_now > purchase_order.outstanding:
            raise InvalidQuantity.beyond_outstanding(reference=reference, outstanding=purchase_order.outstanding, received=received_now)
        now = uow.clock.now()
        purchase_order.received_quantity += received_now
        if purchase_order.outstanding == 0:
            purchase_order.status = PurchaseOrderStatus.RECEIVED
            purchase_order.received_on = uow.clock.today()
        purchase_order.updated_at = now
        await session.flush()
        await add_to_stock(session, purchase_order.product_id, received_now, now)
        allocations = await allocate_available_stock(session, uow.clock, actor, purchase_order.product_id)
        slipped = await _slips_after_receipt(uow, purchase_order)
        moves = await recompute_etas(
            session, uow.clock, uow.policy, REASON_PURCHASE_ORDER_RECEIVED, [purchase_order.product_id]
        )
        slipped.discard(purchase_order.product_id)
        moves += await recompute_etas(session, uow.clock, uow.policy, REASON_SUPPLIER_RECORD, slipped)
        session.add(
            PurchaseOrderReceipt(
                purchase_order_id=purchase_order.id,
                quantity=received_now,
                idempotency_key=idempotency_key,
                ready_line_ids=[change.line_id for change in allocations if change.ready_to_ship],
                received_at=now,
            )
        )
        record(
            session,
            actor,
            "purchase_order.received",
            "purchase_order",
            reference,
            at=now,
            quantity=received_now,
            lines_ready=sum(change.ready_to_ship for change in allocations),
            idempotency_key=idempotency_key,
        )
        purchase_order_received(session, now, reference, sku, received_now, purchase_order.outstanding, [change.line_id for change in allocations if change.ready_to_ship], actor)
        await notify_stock_and_eta_changes(uow, allocations, moves)
        await uow.commit()
    return ReceiptResult(
        purchase_order=_result(purchase_order, sku, changed=True, moves=moves),
        received_now=received_now,
        allocations=tuple(allocations),
    )


async def _slips_after_receipt(uow: UnitOfWork, purchase_order: PurchaseOrder) -> set[int]:
    """A shipment received in full joins its supplier's record: the SKUs whose ETAs its new slip moves."""
    if purchase_order.status != PurchaseOrderStatus.RECEIVED or purchase_order.supplier_id is None:
        return set()
    return set(
        await refresh_eta_slips(uow.session, uow.clock.today(), uow.policy.supplier_record, [purchase_order.supplier_id])
    )


async def _find(session: AsyncSession, reference: str) -> PurchaseOrder | None:
    return (
        await session.execute(select(PurchaseOrder).where(PurchaseOrder.reference == reference))
    ).scalar_one_or_none()


async def locked_purchase_order(session: AsyncSession, reference: str) -> tuple[PurchaseOrder, str]:
    """The purchase order and its SKU, locked until the transaction ends."""
    row = (
        await session.execute(
            select(PurchaseOrder, Product.sku)
            .join(Product, Product.id == PurchaseOrder.product_id)
            .where(PurchaseOrder.reference == reference)
            .with_for_update(of=PurchaseOrder)
        )
    ).one_or_none()
    if row is None:
        raise PurchaseOrderNotFound(reference)
    return row[0], row[1]


def require_open(purchase_order: PurchaseOrder) -> None:
    """PurchaseOrderClosed unless the purchase order is still open."""
    if purchase_order.status != PurchaseOrderStatus.OPEN:
        raise PurchaseOrderClosed(purchase_order.reference, purchase_order.status.value)


def _same_or_conflict(
    existing: PurchaseOrder, product: Product, quantity: int, expected_on: date
) -> PurchaseOrderResult:
    if (existing.product_id, existing.quantity, existing.expected_on) != (product.id, quantity, expected_on):
        raise PurchaseOrderConflict(existing.reference)
    return _result(existing, product.sku, changed=False)


async def _receipt(session: AsyncSession, idempotency_key: str) -> PurchaseOrderReceipt | None:
    return (
        await session.execute(
            select(PurchaseOrderReceipt).where(PurchaseOrderReceipt.idempotency_key == idempotency_key)
        )
    ).scalar_one_or_none()


async def _replayed(
    session: AsyncSession, purchase_order: PurchaseOrder, sku: str, receipt: PurchaseOrderReceipt
) -> ReceiptResult:
    rows = (
        await session.execute(
            select(OrderLine.id, OrderLine.allocated_quantity, Order.customer_id, Order.number)
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.id.in_(receipt.ready_line_ids))
            .order_by(OrderLine.queued_at, OrderLine.id)
        )
    ).all()
    ready = tuple(
        AllocationChange(row.id, row.customer_id, row.number, sku, row.allocated_quantity, True) for row in rows
    )
    return ReceiptResult(
        purchase_order=_result(purchase_order, sku, changed=False),
        received_now=receipt.quantity,
        allocations=ready,
        replayed=True,
    )


def _result(
    purchase_order: PurchaseOrder, sku: str, *, changed: bool, moves: list[EtaMove] | None = None
) -> PurchaseOrderResult:
    return PurchaseOrderResult(
        reference=purchase_order.reference,
        sku=sku,
        quantity=purchase_order.quantity,
        received_quantity=purchase_order.received_quantity,
        expected_on=purchase_order.expected_on,
        status=purchase_order.status,
        changed=changed,
        eta_moves=tuple(moves or ()),
    )
