"""The one durable way to write to a customer first: messages are stored here, in the same transaction as
the change that caused them, and delivered by the outbox workers (bot/delivery).

Also what every worker that claims rows under a lease shares (the outbox's and the ticket relay's): a name
unique to its run, and a doubling retry pause."""

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from db.models import Customer, OutboxMessage, OutboxStatus

PRIORITY_INTERACTIVE = 0  # a relay or an answer someone is waiting for
PRIORITY_NOTIFICATION = 5
PRIORITY_BROADCAST = 10  # bulk: yields to everything else


@dataclass(frozen=True)
class OutgoingMessage:
    """What to send to whom; `template` and `params` are rendered in `language` when it is sent."""

    chat_id: int
    template: str
    language: str
    params: dict[str, Any] = field(default_factory=dict)
    customer_id: int | None = None
    broadcast_id: int | None = None
    optional: bool = True  # respects the customer's opt-out and quiet hours
    dedupe_key: str | None = None  # the same key is only ever queued once
    priority: int = PRIORITY_NOTIFICATION
    not_before: datetime | None = None


async def enqueue(session: AsyncSession, clock: Clock, messages: Sequence[OutgoingMessage]) -> int:
    """Queue messages in the caller's transaction; returns how many were queued.

    Skipped: customers who blocked the bot, optional messages to customers who opted out, and messages
    whose dedupe key was queued before (so a retried change does not notify twice).
    """
    if not messages:
        return 0
    blocked, opted_out = await _unreachable_customers(session, {m.customer_id for m in messages} - {None})
    already_queued = await _queued_keys(session, [m.dedupe_key for m in messages if m.dedupe_key])
    now = clock.now()
    rows = []
    for message in messages:
        if message.customer_id in blocked or (message.optional and message.customer_id in opted_out):
            continue
        if message.dedupe_key:
            if message.dedupe_key in already_queued:
                continue
            already_queued.add(message.dedupe_key)
        rows.append(_row(message, now))
    if rows:
        # Two runs of one job (the demo's "+1 day" beside its daily loop, or two instances) can both find a key
        # not yet queued: the one that inserts second skips it instead of failing its whole transaction.
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        await session.execute(insert(OutboxMessage).on_conflict_do_nothing(index_elements=[OutboxMessage.dedupe_key]), rows)
    return len(rows)


def _row(message: OutgoingMessage, now: datetime) -> dict[str, Any]:
    return {
        "chat_id": message.chat_id,
        "customer_id": message.customer_id,
        "broadcast_id": message.broadcast_id,
        "template": message.template,
        "params": message.params,
        "language": message.language,
        "optional": message.optional,
        "dedupe_key": message.dedupe_key,
        "priority": message.priority,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "not_before": message.not_before or now,
        "created_at": now,
    }


async def _unreachable_customers(session: AsyncSession, ids: set[int]) -> tuple[set[int], set[int]]:
    """Customers who blocked the bot, and customers who turned optional messages off."""
    blocked: set[int] = set()
    opted_out: set[int] = set()
    for chunk in _chunks(sorted(ids)):
        rows = await session.execute(
            select(Customer.id, Customer.bot_blocked, Customer.notifications_opt_out).where(
                Customer.id.in_(chunk), (Customer.bot_blocked.is_(True)) | (Customer.notifications_opt_out.is_(True))
            )
        )
        for row in rows:
            (blocked if row.bot_blocked else opted_out).add(row.id)
    return blocked, opted_out


async def _queued_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(keys):
        found.update(await session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk))))
    return found


def _chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    """IN lists in pieces, under SQLite's limit on bound parameters."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def new_worker_id(name: str) -> str:
    """At most 58 characters, unique per run: a restarted process (pid 1 again in a container) must not pass for the one that died."""
    return f"{socket.gethostname()[:24]}:{os.getpid()}:{name[:16]}:{uuid.uuid4().hex[:8]}"


def doubling_pause(failed_tries: int, first: timedelta, longest: timedelta) -> timedelta:
    """`first` after one failed try, doubling with each further one, never longer than `longest`."""
    return min(first * 2 ** max(failed_tries - 1, 0), longest)
