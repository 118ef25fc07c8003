"""What the shop has to ship: lines allocated in full and not yet shipped, swapped ones with what they replace."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, LineStatus, Order, OrderLine, Product


@dataclass(frozen=True)
class LineToShip:
    line_id: int
    order_number: str
    customer_name: str
    sku: str
    product_name: str
    quantity: int  # allocated and not yet shipped
    ready_since: datetime
    instead_of_sku: str | None  # a swapped line: the SKU the customer ordered first
    instead_of_name: str | None

    @property
    def is_swap(self) -> bool:
        return self.instead_of_sku is not None


async def lines_to_ship(uow: UnitOfWork) -> list[LineToShip]:
    """Every line ready to ship, the longest-waiting first."""
    original = aliased(OrderLine)
    original_product = aliased(Product)
    ready_since = OrderLine.resolved_at
    query = (
        select(
            OrderLine.id,
            Order.number,
            Customer.name,
            Product.sku,
            Product.name,
            OrderLine.allocated_quantity - OrderLine.shipped_quantity,
            ready_since,
            OrderLine.updated_at,
            original_product.sku,
            original_product.name,
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Customer, Customer.id == Order.customer_id)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(original, original.id == OrderLine.substitute_for_line_id)
        .outerjoin(original_product, original_product.id == original.product_id)
        .where(OrderLine.status == LineStatus.ALLOCATED, OrderLine.allocated_quantity > OrderLine.shipped_quantity)
        .order_by(ready_since, OrderLine.id)
    )
    async with uow.read_only():
        rows = (await uow.session.execute(query)).all()
    return [
        LineToShip(line_id, number, customer, sku, name, quantity, since or updated, old_sku, old_name)
        for line_id, number, customer, sku, name, quantity, since, updated, old_sku, old_name in rows
    ]
