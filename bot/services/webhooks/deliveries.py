"""Deliveries of the event log to webhook endpoints: copied from the feed, claimed under a lease, retried with
backoff and jitter for more than a day, one order number's deliveries in order, endpoints disabled when gone.

Every endpoint is served on its own (by endpoint id), so a slow or dead one never holds up another's.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from bot.i18n import N_
from bot.services.event_log import FeedCursor, events_after, type_filter
from bot.services.retry_schedule import attempts_so_far, book_attempts, claim_in_turn, next_attempt_at
from bot.services.unit_of_work import UnitOfWork
from db.models import Event, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, WebhookEndpointStatus
from db.types import MAX_ROW_ID

# After the first attempt fails: the Standard Webhooks schedule, 27 hours and a half in all.
RETRY_AFTER = tuple(
    timedelta(seconds=seconds) for seconds in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
)
JITTER = 0.2  # each pause is stretched or shrunk by up to a fifth, so retries of many endpoints do not bunch up
DISABLE_AFTER = timedelta(days=1)  # an endpoint failing this long is disabled
LEASE = timedelta(seconds=60)  # well over the 10 s an attempt may take
FAN_OUT_PAGE = 500
# Why an endpoint was disabled, stored in English and shown translated; its last error is kept beside it.
GONE = N_("The endpoint answered 410 Gone: it asked to be sent nothing more.")
FAILING_FOR_A_DAY = N_("Every delivery failed for a day.")


@dataclass(frozen=True)
class EndpointTarget:
    id: int
    url: str
    secrets: tuple[str, ...]  # sign with each: the new secret and, during a rotation, the old one


@dataclass(frozen=True)
class DeliveryJob:
    delivery_id: int
    message_id: str  # the event's id: the same on every retry, so a receiver can drop a repeat
    type: str
    occurred_at: datetime
    data: dict[str, Any]
    attempt: int  # 1 for the first


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    status: int | None  # the HTTP status, None when no answer came
    error: str | None = None  # None: delivered

    @property
    def delivered(self) -> bool:
        return self.error is None

    @property
    def gone(self) -> bool:
        return self.status == 410


async def active_endpoints(uow: UnitOfWork) -> list[EndpointTarget]:
    """The endpoints to deliver to, with the secrets to sign with now."""
    async with uow.read_only():
        now = uow.clock.now()
        endpoints = (
            await uow.session.scalars(
                select(WebhookEndpoint).where(WebhookEndpoint.status == WebhookEndpointStatus.ACTIVE).order_by(WebhookEndpoint.id)
            )
        ).all()
        return [_target(endpoint, now) for endpoint in endpoints]


async def endpoint_target(uow: UnitOfWork, endpoint_id: int) -> EndpointTarget | None:
    if not 1 <= endpoint_id <= MAX_ROW_ID:  # no such row, and PostgreSQL refuses ids past 32 bits outright
        return None
    async with uow.read_only():
        endpoint = await uow.session.get(WebhookEndpoint, endpoint_id)
        return _target(endpoint, uow.clock.now()) if endpoint is not None else None


def _target(endpoint: WebhookEndpoint, now: datetime) -> EndpointTarget:
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        secrets.append(endpoint.previous_secret)
    return EndpointTarget(endpoint.id, endpoint.url, tuple(secrets))


async def fan_out(uow: UnitOfWork, endpoint_id: int, limit: int = FAN_OUT_PAGE) -> int:
    """Copy the events after the endpoint's cursor that it wants into its deliveries; how many were copied.

    Reads the feed as a consumer would (never skipping a late commit); the endpoint row's lock keeps two
    workers from copying the same page, and (endpoint, event) is unique besides.
    """
    async with uow:
        session, now = uow.session, uow.clock.now()
        endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
        if endpoint is None or endpoint.status is not WebhookEndpointStatus.ACTIVE:
            return 0
        after = FeedCursor(endpoint.fanned_out_transaction, endpoint.fanned_out_event)
        columns = (Event.id, Event.transaction_number, Event.type, Event.order_number)
        events = (await session.execute(events_after(after, limit, *columns))).all()
        if not events:
            return 0
        wanted = _wanted(endpoint.event_types)
        rows = [
            {
                "endpoint_id": endpoint.id,
                "event_id": event.id,
                "ordering_key": event.order_number,
                "status": WebhookDeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event in events
            if wanted(event.type)
        ]
        if rows:
            await session.execute(insert(WebhookDelivery), rows)
        endpoint.fanned_out_transaction, endpoint.fanned_out_event = events[-1].transaction_number, events[-1].id
        await uow.commit()
        return len(rows)


def _wanted(patterns: Sequence[str]) -> Any:
    if not patterns:
        return lambda event_type: True
    type_filter(patterns)  # stored patterns were checked when added
    exact = {pattern for pattern in patterns if not pattern.endswith(".*")}
    families = tuple(pattern[:-1] for pattern in patterns if pattern.endswith(".*"))
    return lambda event_type: event_type in exact or event_type.startswith(families)


async def claim(uow: UnitOfWork, endpoint_id: int, limit: int) -> list[DeliveryJob]:
    """Lease up to `limit` due deliveries of an active endpoint, each the oldest still pending of its order number."""
    async with uow:
        session, now = uow.session, uow.clock.now()
        ids = await claim_in_turn(
            session, WebhookDelivery, owner="endpoint_id", owner_id=endpoint_id,
            # An order's next delivery waits until the one before it is delivered or given up.
            key="ordering_key", pending=WebhookDeliveryStatus.PENDING, now=now, limit=limit, lease=LEASE,
            conditions=[WebhookEndpoint.status == WebhookEndpointStatus.ACTIVE],
            join=(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id),
        )
        if not ids:
            return []
        rows = (
            await session.execute(
                select(WebhookDelivery.id, WebhookDelivery.attempts, Event.public_id, Event.type, Event.occurred_at, Event.payload)
                .join(Event, Event.id == WebhookDelivery.event_id)
                .where(WebhookDelivery.id.in_(ids))
                .order_by(WebhookDelivery.id)
            )
        ).all()
        await uow.commit()
    return [DeliveryJob(row.id, row.public_id, row.type, row.occurred_at, row.payload, row.attempts + 1) for row in rows]


async def record_outcomes(uow: UnitOfWork, endpoint_id: int, outcomes: Sequence[Outcome]) -> None:
    """Book a batch of attempts at one endpoint: delivered, retried later, given up, or the endpoint disabled.

    One UPDATE for the batch (executemany), not one per delivery.
    """
    if not outcomes:
        return
    async with uow:
        session, now = uow.session, uow.clock.now()
        endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
        attempts = await attempts_so_far(session, WebhookDelivery, [outcome.delivery_id for outcome in outcomes])
        rows = [
            _booked(outcome, attempts[outcome.delivery_id] + 1, now)
            for outcome in outcomes
            if outcome.delivery_id in attempts  # a delivery of an endpoint removed meanwhile is gone
        ]
        await book_attempts(session, WebhookDelivery, rows)
        if endpoint is not None:
            _note_health(endpoint, outcomes, now)
        await uow.commit()


def _booked(outcome: Outcome, attempts: int, now: datetime) -> dict[str, Any]:
    """A delivery after this attempt: delivered, due again after a pause with jitter, or given up."""
    status, due = WebhookDeliveryStatus.PENDING, now
    if outcome.delivered:
        status = WebhookDeliveryStatus.DELIVERED
    else:
        retry_at = next_attempt_at(now, attempts, RETRY_AFTER, JITTER)
        status = WebhookDeliveryStatus.FAILED if retry_at is None else status
        due = retry_at or now
    return {
        "row_id": outcome.delivery_id,
        "attempts": attempts,
        "status": status,
        "next_attempt_at": due,
        "delivered_at": now if outcome.delivered else None,
        "last_status": outcome.status,
        "last_error": outcome.error,
    }


def _note_health(endpoint: WebhookEndpoint, outcomes: Sequence[Outcome], now: datetime) -> None:
    """A success clears the endpoint's failing streak; 410 Gone, or failing for a day, disables it."""
    failures = [outcome for outcome in outcomes if not outcome.delivered]
    if len(failures) < len(outcomes):
        endpoint.last_success_at = now
        endpoint.failing_since = None
    if not failures:
        return
    endpoint.last_error = failures[-1].error
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    gone = next((outcome for outcome in failures if outcome.gone), None)
    if gone is not None:
        _disable(endpoint, GONE)
    elif now - endpoint.failing_since >= DISABLE_AFTER:
        _disable(endpoint, FAILING_FOR_A_DAY)


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.status = WebhookEndpointStatus.DISABLED
    endpoint.disabled_reason = reason[:300]
