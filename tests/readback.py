"""Reading back what a service wrote, each read in its own short transaction.

A separate session per read matters on SQLite, where every transaction takes the write lock
(BEGIN IMMEDIATE): a test that kept one open would make the next service call wait for it.
"""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AuditEntry, LineStatus, Order, OrderLine, Product, Refund, StockLevel

Sessions = async_sessionmaker[AsyncSession]


async def line(sessions: Sessions, line_id: int) -> OrderLine:
    async with sessions() as session:
        return await session.get_one(OrderLine, line_id)


async def substitutes_of(sessions: Sessions, line_id: int) -> list[OrderLine]:
    async with sessions() as session:
        rows = await session.execute(select(OrderLine).where(OrderLine.substitute_for_line_id == line_id))
        return list(rows.scalars())


async def refunds(sessions: Sessions, line_id: int | None = None) -> list[Refund]:
    async with sessions() as session:
        statement = select(Refund).order_by(Refund.id)
        if line_id is not None:
            statement = statement.where(Refund.line_id == line_id)
        return list((await session.execute(statement)).scalars())


async def audit_entries(sessions: Sessions, action: str) -> list[AuditEntry]:
    async with sessions() as session:
        rows = await session.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        return list(rows.scalars())


async def available(sessions: Sessions, product_id: int) -> int:
    async with sessions() as session:
        return (
            await session.execute(select(StockLevel.available).where(StockLevel.product_id == product_id))
        ).scalar_one()


async def line_count(sessions: Sessions) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(OrderLine))).scalar_one()


async def lines_by_order_and_sku(sessions: Sessions) -> dict[tuple[str, str], tuple[LineStatus, int, int]]:
    """Every line as (status, allocated quantity, quantity), by order number and SKU."""
    async with sessions() as session:
        rows = await session.execute(
            select(Order.number, Product.sku, OrderLine.status, OrderLine.allocated_quantity, OrderLine.quantity)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
        )
        return {(number, sku): (status, allocated, quantity) for number, sku, status, allocated, quantity in rows.all()}


async def stock_by_sku(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(select(Product.sku, StockLevel.available).join(StockLevel, StockLevel.product_id == Product.id))
        return dict(rows.all())  # type: ignore[arg-type]


async def order_count(sessions: Sessions) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(Order)) or 0
