"""Cancelling what still waits: what may be cancelled, the refund owed, repeats, and the queue moving up."""

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.audit import Actor
from bot.services.backorders.cancel import cancel_line, cancel_order, preview_cancel
from bot.services.backorders.eta import recompute_etas
from bot.services.backorders.status import get_backorder_status
from bot.services.errors import LineNotCancellable, LineNotFound, OrderNotFound
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.models import ActorType, EtaBasis, LineStatus, Order, RefundReason, RefundStatus
from tests import readback
from tests.shop import T0, add_customer, add_order, add_product, add_purchase_order, minutes_after

Sessions = async_sessionmaker[AsyncSession]


async def _one_order(session: AsyncSession, quantity: int = 2, allocated: int = 0, price: int = 2450) -> Order:
    product = await add_product(session, "HP-1", price=price, name="Studio headphones")
    customer = await add_customer(session)
    order = await add_order(session, customer, [(product, quantity)], allocated=[allocated], number="BD-100")
    await session.commit()
    return order


async def test_cancelling_a_backordered_line_cancels_it_whole_and_owes_the_refund(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    order = await _one_order(session, quantity=2, price=2450)
    line_id, customer_id = order.lines[0].id, order.customer_id

    preview = await preview_cancel(uow, customer_id, line_id)
    assert (preview.quantity, preview.keeps_allocated_quantity, preview.partial) == (2, 0, False)
    assert (preview.product_name, preview.order_number) == ("Studio headphones", "BD-100")
    assert (preview.refund_minor, preview.currency) == (4900, "EUR")
    assert (await readback.line(session_factory, line_id)).status == LineStatus.BACKORDERED  # preview changes nothing

    result = await cancel_line(uow, customer_id, line_id, Actor.customer(customer_id))

    assert (result.cancelled_quantity, result.refund_minor, result.status, result.already_done) == (
        2, 4900, LineStatus.CANCELLED, False,
    )  # fmt: skip
    line = await readback.line(session_factory, line_id)
    assert (line.status, line.cancelled_quantity, line.open_quantity) == (LineStatus.CANCELLED, 2, 0)
    assert line.resolved_at == clock.now()
    [refund] = await readback.refunds(session_factory, line_id)
    assert (refund.amount_minor, refund.currency, refund.reason, refund.status) == (
        4900, "EUR", RefundReason.CANCELLED, RefundStatus.OWED,
    )  # fmt: skip
    [entry] = await readback.audit_entries(session_factory, "line.cancelled")
    assert (entry.actor_type, entry.actor_id, entry.entity_id) == (ActorType.CUSTOMER, str(customer_id), str(line_id))


async def test_a_partly_allocated_line_cancels_only_what_still_waits_and_the_rest_ships(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    order = await _one_order(session, quantity=3, allocated=1, price=1000)
    line_id, customer_id = order.lines[0].id, order.customer_id

    preview = await preview_cancel(uow, customer_id, line_id)
    result = await cancel_line(uow, customer_id, line_id, Actor.customer(customer_id))

    assert (preview.quantity, preview.keeps_allocated_quantity, preview.refund_minor) == (2, 1, 2000)
    assert preview.partial
    assert (result.cancelled_quantity, result.kept_quantity, result.refund_minor) == (2, 1, 2000)
    line = await readback.line(session_factory, line_id)
    assert (line.status, line.allocated_quantity, line.cancelled_quantity) == (LineStatus.ALLOCATED, 1, 2)
    assert line.resolved_at is not None
    assert [refund.amount_minor for refund in await readback.refunds(session_factory, line_id)] == [2000]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (LineStatus.SHIPPED, "has already shipped"),
        (LineStatus.ALLOCATED, "is reserved for you and ready to ship"),
        (LineStatus.SUBSTITUTED, "was swapped for an alternative"),
    ],
)
async def test_a_line_that_no_longer_waits_cannot_be_cancelled_and_says_why(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, status: LineStatus, reason: str
) -> None:
    order = await _one_order(session, quantity=1)
    line = order.lines[0]
    line.status = status
    line.allocated_quantity = 1 if status != LineStatus.SUBSTITUTED else 0
    line.substituted_quantity = 1 if status == LineStatus.SUBSTITUTED else 0
    await session.commit()

    with pytest.raises(LineNotCancellable) as previewed:
        await preview_cancel(uow, order.customer_id, line.id)
    with pytest.raises(LineNotCancellable) as refused:
        await cancel_line(uow, order.customer_id, line.id, Actor.customer(order.customer_id))

    assert reason in refused.value.message
    assert previewed.value.message == refused.value.message
    assert refused.value.status == status.value
    assert await readback.refunds(session_factory) == []
    assert (await readback.line(session_factory, line.id)).status == status


async def test_cancelling_again_returns_the_same_result_and_owes_nothing_more(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    order = await _one_order(session, quantity=3, allocated=1)
    line_id, customer = order.lines[0].id, order.customer_id

    first = await cancel_line(uow, customer, line_id, Actor.customer(customer))
    again = await cancel_line(uow, customer, line_id, Actor.customer(customer))

    assert again.already_done and not first.already_done
    assert (again.cancelled_quantity, again.kept_quantity, again.refund_minor, again.status) == (
        first.cancelled_quantity, first.kept_quantity, first.refund_minor, first.status,
    )  # fmt: skip
    assert len(await readback.refunds(session_factory, line_id)) == 1
    assert len(await readback.audit_entries(session_factory, "line.cancelled")) == 1
    with pytest.raises(LineNotCancellable, match="already cancelled"):
        await preview_cancel(uow, customer, line_id)


async def test_two_cancels_of_one_line_at_once_cancel_and_refund_it_once(
    session: AsyncSession, session_factory: Sessions, clock: ManualClock, policy: ShopPolicy
) -> None:
    order = await _one_order(session, quantity=2)
    line_id, customer = order.lines[0].id, order.customer_id

    actor = Actor.customer(customer)
    results = await asyncio.gather(
        *(cancel_line(UnitOfWork(session_factory, clock, policy), customer, line_id, actor) for _ in range(2))
    )

    assert sorted(result.already_done for result in results) == [False, True]
    assert len(await readback.refunds(session_factory, line_id)) == 1
    assert len(await readback.audit_entries(session_factory, "line.cancelled")) == 1


async def test_after_a_cancel_the_next_customer_in_line_gets_the_earlier_eta(
    uow: UnitOfWork, session: AsyncSession, clock: ManualClock, policy: ShopPolicy
) -> None:
    product = await add_product(session, "HP-1", lead_time_days=30)
    shipment = await add_purchase_order(session, product, 2, date(2026, 12, 4))
    first, next_in_line = await add_customer(session), await add_customer(session, "Ben Roth")
    first_order = await add_order(session, first, [(product, 2)], placed_at=T0)
    next_order = await add_order(session, next_in_line, [(product, 1)], placed_at=minutes_after(T0, 30))
    await recompute_etas(session, clock, policy, "recalculated")
    await session.commit()
    [before] = (await get_backorder_status(uow, next_in_line.id)).waiting
    assert (before.queue_position, before.eta_basis) == (2, EtaBasis.LEAD_TIME)

    result = await cancel_line(uow, first.id, first_order.lines[0].id, Actor.customer(first.id))

    [after] = (await get_backorder_status(uow, next_in_line.id)).waiting
    assert (after.queue_position, after.queue_size) == (1, 1)
    assert (after.eta_basis, after.eta) == (EtaBasis.PURCHASE_ORDER, shipment.expected_on + timedelta(days=1))
    assert after.eta < before.eta
    assert (after.eta_history[0].old, after.eta_history[0].new, after.eta_history[0].reason) == (
        before.eta, after.eta, "queue_changed",
    )  # fmt: skip
    assert [(move.line_id, move.new_eta) for move in result.eta_moves] == [(next_order.lines[0].id, after.eta)]


async def test_cancelling_an_order_cancels_what_waits_and_keeps_what_ships(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    waiting = await add_product(session, "HP-1", price=1000)
    partly = await add_product(session, "SPK-1", price=3000)
    packed = await add_product(session, "CAB-1", price=500)
    gone = await add_product(session, "BAG-1", price=700)
    customer = await add_customer(session)
    order = await add_order(
        session, customer, [(waiting, 2), (partly, 2), (packed, 1), (gone, 1)], allocated=[0, 1, 1, 1], number="BD-5"
    )
    order.lines[3].status = LineStatus.SHIPPED
    await session.commit()

    result = await cancel_order(uow, customer.id, "BD-5", Actor.customer(customer.id))

    assert [(line.sku, line.cancelled_quantity, line.refund_minor) for line in result.cancelled] == [
        ("HP-1", 2, 2000),
        ("SPK-1", 1, 3000),
    ]
    assert [(line.sku, line.reason) for line in result.kept] == [
        ("CAB-1", "it is reserved for the customer and ready to ship"),
        ("BAG-1", "it has already shipped"),
    ]
    assert (result.refund_minor, result.currency, result.already_done) == (5000, "EUR", False)
    assert sorted(refund.amount_minor for refund in await readback.refunds(session_factory)) == [2000, 3000]

    again = await cancel_order(uow, customer.id, "BD-5", Actor.customer(customer.id))

    assert again.already_done
    assert [line.line_id for line in again.cancelled] == [line.line_id for line in result.cancelled]
    assert again.refund_minor == result.refund_minor
    assert len(await readback.refunds(session_factory)) == 2
    assert len(await readback.audit_entries(session_factory, "line.cancelled")) == 2


async def test_someone_elses_line_or_order_cannot_be_cancelled_and_looks_missing(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    order = await _one_order(session)
    stranger = await add_customer(session, "Ben Roth")
    await session.commit()
    line_id, actor = order.lines[0].id, Actor.customer(stranger.id)

    for attempt in (
        lambda line: preview_cancel(uow, stranger.id, line),
        lambda line: cancel_line(uow, stranger.id, line, actor),
    ):
        with pytest.raises(LineNotFound) as someone_elses:
            await attempt(line_id)
        with pytest.raises(LineNotFound) as missing:
            await attempt(line_id + 1000)
        assert someone_elses.value.message == missing.value.message
    with pytest.raises(OrderNotFound) as someone_elses_order:
        await cancel_order(uow, stranger.id, "BD-100", actor)
    with pytest.raises(OrderNotFound) as missing_order:
        await cancel_order(uow, stranger.id, "BD-404", actor)

    assert someone_elses_order.value.message == missing_order.value.message
    assert (await readback.line(session_factory, line_id)).status == LineStatus.BACKORDERED
    assert await readback.refunds(session_factory) == []
