"""Many rows into a table in the session's transaction: PostgreSQL's COPY, or one executemany a chunk on SQLite.

An import writes a whole store (100,000 order lines, their orders, customers and audit entries). Through
INSERT, PostgreSQL parses and plans every batch of rows and SQLAlchemy handles every row's parameters; COPY
streams the rows in the binary format, which made the orders import's writes several times faster. COPY starts
no transaction of its own, so the session's transaction is begun first if no statement has begun it yet.
"""

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from enum import Enum as PythonEnum
from itertools import chain, islice
from typing import Any

from sqlalchemy import JSON, Enum, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

CHUNK = 2000  # rows per executemany on SQLite: bounds the memory of a statement's parameters
_SMALL = 50  # fewer rows than this go through INSERT: COPY's set-up costs more than it saves


async def insert_rows(session: AsyncSession, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert the rows (values in the order of `columns`) into the table; a generator is read as it is written."""
    if session.bind.dialect.name == "postgresql":
        await _copy(session, table, columns, iter(rows))
    else:
        await _executemany(session, table, columns, rows)


async def _copy(session: AsyncSession, table: Table, columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> None:
    first = list(islice(rows, _SMALL))
    if len(first) < _SMALL:
        if first:
            await session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in first])
        return
    convert = _converters(table, columns)
    connection = await session.connection()
    await connection.execute(select(1))  # begins the transaction, which COPY does not
    raw = await connection.get_raw_connection()
    records = ([convert[i](value) for i, value in enumerate(row)] for row in chain(first, rows))
    await raw.driver_connection.copy_records_to_table(table.name, records=records, columns=list(columns))


async def _executemany(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """The driver's own executemany, each value converted as its column's type converts it (a datetime to
    SQLite's text, JSON to text): SQLAlchemy's handling of every row's parameters cost more than SQLite's insert."""
    dialect = session.bind.dialect
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in columns]
    convert = [(index, _repeating(process)) for index, process in enumerate(processors) if process is not None]
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    connection = await session.connection()
    for chunk in _chunks(rows, CHUNK):
        for position, row in enumerate(chunk):
            values = list(row)
            for index, process in convert:
                values[index] = process(values[index])
            chunk[position] = tuple(values)
        await connection.exec_driver_sql(sql, chunk)


def _repeating(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The processor, converting a value given again (the import's one `now` on every row) only once."""
    last: list[Any] = [object(), None]

    def convert(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return convert


def _converters(table: Table, columns: Sequence[str]) -> list[Callable[[Any], Any]]:
    """What each column's values become for COPY: JSON as text, enums as their value, datetimes checked aware."""
    converters: list[Callable[[Any], Any]] = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            converters.append(_json_text)
        elif isinstance(column_type, Enum):
            converters.append(_enum_value)
        else:
            converters.append(_same)
    return converters


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, PythonEnum) else value


def _same(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("naive datetime given; use timezone-aware UTC")
    return value


def _chunks(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    rows = iter(rows)
    while chunk := list(islice(rows, size)):
        yield chunk
