"""Each of a customer's items as a timeline: ordered, waiting in line, the supplier shipment, the ship date, shipped.

What the Mini App draws; the chat's card tells the same in a paragraph (bot/render/backorder_card.py).
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from bot.services.backorders.status import LineView, get_backorder_status
from bot.services.unit_of_work import UnitOfWork
from db.models import Product, PurchaseOrder, PurchaseOrderStatus


@dataclass(frozen=True)
class SupplierShipment:
    """The supplier shipment an item waits for: when it is due, what it brings, and whether that reaches this customer."""

    reference: str
    due_on: date  # the supplier's latest promise
    units: int  # still to come on it
    covers: bool  # it brings this customer's units; False: the customers ahead take them all


@dataclass(frozen=True)
class ItemTimeline:
    line: LineView
    shipment: SupplierShipment | None  # None: no supplier shipment is booked for the item


@dataclass(frozen=True)
class CustomerTimeline:
    customer_id: int
    waiting: list[ItemTimeline]  # oldest order first
    recently_resolved: list[LineView]  # most recently resolved first; shipped ones with their parcel


async def get_timeline(uow: UnitOfWork, customer_id: int) -> CustomerTimeline:
    """The customer's waiting items with the supplier shipment each waits for, and what was resolved lately."""
    status = await get_backorder_status(uow, customer_id)
    skus = {line.sku for line in status.waiting}
    shipments: dict[str, list[tuple[str, date, int]]] = {}
    if skus:
        async with uow.connection(read_only=True) as connection:
            rows = await connection.execute(
                select(Product.sku, PurchaseOrder.reference, PurchaseOrder.expected_on,
                       PurchaseOrder.quantity - PurchaseOrder.received_quantity)
                .join(Product, Product.id == PurchaseOrder.product_id)
                .where(Product.sku.in_(sorted(skus)), PurchaseOrder.status == PurchaseOrderStatus.OPEN)
                .order_by(PurchaseOrder.expected_on, PurchaseOrder.id)
            )
            for sku, reference, due_on, units in rows:
                shipments.setdefault(sku, []).append((reference, due_on, units))
    waiting = [ItemTimeline(line, _shipment(line, shipments.get(line.sku, []))) for line in status.waiting]
    return CustomerTimeline(customer_id, waiting, status.recently_resolved)


def _shipment(line: LineView, open_orders: list[tuple[str, date, int]]) -> SupplierShipment | None:
    """The purchase order the ETA rests on; else the latest one booked, whose units the queue ahead takes."""
    for reference, due_on, units in open_orders:
        if reference == line.purchase_order_reference:
            return SupplierShipment(reference, due_on, units, covers=True)
    if not open_orders:
        return None
    reference, due_on, units = open_orders[-1]
    return SupplierShipment(reference, due_on, units, covers=False)
