"""Previewing a purchase order's move or receipt: the same answer the change then gives, and nothing changed.

Today is Friday 27 November 2026 in Berlin and handling takes a day.
"""

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.audit import Actor
from bot.services.backorders.eta import recompute_all_etas
from bot.services.backorders.notifications import worth_telling
from bot.services.errors import InvalidQuantity, PurchaseOrderClosed, PurchaseOrderNotFound
from bot.services.purchasing.purchase_order_preview import preview_move_purchase_order, preview_receive_purchase_order
from bot.services.purchasing.purchase_orders import move_purchase_order, receive_purchase_order
from bot.services.unit_of_work import UnitOfWork
from db.models import AuditEntry, EtaChange, OrderLine, OutboxMessage, PurchaseOrder, PurchaseOrderStatus, StockLevel
from tests.shop import T0, add_customer, add_order, add_product, add_purchase_order, minutes_after

MERCHANT = Actor.merchant("test")
DEC_4, DEC_11, DEC_20 = date(2026, 12, 4), date(2026, 12, 11), date(2026, 12, 20)


async def queue_on_two_shipments(session: AsyncSession, uow: UnitOfWork) -> list[int]:
    """HS-200: four customers wait for 1 unit each (the last one for 2); PO-A brings 2 on 4 Dec, PO-B 2 on 20 Dec."""
    headset = await add_product(session, "HS-200", lead_time_days=40)
    line_ids = []
    for index, (name, quantity) in enumerate((("Anna Klein", 1), ("Ben Carter", 1), ("Clara Schmidt", 1), ("David Okafor", 2))):
        customer = await add_customer(session, name)
        order = await add_order(session, customer, [(headset, quantity)], placed_at=minutes_after(T0, index))
        line_ids.append(order.lines[0].id)
    await add_purchase_order(session, headset, 2, DEC_4, reference="PO-A")
    await add_purchase_order(session, headset, 2, DEC_20, reference="PO-B")
    await session.commit()
    await recompute_all_etas(uow)
    return line_ids


async def snapshot(sessions: async_sessionmaker[AsyncSession]) -> tuple[object, ...]:
    """Everything a preview must leave as it was."""
    async with sessions() as session:
        lines = (await session.execute(select(OrderLine.id, OrderLine.eta, OrderLine.eta_basis, OrderLine.status, OrderLine.allocated_quantity).order_by(OrderLine.id))).all()
        counts = [
            await session.scalar(select(func.count()).select_from(model)) for model in (EtaChange, OutboxMessage, AuditEntry)
        ]
        stock = (await session.execute(select(StockLevel.product_id, StockLevel.available))).all()
        return tuple(map(tuple, lines)), tuple(counts), tuple(map(tuple, stock))


async def test_moving_later_previews_exactly_the_lines_and_customers_the_move_then_tells(
    session: AsyncSession, uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await queue_on_two_shipments(session, uow)
    before = await snapshot(session_factory)

    preview = await preview_move_purchase_order(uow, "PO-A", DEC_11)

    assert await snapshot(session_factory) == before
    assert (preview.lines_moving, preview.customers_affected, preview.lines_later) == (2, 2, 2)
    assert [line.customer_name for line in preview.lines] == ["Anna Klein", "Ben Carter"]
    assert {(line.old_eta, line.new_eta) for line in preview.lines} == {(date(2026, 12, 5), date(2026, 12, 12))}
    moved = await move_purchase_order(uow, "PO-A", DEC_11, MERCHANT)
    told = worth_telling(moved.eta_moves)
    assert sorted(move.line_id for move in told) == sorted(line.line_id for line in preview.lines)


async def test_moving_past_the_other_shipment_delays_the_lines_behind_too(session: AsyncSession, uow: UnitOfWork) -> None:
    lines = await queue_on_two_shipments(session, uow)

    preview = await preview_move_purchase_order(uow, "PO-A", date(2026, 12, 30))

    # PO-B (20 Dec) now serves Anna and Ben, and PO-A (30 Dec) Clara; David's estimate stays.
    assert (preview.lines_later, preview.lines_earlier, preview.customers_affected) == (3, 0, 3)
    assert [(line.line_id, line.new_eta) for line in preview.lines] == [
        (lines[0], date(2026, 12, 21)), (lines[1], date(2026, 12, 21)), (lines[2], date(2026, 12, 31))
    ]


async def test_moving_earlier_previews_earlier_etas(session: AsyncSession, uow: UnitOfWork) -> None:
    lines = await queue_on_two_shipments(session, uow)

    preview = await preview_move_purchase_order(uow, "PO-B", date(2026, 12, 1))

    # PO-B now comes first and serves Anna and Ben; PO-A then serves Clara on 4 Dec instead of PO-B on 20 Dec.
    assert (preview.lines_later, preview.lines_earlier, preview.customers_affected) == (0, 3, 3)
    assert {line.line_id for line in preview.lines} == set(lines[:3])


async def test_moving_to_the_same_date_previews_no_change(session: AsyncSession, uow: UnitOfWork) -> None:
    await queue_on_two_shipments(session, uow)

    preview = await preview_move_purchase_order(uow, "PO-A", DEC_4)

    assert (preview.lines, preview.customers_affected) == ((), 0)


async def test_receiving_previews_the_lines_made_ready_and_changes_nothing(
    session: AsyncSession, uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    lines = await queue_on_two_shipments(session, uow)
    before = await snapshot(session_factory)

    preview = await preview_receive_purchase_order(uow, "PO-A")

    assert await snapshot(session_factory) == before
    assert (preview.lines_ready, preview.lines_moving, preview.outstanding) == (2, 0, 2)
    assert [line.line_id for line in preview.lines if line.ready_to_ship] == lines[:2]
    received = await receive_purchase_order(uow, "PO-A", MERCHANT)
    assert [change.line_id for change in received.ready_to_ship] == lines[:2]


async def test_a_partial_receipt_previews_who_is_served(session: AsyncSession, uow: UnitOfWork) -> None:
    lines = await queue_on_two_shipments(session, uow)

    preview = await preview_receive_purchase_order(uow, "PO-B", 1)

    # The unit goes to Anna, first in line; Ben keeps PO-A's date, and Clara moves up from PO-B to PO-A.
    assert [line.line_id for line in preview.lines if line.ready_to_ship] == [lines[0]]
    assert [(line.line_id, line.later) for line in preview.lines if not line.ready_to_ship] == [(lines[2], False)]


async def test_a_preview_is_refused_like_the_change(session: AsyncSession, uow: UnitOfWork) -> None:
    await queue_on_two_shipments(session, uow)
    await receive_purchase_order(uow, "PO-A", MERCHANT)

    with pytest.raises(PurchaseOrderClosed):
        await preview_move_purchase_order(uow, "PO-A", DEC_11)
    with pytest.raises(PurchaseOrderClosed):
        await preview_receive_purchase_order(uow, "PO-A")
    with pytest.raises(InvalidQuantity):
        await preview_receive_purchase_order(uow, "PO-B", 3)
    with pytest.raises(PurchaseOrderNotFound):
        await preview_move_purchase_order(uow, "PO-404", DEC_11)


async def test_a_received_purchase_order_stays_received_after_its_receipt_preview(
    session: AsyncSession, uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await queue_on_two_shipments(session, uow)

    await preview_receive_purchase_order(uow, "PO-B")

    async with session_factory() as check:
        status, received = (await check.execute(select(PurchaseOrder.status, PurchaseOrder.received_quantity).where(PurchaseOrder.reference == "PO-B"))).one()
    assert (status, received) == (PurchaseOrderStatus.OPEN, 0)
