"""A customer's backorder status: place in line, days waiting, ETA and its basis, history, recent outcomes."""

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.services.backorders.eta import recompute_etas
from bot.services.backorders.status import get_backorder_status, get_line_view, get_order_status
from bot.services.errors import LineNotFound, OrderNotFound
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.models import EtaBasis, EtaChange, LineStatus, OrderLine
from tests.shop import T0, add_customer, add_order, add_product, add_purchase_order, minutes_after


async def test_queue_position_counts_waiting_lines_of_the_sku_placed_earlier_and_breaks_ties_by_line(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    headphones = await add_product(session, "HP-1")
    speaker = await add_product(session, "SPK-1")
    first = await add_customer(session, "A B")
    second = await add_customer(session, "C D")
    tied = await add_customer(session, "E F")
    already_served = await add_customer(session, "G H")
    await add_order(session, first, [(headphones, 1)], placed_at=T0)
    await add_order(session, already_served, [(headphones, 1)], placed_at=T0, allocated=[1])
    await add_order(session, second, [(speaker, 1), (headphones, 2)], placed_at=minutes_after(T0, 5))
    # Placed in the same minute as `second`'s order but stored later: the line id decides.
    await add_order(session, tied, [(headphones, 1)], placed_at=minutes_after(T0, 5))
    await session.commit()

    places = {}
    for customer in (first, second, tied):
        status = await get_backorder_status(uow, customer.id)
        places[customer.name] = [(line.sku, line.queue_position, line.queue_size) for line in status.waiting]

    assert places == {
        "A B": [("HP-1", 1, 3)],
        "C D": [("SPK-1", 1, 1), ("HP-1", 2, 3)],
        "E F": [("HP-1", 3, 3)],
    }
    assert (await get_backorder_status(uow, already_served.id)).waiting == []


async def test_a_partly_allocated_line_waits_for_its_remainder(uow: UnitOfWork, session: AsyncSession) -> None:
    product = await add_product(session, "HP-1", price=4990)
    customer = await add_customer(session)
    await add_order(session, customer, [(product, 3)], allocated=[1])
    await session.commit()

    [line] = (await get_backorder_status(uow, customer.id)).waiting

    assert line.status == LineStatus.PARTIALLY_ALLOCATED
    assert (line.quantity, line.allocated_quantity, line.open_quantity) == (3, 1, 2)
    assert (line.unit_price_minor, line.currency) == (4990, "EUR")
    assert (line.queue_position, line.queue_size) == (1, 1)


@pytest.mark.parametrize(
    ("placed_at", "days"),
    [
        (datetime(2026, 11, 26, 23, 30, tzinfo=timezone.utc), 0),  # 00:30 on the 27th in Berlin: today
        (datetime(2026, 11, 26, 22, 30, tzinfo=timezone.utc), 1),  # 23:30 on the 26th in Berlin: yesterday
        (datetime(2026, 11, 17, 9, 0, tzinfo=timezone.utc), 10),
    ],
)
async def test_days_waiting_count_calendar_days_in_the_shop_time_zone(
    uow: UnitOfWork, session: AsyncSession, placed_at: datetime, days: int
) -> None:
    product = await add_product(session, "HP-1")
    customer = await add_customer(session)
    await add_order(session, customer, [(product, 1)], placed_at=placed_at)
    await session.commit()

    [line] = (await get_backorder_status(uow, customer.id)).waiting

    assert line.days_waiting == days


async def test_an_eta_backed_by_a_supplier_shipment_is_confirmed_and_names_it(
    uow: UnitOfWork, session: AsyncSession, clock: ManualClock, policy: ShopPolicy
) -> None:
    shipped = await add_product(session, "HP-1", lead_time_days=30)
    unbooked = await add_product(session, "SPK-1", lead_time_days=10)
    shipment = await add_purchase_order(session, shipped, 5, date(2026, 12, 4), reference="PO-SHIP-1")
    customer = await add_customer(session)
    await add_order(session, customer, [(shipped, 2), (unbooked, 1)])
    await recompute_etas(session, clock, policy, "recalculated")
    await session.commit()

    confirmed, estimated = (await get_backorder_status(uow, customer.id)).waiting

    assert (confirmed.sku, confirmed.eta_basis, confirmed.eta_confirmed) == ("HP-1", EtaBasis.PURCHASE_ORDER, True)
    assert confirmed.eta == shipment.expected_on + timedelta(days=policy.handling_days)
    assert confirmed.purchase_order_reference == "PO-SHIP-1"
    assert confirmed.purchase_order_expected_on == date(2026, 12, 4)
    assert (estimated.sku, estimated.eta_basis, estimated.eta_confirmed) == ("SPK-1", EtaBasis.LEAD_TIME, False)
    assert estimated.eta == clock.today() + timedelta(days=10)
    assert (estimated.purchase_order_reference, estimated.purchase_order_expected_on) == (None, None)


async def test_eta_history_lists_the_newest_change_first(uow: UnitOfWork, session: AsyncSession) -> None:
    product = await add_product(session, "HP-1")
    customer = await add_customer(session)
    other = await add_customer(session, "Ben Roth")
    [line] = (await add_order(session, customer, [(product, 1)])).lines
    [others_line] = (await add_order(session, other, [(product, 1)])).lines
    changes = [
        (date(2026, 12, 10), date(2026, 12, 4), "purchase_order_added", T0 + timedelta(days=2)),
        (None, date(2026, 12, 10), "recalculated", T0),
        (date(2026, 12, 4), date(2026, 12, 8), "purchase_order_moved", T0 + timedelta(days=5)),
    ]
    for old, new, reason, at in changes:
        session.add(EtaChange(line_id=line.id, old_eta=old, new_eta=new, reason=reason, changed_at=at))
    session.add(EtaChange(line_id=others_line.id, old_eta=None, new_eta=date(2027, 1, 1), reason="x", changed_at=T0))
    await session.commit()

    [view] = (await get_backorder_status(uow, customer.id)).waiting

    assert [(change.old, change.new, change.reason) for change in view.eta_history] == [
        (date(2026, 12, 4), date(2026, 12, 8), "purchase_order_moved"),
        (date(2026, 12, 10), date(2026, 12, 4), "purchase_order_added"),
        (None, date(2026, 12, 10), "recalculated"),
    ]
    assert view.eta_history[0].changed_at == T0 + timedelta(days=5)


async def test_recently_resolved_lists_lines_that_waited_and_stopped_within_the_window(
    uow: UnitOfWork, session: AsyncSession, clock: ManualClock, policy: ShopPolicy
) -> None:
    product = await add_product(session, "HP-1")
    customer = await add_customer(session)
    order = await add_order(session, customer, [(product, 1)] * 4 + [(product, 2), (product, 1), (product, 1)])
    cancelled_lately, cancelled_long_ago, never_waited, served_after_wait, partly_cancelled, shipped, still_waiting = (
        order.lines
    )
    now = clock.now()
    _resolve(cancelled_lately, LineStatus.CANCELLED, now - timedelta(days=3), cancelled=1)
    too_long_ago = now - timedelta(days=policy.recently_resolved_days, minutes=1)
    _resolve(cancelled_long_ago, LineStatus.CANCELLED, too_long_ago, cancelled=1)
    _resolve(never_waited, LineStatus.SHIPPED, now - timedelta(days=1), allocated=1)
    _resolve(served_after_wait, LineStatus.ALLOCATED, now - timedelta(hours=2), allocated=1)
    served_after_wait.eta = date(2026, 11, 28)
    _resolve(partly_cancelled, LineStatus.ALLOCATED, now - timedelta(days=1), allocated=1, cancelled=1)
    # No ETA left on the line, but its history shows it had one while it waited.
    _resolve(shipped, LineStatus.SHIPPED, now - timedelta(days=5), allocated=1)
    session.add(EtaChange(line_id=shipped.id, old_eta=None, new_eta=date(2026, 11, 22), reason="x", changed_at=T0))
    await session.commit()

    status = await get_backorder_status(uow, customer.id)

    assert [line.line_id for line in status.waiting] == [still_waiting.id]
    assert [line.line_id for line in status.recently_resolved] == [
        served_after_wait.id,
        partly_cancelled.id,
        cancelled_lately.id,
        shipped.id,
    ]
    lately = status.recently_resolved[2]
    assert (lately.status, lately.queue_position, lately.queue_size) == (LineStatus.CANCELLED, None, None)
    # A resolved line tells how long it waited, not how long ago it was ordered.
    assert lately.days_waiting == ((now - timedelta(days=3)).date() - T0.date()).days


def _resolve(line: OrderLine, status: LineStatus, at: datetime, *, allocated: int = 0, cancelled: int = 0) -> None:
    line.status, line.resolved_at = status, at
    line.allocated_quantity, line.cancelled_quantity = allocated, cancelled


async def test_a_customer_with_nothing_waiting_gets_empty_lists(uow: UnitOfWork, session: AsyncSession) -> None:
    customer = await add_customer(session)
    await session.commit()

    status = await get_backorder_status(uow, customer.id)

    assert (status.waiting, status.recently_resolved) == ([], [])


async def test_order_status_shows_every_line_of_that_order_only(uow: UnitOfWork, session: AsyncSession) -> None:
    product = await add_product(session, "HP-1")
    other_product = await add_product(session, "SPK-1")
    customer = await add_customer(session)
    order = await add_order(session, customer, [(product, 1), (other_product, 2)], allocated=[0, 2], number="BD-7")
    await add_order(session, customer, [(product, 1)], number="BD-8")
    await session.commit()

    view = await get_order_status(uow, customer.id, "BD-7")

    assert view.order_number == "BD-7"
    assert [(line.line_id, line.status) for line in view.lines] == [
        (order.lines[0].id, LineStatus.BACKORDERED),
        (order.lines[1].id, LineStatus.ALLOCATED),
    ]
    assert [(line.queue_position, line.queue_size) for line in view.lines] == [(1, 2), (None, None)]


async def test_someone_elses_order_or_line_looks_like_one_that_does_not_exist(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    product = await add_product(session, "HP-1")
    owner = await add_customer(session)
    stranger = await add_customer(session, "Ben Roth")
    order = await add_order(session, owner, [(product, 1)], number="BD-9")
    await session.commit()

    with pytest.raises(OrderNotFound) as someone_elses_order:
        await get_order_status(uow, stranger.id, "BD-9")
    with pytest.raises(OrderNotFound) as missing_order:
        await get_order_status(uow, stranger.id, "BD-404")
    with pytest.raises(LineNotFound) as someone_elses_line:
        await get_line_view(uow, stranger.id, order.lines[0].id)
    with pytest.raises(LineNotFound) as missing_line:
        await get_line_view(uow, stranger.id, order.lines[0].id + 1000)

    assert str(someone_elses_order.value) == str(missing_order.value)
    assert str(someone_elses_line.value) == str(missing_line.value)
    assert (await get_backorder_status(uow, stranger.id)).waiting == []
    assert (await get_line_view(uow, owner.id, order.lines[0].id)).order_number == "BD-9"
