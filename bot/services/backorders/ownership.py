"""Loading a customer's own lines and orders, so someone else's look exactly like ones that do not exist.

The locking variants are for changes that move a SKU's waiting queue (cancel, substitute) and then
recompute its ETAs. On PostgreSQL they first lock the SKU's stock row, which is the queue's lock as in
allocation, then the lines; stock rows always by product id, so two such transactions wait for each other
instead of deadlocking. SQLite needs no row locks: its writers already run one at a time (BEGIN IMMEDIATE).
"""

from collections.abc import Collection, Iterable

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from bot.services.errors import LineNotFound, OrderNotFound
from db.models import Order, OrderLine, StockLevel


async def customer_line(session: AsyncSession, customer_id: int, line_id: int) -> OrderLine:
    """The customer's line with its order and product loaded, else LineNotFound."""
    line = (await session.execute(_line_statement(customer_id, line_id))).scalar_one_or_none()
    if line is None:
        raise LineNotFound()
    return line


async def locked_customer_line(
    session: AsyncSession, customer_id: int, line_id: int, *, also_stock_of: Collection[int] = ()
) -> OrderLine:
    """The customer's line, read again under lock after its SKU's stock row (and those given), else LineNotFound."""
    line = await customer_line(session, customer_id, line_id)
    if not await _lock_stock(session, [line.product_id, *also_stock_of]):
        return line
    return (await session.execute(_locking(_line_statement(customer_id, line_id)))).scalar_one()


async def customer_order(session: AsyncSession, customer_id: int, order_number: str) -> Order:
    """The customer's order (without its lines), else OrderNotFound."""
    order = (
        await session.execute(select(Order).where(Order.number == order_number, Order.customer_id == customer_id))
    ).scalar_one_or_none()
    if order is None:
        raise OrderNotFound()
    return order


async def locked_order_lines(session: AsyncSession, order: Order) -> list[OrderLine]:
    """Every line of the order with its order and product, by id, locked after the stock rows of their SKUs."""
    statement = (
        select(OrderLine)
        .join(OrderLine.order)
        .join(OrderLine.product)
        .where(OrderLine.order_id == order.id)
        .options(contains_eager(OrderLine.order), contains_eager(OrderLine.product))
        .order_by(OrderLine.id)
    )
    lines = list((await session.execute(statement)).scalars())
    if not await _lock_stock(session, [line.product_id for line in lines]):
        return lines
    return list((await session.execute(_locking(statement))).scalars())


def _line_statement(customer_id: int, line_id: int) -> Select[OrderLine]:
    return (
        select(OrderLine)
        .join(OrderLine.order)
        .join(OrderLine.product)
        .where(OrderLine.id == line_id, Order.customer_id == customer_id)
        .options(contains_eager(OrderLine.order), contains_eager(OrderLine.product))
    )


def _locking(statement: Select[OrderLine]) -> Select[OrderLine]:
    # NO KEY UPDATE: rows that merely reference the line (refunds, ETA history) can still be inserted.
    return statement.with_for_update(of=OrderLine, key_share=True).execution_options(populate_existing=True)


async def _lock_stock(session: AsyncSession, product_ids: Iterable[int]) -> bool:
    """Lock these SKUs' stock rows, by product id; False where the backend needs no row locks."""
    if session.get_bind().dialect.name == "sqlite":
        return False
    await session.execute(
        select(StockLevel.product_id)
        .where(StockLevel.product_id.in_(sorted(set(product_ids))))
        .order_by(StockLevel.product_id)
        .with_for_update()
    )
    return True
