"""One database transaction per use case, with the clock and shop policy the rules need."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import time
from types import TracebackType
from typing import Any, Self
from weakref import WeakKeyDictionary

from sqlalchemy import CursorResult, Executable
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.quiet_hours import QuietHours
from db.engine import LAST_STATEMENT, ON_LOOP, READ_ONLY, waiting_writers

# Seconds a long job leaves SQLite's write lock free between its transactions when a writer waits (let_others_write).
OTHER_WRITERS_TURN = 0.005


@dataclass(frozen=True)
class SupplierRecordRules:
    """How suppliers' track records are read, and whether ETAs allow for their usual slip (SUPPLIER_*)."""

    window_days: int = 180  # received purchase orders of this many days count
    minimum_received: int = 5  # fewer received purchase orders in the window: too short a record to adjust ETAs
    adjust_etas: bool = True
    slip_percentile: int = 90  # the slip ETAs allow for: this percentile of the supplier's recent lateness


@dataclass(frozen=True)
class ShopPolicy:
    """The merchant's choices that the business rules depend on."""

    default_language: str = "en"  # for customers whose language is not known
    handling_days: int = 1
    alternative_surcharge_cap_percent: int = 15
    recently_resolved_days: int = 14
    misunderstood_before_person: int = 2  # messages in a row the bot did not understand before a person takes over
    button_stale_after_days: int = 7  # a button that changes something shows the item as it is now instead
    quiet_hours: QuietHours = QuietHours(time(21, 0), time(8, 0))  # when optional messages wait (QUIET_HOURS_*)
    supplier_record: SupplierRecordRules = SupplierRecordRules()


class UnitOfWork:
    """`async with uow:` opens a transaction that is rolled back unless `await uow.commit()` was called.

    The same object can be entered again for the next transaction.
    """

    session: AsyncSession
    _connection: AsyncConnection | None = None  # while a transaction of `uow.connection()` is open

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], clock: Clock, policy: ShopPolicy | None = None
    ) -> None:
        self._session_factory = session_factory
        self.clock = clock
        self.policy = policy or ShopPolicy()

    async def __aenter__(self) -> Self:
        self.session = self._session_factory()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    @asynccontextmanager
    async def read_only(self) -> AsyncIterator[Self]:
        """`async with uow.read_only():` a transaction that only reads, so it need not wait for writers.

        On SQLite it runs beside the one writing transaction instead of queueing behind it; on both
        backends a write in it fails.
        """
        async with self:
            await self.session.connection(execution_options=READ_ONLY)
            yield self

    @asynccontextmanager
    async def connection(self, *, read_only: bool = False) -> AsyncIterator[AsyncConnection]:
        """`async with uow.connection() as connection:` a transaction of Core statements, without the ORM session.

        For the use cases every update runs, whose few prebuilt statements cost less than the session's own
        bookkeeping around them; on SQLite they run on the event loop's thread (db/sqlite_connection.py), so
        keep them few, short and indexed. Rolled back unless `await uow.commit()` or `uow.commit_with()` was called;
        `read_only` as for `read_only()`.
        """
        connection = await _quick_engine(self._session_factory, read_only).connect()
        self._connection = connection
        try:
            yield connection
        finally:
            self._connection = None
            # Closed in this task, not in a task of its own as `async with` does, which cost a task and a turn of
            # the event loop per transaction: half the cost of a short read. Were this task cancelled midway
            # through the close, SQLAlchemy would discard the connection rather than return it to the pool.
            await connection.close()

    async def commit_with(self, statement: Executable, parameters: dict[str, Any]) -> CursorResult[Any]:
        """Run the last statement of a `uow.connection()` transaction, then commit; the statement's result.

        On SQLite the COMMIT goes along with the statement, one trip to the connection's thread instead of two,
        which a writer spends holding the database's write lock.
        """
        assert self._connection is not None, "commit_with is for transactions of uow.connection()"
        result = await self._connection.execute(statement, parameters, execution_options=LAST_STATEMENT)
        await self._connection.commit()
        return result

    async def commit(self) -> None:
        if self._connection is not None:
            await self._connection.commit()
        else:
            await self.session.commit()

    def session_dialect(self) -> str:
        """The database's dialect name: "sqlite" or "postgresql"."""
        return str(self._session_factory.kw["bind"].dialect.name)

    async def let_others_write(self) -> None:
        """Between the transactions of a long job: on SQLite, while a writer of another process waits, a moment in
        which it takes the one write lock (it tries every few milliseconds) before the job's next transaction does.

        Writers of this process queue for the lock in turn anyway; this only lets them run.
        """
        engine = self._session_factory.kw["bind"]
        if engine.dialect.name == "sqlite" and waiting_writers(engine).any():
            await asyncio.sleep(OTHER_WRITERS_TURN)
        else:
            await asyncio.sleep(0)

    async def rollback(self) -> None:
        if self._connection is not None:
            await self._connection.rollback()
        else:
            await self.session.rollback()


# The engines of each session factory as they begin `uow.connection()` transactions (statements on the event
# loop on SQLite; read-only or not). Kept, not derived per transaction: deriving one costs more than a short
# read, and every event lookup on a fresh one misses its caches.
_quick_engines: "WeakKeyDictionary[async_sessionmaker[AsyncSession], dict[bool, AsyncEngine]]" = WeakKeyDictionary()


def _quick_engine(session_factory: async_sessionmaker[AsyncSession], read_only: bool) -> AsyncEngine:
    engines = _quick_engines.setdefault(session_factory, {})
    engine = engines.get(read_only)
    if engine is None:
        options = ON_LOOP | READ_ONLY if read_only else ON_LOOP
        engine = engines[read_only] = session_factory.kw["bind"].execution_options(**options)
    return engine
