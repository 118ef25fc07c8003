"""Purchase orders added, moved, cancelled and received: the ETAs they move, the stock they bring, and repeats.

Today is 27 November 2026 and handling takes a day: a shipment due on 4 December confirms 5 December; a line
nothing is on order for is estimated at today + 21 days, 18 December.
"""

import asyncio
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.audit import Actor
from bot.services.errors import (
    InvalidQuantity,
    ProductNotFound,
    PurchaseOrderClosed,
    PurchaseOrderConflict,
    PurchaseOrderNotFound,
    ReceiptKeyConflict,
)
from bot.services.purchasing.purchase_orders import (
    add_purchase_order,
    cancel_purchase_order,
    move_purchase_order,
    receive_purchase_order,
)
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    EtaBasis,
    EtaChange,
    LineStatus,
    PurchaseOrder,
    PurchaseOrderReceipt,
    PurchaseOrderStatus,
)
from tests import readback
from tests.shop import add_product, add_waiting_lines

Sessions = async_sessionmaker[AsyncSession]
MERCHANT = Actor.merchant("anna")
DEC_4, DEC_5, DEC_10, DEC_11, DEC_18 = (date(2026, 12, day) for day in (4, 5, 10, 11, 18))


async def waiting_shop(session: AsyncSession, uow: UnitOfWork, quantities: list[int]) -> list[int]:
    """Product HP-1 with one order per quantity (BD-1 on), in queue order, their ETAs computed; the line ids."""
    return await add_waiting_lines(session, uow, quantities, "HP-1", number_prefix="BD")


async def purchase_order(sessions: Sessions, reference: str) -> PurchaseOrder:
    async with sessions() as session:
        found = await session.execute(select(PurchaseOrder).where(PurchaseOrder.reference == reference))
        return found.scalar_one()


async def eta_of(sessions: Sessions, line_id: int) -> tuple[object, ...]:
    line = await readback.line(sessions, line_id)
    return (line.eta, line.eta_basis)


async def count(sessions: Sessions, model: type) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


# Adding


async def test_adding_a_purchase_order_confirms_the_lines_it_completes(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    first, second = await waiting_shop(session, uow, [2, 2])

    result = await add_purchase_order(uow, "PO-1", "HP-1", 3, DEC_4, MERCHANT)

    assert (result.reference, result.sku, result.quantity, result.outstanding, result.status, result.changed) == (
        "PO-1", "HP-1", 3, 3, PurchaseOrderStatus.OPEN, True,
    )  # fmt: skip
    [move] = result.eta_moves
    assert (move.line_id, move.order_number, move.old_eta, move.new_eta, move.new_basis, move.reason) == (
        first, "BD-1", DEC_18, DEC_5, EtaBasis.PURCHASE_ORDER, "purchase_order_added",
    )  # fmt: skip
    assert await eta_of(session_factory, second) == (DEC_18, EtaBasis.LEAD_TIME)  # 1 of its 2 units is on order
    [entry] = await readback.audit_entries(session_factory, "purchase_order.added")
    assert entry.entity_id == "PO-1"
    assert entry.details == {"sku": "HP-1", "quantity": 3, "expected_on": "2026-12-04"}


async def test_adding_the_same_purchase_order_again_changes_nothing(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    await waiting_shop(session, uow, [1])
    await add_purchase_order(uow, "PO-1", "HP-1", 3, DEC_4, MERCHANT)
    history_before = await count(session_factory, EtaChange)

    again = await add_purchase_order(uow, "PO-1", "HP-1", 3, DEC_4, MERCHANT)

    assert (again.changed, again.eta_moves, again.quantity, again.expected_on) == (False, (), 3, DEC_4)
    assert await count(session_factory, PurchaseOrder) == 1
    assert await count(session_factory, EtaChange) == history_before
    assert len(await readback.audit_entries(session_factory, "purchase_order.added")) == 1


@pytest.mark.parametrize(
    ("sku", "quantity", "expected_on"), [("HP-1", 4, DEC_4), ("HP-1", 3, DEC_11), ("SPK-1", 3, DEC_4)]
)
async def test_a_reference_already_used_with_other_details_is_refused(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, sku: str, quantity: int, expected_on: date
) -> None:
    await add_product(session, "SPK-1")
    await waiting_shop(session, uow, [1])
    await add_purchase_order(uow, "PO-1", "HP-1", 3, DEC_4, MERCHANT)

    with pytest.raises(PurchaseOrderConflict) as refused:
        await add_purchase_order(uow, "PO-1", sku, quantity, expected_on, MERCHANT)

    assert "PO-1" in refused.value.message
    stored = await purchase_order(session_factory, "PO-1")
    assert (stored.quantity, stored.expected_on) == (3, DEC_4)


async def test_adding_is_refused_for_an_unknown_sku_or_a_quantity_below_one(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    await waiting_shop(session, uow, [1])

    with pytest.raises(ProductNotFound):
        await add_purchase_order(uow, "PO-1", "NOPE", 3, DEC_4, MERCHANT)
    with pytest.raises(InvalidQuantity):
        await add_purchase_order(uow, "PO-1", "HP-1", 0, DEC_4, MERCHANT)

    assert await count(session_factory, PurchaseOrder) == 0


async def test_two_merchants_adding_the_same_purchase_order_at_once_add_it_once(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    await waiting_shop(session, uow, [1])

    results = await asyncio.gather(
        *(
            add_purchase_order(UnitOfWork(session_factory, clock), "PO-1", "HP-1", 3, DEC_4, MERCHANT)
            for _ in range(2)
        )
    )

    assert sorted(result.changed for result in results) == [False, True]
    assert await count(session_factory, PurchaseOrder) == 1
    assert len(await readback.audit_entries(session_factory, "purchase_order.added")) == 1


# Moving


async def test_a_delayed_purchase_order_moves_the_etas_of_its_lines(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    [line] = await waiting_shop(session, uow, [2])
    await add_purchase_order(uow, "PO-1", "HP-1", 5, DEC_4, MERCHANT)

    result = await move_purchase_order(uow, "PO-1", DEC_10, MERCHANT)

    assert (result.expected_on, result.changed) == (DEC_10, True)
    [move] = result.eta_moves
    assert (move.line_id, move.old_eta, move.new_eta, move.reason) == (line, DEC_5, DEC_11, "purchase_order_moved")
    assert await eta_of(session_factory, line) == (DEC_11, EtaBasis.PURCHASE_ORDER)
    [entry] = await readback.audit_entries(session_factory, "purchase_order.moved")
    assert entry.details == {"old_expected_on": "2026-12-04", "new_expected_on": "2026-12-10"}


async def test_moving_a_purchase_order_ahead_of_another_changes_which_lines_it_serves(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    first, second = await waiting_shop(session, uow, [1, 1])
    await add_purchase_order(uow, "PO-EARLY", "HP-1", 1, DEC_4, MERCHANT)
    await add_purchase_order(uow, "PO-LATE", "HP-1", 1, DEC_10, MERCHANT)

    result = await move_purchase_order(uow, "PO-EARLY", date(2026, 12, 20), MERCHANT)

    # PO-LATE now arrives first, so it serves the front of the queue.
    assert {move.line_id: move.new_eta for move in result.eta_moves} == {first: DEC_11, second: date(2026, 12, 21)}


async def test_moving_to_the_date_it_already_has_does_nothing(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    await waiting_shop(session, uow, [1])
    await add_purchase_order(uow, "PO-1", "HP-1", 5, DEC_4, MERCHANT)

    result = await move_purchase_order(uow, "PO-1", DEC_4, MERCHANT)

    assert (result.changed, result.eta_moves) == (False, ())
    assert await readback.audit_entries(session_factory, "purchase_order.moved") == []


# Cancelling


async def test_cancelling_a_purchase_order_returns_its_lines_to_an_estimate(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    [line] = await waiting_shop(session, uow, [2])
    await add_purchase_order(uow, "PO-1", "HP-1", 5, DEC_4, MERCHANT)

    result = await cancel_purchase_order(uow, "PO-1", MERCHANT)
    again = await cancel_purchase_order(uow, "PO-1", MERCHANT)

    assert (result.status, result.changed) == (PurchaseOrderStatus.CANCELLED, True)
    [move] = result.eta_moves
    assert (move.line_id, move.old_eta, move.new_eta, move.old_basis, move.new_basis, move.reason) == (
        line, DEC_5, DEC_18, EtaBasis.PURCHASE_ORDER, EtaBasis.LEAD_TIME, "purchase_order_cancelled",
    )  # fmt: skip
    assert (await readback.line(session_factory, line)).eta_purchase_order_id is None
    assert (again.status, again.changed, again.eta_moves) == (PurchaseOrderStatus.CANCELLED, False, ())
    assert len(await readback.audit_entries(session_factory, "purchase_order.cancelled")) == 1


async def test_a_cancelled_purchase_order_can_be_neither_moved_nor_received(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    await waiting_shop(session, uow, [1])
    await add_purchase_order(uow, "PO-1", "HP-1", 5, DEC_4, MERCHANT)
    await cancel_purchase_order(uow, "PO-1", MERCHANT)

    with pytest.raises(PurchaseOrderClosed) as moving:
        await move_purchase_order(uow, "PO-1", DEC_10, MERCHANT)
    with pytest.raises(PurchaseOrderClosed) as receiving:
        await receive_purchase_order(uow, "PO-1", MERCHANT)

    assert moving.value.status == receiving.value.status == "cancelled"
    assert "cancelled" in moving.value.message
    assert (await purchase_order(session_factory, "PO-1")).expected_on == DEC_4


@pytest.mark.parametrize("operation", ["move", "cancel", "receive"])
async def test_an_unknown_reference_is_reported(uow: UnitOfWork, session: AsyncSession, operation: str) -> None:
    await waiting_shop(session, uow, [1])
    calls = {
        "move": lambda: move_purchase_order(uow, "PO-404", DEC_4, MERCHANT),
        "cancel": lambda: cancel_purchase_order(uow, "PO-404", MERCHANT),
        "receive": lambda: receive_purchase_order(uow, "PO-404", MERCHANT),
    }

    with pytest.raises(PurchaseOrderNotFound) as refused:
        await calls[operation]()

    assert "PO-404" in refused.value.message


# Receiving


async def test_receiving_serves_the_queue_in_order_and_the_rest_moves_up(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    first, second, third = await waiting_shop(session, uow, [2, 2, 3])
    await add_purchase_order(uow, "PO-1", "HP-1", 3, DEC_4, MERCHANT)
    await add_purchase_order(uow, "PO-2", "HP-1", 10, DEC_11, MERCHANT)

    result = await receive_purchase_order(uow, "PO-1", MERCHANT)

    assert (result.received_now, result.replayed) == (3, False)
    assert (result.purchase_order.status, result.purchase_order.received_quantity) == (
        PurchaseOrderStatus.RECEIVED, 3,
    )  # fmt: skip
    assert [(c.line_id, c.order_number, c.allocated_now) for c in result.ready_to_ship] == [(first, "BD-1", 2)]
    assert [(c.line_id, c.allocated_now) for c in result.partly_allocated] == [(second, 1)]
    ready, partly = await readback.line(session_factory, first), await readback.line(session_factory, second)
    assert (ready.status, ready.resolved_at) == (LineStatus.ALLOCATED, clock.now())
    assert (partly.status, partly.open_quantity) == (LineStatus.PARTIALLY_ALLOCATED, 1)
    # Both still-waiting lines were already due with PO-2; their dates hold.
    assert result.eta_moves == ()
    assert await eta_of(session_factory, second) == await eta_of(session_factory, third) == (
        date(2026, 12, 12), EtaBasis.PURCHASE_ORDER,
    )  # fmt: skip
    assert await readback.available(session_factory, ready.product_id) == 0
    [entry] = await readback.audit_entries(session_factory, "purchase_order.received")
    assert (entry.details["quantity"], entry.details["lines_ready"]) == (3, 1)


async def test_a_delivery_larger_than_the_queue_serves_every_line_and_the_rest_stays_on_hand(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    first, second = await waiting_shop(session, uow, [1, 1])
    await add_purchase_order(uow, "PO-1", "HP-1", 6, DEC_4, MERCHANT)

    result = await receive_purchase_order(uow, "PO-1", MERCHANT)

    assert [c.line_id for c in result.ready_to_ship] == [first, second]
    assert result.partly_allocated == ()
    product_id = (await readback.line(session_factory, first)).product_id
    assert await readback.available(session_factory, product_id) == 4


async def test_receiving_in_parts_keeps_the_purchase_order_open_until_all_has_arrived(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    first, second = await waiting_shop(session, uow, [2, 2])
    await add_purchase_order(uow, "PO-1", "HP-1", 4, DEC_4, MERCHANT)

    part = await receive_purchase_order(uow, "PO-1", MERCHANT, quantity=3)
    rest = await receive_purchase_order(uow, "PO-1", MERCHANT)

    assert (part.purchase_order.status, part.purchase_order.outstanding) == (PurchaseOrderStatus.OPEN, 1)
    assert [c.line_id for c in part.ready_to_ship] == [first]
    assert [(c.line_id, c.allocated_now) for c in part.partly_allocated] == [(second, 1)]
    assert (rest.received_now, rest.purchase_order.status) == (1, PurchaseOrderStatus.RECEIVED)
    assert [(c.line_id, c.allocated_now) for c in rest.ready_to_ship] == [(second, 1)]
    assert await count(session_factory, PurchaseOrderReceipt) == 2


@pytest.mark.parametrize("quantity", [0, -1, 6])
async def test_receiving_nothing_or_more_than_is_outstanding_is_refused(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, quantity: int
) -> None:
    [line] = await waiting_shop(session, uow, [1])
    await add_purchase_order(uow, "PO-1", "HP-1", 5, DEC_4, MERCHANT)

    with pytest.raises(InvalidQuantity):
        await receive_purchase_order(uow, "PO-1", MERCHANT, quantity=quantity)

    assert (await purchase_order(session_factory, "PO-1")).received_quantity == 0
    assert (await readback.line(session_factory, line)).status == LineStatus.BACKORDERED


async def test_a_received_purchase_order_cannot_be_received_moved_or_cancelled_again(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    await waiting_shop(session, uow, [1])
    await add_purchase_order(uow, "PO-1", "HP-1", 2, DEC_4, MERCHANT)
    await receive_purchase_order(uow, "PO-1", MERCHANT)

    for attempt in (
        receive_purchase_order(uow, "PO-1", MERCHANT),
        move_purchase_order(uow, "PO-1", DEC_10, MERCHANT),
        cancel_purchase_order(uow, "PO-1", MERCHANT),
    ):
        with pytest.raises(PurchaseOrderClosed) as refused:
            await attempt
        assert refused.value.status == "received"

    assert await count(session_factory, PurchaseOrderReceipt) == 1


async def test_a_receipt_repeated_with_its_key_returns_the_first_result_and_changes_nothing(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    first, second = await waiting_shop(session, uow, [1, 2])
    await add_purchase_order(uow, "PO-1", "HP-1", 2, DEC_4, MERCHANT)
    product_id = (await readback.line(session_factory, first)).product_id

    original = await receive_purchase_order(uow, "PO-1", MERCHANT, quantity=2, idempotency_key="delivery-77")
    repeat = await receive_purchase_order(uow, "PO-1", MERCHANT, quantity=2, idempotency_key="delivery-77")

    assert [c.line_id for c in original.ready_to_ship] == [first]
    assert (repeat.replayed, repeat.received_now) == (True, 2)
    assert [(c.line_id, c.customer_id, c.order_number, c.sku) for c in repeat.ready_to_ship] == [
        (c.line_id, c.customer_id, c.order_number, c.sku) for c in original.ready_to_ship
    ]
    assert (await purchase_order(session_factory, "PO-1")).received_quantity == 2
    assert await readback.available(session_factory, product_id) == 0
    assert (await readback.line(session_factory, second)).allocated_quantity == 1
    assert await count(session_factory, PurchaseOrderReceipt) == 1
    assert len(await readback.audit_entries(session_factory, "purchase_order.received")) == 1


async def test_a_receipt_key_used_for_another_purchase_order_is_refused(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    await waiting_shop(session, uow, [5])
    await add_purchase_order(uow, "PO-1", "HP-1", 2, DEC_4, MERCHANT)
    await add_purchase_order(uow, "PO-2", "HP-1", 2, DEC_11, MERCHANT)
    await receive_purchase_order(uow, "PO-1", MERCHANT, idempotency_key="delivery-77")

    with pytest.raises(ReceiptKeyConflict):
        await receive_purchase_order(uow, "PO-2", MERCHANT, idempotency_key="delivery-77")

    assert (await purchase_order(session_factory, "PO-2")).received_quantity == 0


async def test_the_same_delivery_booked_twice_at_once_is_booked_once(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    [line] = await waiting_shop(session, uow, [1])
    await add_purchase_order(uow, "PO-1", "HP-1", 3, DEC_4, MERCHANT)

    results = await asyncio.gather(
        *(
            receive_purchase_order(UnitOfWork(session_factory, clock), "PO-1", MERCHANT, idempotency_key="key-1")
            for _ in range(2)
        )
    )

    assert sorted(result.replayed for result in results) == [False, True]
    assert all([c.line_id for c in result.ready_to_ship] == [line] for result in results)
    assert (await purchase_order(session_factory, "PO-1")).received_quantity == 3
    assert await readback.available(session_factory, (await readback.line(session_factory, line)).product_id) == 2
