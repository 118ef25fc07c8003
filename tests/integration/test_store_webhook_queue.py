"""The received-webhook queue every store platform shares: a delivery queued once however often it comes (in one
batch or later), claimed under a lease, retried with backoff, given up at once when unreadable, its payload (which
may name a person) cleared once applied."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.services.connectors import (
    ConnectionConfig,
    WebhookOutcome,
    claim_webhooks,
    finish_webhooks,
    queue_webhooks,
)
from bot.services.connectors.store_records import ReceivedWebhook
from bot.services.unit_of_work import UnitOfWork
from db.models import StoreWebhook, StoreWebhookStatus


def _webhook(key: str, resource: str = "1") -> ReceivedWebhook:
    return ReceivedWebhook(key, "orders/updated", {"id": resource, "email": "anna@example.com"}, resource_id=resource)


async def _rows(session: AsyncSession) -> list[tuple[str, StoreWebhookStatus, int, object]]:
    rows = (await session.execute(select(StoreWebhook.delivery_key, StoreWebhook.status, StoreWebhook.attempts, StoreWebhook.payload).order_by(StoreWebhook.id))).all()
    await session.rollback()
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_a_delivery_is_queued_once_in_a_batch_and_after(uow: UnitOfWork, shopify_connection: ConnectionConfig) -> None:
    first = await queue_webhooks(uow, [(shopify_connection.id, _webhook("a")), (shopify_connection.id, _webhook("b")),
                                       (shopify_connection.id, _webhook("a"))])
    again = await queue_webhooks(uow, [(shopify_connection.id, _webhook("b"))])
    assert (first, again) == ([True, True, False], [False])


async def test_a_failure_is_retried_later_and_an_unreadable_one_given_up(
    uow: UnitOfWork, session: AsyncSession, shopify_connection: ConnectionConfig, clock: ManualClock
) -> None:
    await queue_webhooks(uow, [(shopify_connection.id, _webhook("a", "1")), (shopify_connection.id, _webhook("b", "2")),
                               (shopify_connection.id, _webhook("c", "3"))])
    claimed = await claim_webhooks(uow, shopify_connection.id, 10)
    assert [webhook.attempt for webhook in claimed] == [1, 1, 1]
    assert await claim_webhooks(uow, shopify_connection.id, 10) == []  # leased
    by_key = dict(zip("abc", claimed, strict=True))
    await finish_webhooks(uow, [
        WebhookOutcome(by_key["a"].id),
        WebhookOutcome(by_key["b"].id, "database was busy"),
        WebhookOutcome(by_key["c"].id, "unreadable payload", final=True),
    ])
    assert await _rows(session) == [
        ("a", StoreWebhookStatus.DONE, 1, None),
        ("b", StoreWebhookStatus.PENDING, 1, {"id": "2", "email": "anna@example.com"}),
        ("c", StoreWebhookStatus.FAILED, 1, None),
    ]
    assert await claim_webhooks(uow, shopify_connection.id, 10) == []  # not due yet
    clock.advance(seconds=15)
    assert [webhook.payload["id"] for webhook in await claim_webhooks(uow, shopify_connection.id, 10)] == ["2"]
