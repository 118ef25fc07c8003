"""The merchant's view of the backlog: per SKU, who waits, since when, and what supply is coming."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from bot.services.backorders.allocation import open_quantity, waiting
from bot.services.unit_of_work import UnitOfWork
from db.models import OrderLine, Product, PurchaseOrder, PurchaseOrderStatus


@dataclass(frozen=True)
class SkuBacklog:
    """One SKU's waiting lines and its next supplier shipment."""

    sku: str
    product_name: str
    waiting_lines: int
    waiting_quantity: int
    oldest_waiting_since: datetime
    oldest_wait_days: int
    incoming_quantity: int  # still outstanding on its open purchase orders
    next_purchase_order: str | None
    next_expected_on: date | None
    next_quantity: int | None

    @property
    def covered(self) -> bool:
        """The open purchase orders bring enough for every waiting unit."""
        return self.incoming_quantity >= self.waiting_quantity


async def backorder_summary(uow: UnitOfWork) -> list[SkuBacklog]:
    """Every SKU with waiting lines, the longest-waiting first."""
    async with uow.read_only():
        session = uow.session
        backlog = (
            await session.execute(
                select(
                    Product.id,
                    Product.sku,
                    Product.name,
                    func.count(OrderLine.id).label("lines"),
                    func.sum(open_quantity()).label("quantity"),
                    func.min(OrderLine.queued_at).label("oldest"),
                )
                .join(Product, Product.id == OrderLine.product_id)
                .where(waiting())
                .group_by(Product.id, Product.sku, Product.name)
            )
        ).all()
        outstanding = PurchaseOrder.quantity - PurchaseOrder.received_quantity
        supply = (
            await session.execute(
                select(PurchaseOrder.product_id, PurchaseOrder.reference, PurchaseOrder.expected_on, outstanding)
                .where(
                    PurchaseOrder.status == PurchaseOrderStatus.OPEN,
                    outstanding > 0,
                    PurchaseOrder.product_id.in_([row.id for row in backlog]),
                )
                .order_by(PurchaseOrder.product_id, PurchaseOrder.expected_on, PurchaseOrder.id)
            )
        ).all()
        today = uow.clock.today()
        tz = uow.clock.tz
    incoming: dict[int, int] = {}
    next_shipment: dict[int, tuple[str, date, int]] = {}
    for product_id, reference, expected_on, quantity in supply:
        incoming[product_id] = incoming.get(product_id, 0) + quantity
        next_shipment.setdefault(product_id, (reference, expected_on, quantity))
    summary = []
    for row in backlog:
        reference, expected_on, quantity = next_shipment.get(row.id, (None, None, None))
        summary.append(
            SkuBacklog(
                sku=row.sku,
                product_name=row.name,
                waiting_lines=row.lines,
                waiting_quantity=int(row.quantity or 0),
                oldest_waiting_since=row.oldest,
                oldest_wait_days=max((today - row.oldest.astimezone(tz).date()).days, 0),
                incoming_quantity=incoming.get(row.id, 0),
                next_purchase_order=reference,
                next_expected_on=expected_on,
                next_quantity=quantity,
            )
        )
    return sorted(summary, key=lambda sku: (sku.oldest_waiting_since, sku.sku))
