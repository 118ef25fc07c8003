"""Stock handed to the waiting lines in queue order, by the allocation step and by a merchant's stock count."""

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.audit import Actor
from bot.services.backorders.allocation import AllocationChange, allocate_available_stock
from bot.services.errors import InvalidQuantity, ProductNotFound
from bot.services.purchasing.stock import set_available_stock, set_available_stocks
from bot.services.unit_of_work import UnitOfWork
from db.models import ActorType, EtaBasis, LineStatus
from tests import readback
from tests.shop import T0, add_customer, add_order, add_product, minutes_after

Sessions = async_sessionmaker[AsyncSession]


async def test_stock_goes_to_the_front_of_the_queue_and_may_fill_a_line_in_part(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    product = await add_product(session, "HP-1", available=4)
    customer = await add_customer(session)
    second = await add_order(session, customer, [(product, 3)], placed_at=minutes_after(T0, 5), number="BD-2")
    first = await add_order(session, customer, [(product, 2)], placed_at=T0, number="BD-1")
    third = await add_order(session, customer, [(product, 1)], placed_at=minutes_after(T0, 10), number="BD-3")
    await session.commit()

    async with uow:
        changes = await allocate_available_stock(uow.session, clock, Actor.merchant("anna"), product.id)
        await uow.commit()

    first_id, second_id, third_id = first.lines[0].id, second.lines[0].id, third.lines[0].id
    assert changes == [
        AllocationChange(first_id, customer.id, "BD-1", "HP-1", allocated_now=2, ready_to_ship=True),
        AllocationChange(second_id, customer.id, "BD-2", "HP-1", allocated_now=2, ready_to_ship=False),
    ]
    ready, partly, untouched = [await readback.line(session_factory, i) for i in (first_id, second_id, third_id)]
    assert (ready.status, ready.allocated_quantity, ready.resolved_at) == (LineStatus.ALLOCATED, 2, clock.now())
    assert (partly.status, partly.allocated_quantity) == (LineStatus.PARTIALLY_ALLOCATED, 2)
    assert partly.resolved_at is None
    assert (untouched.status, untouched.allocated_quantity) == (LineStatus.BACKORDERED, 0)
    assert await readback.available(session_factory, product.id) == 0
    entries = await readback.audit_entries(session_factory, "line.allocated")
    assert [(entry.entity_id, entry.actor_type, entry.details["quantity"]) for entry in entries] == [
        (str(first_id), ActorType.MERCHANT, 2),
        (str(second_id), ActorType.MERCHANT, 2),
    ]


async def test_a_partly_allocated_line_gets_its_remainder_and_stock_left_over_stays_on_hand(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    product = await add_product(session, "HP-1", available=5)
    customer = await add_customer(session)
    order = await add_order(session, customer, [(product, 3)], allocated=[1])
    await add_order(session, customer, [(product, 2)], allocated=[2])  # already served: not in the queue
    await session.commit()

    async with uow:
        [change] = await allocate_available_stock(uow.session, clock, Actor.system(), product.id)
        await uow.commit()

    assert (change.line_id, change.allocated_now, change.ready_to_ship) == (order.lines[0].id, 2, True)
    line = await readback.line(session_factory, order.lines[0].id)
    assert (line.status, line.allocated_quantity, line.open_quantity) == (LineStatus.ALLOCATED, 3, 0)
    assert await readback.available(session_factory, product.id) == 3


async def test_with_no_stock_nothing_is_allocated(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    product = await add_product(session, "HP-1", available=0)
    customer = await add_customer(session)
    order = await add_order(session, customer, [(product, 1)])
    await session.commit()

    async with uow:
        assert await allocate_available_stock(uow.session, clock, Actor.system(), product.id) == []
        await uow.commit()

    assert (await readback.line(session_factory, order.lines[0].id)).status == LineStatus.BACKORDERED
    assert await readback.audit_entries(session_factory, "line.allocated") == []


async def test_a_stock_count_serves_the_waiting_lines_and_moves_the_etas_of_the_rest(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1", available=0)
    customer = await add_customer(session)
    first = await add_order(session, customer, [(product, 2)], placed_at=T0)
    second = await add_order(session, customer, [(product, 2)], placed_at=minutes_after(T0, 5))
    await session.commit()

    result = await set_available_stock(uow, "HP-1", 3, Actor.merchant("anna"))

    assert (result.sku, result.counted, result.available) == ("HP-1", 3, 0)
    assert [(c.line_id, c.allocated_now, c.ready_to_ship) for c in result.allocations] == [
        (first.lines[0].id, 2, True),
        (second.lines[0].id, 1, False),
    ]
    assert [c.line_id for c in result.ready_to_ship] == [first.lines[0].id]
    # The second line still waits for one unit that nothing is on order for.
    [move] = result.eta_moves
    assert (move.line_id, move.new_basis, move.reason) == (second.lines[0].id, EtaBasis.LEAD_TIME, "stock_changed")
    assert await readback.available(session_factory, product.id) == 0
    [entry] = await readback.audit_entries(session_factory, "stock.set")
    assert (entry.entity_id, entry.details) == ("HP-1", {"old_available": 0, "new_available": 3})


async def test_stock_nobody_waits_for_stays_on_hand_and_a_repeated_count_is_not_logged_again(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1", available=1)
    await session.commit()

    first = await set_available_stock(uow, "HP-1", 7, Actor.merchant())
    again = await set_available_stock(uow, "HP-1", 7, Actor.merchant())

    assert (first.available, first.allocations, first.eta_moves) == (7, (), ())
    assert again.available == 7
    assert await readback.available(session_factory, product.id) == 7
    assert len(await readback.audit_entries(session_factory, "stock.set")) == 1


@pytest.mark.parametrize(
    ("sku", "available", "error"), [("HP-1", -1, InvalidQuantity), ("NOPE", 3, ProductNotFound)]
)
async def test_a_stock_count_is_refused_for_a_negative_number_or_an_unknown_sku(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, sku: str, available: int, error: type
) -> None:
    product = await add_product(session, "HP-1", available=2)
    await session.commit()

    with pytest.raises(error):
        await set_available_stock(uow, sku, available, Actor.merchant())

    assert await readback.available(session_factory, product.id) == 2


async def test_many_stock_counts_at_once_serve_each_queue_in_order_and_name_unknown_skus(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    headset = await add_product(session, "HP-1", available=0)
    mixer = await add_product(session, "MX-1", available=7)
    customer = await add_customer(session)
    later = await add_order(session, customer, [(headset, 2)], placed_at=minutes_after(T0, 5), number="BD-2")
    first = await add_order(session, customer, [(headset, 2), (mixer, 1)], placed_at=T0, number="BD-1")
    await session.commit()

    result = await set_available_stocks(uow, {"HP-1": 3, "MX-1": 7, "NOPE-9": 4}, Actor.merchant("shopify"))

    assert result.unknown == ("NOPE-9",) and result.counted == {"HP-1": 3, "MX-1": 7}
    assert [(change.order_number, change.sku, change.allocated_now) for change in result.allocations] == [
        ("BD-1", "HP-1", 2), ("BD-2", "HP-1", 1), ("BD-1", "MX-1", 1),
    ]
    assert (await readback.line(session_factory, later.lines[0].id)).status is LineStatus.PARTIALLY_ALLOCATED
    assert (await readback.line(session_factory, first.lines[1].id)).status is LineStatus.ALLOCATED
    assert [await readback.available(session_factory, p.id) for p in (headset, mixer)] == [0, 6]
    entries = await readback.audit_entries(session_factory, "stock.set")
    assert [(entry.entity_id, entry.details["new_available"]) for entry in entries] == [("HP-1", 3)]  # MX-1 unchanged
    with pytest.raises(InvalidQuantity):
        await set_available_stocks(uow, {"HP-1": -1}, Actor.merchant("shopify"))
