"""Webhooks the store sent: queued as they arrive (one INSERT, a repeat of a delivery dropped by its key), then
applied by the connector's worker under a lease, retried with backoff when applying fails, given up after a day.

The receiver answers the store as soon as the webhook is queued: stores give a webhook a few seconds only.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.services.connectors.store_records import ReceivedWebhook
from bot.services.retry_schedule import attempts_so_far, book_attempts, claim_in_turn, next_attempt_at
from bot.services.unit_of_work import UnitOfWork
from db.models import StoreWebhook, StoreWebhookStatus

RETRY_AFTER = tuple(timedelta(seconds=seconds) for seconds in (10, 60, 5 * 60, 30 * 60, 2 * 3600, 6 * 3600, 12 * 3600))
JITTER = 0.2
LEASE = timedelta(minutes=5)  # a page of orders with its ETA recompute can take a while
KEEP_KEYS_FOR = timedelta(days=7)  # longer than any store retries a delivery
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class QueuedWebhook:
    id: int
    connection_id: int
    topic: str
    payload: dict[str, Any]
    attempt: int  # 1 for the first


@dataclass(frozen=True)
class WebhookOutcome:
    webhook_id: int
    error: str | None = None  # None: applied
    skipped: bool = False  # applied nothing, being older than what was applied
    final: bool = False  # an error retrying cannot mend (a payload that cannot be read): given up at once


async def queue_webhooks(uow: UnitOfWork, received: Sequence[tuple[int, ReceivedWebhook]]) -> list[bool]:
    """Queue verified webhooks (connection id, webhook) in one transaction; for each, whether it is new (False: its
    delivery was queued before, the store retrying it).

    One INSERT for the lot: a receiver queues what arrived while the last commit was on its way, so a burst costs
    a commit per batch, not per webhook.
    """
    if not received:
        return []
    now = uow.clock.now()
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for connection_id, webhook in received:
        key = (connection_id, webhook.delivery_key[:200])
        rows.setdefault(key, {
            "connection_id": connection_id, "delivery_key": key[1], "topic": webhook.topic[:64],
            "resource_id": (webhook.resource_id or None) and webhook.resource_id[:64],
            "resource_updated_at": webhook.resource_updated_at, "payload": webhook.payload,
            "status": StoreWebhookStatus.PENDING, "attempts": 0, "next_attempt_at": now, "received_at": now,
        })
    async with uow.connection() as connection:
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        statement = (
            insert(StoreWebhook)
            .on_conflict_do_nothing(index_elements=["connection_id", "delivery_key"])
            .returning(StoreWebhook.connection_id, StoreWebhook.delivery_key)
        )
        inserted = {(row[0], row[1]) for row in await connection.execute(statement, list(rows.values()))}
        await uow.commit()
    answers = []
    for connection_id, webhook in received:
        key = (connection_id, webhook.delivery_key[:200])
        answers.append(key in inserted)
        inserted.discard(key)  # the same delivery twice in one batch: the first is the new one
    return answers


async def claim_webhooks(uow: UnitOfWork, connection_id: int, limit: int) -> list[QueuedWebhook]:
    """Lease up to `limit` due webhooks of the connection, in the order they came."""
    async with uow:
        session, now = uow.session, uow.clock.now()
        ids = await claim_in_turn(
            session, StoreWebhook, owner="connection_id", owner_id=connection_id,
            # One resource's webhooks are applied in the order they came.
            key="resource_id", pending=StoreWebhookStatus.PENDING, now=now, limit=limit, lease=LEASE,
        )
        if not ids:
            return []
        rows = (
            await session.execute(
                select(StoreWebhook.id, StoreWebhook.topic, StoreWebhook.payload, StoreWebhook.attempts)
                .where(StoreWebhook.id.in_(ids))
                .order_by(StoreWebhook.id)
            )
        ).all()
        await uow.commit()
    return [QueuedWebhook(row.id, connection_id, row.topic, row.payload or {}, row.attempts + 1) for row in rows]


async def finish_webhooks(uow: UnitOfWork, outcomes: Sequence[WebhookOutcome]) -> None:
    """Book what applying each webhook did: done or skipped (its payload cleared), or retried later, or given up."""
    if not outcomes:
        return
    async with uow:
        session, now = uow.session, uow.clock.now()
        attempts = await attempts_so_far(session, StoreWebhook, [outcome.webhook_id for outcome in outcomes])
        rows = [_booked(outcome, attempts[outcome.webhook_id] + 1, now) for outcome in outcomes if outcome.webhook_id in attempts]
        for status in {row["status"] for row in rows}:
            # The payload (personal data) goes once the webhook is applied; a failing one keeps it for its retries.
            payload = {} if status is StoreWebhookStatus.PENDING else {"payload": None}
            await book_attempts(session, StoreWebhook, [row for row in rows if row["status"] is status], **payload)
        await uow.commit()


def _booked(outcome: WebhookOutcome, attempts: int, now: datetime) -> dict[str, Any]:
    status, due = StoreWebhookStatus.DONE, now
    if outcome.skipped:
        status = StoreWebhookStatus.SKIPPED
    elif outcome.error is not None:
        retry_at = None if outcome.final else next_attempt_at(now, attempts, RETRY_AFTER, JITTER)
        status = StoreWebhookStatus.FAILED if retry_at is None else StoreWebhookStatus.PENDING
        due = retry_at or now
    return {
        "row_id": outcome.webhook_id,
        "attempts": attempts,
        "status": status,
        "next_attempt_at": due,
        "processed_at": None if status is StoreWebhookStatus.PENDING else now,
        "last_error": outcome.error[:MAX_ERROR_CHARS] if outcome.error else None,
    }


async def forget_old_webhooks(uow: UnitOfWork) -> int:
    """Drop applied webhooks older than any store's retries, keys and all; how many went."""
    async with uow:
        result = await uow.session.execute(
            delete(StoreWebhook).where(
                StoreWebhook.status.in_([StoreWebhookStatus.DONE, StoreWebhookStatus.SKIPPED]),
                StoreWebhook.received_at < uow.clock.now() - KEEP_KEYS_FOR,
            )
        )
        await uow.commit()
        return result.rowcount or 0  # type: ignore[attr-defined]
