"""aiosqlite, tuned for SQLAlchemy on the event loop: one trip to the connection's thread per statement.

aiosqlite runs each call (open a cursor, execute, fetch, close the cursor) as its own trip to the thread that
owns the sqlite3 connection, and every trip costs the event loop a wake-up. Here a statement is one trip,
the transaction's BEGIN travels with its first statement, and a transaction that never ran a statement
ends without a trip at all; and a statement declared to be the transaction's last takes the COMMIT along.

Transactions that write wait for one another on an asyncio lock shared by the engine's connections, held
from BEGIN IMMEDIATE to COMMIT or ROLLBACK, rather than retrying in SQLite's busy handler, which sleeps
1-100 ms at a time. While a writer in another process holds the write lock, BEGIN is tried again every
OTHER_WRITER_POLL until the busy timeout: a large import commits every few dozen milliseconds and begins again at
once, so a busy handler's sleeper would wake into its next transaction time after time. While they wait they say so
(WaitingWriters), and a long job in another process leaves the lock free for a moment after its next commit.
Transactions that only read begin DEFERRED, so under WAL they run beside the writer, and refuse to write: a
statement in them that is not a SELECT runs under PRAGMA query_only. Only such a statement: switching that pragma expires every statement the
connection has prepared, and preparing the order list's query again costs four times as much as running it.

A transaction begun "on the loop" runs its statements on the event loop's own thread instead: for the few
short, indexed statements every Telegram update runs, a trip to the connection's thread costs far more than
the statement, above all while the loop is busy and the thread waits for Python's interpreter lock (the
README's benchmarks give the figures). Such a transaction never waits inside SQLite:
if another process holds the write lock, its BEGIN goes to the connection's thread after all, and waits there.
"""

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiosqlite

from db.aiosqlite_internals import let_the_process_exit_while_open, on_thread, queue_on_thread, sqlite3_connection

log = logging.getLogger(__name__)

_BEGIN_WRITE = ("BEGIN IMMEDIATE",)
_BEGIN_READ = ("BEGIN DEFERRED",)
_COMMIT = ("COMMIT",)
_GUARD_READ_ONLY = "PRAGMA query_only = ON"
_END_GUARD = "PRAGMA query_only = OFF"


class WriteLock:
    """Lets one transaction of the engine's connections write at a time; the others queue in order."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if not self._lock.locked():
            await self._lock.acquire()  # free: taken at once, without arming a timer
            return
        try:
            async with asyncio.timeout(self.timeout):
                await self._lock.acquire()
        except TimeoutError:
            # What SQLite's busy handler says when it gives up, so callers see the same error as before.
            raise sqlite3.OperationalError("database is locked") from None

    def release(self) -> None:
        self._lock.release()


# Seconds between tries for the write lock while another process holds it.
OTHER_WRITER_POLL = 0.002
# A writer that said it waits within this many seconds is taken to wait still (it says so every OTHER_WRITER_POLL).
STILL_WAITING = 0.05


class WaitingWriters:
    """Writers of one database file that found another process holding its write lock, as that process can see.

    SQLite tells nobody that a writer waits, so a waiting writer touches a file beside the database
    (`<database>-waiting`, as SQLite keeps `-wal` and `-shm` there), and a long job leaves the lock free only when
    that file was touched a moment ago: without a waiter it goes on at once. A database in memory has no
    other processes, and no file; for one opened by URI the file is not known, so a waiter is always assumed.
    """

    def __init__(self, database: str) -> None:
        self.by_uri = database.startswith("file:")
        self.path = None if self.by_uri or database in ("", ":memory:") else f"{database}-waiting"

    def announce(self) -> None:
        """Say that a writer of this process waits for the write lock."""
        if self.path is None:
            return
        try:
            os.utime(self.path)
        except FileNotFoundError:
            with open(self.path, "a"):
                pass
        except OSError:
            log.warning("could not tell other processes that a writer waits: %s", self.path, exc_info=True)

    def any(self) -> bool:
        """Whether a writer, of any process, said it waits within the last STILL_WAITING seconds."""
        if self.path is None:
            return self.by_uri
        try:
            return time.time() - os.stat(self.path).st_mtime < STILL_WAITING
        except OSError:
            return False


@dataclass(frozen=True)
class _Outcome:
    description: Any
    rows: list[Any]
    rowcount: int
    lastrowid: int | None


class SQLiteConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors do a statement in one trip and whose transactions begin lazily."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], write_lock: WriteLock) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._write_lock = write_lock
        self._pending_begin: tuple[str, ...] = ()
        self._in_transaction = False
        self._read_only = False
        self._holds_write_lock = False
        self._pending_commit: tuple[str, ...] = ()
        self._committed = False
        self._on_loop = False
        self.busy_timeout_ms = 5000  # sqlite3's default; connect() sets the one it opened the connection with
        self.waiting_writers = WaitingWriters("")  # connect() sets the database's
        # Ends of read-only transactions handed to the thread without waiting: queued (counted here) and done
        # (counted there). Each side writes only its own count, so no lock is needed to see whether one is pending.
        self._ends_queued = 0
        self._ends_done = 0

    def begin_with_next_statement(self, *, read_only: bool, on_loop: bool = False) -> None:
        """Called where SQLAlchemy begins a transaction: its BEGIN goes out with the first statement.

        `on_loop`: run its statements on the event loop's thread (see the module's docstring).
        """
        self._pending_begin = _BEGIN_READ if read_only else _BEGIN_WRITE
        self._read_only = read_only
        self._on_loop = on_loop

    def commit_with_next_statement(self) -> None:
        """Called before the transaction's last statement: it commits in the same trip, so a writer holds the
        write lock one trip less, and the COMMIT that SQLAlchemy sends after it has nothing left to do."""
        self._pending_commit = _COMMIT

    def cursor(self) -> "OneTripCursor":  # type: ignore[override]
        return OneTripCursor(self)

    async def run(self, sql: str, parameters: Any, *, many: bool = False) -> _Outcome:
        """Execute one statement (after the pending BEGIN, if any) and fetch its rows, in one trip."""
        prelude = self._pending_begin
        if prelude:
            if prelude is _BEGIN_WRITE:
                await self._write_lock.acquire()
                self._holds_write_lock = True
            # From here on the transaction counts as begun: ending it is then always safe, even if BEGIN failed.
            self._pending_begin = ()
            self._in_transaction = True
        elif self._committed:
            raise sqlite3.ProgrammingError("a statement after the one that committed the transaction")
        postlude = self._pending_commit
        guard = self._read_only and not _is_select(sql)
        outcome = self._run_on_loop(prelude, sql, parameters, many, postlude, guard) if self._may_run_on_loop() else None
        if outcome is None:
            outcome = await self._run_on_thread(prelude, sql, parameters, many, postlude, guard)
        if postlude:
            # Committed. Had the statement or the COMMIT failed, or the trip been cancelled, the transaction would
            # still count as open here, and SQLAlchemy's rollback would end it in a trip of its own, as any other.
            self._forget_transaction()
            self._committed = True
        return outcome

    async def commit(self) -> None:
        await self._end(sqlite3.Connection.commit)

    async def rollback(self) -> None:
        await self._end(sqlite3.Connection.rollback)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._forget_transaction()

    def stop(self) -> asyncio.Future[Any] | None:
        future = super().stop()
        self._forget_transaction()
        return future

    async def _end(self, end: Callable[[sqlite3.Connection], None]) -> None:
        if not self._in_transaction:
            # SQLAlchemy began a transaction that ran no statement, or one that its last statement committed:
            # there is nothing to end.
            self._forget_transaction()
            return
        if self._may_run_on_loop():
            try:
                end(sqlite3_connection(self))
            finally:
                self._forget_transaction()
            return
        if self._read_only:
            # A transaction that only read has nothing to keep or lose, so nobody waits for its end; the
            # connection's thread still ends it before running whatever is queued for it next.
            self._ends_queued += 1
            queue_on_thread(self, partial(self._end_unwatched, end))
            self._forget_transaction()
            return
        try:
            await on_thread(self, end, sqlite3_connection(self))
        finally:
            self._forget_transaction()

    async def _run_on_thread(
        self, prelude: Sequence[str], sql: str, parameters: Any, many: bool, postlude: Sequence[str], guard: bool
    ) -> _Outcome:
        """The statement, on the connection's thread; a writing transaction's BEGIN is tried until another
        process lets go of the write lock, or the busy timeout passes."""
        give_up_at = asyncio.get_running_loop().time() + self.busy_timeout_ms / 1000
        while True:
            outcome = await on_thread(
                self, _run_statement, sqlite3_connection(self), prelude, sql, parameters, many, postlude, guard,
                self.busy_timeout_ms,
            )
            if outcome is not None:
                return outcome
            if asyncio.get_running_loop().time() >= give_up_at:
                raise sqlite3.OperationalError("database is locked")
            self.waiting_writers.announce()
            await asyncio.sleep(OTHER_WRITER_POLL)

    def _may_run_on_loop(self) -> bool:
        """Whether this transaction runs here; never while the thread may still be ending an earlier one."""
        return self._on_loop and self._ends_done == self._ends_queued

    def _run_on_loop(
        self, prelude: Sequence[str], sql: str, parameters: Any, many: bool, postlude: Sequence[str], guard: bool
    ) -> _Outcome | None:
        """The statement, run here; None, with nothing done, if another process holds the write lock."""
        if prelude is _BEGIN_WRITE and not _begin_at_once(sqlite3_connection(self), self.busy_timeout_ms):
            self._on_loop = False  # this transaction waits on the connection's thread instead
            return None
        prelude = () if prelude is _BEGIN_WRITE else prelude
        return _run_statement(sqlite3_connection(self), prelude, sql, parameters, many, postlude, guard)

    def _end_unwatched(self, end: Callable[[sqlite3.Connection], None]) -> None:
        """On the connection's thread, where no one awaits the outcome: so a failure is logged here."""
        try:
            end(sqlite3_connection(self))
        except Exception:
            log.exception("could not end a read-only transaction")
        finally:
            self._ends_done += 1

    def _forget_transaction(self) -> None:
        self._on_loop = False
        self._pending_begin = ()
        self._in_transaction = False
        self._read_only = False
        self._pending_commit = ()
        self._committed = False
        if self._holds_write_lock:
            self._holds_write_lock = False
            self._write_lock.release()


class OneTripCursor:
    """The part of aiosqlite's Cursor that SQLAlchemy uses; rows are fetched with the statement."""

    def __init__(self, connection: SQLiteConnection) -> None:
        self._connection = connection
        self._outcome = _Outcome(None, [], -1, None)
        self._next_row = 0
        self.arraysize = 1

    async def __aenter__(self) -> "OneTripCursor":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def execute(self, sql: str, parameters: Any = ()) -> "OneTripCursor":
        self._set(await self._connection.run(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> "OneTripCursor":
        self._set(await self._connection.run(sql, parameters, many=True))
        return self

    @property
    def description(self) -> Any:
        return self._outcome.description

    @property
    def rowcount(self) -> int:
        return self._outcome.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._outcome.lastrowid

    async def fetchone(self) -> Any:
        rows = self._take(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._take(size or self.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._take(len(self._outcome.rows))

    async def close(self) -> None:
        # Like sqlite3's, a closed cursor still tells the rowcount and lastrowid of its last statement.
        self._next_row = len(self._outcome.rows)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        while rows := self._take(64):
            for row in rows:
                yield row

    def _set(self, outcome: _Outcome) -> None:
        self._outcome = outcome
        self._next_row = 0

    def _take(self, count: int) -> list[Any]:
        start = self._next_row
        self._next_row = min(start + count, len(self._outcome.rows))
        if start == 0 and self._next_row == len(self._outcome.rows):
            return self._outcome.rows
        return self._outcome.rows[start : self._next_row]


def _run_statement(
    connection: sqlite3.Connection,
    prelude: Sequence[str],
    sql: str,
    parameters: Any,
    many: bool,
    postlude: Sequence[str],
    guard: bool = False,
    busy_timeout_ms: int = 0,
) -> _Outcome | None:
    """On the connection's thread; `guard`: run the statement under PRAGMA query_only, so it cannot write. None, with
    nothing done, if the prelude begins a writing transaction and another process holds the write lock."""
    if prelude is _BEGIN_WRITE:
        if not _begin_at_once(connection, busy_timeout_ms):
            return None
        prelude = ()
    for statement in prelude:
        connection.execute(statement)
    cursor = connection.cursor()
    try:
        if guard:
            connection.execute(_GUARD_READ_ONLY)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        outcome = _Outcome(cursor.description, rows, cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()
        if guard:
            connection.execute(_END_GUARD)
    for statement in postlude:
        connection.execute(statement)
    return outcome


def _is_select(sql: str) -> bool:
    """Whether the statement surely only reads; anything else in a read-only transaction runs guarded."""
    return sql.lstrip()[:6].upper() == "SELECT"


def _begin_at_once(connection: sqlite3.Connection, busy_timeout_ms: int) -> bool:
    """BEGIN IMMEDIATE without waiting: False if another process holds the write lock."""
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        connection.execute(_BEGIN_WRITE[0])
    except sqlite3.OperationalError as refused:
        if "locked" not in str(refused) and "busy" not in str(refused):
            raise
        return False
    finally:
        connection.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    return True


async def connect(database: str, write_lock: WriteLock, **kwargs: Any) -> SQLiteConnection:
    """Open a connection (arguments as for sqlite3.connect) whose writing transactions queue on `write_lock`."""
    connection = SQLiteConnection(lambda: sqlite3.connect(database, **kwargs), write_lock)
    connection.busy_timeout_ms = round(1000 * kwargs.get("timeout", 5.0))
    connection.waiting_writers = WaitingWriters(str(database))
    let_the_process_exit_while_open(connection)
    return await connection
