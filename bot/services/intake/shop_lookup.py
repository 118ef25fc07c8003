"""What the import use cases read from the shop before writing, and the ETA recompute they end with."""

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.clock import Clock
from bot.services.backorders.eta import (
    REASON_PURCHASE_ORDER_ADDED,
    REASON_PURCHASE_ORDER_CANCELLED,
    REASON_PURCHASE_ORDER_MOVED,
    REASON_STOCK_CHANGED,
    EtaMove,
    recompute_etas,
)
from bot.services.errors import RowProblem
from bot.services.unit_of_work import ShopPolicy
from db.models import Product

REASON_ORDERS_IMPORTED = "orders_imported"
REASON_LEAD_TIME_CHANGED = "lead_time_changed"
REASON_PURCHASE_ORDERS_IMPORTED = "purchase_orders_imported"

_LOOKUP_CHUNK = 500  # keeps IN (...) lists well inside every driver's parameter limit


async def rows_in(
    session: AsyncSession, values: Iterable[Any], statement_for: Callable[[list[Any]], Select[Any]]
) -> list[Any]:
    """Run `statement_for(chunk)` for chunks of the distinct values and return all result rows."""
    distinct = sorted(set(values))
    rows: list[Any] = []
    for start in range(0, len(distinct), _LOOKUP_CHUNK):
        rows += (await session.execute(statement_for(distinct[start : start + _LOOKUP_CHUNK]))).all()
    return rows


async def products_by_sku(session: AsyncSession, skus: Iterable[str]) -> dict[str, Product]:
    rows = await rows_in(
        session, skus, lambda chunk: select(Product).where(Product.sku.in_(chunk)).options(selectinload(Product.stock))
    )
    return {product.sku: product for (product,) in rows}


def unknown_skus(named: Iterable[tuple[int, str | None]], products: dict[str, Product]) -> list[RowProblem]:
    """A problem for every row naming a SKU the shop does not have."""
    return [
        RowProblem(row, "sku", f"{sku} is not a product of the shop; import it first")
        for row, sku in named
        if sku and sku not in products
    ]


# When one import moves a product's ETAs for several reasons, customers are told the weightiest.
_REASON_WEIGHT = (
    REASON_PURCHASE_ORDER_CANCELLED,
    REASON_PURCHASE_ORDER_MOVED,
    REASON_PURCHASE_ORDER_ADDED,
    REASON_STOCK_CHANGED,
    REASON_LEAD_TIME_CHANGED,
    REASON_PURCHASE_ORDERS_IMPORTED,
)


def note_reason(reasons: dict[int, str], product_id: int, reason: str) -> None:
    current = reasons.get(product_id)
    if current is None or _REASON_WEIGHT.index(reason) < _REASON_WEIGHT.index(current):
        reasons[product_id] = reason


async def recompute_for_reasons(
    session: AsyncSession, clock: Clock, policy: ShopPolicy, reasons: dict[int, str]
) -> tuple[EtaMove, ...]:
    """Recompute the ETAs of the products given, each with the reason its lines will be told."""
    moves: list[EtaMove] = []
    for reason in sorted(set(reasons.values())):
        product_ids = sorted(product_id for product_id, why in reasons.items() if why == reason)
        moves += await recompute_etas(session, clock, policy, reason, product_ids)
    return tuple(moves)
