"""The merchant's list of supplier purchase orders, with the waiting lines whose ETA rests on each."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select

from bot.services.backorders.allocation import waiting
from bot.services.unit_of_work import UnitOfWork
from db.models import Order, OrderLine, Product, PurchaseOrder, PurchaseOrderStatus, Supplier


@dataclass(frozen=True)
class PurchaseOrderRow:
    reference: str
    sku: str
    product_name: str
    quantity: int
    received_quantity: int
    expected_on: date
    status: PurchaseOrderStatus
    updated_at: datetime
    lines_counting_on_it: int  # waiting lines whose ETA this shipment confirms
    customers_counting_on_it: int
    supplier: str | None = None  # whose shipment it is, by name

    @property
    def outstanding(self) -> int:
        return self.quantity - self.received_quantity

    @property
    def is_open(self) -> bool:
        return self.status == PurchaseOrderStatus.OPEN


async def list_purchase_orders(uow: UnitOfWork, closed_since: datetime | None = None) -> list[PurchaseOrderRow]:
    """The open purchase orders, soonest first; with `closed_since`, also those received or cancelled since then."""
    async with uow:
        resting = (
            select(
                OrderLine.eta_purchase_order_id.label("purchase_order_id"),
                func.count(OrderLine.id).label("lines"),
                func.count(func.distinct(Order.customer_id)).label("customers"),
            )
            .join(Order, Order.id == OrderLine.order_id)
            .where(waiting(), OrderLine.eta_purchase_order_id.is_not(None))
            .group_by(OrderLine.eta_purchase_order_id)
            .subquery()
        )
        shown = PurchaseOrder.status == PurchaseOrderStatus.OPEN
        if closed_since is not None:
            shown = or_(shown, PurchaseOrder.updated_at >= closed_since)
        rows = (
            await uow.session.execute(
                select(PurchaseOrder, Product.sku, Product.name, resting.c.lines, resting.c.customers, Supplier.name)
                .join(Product, Product.id == PurchaseOrder.product_id)
                .outerjoin(Supplier, Supplier.id == PurchaseOrder.supplier_id)
                .outerjoin(resting, resting.c.purchase_order_id == PurchaseOrder.id)
                .where(shown)
                .order_by(PurchaseOrder.expected_on, PurchaseOrder.id)
            )
        ).all()
        return [
            PurchaseOrderRow(
                reference=purchase_order.reference,
                sku=sku,
                product_name=name,
                quantity=purchase_order.quantity,
                received_quantity=purchase_order.received_quantity,
                expected_on=purchase_order.expected_on,
                status=purchase_order.status,
                updated_at=purchase_order.updated_at,
                lines_counting_on_it=lines or 0,
                customers_counting_on_it=customers or 0,
                supplier=supplier,
            )
            for purchase_order, sku, name, lines, customers, supplier in rows
        ]
