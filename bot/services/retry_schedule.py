"""When to try again after a failed attempt: a schedule of pauses, each stretched or shrunk a little at random so
that many retries falling due together do not all come back at the same moment; and which queued rows are due."""

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_
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
