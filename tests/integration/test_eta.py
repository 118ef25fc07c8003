"""The computed ETA: queue order, stock, purchase orders, estimates, and the history of every move.

The shop's clock says Friday 27 November 2026 and handling takes 1 day, so a line covered by stock gets
28 November, a line completed by a purchase order due on 4 December gets 5 December, and a line nothing
covers gets today + the product's lead time (21 days unless a test says otherwise: 18 December).
"""

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.backorders.eta import EtaMove, recompute_all_etas, recompute_etas
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.models import EtaBasis, EtaChange, OrderLine, Product, PurchaseOrder, PurchaseOrderStatus
from tests import readback
from tests.shop import T0, add_customer, add_order, add_product, add_purchase_order, minutes_after

Sessions = async_sessionmaker[AsyncSession]

IN_STOCK, CONFIRMED, ESTIMATED = EtaBasis.IN_STOCK, EtaBasis.PURCHASE_ORDER, EtaBasis.LEAD_TIME
TOMORROW = date(2026, 11, 28)
IN_THREE_WEEKS = date(2026, 12, 18)
DEC_4, DEC_11 = date(2026, 12, 4), date(2026, 12, 11)


async def etas(sessions: Sessions, *line_ids: int) -> list[tuple[date | None, EtaBasis | None, int | None]]:
    """(eta, basis, purchase order id) of each line, read in a transaction of its own."""
    async with sessions() as session:
        rows = await session.execute(
            select(OrderLine.id, OrderLine.eta, OrderLine.eta_basis, OrderLine.eta_purchase_order_id).where(
                OrderLine.id.in_(line_ids)
            )
        )
        by_id = {row.id: (row.eta, row.eta_basis, row.eta_purchase_order_id) for row in rows}
    return [by_id[line_id] for line_id in line_ids]


async def history(sessions: Sessions) -> list[tuple[object, ...]]:
    """(line, old ETA, new ETA, old basis, new basis, reason) of every history row, oldest first."""
    async with sessions() as session:
        rows = await session.execute(select(EtaChange).order_by(EtaChange.id))
        return [
            (change.line_id, change.old_eta, change.new_eta, change.old_basis, change.new_basis, change.reason)
            for change in rows.scalars()
        ]


async def one_line_orders(session: AsyncSession, product: Product, quantities: list[int]) -> list[int]:
    """One order per quantity, placed five minutes apart in the order given; returns the line ids."""
    customer = await add_customer(session)
    line_ids = []
    for index, quantity in enumerate(quantities):
        order = await add_order(session, customer, [(product, quantity)], placed_at=minutes_after(T0, 5 * index))
        line_ids.append(order.lines[0].id)
    return line_ids


async def test_with_no_purchase_order_the_eta_is_estimated_from_the_supplier_lead_time(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    product = await add_product(session, "HP-1", lead_time_days=10)
    customer = await add_customer(session)
    order = await add_order(session, customer, [(product, 2)], number="BD-1")
    await session.commit()

    moves = await recompute_all_etas(uow)

    line_id = order.lines[0].id
    expected = date(2026, 12, 7)
    assert await etas(session_factory, line_id) == [(expected, ESTIMATED, None)]
    assert moves == [
        EtaMove(line_id, customer.id, "BD-1", "HP-1", None, expected, None, ESTIMATED, "recalculated")
    ]
    assert await history(session_factory) == [(line_id, None, expected, None, ESTIMATED, "recalculated")]


async def test_unallocated_stock_serves_the_queue_first_come_first_served(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1", available=3)
    first, second, third = await one_line_orders(session, product, [2, 1, 1])
    await session.commit()

    await recompute_all_etas(uow)

    assert await etas(session_factory, first, second, third) == [
        (TOMORROW, IN_STOCK, None),
        (TOMORROW, IN_STOCK, None),
        (IN_THREE_WEEKS, ESTIMATED, None),
    ]


async def test_lines_placed_at_the_same_moment_are_served_by_line_id(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1", available=1)
    customer = await add_customer(session)
    later = await add_order(session, customer, [(product, 1)], placed_at=minutes_after(T0, 10))
    tied_first = await add_order(session, customer, [(product, 1)], placed_at=T0)
    tied_second = await add_order(session, customer, [(product, 1)], placed_at=T0)
    await session.commit()

    await recompute_all_etas(uow)

    assert [eta[1] for eta in await etas(session_factory, tied_first.lines[0].id, tied_second.lines[0].id)] == [
        IN_STOCK,
        ESTIMATED,
    ]
    assert (await etas(session_factory, later.lines[0].id))[0][1] == ESTIMATED


async def test_a_purchase_order_that_covers_a_line_only_in_part_leaves_it_estimated(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1")
    [line] = await one_line_orders(session, product, [3])
    await add_purchase_order(session, product, 2, DEC_4)
    await session.commit()

    await recompute_all_etas(uow)

    assert await etas(session_factory, line) == [(IN_THREE_WEEKS, ESTIMATED, None)]


async def test_a_line_split_across_stock_and_a_purchase_order_waits_for_the_purchase_order(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1", available=1)
    [line] = await one_line_orders(session, product, [3])
    purchase_order = await add_purchase_order(session, product, 5, DEC_4)
    await session.commit()

    await recompute_all_etas(uow)

    assert await etas(session_factory, line) == [(date(2026, 12, 5), CONFIRMED, purchase_order.id)]


async def test_purchase_orders_serve_the_queue_by_expected_date_and_the_one_completing_a_line_sets_its_eta(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1")
    # Entered first but due later: the dates, not the ids, decide the order.
    late = await add_purchase_order(session, product, 10, DEC_11)
    early = await add_purchase_order(session, product, 2, DEC_4)
    first, second, third, fourth = await one_line_orders(session, product, [1, 3, 8, 1])
    await session.commit()

    await recompute_all_etas(uow)

    assert await etas(session_factory, first, second, third, fourth) == [
        (date(2026, 12, 5), CONFIRMED, early.id),  # needs 1 of the 2 due on 4 Dec
        (date(2026, 12, 12), CONFIRMED, late.id),  # needs units 2-4: the second shipment completes it
        (date(2026, 12, 12), CONFIRMED, late.id),  # units 5-12, exactly the last of the supply
        (IN_THREE_WEEKS, ESTIMATED, None),  # unit 13: nothing is on order for it
    ]


async def test_a_partly_allocated_line_waits_only_for_its_remainder(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1")
    customer = await add_customer(session)
    partly = await add_order(session, customer, [(product, 5)], allocated=[3], placed_at=T0)
    allocated = await add_order(session, customer, [(product, 4)], allocated=[4], placed_at=minutes_after(T0, 1))
    behind = await add_order(session, customer, [(product, 1)], placed_at=minutes_after(T0, 2))
    purchase_order = await add_purchase_order(session, product, 2, DEC_4)
    await session.commit()

    await recompute_all_etas(uow)

    assert await etas(session_factory, partly.lines[0].id, behind.lines[0].id) == [
        (date(2026, 12, 5), CONFIRMED, purchase_order.id),
        (IN_THREE_WEEKS, ESTIMATED, None),
    ]
    # A line with nothing left waiting is not in the queue and gets no ETA.
    assert await etas(session_factory, allocated.lines[0].id) == [(None, None, None)]


async def test_closed_and_received_purchase_order_quantities_are_not_counted_as_supply(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1")
    first, second = await one_line_orders(session, product, [2, 2])
    await add_purchase_order(session, product, 10, date(2026, 12, 1), status=PurchaseOrderStatus.CANCELLED)
    partly_received = await add_purchase_order(session, product, 5, DEC_4, received=3)
    await session.commit()

    await recompute_all_etas(uow)

    assert await etas(session_factory, first, second) == [
        (date(2026, 12, 5), CONFIRMED, partly_received.id),  # the 2 still outstanding
        (IN_THREE_WEEKS, ESTIMATED, None),
    ]


async def test_a_late_purchase_order_still_open_is_expected_no_earlier_than_today(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1")
    [line] = await one_line_orders(session, product, [1])
    overdue = await add_purchase_order(session, product, 1, date(2026, 11, 20))
    await session.commit()

    await recompute_all_etas(uow)

    assert await etas(session_factory, line) == [(TOMORROW, CONFIRMED, overdue.id)]


async def test_history_is_written_only_for_lines_whose_eta_moved(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1")
    first, second = await one_line_orders(session, product, [1, 1])
    await session.commit()
    await recompute_all_etas(uow)
    async with session_factory() as arrange:
        purchase_order = await add_purchase_order(arrange, product, 1, DEC_4)
        await arrange.commit()

    async with uow:
        moves = await recompute_etas(uow.session, uow.clock, uow.policy, "purchase_order_added", [product.id])
        await uow.commit()

    assert [(move.line_id, move.old_eta, move.new_eta, move.old_basis, move.new_basis) for move in moves] == [
        (first, IN_THREE_WEEKS, date(2026, 12, 5), ESTIMATED, CONFIRMED)
    ]
    assert await history(session_factory) == [
        (first, None, IN_THREE_WEEKS, None, ESTIMATED, "recalculated"),
        (second, None, IN_THREE_WEEKS, None, ESTIMATED, "recalculated"),
        (first, IN_THREE_WEEKS, date(2026, 12, 5), ESTIMATED, CONFIRMED, "purchase_order_added"),
    ]
    assert await etas(session_factory, first) == [(date(2026, 12, 5), CONFIRMED, purchase_order.id)]


async def test_an_estimate_confirmed_for_the_same_date_is_recorded_as_a_move(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1", lead_time_days=8)  # estimated: 5 December
    [line] = await one_line_orders(session, product, [1])
    await session.commit()
    await recompute_all_etas(uow)
    async with session_factory() as arrange:
        await add_purchase_order(arrange, product, 1, DEC_4)  # confirmed: 5 December too
        await arrange.commit()

    moves = await recompute_all_etas(uow)

    assert [(move.old_eta, move.new_eta, move.old_basis, move.new_basis) for move in moves] == [
        (date(2026, 12, 5), date(2026, 12, 5), ESTIMATED, CONFIRMED)
    ]
    assert len(await history(session_factory)) == 2


async def test_switching_to_another_purchase_order_due_the_same_day_is_no_news(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1")
    [line] = await one_line_orders(session, product, [1])
    first = await add_purchase_order(session, product, 1, DEC_4)
    second = await add_purchase_order(session, product, 1, DEC_4)
    await session.commit()
    await recompute_all_etas(uow)
    assert await etas(session_factory, line) == [(date(2026, 12, 5), CONFIRMED, first.id)]
    async with session_factory() as arrange:
        (await arrange.get_one(PurchaseOrder, first.id)).status = PurchaseOrderStatus.CANCELLED
        await arrange.commit()

    moves = await recompute_all_etas(uow)

    assert moves == []
    assert await etas(session_factory, line) == [(date(2026, 12, 5), CONFIRMED, second.id)]
    assert len(await history(session_factory)) == 1


async def test_recomputing_again_changes_nothing_and_leaves_the_lines_untouched(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    product = await add_product(session, "HP-1", available=1)
    lines = await one_line_orders(session, product, [1, 2, 2])
    await add_purchase_order(session, product, 2, DEC_4)
    await session.commit()
    first_moves = await recompute_all_etas(uow)
    computed_at = clock.now()
    clock.advance(hours=2)

    again = await recompute_all_etas(uow)

    assert (len(first_moves), again) == (3, [])
    assert len(await history(session_factory)) == 3
    async with session_factory() as session_after:
        stamps = await session_after.execute(select(OrderLine.updated_at).where(OrderLine.id.in_(lines)))
        assert set(stamps.scalars()) == {computed_at}


async def test_an_estimate_follows_the_calendar_when_recomputed_on_a_later_day(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    product = await add_product(session, "HP-1")
    [line] = await one_line_orders(session, product, [1])
    await session.commit()
    await recompute_all_etas(uow)
    clock.advance(days=2)

    [move] = await recompute_all_etas(uow)

    assert (move.old_eta, move.new_eta) == (IN_THREE_WEEKS, IN_THREE_WEEKS + timedelta(days=2))


async def test_recomputing_some_skus_leaves_the_others_alone(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    headphones = await add_product(session, "HP-1")
    speaker = await add_product(session, "SPK-1")
    [waiting_headphones] = await one_line_orders(session, headphones, [1])
    [waiting_speaker] = await one_line_orders(session, speaker, [1])
    await session.commit()

    async with uow:
        moves = await recompute_etas(uow.session, uow.clock, uow.policy, "stock_changed", [speaker.id])
        await uow.commit()

    assert [move.sku for move in moves] == ["SPK-1"]
    assert await etas(session_factory, waiting_headphones, waiting_speaker) == [
        (None, None, None),
        (IN_THREE_WEEKS, ESTIMATED, None),
    ]


async def test_handling_days_are_the_shops_choice(
    session_factory: Sessions, session: AsyncSession, clock: ManualClock
) -> None:
    product = await add_product(session, "HP-1", available=1)
    [in_stock, on_order] = await one_line_orders(session, product, [1, 1])
    await add_purchase_order(session, product, 1, DEC_4)
    await session.commit()

    await recompute_all_etas(UnitOfWork(session_factory, clock, ShopPolicy(handling_days=3)))

    assert [eta for eta, _, _ in await etas(session_factory, in_stock, on_order)] == [
        date(2026, 11, 30),
        date(2026, 12, 7),
    ]


async def test_a_full_recompute_is_written_to_the_audit_log(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HP-1")
    await one_line_orders(session, product, [1, 1])
    await session.commit()

    await recompute_all_etas(uow)

    [entry] = await readback.audit_entries(session_factory, "etas.recomputed")
    assert entry.details == {"reason": "recalculated", "lines_moved": 2}
    async with session_factory() as check:
        assert (await check.execute(select(func.count()).select_from(EtaChange))).scalar_one() == 2


async def _recompute_and_read(uow: UnitOfWork, batches: list[list[int]]) -> tuple[object, ...]:
    """Recompute the batches of SKUs in one transaction, read what it wrote, and roll it all back."""
    async with uow:
        moves: list[EtaMove] = []
        for product_ids in batches:
            moves += await recompute_etas(uow.session, uow.clock, uow.policy, "stock_changed", product_ids)
        lines = await uow.session.execute(
            select(OrderLine.id, OrderLine.eta, OrderLine.eta_basis, OrderLine.eta_purchase_order_id, OrderLine.updated_at)
        )
        changes = await uow.session.execute(
            select(
                EtaChange.line_id,
                EtaChange.old_eta,
                EtaChange.new_eta,
                EtaChange.old_basis,
                EtaChange.new_basis,
                EtaChange.reason,
                EtaChange.changed_at,
            )
        )
        # Not committed: the unit of work rolls back, so the next call starts from the same shop.
        return sorted(moves, key=lambda move: move.line_id), sorted(map(tuple, lines), key=repr), sorted(map(tuple, changes), key=repr)


async def test_recomputing_many_skus_at_once_gives_what_recomputing_each_alone_gives(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    in_stock = await add_product(session, "ST-1", available=4)
    on_order = await add_product(session, "PO-1", available=1, lead_time_days=30)
    estimated = await add_product(session, "LT-1", lead_time_days=9)
    untouched = await add_product(session, "UN-1", available=10)
    customer = await add_customer(session)
    for index, quantities in enumerate([[2, 1, 3], [1, 2, 2], [3, 1, 1], [2, 2, 1], [1, 1, 4]]):
        await add_order(
            session,
            customer,
            list(zip([in_stock, on_order, estimated], quantities, strict=True)),
            placed_at=minutes_after(T0, 7 * (4 - index)),  # placed in the reverse of id order
            allocated=[0, 1 if index == 2 else 0, 0],
        )
    await add_order(session, customer, [(untouched, 1)])
    await add_purchase_order(session, on_order, 3, DEC_11)
    await add_purchase_order(session, on_order, 2, DEC_4)
    overdue = await add_purchase_order(session, on_order, 2, date(2026, 11, 20))  # counts as arriving today
    await add_purchase_order(session, estimated, 2, DEC_4, received=1)
    await session.commit()
    await recompute_all_etas(uow)
    # Supply changes for three SKUs: some of their lines move, some keep their ETA; the fourth stays as it is.
    async with session_factory() as arrange:
        await add_purchase_order(arrange, in_stock, 6, DEC_4)
        await add_purchase_order(arrange, estimated, 5, DEC_11)
        (await arrange.get_one(PurchaseOrder, overdue.id)).status = PurchaseOrderStatus.CANCELLED
        await arrange.commit()
    skus = [in_stock.id, on_order.id, estimated.id, untouched.id]

    together = await _recompute_and_read(uow, [skus])
    one_by_one = await _recompute_and_read(uow, [[sku] for sku in skus])

    moves, lines, changes = together
    assert {move.sku for move in moves} == {"ST-1", "PO-1", "LT-1"}
    assert len(changes) > len(moves) > 0  # yesterday's history is there too
    assert together == one_by_one
