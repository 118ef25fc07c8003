"""Suppliers kept by the merchant, their track record from received purchase orders, and the ETAs that allow for it.

Histories are played through the real use cases with a manual clock: a purchase order is added, perhaps
moved, and received some days after the date it was due.
"""

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.audit import Actor
from bot.services.backorders.eta import recompute_all_etas
from bot.services.backorders.status import get_line_view
from bot.services.errors import ProductNotFound, SupplierInUse, SupplierNameTaken, SupplierNotFound
from bot.services.intake.csv_import import import_purchase_orders
from bot.services.purchasing.purchase_orders import add_purchase_order, move_purchase_order, receive_purchase_order
from bot.services.purchasing.supplier_record import ReceivedShipment, TrackRecord, Trend, percentile
from bot.services.purchasing.suppliers import (
    SupplierFields,
    add_supplier,
    assign_products,
    assign_suppliers_by_name,
    list_suppliers,
    refresh_supplier_slips,
    remove_supplier,
    supplier_performance,
    update_supplier,
)
from bot.services.unit_of_work import ShopPolicy, SupplierRecordRules, UnitOfWork
from db.models import AuditEntry, EtaBasis, EtaChange, PurchaseOrder
from tests import readback
from tests.shop import add_customer, add_order, add_product, minutes_after

Sessions = async_sessionmaker[AsyncSession]
MERCHANT = Actor.merchant("anna")
SHOP_TZ_CLOCK_START = datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def history_clock(clock: ManualClock) -> ManualClock:
    """1 September 2026: a quarter of a year of history fits before the usual test day."""
    return ManualClock(SHOP_TZ_CLOCK_START, tz=clock.tz)


def uow_at(session_factory: Sessions, clock: ManualClock, **rules: object) -> UnitOfWork:
    policy = ShopPolicy(handling_days=1, supplier_record=SupplierRecordRules(**rules))  # type: ignore[arg-type]
    return UnitOfWork(session_factory, clock, policy)


async def play_history(uow: UnitOfWork, clock: ManualClock, sku: str, days_late: list[int], prefix: str) -> None:
    """One purchase order per entry, due a week out and received that many days after its date."""
    for index, late in enumerate(days_late):
        due = clock.today() + timedelta(days=7)
        await add_purchase_order(uow, f"{prefix}-{index}", sku, 5, due, MERCHANT)
        clock.advance(days=7 + late)
        await receive_purchase_order(uow, f"{prefix}-{index}", MERCHANT)
        clock.advance(days=1)


# ---- the record kept ------------------------------------------------------------------------------------------


async def test_a_supplier_is_added_once_and_a_different_one_cannot_take_its_name(uow: UnitOfWork) -> None:
    fields = SupplierFields("Nordic Audio GmbH", "orders@nordic.example", 21)
    first = await add_supplier(uow, fields, MERCHANT)
    again = await add_supplier(uow, fields, MERCHANT)
    assert first.changed and not again.changed and again.supplier.id == first.supplier.id
    with pytest.raises(SupplierNameTaken):
        await add_supplier(uow, replace(fields, lead_time_days=30), MERCHANT)
    assert [supplier.name for supplier in await list_suppliers(uow)] == ["Nordic Audio GmbH"]


async def test_updating_a_supplier_changes_its_details_and_is_audited(uow: UnitOfWork, session_factory: Sessions) -> None:
    supplier = (await add_supplier(uow, SupplierFields("Nordic Audio"), MERCHANT)).supplier
    await add_supplier(uow, SupplierFields("Kitchen Works"), MERCHANT)
    updated = await update_supplier(uow, supplier.id, SupplierFields("Nordic Audio", "+49 30 1234", 14), MERCHANT)
    assert (updated.supplier.contact, updated.supplier.lead_time_days) == ("+49 30 1234", 14)
    assert not (await update_supplier(uow, supplier.id, SupplierFields("Nordic Audio", "+49 30 1234", 14), MERCHANT)).changed
    with pytest.raises(SupplierNameTaken):
        await update_supplier(uow, supplier.id, SupplierFields("Kitchen Works"), MERCHANT)
    with pytest.raises(SupplierNotFound):
        await update_supplier(uow, 999_999, SupplierFields("Nobody"), MERCHANT)
    assert len(await readback.audit_entries(session_factory, "supplier.updated")) == 1


async def test_products_get_a_default_supplier_that_their_new_purchase_orders_take(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    await add_product(session, "HS-200")
    await add_product(session, "HS-120")
    await session.commit()
    supplier = (await add_supplier(uow, SupplierFields("Nordic Audio"), MERCHANT)).supplier
    with pytest.raises(ProductNotFound):
        await assign_products(uow, supplier.id, ["HS-200", "NOPE"], MERCHANT)
    assert (await list_suppliers(uow))[0].skus == ()  # all or nothing
    assigned = await assign_products(uow, supplier.id, ["HS-200", "HS-120"], MERCHANT)
    assert assigned.supplier.skus == ("HS-120", "HS-200")
    await add_purchase_order(uow, "PO-1", "HS-200", 5, date(2026, 12, 4), MERCHANT)
    async with session_factory() as check:
        purchase_order = (await check.execute(select(PurchaseOrder).where(PurchaseOrder.reference == "PO-1"))).scalar_one()
    assert purchase_order.supplier_id == supplier.id
    assert purchase_order.first_expected_on == date(2026, 12, 4)
    with pytest.raises(SupplierInUse):
        await remove_supplier(uow, supplier.id, MERCHANT)


async def test_a_store_naming_suppliers_adds_those_it_lacks_and_moves_products_to_them(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    for sku in ("HS-200", "HS-120", "MX-500"):
        await add_product(session, sku)
    await session.commit()
    nordic = (await add_supplier(uow, SupplierFields("Nordic Audio", lead_time_days=21), MERCHANT)).supplier
    store = Actor.system()

    moved = await assign_suppliers_by_name(
        uow, {"HS-200": "Nordic Audio", "HS-120": "Nordic Audio", "MX-500": "Casa Cucina", "GONE-1": "Elsewhere"}, store
    )
    again = await assign_suppliers_by_name(uow, {"HS-200": "Nordic Audio", "MX-500": "Casa Cucina"}, store)

    assert (moved, again) == (3, 0)
    suppliers = {supplier.name: supplier for supplier in await list_suppliers(uow)}
    assert {name: (s.skus, s.lead_time_days) for name, s in suppliers.items()} == {
        "Casa Cucina": (("MX-500",), None), "Nordic Audio": (("HS-120", "HS-200"), 21),
    }  # a SKU the shop does not have adds no supplier
    assert suppliers["Nordic Audio"].id == nordic.id
    async with session_factory() as check:
        actions = (await check.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions[-3:] == ["supplier.added", "supplier.products_assigned", "supplier.products_assigned"]


async def test_imported_purchase_orders_take_the_default_supplier_and_count_their_date_moves(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    await add_product(session, "HS-200")
    await session.commit()
    supplier = (await add_supplier(uow, SupplierFields("Nordic Audio"), MERCHANT)).supplier
    await assign_products(uow, supplier.id, ["HS-200"], MERCHANT)
    header = "reference,sku,quantity,expected_on\n"

    await import_purchase_orders(uow, header + "PO-1,HS-200,5,2026-12-04\n", MERCHANT)
    await import_purchase_orders(uow, header + "PO-1,HS-200,5,2026-12-11\n", MERCHANT)
    await import_purchase_orders(uow, header + "PO-1,HS-200,6,2026-12-18\n", MERCHANT)

    async with session_factory() as check:
        purchase_order = (await check.execute(select(PurchaseOrder).where(PurchaseOrder.reference == "PO-1"))).scalar_one()
    assert purchase_order.supplier_id == supplier.id
    assert (purchase_order.first_expected_on, purchase_order.expected_on) == (date(2026, 12, 4), date(2026, 12, 18))
    assert (purchase_order.date_moves, purchase_order.quantity) == (2, 6)


async def test_a_supplier_nothing_refers_to_can_be_removed(uow: UnitOfWork) -> None:
    supplier = (await add_supplier(uow, SupplierFields("Gone Soon"), MERCHANT)).supplier
    await remove_supplier(uow, supplier.id, MERCHANT)
    assert await list_suppliers(uow) == []
    with pytest.raises(SupplierNotFound):
        await remove_supplier(uow, supplier.id, MERCHANT)


# ---- the track record ---------------------------------------------------------------------------------------


async def test_the_record_counts_lateness_against_the_first_and_the_last_promised_date(
    session: AsyncSession, session_factory: Sessions, history_clock: ManualClock
) -> None:
    await add_product(session, "MX-500")
    await session.commit()
    uow = uow_at(session_factory, history_clock)
    supplier = (await add_supplier(uow, SupplierFields("Kitchen Works"), MERCHANT)).supplier
    await assign_products(uow, supplier.id, ["MX-500"], MERCHANT)
    # Due 8 Sep, moved twice to 12 Sep, arrives 14 Sep: 6 days late against the first date, 2 against the last.
    await add_purchase_order(uow, "PO-MOVED", "MX-500", 5, date(2026, 9, 8), MERCHANT)
    await move_purchase_order(uow, "PO-MOVED", date(2026, 9, 10), MERCHANT)
    await move_purchase_order(uow, "PO-MOVED", date(2026, 9, 12), MERCHANT)
    history_clock.advance(days=13)
    await receive_purchase_order(uow, "PO-MOVED", MERCHANT)

    performance = await supplier_performance(uow, supplier.id)
    (shipment,) = performance.record.shipments
    assert (shipment.first_expected_on, shipment.last_expected_on, shipment.received_on) == (
        date(2026, 9, 8), date(2026, 9, 12), date(2026, 9, 14),
    )
    assert (shipment.days_late_vs_first, shipment.days_late, shipment.date_moves) == (6, 2, 2)
    assert performance.record.on_time_rate == 0.0


async def test_on_time_rate_median_percentile_and_trend_over_the_window(
    session: AsyncSession, session_factory: Sessions, history_clock: ManualClock
) -> None:
    await add_product(session, "MX-500")
    await session.commit()
    uow = uow_at(session_factory, history_clock, window_days=60)
    supplier = (await add_supplier(uow, SupplierFields("Kitchen Works"), MERCHANT)).supplier
    await assign_products(uow, supplier.id, ["MX-500"], MERCHANT)
    # Two early ones that will fall out of a 60-day window, then six getting later.
    await play_history(uow, history_clock, "MX-500", [-2, -2], "OLD")
    history_clock.advance(days=45)
    await play_history(uow, history_clock, "MX-500", [0, 0, 1, 3, 4, 6], "NEW")

    record = (await supplier_performance(uow, supplier.id)).record
    assert [shipment.days_late for shipment in record.shipments] == [0, 0, 1, 3, 4, 6]
    assert record.on_time_rate == pytest.approx(2 / 6)
    assert record.median_days_late == 2.0
    assert record.p80_days_late == 4  # nearest rank: the 5th of 6
    assert record.trend == Trend.WORSENING


def test_the_slip_is_the_configured_percentile_once_the_record_is_long_enough() -> None:
    shipments = tuple(
        ReceivedShipment(f"PO-{late}", "MX-500", date(2026, 9, 1), date(2026, 9, 1), date(2026, 9, 1 + late), 0)
        for late in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
    )
    record = TrackRecord(shipments, 180, date(2026, 3, 1))
    assert record.eta_slip_days(SupplierRecordRules(slip_percentile=90)) == 8
    assert record.eta_slip_days(SupplierRecordRules(slip_percentile=80)) == 7
    assert record.eta_slip_days(SupplierRecordRules(minimum_received=11)) is None
    assert record.eta_slip_days(SupplierRecordRules(adjust_etas=False)) is None
    two_days_early = ReceivedShipment("PO", "X", date(2026, 9, 5), date(2026, 9, 5), date(2026, 9, 3), 0)
    early = TrackRecord((two_days_early,) * 5, 180, date(2026, 3, 1))
    assert early.eta_slip_days(SupplierRecordRules()) == 0  # early suppliers do not bring ETAs forward


def test_percentile_is_the_nearest_rank() -> None:
    assert percentile([], 80) is None
    assert percentile([5], 80) == 5
    assert percentile([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 80) == 7
    assert percentile([3, -1, 2, 0, 1], 80) == 2


# ---- ETAs that allow for it -----------------------------------------------------------------------------------


async def habitually_late_shop(
    session: AsyncSession, session_factory: Sessions, clock: ManualClock, **rules: object
) -> tuple[UnitOfWork, int, list[int]]:
    """HS-200 from a supplier whose last five shipments came 3 days late, two customers waiting, a shipment due
    in a week."""
    product = await add_product(session, "HS-200")
    await add_product(session, "HS-OLD")
    customer = await add_customer(session)
    line_ids = []
    for index in range(2):
        placed_at = minutes_after(SHOP_TZ_CLOCK_START - timedelta(days=1), index)
        order = await add_order(session, customer, [(product, 1)], placed_at=placed_at, number=f"W-{index}")
        line_ids.append(order.lines[0].id)
    await session.commit()
    uow = uow_at(session_factory, clock, **rules)
    supplier = (await add_supplier(uow, SupplierFields("Slow Sounds Ltd"), MERCHANT)).supplier
    await assign_products(uow, supplier.id, ["HS-200", "HS-OLD"], MERCHANT)
    await add_purchase_order(uow, "PO-DUE", "HS-200", 2, clock.today() + timedelta(days=60), MERCHANT)
    await play_history(uow, clock, "HS-OLD", [3, 3, 2, 3, 3], "HIST")
    return uow, customer.id, line_ids


async def test_an_eta_on_a_habitually_late_suppliers_shipment_allows_for_its_slip(
    session: AsyncSession, session_factory: Sessions, history_clock: ManualClock
) -> None:
    uow, customer_id, line_ids = await habitually_late_shop(session, session_factory, history_clock)
    due = date(2026, 10, 31)  # 60 days after 1 September
    for line_id in line_ids:
        line = await readback.line(session_factory, line_id)
        assert (line.eta, line.eta_basis) == (due + timedelta(days=3 + 1), EtaBasis.PURCHASE_ORDER)
    view = await get_line_view(uow, customer_id, line_ids[1])
    assert (view.purchase_order_expected_on, view.supplier_slip_days) == (due, 3)
    assert (view.queue_position, view.queue_size) == (2, 2)  # nobody changes place
    async with session_factory() as check:
        reasons = (await check.execute(select(EtaChange.reason).where(EtaChange.line_id == line_ids[0]).order_by(EtaChange.id))).scalars().all()
    assert reasons[-1] == "supplier_record"


async def test_a_record_shorter_than_the_minimum_leaves_etas_on_the_promised_date(
    session: AsyncSession, session_factory: Sessions, history_clock: ManualClock
) -> None:
    _, _, line_ids = await habitually_late_shop(session, session_factory, history_clock, minimum_received=6)
    assert (await readback.line(session_factory, line_ids[0])).eta == date(2026, 11, 1)


async def test_turning_the_adjustment_off_takes_the_slip_out_at_the_next_refresh(
    session: AsyncSession, session_factory: Sessions, history_clock: ManualClock
) -> None:
    await habitually_late_shop(session, session_factory, history_clock)
    moves = await refresh_supplier_slips(uow_at(session_factory, history_clock, adjust_etas=False))
    assert {(move.old_eta, move.new_eta, move.reason) for move in moves} == {
        (date(2026, 11, 4), date(2026, 11, 1), "supplier_record")
    }
    # The daily recompute does not put it back.
    await recompute_all_etas(uow_at(session_factory, history_clock, adjust_etas=False))
    assert {(await readback.line(session_factory, move.line_id)).eta for move in moves} == {date(2026, 11, 1)}
