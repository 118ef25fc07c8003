"""The merchant's webhook endpoints: which events each receives, its signing secret (shown once), rotation."""

import base64
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from bot.services.audit import Actor, record
from bot.services.errors import InvalidWebhookUrl, WebhookEndpointNotFound
from bot.services.event_log import type_filter
from bot.services.intake.field_rules import SPACE
from bot.services.unit_of_work import UnitOfWork
from db.models import Event, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, WebhookEndpointStatus
from db.types import MAX_ROW_ID

SECRET_PREFIX = "whsec_"
ROTATION_OVERLAP = timedelta(hours=24)
ENDPOINT_URL_PATTERN = rf"https?://[^{SPACE}/?#\x00]+[^{SPACE}\x00]*"
_URL = re.compile(ENDPOINT_URL_PATTERN)


@dataclass(frozen=True)
class EndpointView:
    id: int
    url: str
    event_types: list[str]
    status: WebhookEndpointStatus
    disabled_reason: str | None
    failing_since: datetime | None
    last_error: str | None
    last_success_at: datetime | None
    pending_deliveries: int
    rotating_until: datetime | None  # the old secret still signs until then
    created_at: datetime


@dataclass(frozen=True)
class EndpointWithSecret:
    """An endpoint and its new secret: the only time the secret is shown."""

    endpoint: EndpointView
    secret: str


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


async def add_endpoint(uow: UnitOfWork, url: str, event_types: Sequence[str], actor: Actor) -> EndpointWithSecret:
    """Register an endpoint for the events of these types (every type when none) from now on."""
    if len(url) > 500 or not _URL.fullmatch(url):
        raise InvalidWebhookUrl(url)
    types = list(dict.fromkeys(event_types))
    if types:
        type_filter(types)  # InvalidFeedQuery for a type that never occurs
    async with uow:
        session, now = uow.session, uow.clock.now()
        # From the newest event on: an endpoint receives what happens after it was added, not the history.
        last = (
            await session.execute(
                select(Event.transaction_number, Event.id).order_by(Event.transaction_number.desc(), Event.id.desc()).limit(1)
            )
        ).one_or_none()
        secret = new_secret()
        endpoint = WebhookEndpoint(
            url=url,
            event_types=types,
            secret=secret,
            status=WebhookEndpointStatus.ACTIVE,
            fanned_out_transaction=last[0] if last else 0,
            fanned_out_event=last[1] if last else 0,
            created_at=now,
        )
        session.add(endpoint)
        await session.flush()
        record(session, actor, "webhook_endpoint.added", "webhook_endpoint", endpoint.id, at=now, url=url, event_types=types)
        view = _view(endpoint, 0)
        await uow.commit()
    return EndpointWithSecret(view, secret)


async def list_endpoints(uow: UnitOfWork) -> list[EndpointView]:
    """Every endpoint, with how it is doing: disabled and why, failing since when, the last error."""
    pending = (
        select(WebhookDelivery.endpoint_id, func.count().label("pending"))
        .where(WebhookDelivery.status == WebhookDeliveryStatus.PENDING)
        .group_by(WebhookDelivery.endpoint_id)
        .subquery()
    )
    async with uow.read_only():
        rows = await uow.session.execute(
            select(WebhookEndpoint, func.coalesce(pending.c.pending, 0))
            .outerjoin(pending, pending.c.endpoint_id == WebhookEndpoint.id)
            .order_by(WebhookEndpoint.id)
        )
        return [_view(endpoint, count) for endpoint, count in rows]


async def remove_endpoint(uow: UnitOfWork, endpoint_id: int, actor: Actor) -> None:
    """Remove the endpoint and what was still to be delivered to it."""
    async with uow:
        endpoint = await _endpoint(uow, endpoint_id)
        await uow.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
        await uow.session.delete(endpoint)
        record(uow.session, actor, "webhook_endpoint.removed", "webhook_endpoint", endpoint_id, at=uow.clock.now(), url=endpoint.url)
        await uow.commit()


async def rotate_secret(
    uow: UnitOfWork, endpoint_id: int, actor: Actor, overlap: timedelta = ROTATION_OVERLAP
) -> EndpointWithSecret:
    """A new secret for the endpoint; until `overlap` has passed deliveries are signed with the old one too."""
    async with uow:
        endpoint = await _endpoint(uow, endpoint_id)
        now = uow.clock.now()
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + overlap
        endpoint.secret = new_secret()
        record(uow.session, actor, "webhook_endpoint.secret_rotated", "webhook_endpoint", endpoint.id, at=now,
               overlap_until=endpoint.previous_secret_expires_at.isoformat())
        view = _view(endpoint, 0)
        secret = endpoint.secret
        await uow.commit()
    return EndpointWithSecret(view, secret)


async def enable_endpoint(uow: UnitOfWork, endpoint_id: int, actor: Actor) -> EndpointView:
    """Turn a disabled endpoint back on; what waited for it is delivered, oldest first."""
    async with uow:
        endpoint = await _endpoint(uow, endpoint_id)
        endpoint.status = WebhookEndpointStatus.ACTIVE
        endpoint.disabled_reason = None
        endpoint.failing_since = None
        record(uow.session, actor, "webhook_endpoint.enabled", "webhook_endpoint", endpoint.id, at=uow.clock.now())
        view = _view(endpoint, 0)
        await uow.commit()
    return view


async def _endpoint(uow: UnitOfWork, endpoint_id: int) -> WebhookEndpoint:
    if not 1 <= endpoint_id <= MAX_ROW_ID:  # no such row, and PostgreSQL refuses ids past 32 bits outright
        raise WebhookEndpointNotFound(endpoint_id)
    endpoint = await uow.session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint is None:
        raise WebhookEndpointNotFound(endpoint_id)
    return endpoint


def _view(endpoint: WebhookEndpoint, pending: int) -> EndpointView:
    return EndpointView(
        id=endpoint.id,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        status=endpoint.status,
        disabled_reason=endpoint.disabled_reason,
        failing_since=endpoint.failing_since,
        last_error=endpoint.last_error,
        last_success_at=endpoint.last_success_at,
        pending_deliveries=pending,
        rotating_until=endpoint.previous_secret_expires_at if endpoint.previous_secret else None,
        created_at=endpoint.created_at,
    )
