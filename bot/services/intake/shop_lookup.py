"""What the import use cases read from the shop before writing, and the ETA recompute they end with."""

import json
from collections.abc import AsyncIterator, Callable, Container, Iterable
from functools import partial
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Executable, Select, bindparam, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

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

# Products and purchase orders in a batch this large are first checked in a read-only transaction, beside the bot's
# writers: a refused file, or one that changes nothing, never takes the write lock, and a dry run stops there, leaving
# out the stock and ETAs it would move. A smaller batch (an API call, a store's webhook) reads the shop once, in its
# write transaction, and a dry run of it is done and rolled back, which tells them too.
LARGE_BATCH = 5000

_LOOKUP_CHUNK = 10_000  # keys per lookup: bounds the key parameter and the rows held at once
WRITE_CHUNK = 2000  # rows per executemany: bounded memory for the statement's parameters

Among = Callable[[ColumnElement[Any]], ColumnElement[bool]]


async def rows_in(
    session: AsyncSession, values: Iterable[Any], statement_for: Callable[[Among], Select[Any]]
) -> list[Any]:
    """All rows of `statement_for(among)`, where `among(column)` says the column holds one of the distinct values."""
    return [row async for row in each_row_in(session, values, statement_for)]


async def each_row_in(
    session: AsyncSession, values: Iterable[Any], statement_for: Callable[[Among], Select[Any]]
) -> AsyncIterator[Any]:
    """The rows of rows_in() one at a time, fetched _LOOKUP_CHUNK keys at a time.

    The values travel as one parameter joined as a table (a JSON array on SQLite, an array on PostgreSQL), not as
    an IN list of thousands of parameters: PostgreSQL compares such a list with every row it scans.
    """
    distinct = sorted(set(values))
    for start in range(0, len(distinct), _LOOKUP_CHUNK):
        chunk = distinct[start : start + _LOOKUP_CHUNK]
        among = partial(_among, session.bind.dialect.name, chunk)
        for row in (await session.execute(statement_for(among))).all():
            yield row


def _among(dialect: str, values: list[Any], column: ColumnElement[Any]) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return column.in_(select(func.unnest(bindparam(None, values, type_=ARRAY(column.type)))))
    return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(values))))


async def product_ids_by_sku(session: AsyncSession, skus: Iterable[str]) -> dict[str, int]:
    rows = await rows_in(session, skus, lambda among: select(Product.sku, Product.id).where(among(Product.sku)))
    return dict(rows)


async def execute_in_sets(session: AsyncSession, statement: Executable, rows: Iterable[dict[str, Any]]) -> None:
    """One statement for many rows, WRITE_CHUNK at a time, grouped by the columns each row sets.

    `rows` may be a generator: rows are written as they come, so only a chunk per group is held at once.
    """
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        group = by_columns.setdefault(tuple(sorted(row)), [])
        group.append(row)
        if len(group) == WRITE_CHUNK:
            await session.execute(statement, group)
            group.clear()
    for group in by_columns.values():
        if group:
            await session.execute(statement, group)


def unknown_skus(named: Iterable[tuple[int, str | None]], products: Container[str]) -> list[RowProblem]:
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
