"""The retried queues' shared machinery (merchant webhooks, store webhooks, store write-backs): when to try again
after a failed attempt — a schedule of pauses, each stretched or shrunk a little at random so that many retries
falling due together do not all come back at the same moment —, which queued rows are due in turn, leasing them,
and booking a batch of attempts."""

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased


def next_attempt_at(now: datetime, attempts: int, schedule: Sequence[timedelta], jitter: float) -> datetime | None:
    """When attempt `attempts + 1` is due after `attempts` failed ones; None once the schedule is used up."""
    if attempts > len(schedule):
        return None
    pause = schedule[attempts - 1].total_seconds() * random.uniform(1 - jitter, 1 + jitter)
    return now + timedelta(seconds=pause)


def due_in_turn(model: Any, owner: str, key: str, pending: Any, now: datetime) -> ColumnElement[bool]:
    """Rows of a retried queue that may be tried now: pending, due, not leased, and the oldest pending one of their
    key within their owner (an order's changes go one at a time, in the order they were made). A row without a
    key waits for nobody."""
    earlier = aliased(model)
    return and_(
        model.status == pending,
        model.next_attempt_at <= now,
        or_(model.lease_expires_at.is_(None), model.lease_expires_at <= now),
        or_(
            getattr(model, key).is_(None),
            ~exists().where(
                getattr(earlier, owner) == getattr(model, owner),
                getattr(earlier, key) == getattr(model, key),
                earlier.status == pending,
                earlier.id < model.id,
            ),
        ),
    )


async def claim_in_turn(
    session: AsyncSession, model: Any, *, owner: str, owner_id: int, key: str, pending: Any, now: datetime,
    limit: int, lease: timedelta, conditions: Sequence[ColumnElement[bool]] = (), join: tuple[Any, Any] | None = None,
) -> list[int]:
    """Lease up to `limit` rows of one owner's retried queue that are due in turn (see due_in_turn), oldest first;
    their ids. Rows another worker holds are skipped, not waited for. Does not commit."""
    due = select(model.id)
    if join is not None:
        due = due.join(*join)
    due = (
        due.where(getattr(model, owner) == owner_id, *conditions, due_in_turn(model, owner, key, pending, now))
        .order_by(model.id)
        .limit(limit)
        .with_for_update(of=model, skip_locked=True)
    )
    ids = list((await session.scalars(due)).all())
    if ids:
        await session.execute(update(model).where(model.id.in_(ids)).values(lease_expires_at=now + lease))
    return ids


async def attempts_so_far(session: AsyncSession, model: Any, ids: Sequence[int]) -> dict[int, int]:
    """How many attempts each row of a retried queue has had (rows gone meanwhile are left out)."""
    return dict((await session.execute(select(model.id, model.attempts).where(model.id.in_(list(ids))))).all())


async def book_attempts(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]], **fixed: Any) -> None:
    """Book a batch of attempts in one UPDATE (executemany): each row names its id as `row_id` and the new values of
    the same columns; `fixed` values go to every row; leases are released. Does not commit.

    Not one UPDATE per row: at hundreds of rows a second the ORM's row-by-row bookkeeping was most of the cost.
    """
    if not rows:
        return
    table = model.__table__
    columns = [column for column in rows[0] if column != "row_id"]
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(lease_expires_at=None, **{column: bindparam(column) for column in columns}, **fixed),
        list(rows),
    )
