"""The private parts of aiosqlite that db/sqlite_connection.py stands on, in one place.

aiosqlite has no public way to run a function of ours on a connection's thread, to reach the sqlite3
connection from the event loop (where sqlite_connection.py runs short statements, far cheaper than a trip to
the thread), or to queue work that nobody waits for. These functions do it through its private members, as of
aiosqlite 0.20 to 0.22; pyproject.toml keeps it below 0.23, and tests/unit/test_library_internals.py fails
loudly if a release moves them, before anything else breaks in a subtler way.
"""

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite


def sqlite3_connection(connection: aiosqlite.Connection) -> sqlite3.Connection:
    """The sqlite3 connection itself; raises ValueError once it is closed."""
    return connection._conn  # noqa: SLF001


def on_thread(connection: aiosqlite.Connection, function: Callable[..., Any], *args: Any) -> Awaitable[Any]:
    """`function(*args)` on the connection's thread, after whatever is queued there; await it for the result.

    Not a coroutine of its own: a statement's hot path pays for no extra frame."""
    return connection._execute(function, *args)  # noqa: SLF001


def queue_on_thread(connection: aiosqlite.Connection, function: Callable[[], Any]) -> None:
    """Queue `function()` on the connection's thread without waiting for it (its outcome goes nowhere)."""
    connection._tx.put_nowait((None, function))  # noqa: SLF001


def let_the_process_exit_while_open(connection: aiosqlite.Connection) -> None:
    """Make the connection's thread a daemon, as SQLAlchemy does for aiosqlite: an unclosed one must not keep
    the process alive."""
    connection._thread.daemon = True  # noqa: SLF001
