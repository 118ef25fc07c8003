"""Which transaction wrote a row, in an order a reader can trust: the event feed's cursor rests on it.

A sequence number is taken when a row is inserted, but transactions commit in another order; a reader who
has seen number 8 may later find a 7 that committed after it. So each event also records its transaction's
number, and a reader only takes events of transactions older than every transaction still running.

PostgreSQL: the 64-bit transaction id (never wraps); the bound is the oldest transaction still running in the
reader's snapshot, leaving out those running in other databases of the server (they cannot write our events,
and a long one there would hold the feed back). One left out only when pg_stat_activity shows it elsewhere at
that moment, so a transaction that ended meanwhile still counts: the bound can only err low, which delays an
event, never skips it.
SQLite: one writer at a time, so row ids already follow commit order; every event counts as transaction 0.
"""

from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class current_transaction_number(FunctionElement[int]):  # noqa: N801 - named like SQL functions
    """The number of the transaction running the statement."""

    type = BigInteger()
    inherit_cache = True


class settled_transaction_bound(FunctionElement[int]):  # noqa: N801 - named like SQL functions
    """Every transaction numbered below this has finished (committed or rolled back) for the reader."""

    type = BigInteger()
    inherit_cache = True


@compiles(current_transaction_number)
def _current_default(element: Any, compiler: Any, **kw: Any) -> str:
    return "0"


@compiles(current_transaction_number, "postgresql")
def _current_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return "pg_current_xact_id()::text::bigint"


@compiles(settled_transaction_bound)
def _settled_default(element: Any, compiler: Any, **kw: Any) -> str:
    return "1"


@compiles(settled_transaction_bound, "postgresql")
def _settled_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return _SETTLED_POSTGRESQL


_SETTLED_POSTGRESQL = """(SELECT coalesce(min(running.xid::text::bigint), pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
 FROM pg_snapshot_xip(pg_current_snapshot()) AS running(xid)
 WHERE NOT EXISTS (
  SELECT 1 FROM pg_stat_activity AS elsewhere
  WHERE elsewhere.datname IS DISTINCT FROM current_database()
   AND elsewhere.backend_xid::text::bigint = running.xid::text::bigint % 4294967296))"""
