"""Merchant webhooks against a receiver that verifies each delivery with the `standardwebhooks` library: signing,
retries with backoff until it recovers, 410 Gone, a day of failures, per-order ordering, one dead endpoint not
holding up another, and secret rotation."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.audit import Actor
from bot.services.event_log import EventType, emit
from bot.services.unit_of_work import UnitOfWork
from bot.services.webhooks.deliveries import endpoint_target
from bot.services.webhooks.endpoints import add_endpoint, list_endpoints, rotate_secret
from bot.webhook_delivery import WebhookSender, WebhookWorker
from db.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpointStatus
from tests.webhook_receiver import Receiver, running_receiver

Sessions = async_sessionmaker[AsyncSession]
SHOP = Actor.merchant("shop")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async for running in running_receiver(Receiver()):
        yield running


@pytest.fixture
async def other_receiver() -> AsyncIterator[Receiver]:
    async for running in running_receiver(Receiver()):
        yield running


@pytest.fixture
async def sender() -> AsyncIterator[WebhookSender]:
    async with WebhookSender() as sender:
        yield sender


@pytest.fixture
def worker(uow: UnitOfWork, sender: WebhookSender) -> WebhookWorker:
    return WebhookWorker(lambda: uow, sender)


async def _subscribe(uow: UnitOfWork, receiver: Receiver, *types: str) -> int:
    added = await add_endpoint(uow, receiver.url, list(types), SHOP)
    receiver.secret = added.secret
    return added.endpoint.id


async def _events(uow: UnitOfWork, *events: tuple[EventType, str | None]) -> None:
    async with uow:
        for index, (event_type, order_number) in enumerate(events):
            emit(uow.session, event_type, uow.clock.now(), {"n": index, "order_number": order_number}, order_number)
        await uow.commit()


async def _round(worker: WebhookWorker, uow: UnitOfWork, endpoint_id: int) -> int:
    target = await endpoint_target(uow, endpoint_id)
    assert target is not None
    return await worker.deliver_due(target)


async def _deliveries(sessions: Sessions) -> list[WebhookDelivery]:
    async with sessions() as session:
        return list((await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))).all())


async def test_a_delivery_is_signed_as_standard_webhooks_says_and_only_subscribed_types_are_sent(
    uow: UnitOfWork, receiver: Receiver, worker: WebhookWorker, session_factory: Sessions
) -> None:
    await _events(uow, (EventType.LINE_SHIPPED, "1041"))  # before the endpoint existed: not sent
    endpoint_id = await _subscribe(uow, receiver, "line.*")
    await _events(uow, (EventType.LINE_CANCELLED, "1042"), (EventType.REFUND_OWED, "1042"))

    assert await _round(worker, uow, endpoint_id) == 1

    [delivered] = receiver.received
    assert (delivered.type, delivered.data) == ("line.cancelled", {"n": 0, "order_number": "1042"})
    assert delivered.message_id.startswith("evt_") and receiver.refused == 0
    assert delivered.headers["webhook-signature"].startswith("v1,")
    [row] = await _deliveries(session_factory)
    assert (row.status, row.attempts, row.last_status) == (WebhookDeliveryStatus.DELIVERED, 1, 204)
    assert await _round(worker, uow, endpoint_id) == 0  # delivered once


async def test_a_failing_receiver_is_retried_with_growing_pauses_until_it_recovers(
    uow: UnitOfWork, receiver: Receiver, worker: WebhookWorker, session_factory: Sessions, clock: ManualClock
) -> None:
    endpoint_id = await _subscribe(uow, receiver)
    receiver.script = [500, 503]
    await _events(uow, (EventType.LINE_SHIPPED, "1042"))

    assert await _round(worker, uow, endpoint_id) == 1
    [first] = await _deliveries(session_factory)
    assert await _round(worker, uow, endpoint_id) == 0  # not due yet
    clock.advance(seconds=7)
    assert await _round(worker, uow, endpoint_id) == 1
    [second] = await _deliveries(session_factory)
    [endpoint] = await list_endpoints(uow)
    clock.advance(minutes=7)
    assert await _round(worker, uow, endpoint_id) == 1

    assert timedelta(seconds=4) <= first.next_attempt_at - first.created_at <= timedelta(seconds=6)
    assert timedelta(minutes=4) <= second.next_attempt_at - clock.now() + timedelta(minutes=7) <= timedelta(minutes=6)
    assert (endpoint.failing_since, endpoint.last_error) == (first.created_at, "HTTP 503: receiver says no")
    assert [received.message_id for received in receiver.received] == [receiver.received[0].message_id] * 3
    [done] = await _deliveries(session_factory)
    assert (done.status, done.attempts) == (WebhookDeliveryStatus.DELIVERED, 3)
    [endpoint] = await list_endpoints(uow)
    assert (endpoint.status, endpoint.failing_since, endpoint.last_success_at) == (
        WebhookEndpointStatus.ACTIVE, None, clock.now(),
    )  # fmt: skip


async def test_an_answer_later_than_the_timeout_or_a_redirect_is_not_a_delivery(
    uow: UnitOfWork, receiver: Receiver, session_factory: Sessions, clock: ManualClock
) -> None:
    endpoint_id = await _subscribe(uow, receiver)
    receiver.script = ["slow", "redirect"]
    await _events(uow, (EventType.LINE_SHIPPED, "1042"))

    async with WebhookSender(timeout_seconds=0.5) as impatient:  # 10 s in production; the same rule, sooner
        worker = WebhookWorker(lambda: uow, impatient)
        await _round(worker, uow, endpoint_id)
        [late] = await _deliveries(session_factory)
        clock.advance(seconds=7)
        await _round(worker, uow, endpoint_id)
        [redirected] = await _deliveries(session_factory)
        clock.advance(minutes=7)
        await _round(worker, uow, endpoint_id)

    assert (late.status, late.last_status, late.last_error) == (WebhookDeliveryStatus.PENDING, None, "no answer within 0.5 seconds")
    assert (redirected.status, redirected.last_status) == (WebhookDeliveryStatus.PENDING, 307)
    [done] = await _deliveries(session_factory)
    assert (done.status, done.attempts) == (WebhookDeliveryStatus.DELIVERED, 3)


async def test_410_gone_disables_the_endpoint_at_once(
    uow: UnitOfWork, receiver: Receiver, worker: WebhookWorker
) -> None:
    endpoint_id = await _subscribe(uow, receiver)
    receiver.script = [410]
    await _events(uow, (EventType.LINE_CANCELLED, "1042"), (EventType.REFUND_OWED, "1042"))

    await _round(worker, uow, endpoint_id)

    [endpoint] = await list_endpoints(uow)
    assert endpoint.status == WebhookEndpointStatus.DISABLED
    assert endpoint.disabled_reason == "The endpoint answered 410 Gone: it asked to be sent nothing more."
    assert await _round(worker, uow, endpoint_id) == 0
    assert endpoint.pending_deliveries == 2  # kept, in case the merchant turns it back on


async def test_an_endpoint_failing_for_a_day_is_disabled_with_its_last_error(
    uow: UnitOfWork, receiver: Receiver, worker: WebhookWorker, clock: ManualClock
) -> None:
    endpoint_id = await _subscribe(uow, receiver)
    receiver.then = 500
    await _events(uow, (EventType.LINE_SHIPPED, "1042"))

    statuses = []
    for _ in range(4):  # attempts at 0 h, 11 h, 22 h and 33 h
        await _round(worker, uow, endpoint_id)
        statuses.append((await list_endpoints(uow))[0].status)
        clock.advance(hours=11)

    assert statuses == [WebhookEndpointStatus.ACTIVE] * 3 + [WebhookEndpointStatus.DISABLED]
    [endpoint] = await list_endpoints(uow)
    assert endpoint.disabled_reason == "Every delivery failed for a day."
    assert endpoint.last_error == "HTTP 500: receiver says no"
    assert len(receiver.received) == 4


async def test_an_orders_events_arrive_in_order_even_when_one_must_be_retried(
    uow: UnitOfWork, receiver: Receiver, worker: WebhookWorker, clock: ManualClock
) -> None:
    endpoint_id = await _subscribe(uow, receiver)
    receiver.script = [500]
    await _events(uow, (EventType.LINE_CANCELLED, "1042"), (EventType.REFUND_OWED, "1042"), (EventType.LINE_SHIPPED, "2001"))

    await _round(worker, uow, endpoint_id)  # 1042's first fails; 2001's goes ahead, 1042's second waits
    clock.advance(seconds=10)
    await _round(worker, uow, endpoint_id)
    await _round(worker, uow, endpoint_id)

    assert [(received.type, received.data["order_number"]) for received in receiver.received] == [
        ("line.cancelled", "1042"), ("line.shipped", "2001"), ("line.cancelled", "1042"), ("refund.owed", "1042"),
    ]  # fmt: skip


async def test_a_dead_endpoint_never_holds_up_a_healthy_one(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock, policy, receiver: Receiver,
    other_receiver: Receiver, sender: WebhookSender,
) -> None:
    slow_id = await _subscribe(uow, receiver)
    await _subscribe(uow, other_receiver)
    receiver.then = "slow"  # holds every request open
    worker = WebhookWorker(lambda: UnitOfWork(session_factory, clock, policy), sender)
    running = asyncio.create_task(worker.run(idle_seconds=0.05))
    try:
        await _events(uow, (EventType.LINE_SHIPPED, "1042"))
        await asyncio.sleep(0.5)
        await _events(uow, (EventType.LINE_SHIPPED, "1043"))
        for _ in range(100):
            if len(other_receiver.received) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    assert [received.data["order_number"] for received in other_receiver.received] == ["1042", "1043"]
    slow = [delivery for delivery in await _deliveries(session_factory) if delivery.endpoint_id == slow_id]
    assert slow and {delivery.status for delivery in slow} == {WebhookDeliveryStatus.PENDING}  # still waiting for it


async def test_a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends(
    uow: UnitOfWork, receiver: Receiver, other_receiver: Receiver, worker: WebhookWorker, clock: ManualClock
) -> None:
    endpoint_id = await _subscribe(uow, receiver)
    old_secret = receiver.secret
    rotated = await rotate_secret(uow, endpoint_id, SHOP, overlap=timedelta(hours=24))
    await _events(uow, (EventType.LINE_SHIPPED, "1042"))

    await _round(worker, uow, endpoint_id)  # a merchant still verifying with the old secret
    receiver.secret = rotated.secret
    await _events(uow, (EventType.LINE_SHIPPED, "1043"))
    await _round(worker, uow, endpoint_id)  # and one who switched already
    clock.advance(hours=25)
    receiver.secret = old_secret
    await _events(uow, (EventType.LINE_SHIPPED, "1044"))
    await _round(worker, uow, endpoint_id)  # after the overlap the old secret no longer verifies

    assert rotated.secret != old_secret and rotated.secret.startswith("whsec_")
    assert [received.data["order_number"] for received in receiver.received] == ["1042", "1043"]
    assert receiver.refused == 1
    assert len(receiver.received[0].headers["webhook-signature"].split(" ")) == 2
