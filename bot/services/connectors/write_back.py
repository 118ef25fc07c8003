"""Changes made here, taken to the store: a customer's, an agent's or an automatic cancel or swap becomes a job
that edits the store order, refunds there (or tags and notes it for a refund by hand) and leaves an order note.

Jobs are copied from the event log in the transaction that advances the connection's cursor, so none is lost or
made twice; each is retried on a schedule of two days while the store is down, one order's jobs one at a time and
in order. The store's steps already done are kept on the job, so a retry never refunds twice.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from bot.services.added_tax import without_added_tax
from bot.services.audit import Actor, record
from bot.services.connectors.connections import ConnectionConfig
from bot.services.connectors.store_links import Link, links_by_our_key
from bot.services.connectors.store_records import WriteBackRequest, WriteBackResult
from bot.services.event_log import EventType, FeedCursor, events_after
from bot.services.fulfilment.refunds import mark_refund_paid
from bot.services.connectors.store_sync import store_actor
from bot.services.errors import DomainError
from bot.services.retry_schedule import claim_in_turn, next_attempt_at
from bot.services.unit_of_work import UnitOfWork
from db.models import Event, StoreConnection, StoreWriteBack, StoreWriteBackStatus

RETRY_AFTER = (
    tuple(timedelta(seconds=seconds) for seconds in (30, 120, 600, 1800))
    + tuple(timedelta(hours=1) for _ in range(48))
)
JITTER = 0.2
LEASE = timedelta(minutes=2)
FAN_OUT_PAGE = 500
MAX_ERROR_CHARS = 2000
# Changes the store did not make itself: the shop's own (by "shop") came from the store or its staff.
_WRITTEN_BACK_BY = ("customer", "agent", "automatic")
_KIND = {EventType.LINE_CANCELLED.value: "cancel", EventType.LINE_SUBSTITUTED.value: "swap"}


@dataclass(frozen=True)
class WriteBackJob:
    id: int
    attempt: int  # 1 for the first
    request: WriteBackRequest | None  # None: the order is not the store's, nothing to write back
    refund_id: int | None  # ours, marked paid when the store refunds


async def fan_out_write_backs(uow: UnitOfWork, connection_id: int, limit: int = FAN_OUT_PAGE) -> int:
    """Turn the cancels and swaps logged after the connection's cursor into jobs; how many were made."""
    async with uow:
        session, now = uow.session, uow.clock.now()
        connection = await session.get(StoreConnection, connection_id, with_for_update=True)
        if connection is None:
            return 0
        after = FeedCursor(connection.fanned_out_transaction, connection.fanned_out_event)
        columns = (Event.id, Event.transaction_number, Event.type, Event.order_number, Event.payload)
        events = (await session.execute(events_after(after, limit, *columns))).all()
        if not events:
            return 0
        rows = [
            {
                "connection_id": connection_id, "event_id": event.id, "kind": _KIND[event.type],
                "order_number": event.order_number, "status": StoreWriteBackStatus.PENDING, "attempts": 0,
                "next_attempt_at": now, "steps": {}, "created_at": now,
            }
            for event in events
            if event.type in _KIND and event.payload.get("by") in _WRITTEN_BACK_BY and event.order_number
        ]
        if rows:
            await session.execute(insert(StoreWriteBack), rows)
        connection.fanned_out_transaction, connection.fanned_out_event = events[-1].transaction_number, events[-1].id
        await uow.commit()
        return len(rows)


async def claim_write_backs(uow: UnitOfWork, connection: ConnectionConfig, limit: int) -> list[WriteBackJob]:
    """Lease up to `limit` due jobs, each the oldest still pending of its order, with what to ask the store."""
    async with uow:
        session, now = uow.session, uow.clock.now()
        ids = await claim_in_turn(
            session, StoreWriteBack, owner="connection_id", owner_id=connection.id,
            # An order is edited one change at a time, in the order they were made.
            key="order_number", pending=StoreWriteBackStatus.PENDING, now=now, limit=limit, lease=LEASE,
        )
        if not ids:
            return []
        rows = (
            await session.execute(
                select(StoreWriteBack, Event.public_id, Event.occurred_at, Event.payload)
                .join(Event, Event.id == StoreWriteBack.event_id)
                .where(StoreWriteBack.id.in_(ids))
                .order_by(StoreWriteBack.id)
            )
        ).all()
        await uow.commit()
    orders = await links_by_our_key(uow, connection.id, "order", [job.order_number for job, *_ in rows])
    lines = await links_by_our_key(uow, connection.id, "line", [str(payload["line_id"]) for *_, payload in rows])
    swapped_in = [payload["ship_instead"]["sku"] for *_, payload in rows if payload.get("ship_instead")]
    variants = await links_by_our_key(uow, connection.id, "variant", swapped_in)
    jobs = []
    for job, event_id, occurred_at, payload in rows:
        order = orders.get(job.order_number)
        request = None
        if order is not None:
            line = lines.get(str(payload["line_id"]))
            request = _request(job, event_id, occurred_at, payload, order.store_id, line, variants, connection)
        refund = payload.get("refund")
        jobs.append(WriteBackJob(job.id, job.attempts + 1, request, refund["refund_id"] if refund else None))
    return jobs


def _request(
    job: StoreWriteBack, event_id: str, at: datetime, payload: dict[str, Any], order_store_id: str,
    line: Link | None, variants: dict[str, Any], connection: ConnectionConfig,
) -> WriteBackRequest:
    refund = payload.get("refund") or {}
    amount = refund.get("amount", {}).get("amount_minor", 0)
    instead = payload.get("ship_instead")
    quantity = payload["cancelled_quantity"] if job.kind == "cancel" else payload["quantity"]
    # A cancel leaves what is allocated to ship; a swap takes the swapped units off the line.
    keep = payload["still_shipping_quantity"] if job.kind == "cancel" else payload["ordered_quantity"] - payload["quantity"]
    waived = payload.get("price_difference", {}).get("amount_minor", 0) if payload.get("difference_paid_by") == "shop" else 0
    # The store takes a line's discount off before it adds its tax: the part of the waived amount before tax.
    waived_per_unit = without_added_tax(waived // max(1, quantity), int(line.data.get("added_tax_ppm", 0)) if line else 0)
    return WriteBackRequest(
        kind=job.kind,  # type: ignore[arg-type]
        idempotency_key=event_id,
        order_number=job.order_number,
        order_store_id=order_store_id,
        line_store_id=line.store_id if line else None,
        sku=payload["sku"],
        quantity=quantity,
        keep_quantity=max(0, keep),
        refund_minor=amount,
        currency=payload["unit_price"]["currency"],
        note=note_text(job.kind, payload, at),
        refunds_by_hand=connection.refunds_by_hand,
        steps=dict(job.steps or {}),
        substitute_sku=instead["sku"] if instead else None,
        substitute_variant_id=variants[instead["sku"]].store_id if instead and instead["sku"] in variants else None,
        substitute_quantity=instead["quantity"] if instead else 0,
        substitute_discount_minor=waived_per_unit,
    )


_WHO = {"customer": "The customer", "agent": "A support agent", "automatic": "Backorder Desk (no answer to a delay notice)"}


def note_text(kind: str, payload: dict[str, Any], at: datetime) -> str:
    """The order note the shop's staff read in the store: who, when, what, and the refund."""
    who = _WHO.get(payload.get("by", ""), "Backorder Desk")
    when = at.strftime("%Y-%m-%d %H:%M UTC")
    refund = payload.get("refund")
    money = (
        f" Refund owed: {refund['amount']['amount_minor'] / 100:.2f} {refund['amount']['currency']}." if refund else ""
    )
    if kind == "swap":
        instead = payload["ship_instead"]
        what = (
            f"swapped {payload['quantity']} × {payload['sku']} ({payload['product_name']}) for"
            f" {instead['quantity']} × {instead['sku']} ({instead['product_name']})"
        )
    else:
        what = f"cancelled {payload['cancelled_quantity']} × {payload['sku']} ({payload['product_name']})"
    return f"Backorder Desk: {who} {what} on {when}.{money}"


async def finish_write_back(
    uow: UnitOfWork, connection: ConnectionConfig, job: WriteBackJob, result: WriteBackResult | None = None,
    error: str | None = None, *, retry: bool = True, steps: dict[str, Any] | None = None,
) -> None:
    """Book an attempt: done (our refund marked paid when the store refunded), by hand, retried later, or failed."""
    if result is not None and result.refund_reference and job.refund_id is not None:
        try:
            await mark_refund_paid(uow, job.refund_id, f"{connection.platform}:{result.refund_reference}", store_actor(connection))
        except DomainError:  # recorded as paid with another reference (by hand, meanwhile): the store's is not ours to book
            pass
    async with uow:
        session, now = uow.session, uow.clock.now()
        row = await session.get(StoreWriteBack, job.id, with_for_update=True)
        if row is None:
            return
        row.attempts += 1
        row.lease_expires_at = None
        if result is not None:
            row.steps = result.steps
            row.status = StoreWriteBackStatus.BY_HAND if result.steps.get("by_hand") else StoreWriteBackStatus.DONE
            row.done_at, row.last_error = now, None
        else:
            row.steps = {**(row.steps or {}), **(steps or {})}
            row.last_error = (error or "failed")[:MAX_ERROR_CHARS]
            retry_at = next_attempt_at(now, row.attempts, RETRY_AFTER, JITTER) if retry else None
            if retry_at is None:
                row.status = StoreWriteBackStatus.FAILED
            else:
                row.next_attempt_at = retry_at
        await uow.commit()


async def retry_failed_write_backs(uow: UnitOfWork, connection_id: int, actor: Actor) -> int:
    """Put the jobs that gave up back in line, oldest first, after the merchant mended what the store refused (a
    scope, a setting, a product); how many. Each starts its schedule afresh and keeps the steps it had done."""
    async with uow:
        session, now = uow.session, uow.clock.now()
        ids = list(
            (
                await session.scalars(
                    select(StoreWriteBack.id)
                    .where(StoreWriteBack.connection_id == connection_id, StoreWriteBack.status == StoreWriteBackStatus.FAILED)
                    .order_by(StoreWriteBack.id)
                    .with_for_update()
                )
            ).all()
        )
        if not ids:
            return 0
        await session.execute(
            update(StoreWriteBack)
            .where(StoreWriteBack.id.in_(ids))
            .values(status=StoreWriteBackStatus.PENDING, attempts=0, next_attempt_at=now, lease_expires_at=None)
        )
        record(session, actor, "store.write_backs_retried", "store_connection", connection_id, at=now, write_backs=ids)
        await uow.commit()
        return len(ids)
