"""Engine and session factory for SQLite (the embedded default) and PostgreSQL."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from db.log_privacy import SQL_DEBUG_LINES, withhold_debug_arguments
from db.sqlite_connection import SQLiteConnection, WaitingWriters, WriteLock, connect

BUSY_TIMEOUT_SECONDS = 30
# Execution options of a transaction that only reads (UnitOfWork.read_only): SQLite begins it DEFERRED, so under
# WAL it runs beside a writer instead of queueing for the write lock; both backends refuse writes in it.
READ_ONLY_OPTION = "backorder_read_only"
READ_ONLY = {READ_ONLY_OPTION: True, "postgresql_readonly": True}
# Execution options of a transaction whose few short statements SQLite runs on the event loop's own thread
# (UnitOfWork.connection; see db/sqlite_connection.py); other backends ignore it.
ON_LOOP_OPTION = "backorder_on_loop"
ON_LOOP = {ON_LOOP_OPTION: True}
# Execution options of a transaction's last statement, after which it commits (UnitOfWork.commit_with): SQLite
# commits in the same trip to the connection's thread, so a writer holds the write lock one trip less.
LAST_STATEMENT_OPTION = "backorder_last_statement"
LAST_STATEMENT = {LAST_STATEMENT_OPTION: True}


# What connecting raises when the database cannot be reached: refused, unknown host, wrong password, no such
# database, a SQLite file in a folder that does not exist.
UNREACHABLE = (OSError, DBAPIError)


def unreachable_message(database_url: str, error: BaseException) -> str:
    """One line for the operator: which database (password masked), and why it could not be reached."""
    where = make_url(database_url).render_as_string(hide_password=True)
    if isinstance(error, DBAPIError):
        reason = str(error.orig.args[0] if error.orig is not None and error.orig.args else error).splitlines()[0]
    elif isinstance(error, OSError):
        reason = error.strerror or str(error)
    else:
        reason = str(error)
    return f"Cannot reach the database at {where}: {reason}. Check DATABASE_URL and that the database is running."


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite, tuned so concurrent writers queue instead of failing.

    Statement parameters and the rows read are kept out of error messages and logs: they hold customers'
    e-mail addresses and phone numbers.
    """
    url = make_url(database_url)
    kwargs.setdefault("hide_parameters", True)
    withhold_debug_arguments(SQL_DEBUG_LINES)
    if url.get_backend_name() != "sqlite":
        # PostgreSQL's JIT compiler starts above a planner cost, not a measured time: a statement over a
        # shop's 100,000 waiting lines (an ETA recompute, an import) crosses it and then spends seconds
        # compiling what runs in a few hundred milliseconds. Nothing here is a long analytic query.
        connect_args = kwargs.pop("connect_args", {})
        server_settings = {"jit": "off"} | connect_args.get("server_settings", {})
        engine = create_async_engine(
            url, pool_pre_ping=True, connect_args=connect_args | {"server_settings": server_settings}, **kwargs
        )
        event.listen(engine.sync_engine, "handle_error", _drop_driver_error)
        return engine
    engine = create_async_engine(url, async_creator=_sqlite_connector(url), **kwargs)
    _configure_sqlite(engine)
    return engine


def _drop_driver_error(context: ExceptionContext) -> None:
    """Keep asyncpg's own exception out of tracebacks: its DETAIL repeats the row's values
    (`Key (email)=(anna@example.com) already exists`). The message and the SQLSTATE stay."""
    error = context.original_exception
    error.__cause__ = None
    error.__suppress_context__ = True


def _sqlite_connector(url: URL) -> Any:
    """Opens the engine's connections (db/sqlite_connection.py), its writers sharing one lock."""
    args, options = url.get_dialect()().create_connect_args(url)
    write_lock = WriteLock(BUSY_TIMEOUT_SECONDS)

    async def connector() -> SQLiteConnection:
        return await connect(*args, write_lock, **({"timeout": BUSY_TIMEOUT_SECONDS} | options))

    return connector


def waiting_writers(engine: AsyncEngine) -> WaitingWriters:
    """Where writers of the engine's SQLite database say that they wait for another process's write lock."""
    args, _options = engine.url.get_dialect()().create_connect_args(engine.url)
    return WaitingWriters(str(args[0]))


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is locked" when
        # another writer got there first; so a transaction that may write begins IMMEDIATE, taking the write
        # lock up front, and only one declared read-only begins DEFERRED.
        options = connection.get_execution_options()
        connection.connection.driver_connection.begin_with_next_statement(
            read_only=options.get(READ_ONLY_OPTION, False), on_loop=options.get(ON_LOOP_OPTION, False)
        )

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before_execute(connection: Any, _cursor: Any, _sql: str, _parameters: Any, context: Any, _many: bool) -> None:
        if context.execution_options.get(LAST_STATEMENT_OPTION, False):
            connection.connection.driver_connection.commit_with_next_statement()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
