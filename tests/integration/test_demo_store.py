"""The demo store: a believable shop in every state the bot shows, the same each time, loaded only once."""

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.backorders.alternatives import list_alternatives
from bot.services.backorders.status import get_backorder_status, get_order_status
from bot.services.errors import DemoNeedsEmptyShop
from bot.services.intake.demo_store import DEMO_CUSTOMERS, seed_demo_store
from bot.services.purchasing.merchant_digest import weekly_digest
from bot.services.purchasing.reorder_suggestions import reorder_suggestions
from bot.services.purchasing.supplier_record import Trend
from bot.services.purchasing.suppliers import list_suppliers, supplier_performance
from bot.services.unit_of_work import UnitOfWork
from db.migrate import upgrade
from db.models import (
    OPEN_LINE_STATUSES,
    Base,
    Customer,
    EtaBasis,
    LineStatus,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderStatus,
    Refund,
    RefundStatus,
    StockLevel,
)
from tests.cli_runner import run_cli
from tests.row_counts import row_counts
from tests.shop import add_product

Sessions = async_sessionmaker[AsyncSession]
README = Path(__file__).parents[2] / "README.md"


def readme_section(heading: str) -> str:
    return README.read_text(encoding="utf-8").split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


async def all_of(sessions: Sessions, model: type[Base]) -> list:  # type: ignore[type-arg]
    async with sessions() as session:
        return list((await session.execute(select(model))).scalars())


async def customer_id(sessions: Sessions, email: str) -> int:
    async with sessions() as session:
        return (await session.execute(select(Customer.id).where(Customer.email == email))).scalar_one()


async def test_the_demo_store_is_a_whole_shop(uow: UnitOfWork, session_factory: Sessions, clock: ManualClock) -> None:
    summary = await seed_demo_store(uow)

    products = await all_of(session_factory, Product)
    orders = await all_of(session_factory, Order)
    assert summary.created
    assert (summary.products, summary.customers, summary.orders) == (len(products), 120, len(orders))
    assert len(products) == 36
    assert {p.category for p in products} == {"audio", "phones", "kitchen", "outdoor", "toys", "office"}
    assert all(p.currency == "EUR" and p.price_minor > 0 and p.tags for p in products)
    assert len(orders) == 300
    assert len({o.customer_id for o in orders}) > 100
    assert all(clock.now() - timedelta(days=61) < o.placed_at < clock.now() for o in orders)
    described = readme_section("## Demo store")
    for figure in (f"{summary.products} products", f"{summary.customers} customers", f"{summary.orders} orders",
                   f"{summary.waiting_lines} items", f"{summary.purchase_orders} open purchase orders",
                   f"{summary.suppliers} suppliers"):
        assert figure in described, f"README's demo store section does not say {figure!r}"  # fmt: skip


async def test_the_demo_store_shows_every_state_a_backorder_can_be_in(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    await seed_demo_store(uow)

    lines = await all_of(session_factory, OrderLine)
    by_status = {status: [line for line in lines if line.status == status] for status in LineStatus}
    waiting = [line for line in lines if line.status in OPEN_LINE_STATUSES]
    assert by_status[LineStatus.SHIPPED] and by_status[LineStatus.CANCELLED] and by_status[LineStatus.ALLOCATED]
    assert by_status[LineStatus.PARTIALLY_ALLOCATED] and by_status[LineStatus.BACKORDERED]
    assert any(line.eta_basis == EtaBasis.PURCHASE_ORDER for line in waiting)
    assert any(line.eta_basis == EtaBasis.LEAD_TIME for line in waiting)
    open_purchase_orders = [
        po for po in await all_of(session_factory, PurchaseOrder) if po.status == PurchaseOrderStatus.OPEN
    ]
    due_in = {(po.expected_on - clock.today()).days for po in open_purchase_orders}
    assert min(due_in) <= 5 and max(due_in) >= 28
    supplied = {po.product_id for po in open_purchase_orders}
    assert {line.product_id for line in waiting} - supplied, "some waiting SKUs have no purchase order"


async def test_the_demo_data_is_consistent(uow: UnitOfWork, session_factory: Sessions) -> None:
    await seed_demo_store(uow)

    lines = await all_of(session_factory, OrderLine)
    stock = {level.product_id: level.available for level in await all_of(session_factory, StockLevel)}
    open_purchase_orders = {
        po.id: po for po in await all_of(session_factory, PurchaseOrder) if po.status == PurchaseOrderStatus.OPEN
    }
    waiting = [line for line in lines if line.status in OPEN_LINE_STATUSES]
    assert all(line.eta is not None and line.eta_basis is not None for line in waiting)
    # Stock on hand has been handed to the queue: no SKU has both units left and someone waiting.
    assert not {line.product_id for line in waiting if stock[line.product_id] > 0}
    for line in waiting:
        if line.eta_basis == EtaBasis.PURCHASE_ORDER:
            assert open_purchase_orders[line.eta_purchase_order_id].product_id == line.product_id
    assert all(line.allocated_quantity == line.quantity for line in lines if line.status == LineStatus.SHIPPED)
    refunds = {refund.line_id for refund in await all_of(session_factory, Refund)}
    assert refunds == {line.id for line in lines if line.status == LineStatus.CANCELLED}


async def test_anna_is_third_in_line_for_a_headset_a_supplier_shipment_brings(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    await seed_demo_store(uow)

    status = await get_backorder_status(uow, await customer_id(session_factory, "anna@example.com"))

    [headset] = status.waiting
    assert (headset.order_number, headset.sku, headset.queue_position) == ("1042", "AUD-HS-200", 3)
    assert (headset.eta_basis, headset.purchase_order_reference) == (EtaBasis.PURCHASE_ORDER, "PO-2026-118")
    assert headset.eta == clock.today() + timedelta(days=10)  # due in 9 days, plus a day's handling


async def test_ben_waits_for_part_of_his_earbuds_with_cheaper_ones_in_stock(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await seed_demo_store(uow)
    ben = await customer_id(session_factory, "ben@example.com")

    order = await get_order_status(uow, ben, "1043")
    statuses = {line.sku: (line.status, line.allocated_quantity, line.open_quantity) for line in order.lines}
    assert statuses == {
        "PHN-CH-65": (LineStatus.ALLOCATED, 1, 0),
        "AUD-EB-300": (LineStatus.PARTIALLY_ALLOCATED, 1, 1),
    }
    earbuds = next(line for line in order.lines if line.sku == "AUD-EB-300")
    offered = (await list_alternatives(uow, ben, earbuds.line_id)).alternatives
    merchant_choices = [a for a in offered if a.is_merchant_choice]
    assert [a.sku for a in merchant_choices] == ["AUD-EB-150", "AUD-EB-220"]
    assert all(a.unit_price_minor < earbuds.unit_price_minor and a.refund_minor > 0 for a in merchant_choices)


async def test_bens_earbuds_come_from_a_supplier_running_late_and_his_eta_allows_for_it(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    await seed_demo_store(uow)

    ben = await get_backorder_status(uow, await customer_id(session_factory, "ben@example.com"))
    anna = await get_backorder_status(uow, await customer_id(session_factory, "anna@example.com"))

    [earbuds] = ben.waiting
    assert (earbuds.purchase_order_reference, earbuds.purchase_order_expected_on) == (
        "PO-2026-124", clock.today() + timedelta(days=26)
    )
    # Nordic Audio's shipments came 2 to 4 days late: its slip is 4 days, on top of a day's handling.
    assert (earbuds.supplier_slip_days, earbuds.eta) == (4, clock.today() + timedelta(days=31))
    [headset] = anna.waiting  # Studio Sound delivers on time: Anna's date is the one it promised
    assert not headset.supplier_slip_days and headset.eta == clock.today() + timedelta(days=10)


async def test_the_demo_suppliers_have_a_track_record_to_show_and_reorder_and_the_digest_use_it(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await seed_demo_store(uow)

    suppliers = {supplier.name: supplier for supplier in await list_suppliers(uow)}
    records = {name: (await supplier_performance(uow, supplier.id)).record for name, supplier in suppliers.items()}
    assert {name: (record.received, supplier.eta_slip_days) for (name, record), supplier in zip(
        records.items(), suppliers.values(), strict=True
    )} == {
        "Alpen Outdoor": (6, 9), "Casa Cucina": (2, None), "Nordic Audio AB": (6, 4), "Studio Sound GmbH": (6, 0),
    }  # fmt: skip
    assert (records["Nordic Audio AB"].median_days_late, records["Nordic Audio AB"].trend) == (3, Trend.WORSENING)
    assert records["Studio Sound GmbH"].on_time_rate == 1.0 and records["Alpen Outdoor"].date_moves == 3
    assert "AUD-EB-300" in suppliers["Nordic Audio AB"].skus

    suggestions = {suggestion.sku: suggestion for suggestion in await reorder_suggestions(uow)}
    speakers = suggestions["AUD-SP-400"]  # 13 waiting, 10 coming from Nordic Audio
    assert (speakers.supplier_name, speakers.supplier_days_late, speakers.lead_time_days) == ("Nordic Audio AB", 3, 24)
    digest = await weekly_digest(uow)
    assert [supplier.name for supplier in digest.slipping] == ["Nordic Audio AB", "Alpen Outdoor"]


async def test_clara_has_only_estimated_etas_and_in_stock_alternatives(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await seed_demo_store(uow)
    clara = await customer_id(session_factory, "clara@example.com")

    status = await get_backorder_status(uow, clara)

    assert {line.sku for line in status.waiting} == {"KIT-MX-500", "OUT-TN-200"}
    assert all(line.eta_basis == EtaBasis.LEAD_TIME and not line.eta_confirmed for line in status.waiting)
    offered = {line.sku: (await list_alternatives(uow, clara, line.line_id)).alternatives for line in status.waiting}
    # Only products of the same kind: a smaller mixer for the mixer (never a knife or a kettle), a bigger tent
    # for the tent (never a sleeping bag, though it is camping gear too).
    assert {sku: [a.sku for a in alternatives] for sku, alternatives in offered.items()} == {
        "KIT-MX-500": ["KIT-MX-300"],
        "OUT-TN-200": ["OUT-TN-300"],
    }


async def test_david_has_a_shipped_order_and_emma_a_cancelled_item_and_one_due_soon(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    await seed_demo_store(uow)

    david = await get_backorder_status(uow, await customer_id(session_factory, "david@example.com"))
    assert not david.waiting
    assert [(line.order_number, line.sku, line.status) for line in david.recently_resolved] == [
        ("1045", "OUT-SB-05", LineStatus.SHIPPED)
    ]
    emma_id = await customer_id(session_factory, "emma@example.com")
    emma = await get_backorder_status(uow, emma_id)
    [fryer] = emma.waiting
    assert (fryer.sku, fryer.purchase_order_reference, fryer.eta) == (
        "KIT-AF-55",
        "PO-2026-131",
        clock.today() + timedelta(days=4),
    )
    [chair] = emma.recently_resolved
    assert (chair.sku, chair.status) == ("OFF-CH-900", LineStatus.CANCELLED)
    [refund] = [r for r in await all_of(session_factory, Refund) if r.line_id == chair.line_id]
    assert (refund.status, refund.amount_minor) == (RefundStatus.OWED, 32900)


async def test_seeding_again_says_so_and_changes_nothing(uow: UnitOfWork, session_factory: Sessions) -> None:
    await seed_demo_store(uow)
    before = await row_counts(session_factory)

    again = await seed_demo_store(uow)

    assert not again.created
    assert await row_counts(session_factory) == before


async def test_the_demo_store_is_the_same_every_time(
    uow: UnitOfWork, session_factory: Sessions, engine: AsyncEngine
) -> None:
    async def snapshot() -> list[tuple]:  # type: ignore[type-arg]
        async with session_factory() as session:
            rows = await session.execute(
                select(Order.number, Customer.email, Customer.phone, Order.placed_at, Product.sku, OrderLine.quantity,
                       OrderLine.status, OrderLine.eta, OrderLine.eta_basis)
                .join(Customer, Customer.id == Order.customer_id)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .join(Product, Product.id == OrderLine.product_id)
                .order_by(Order.number, Product.sku)
            )  # fmt: skip
            return [tuple(row) for row in rows]

    await seed_demo_store(uow)
    first = await snapshot()
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())
    await seed_demo_store(uow)

    assert await snapshot() == first


async def test_the_demo_is_not_loaded_over_a_merchants_own_data(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    await add_product(session, "MERCHANT-1")
    await session.commit()
    before = await row_counts(session_factory)

    with pytest.raises(DemoNeedsEmptyShop):
        await seed_demo_store(uow)

    assert await row_counts(session_factory) == before


def test_the_readme_lists_the_demo_customers_as_they_are() -> None:
    section = readme_section("## Demo store")
    for customer in DEMO_CUSTOMERS:
        assert customer.name in section and customer.email in section and customer.phone in section
        assert all(number in section for number in customer.order_numbers)


def test_the_seed_command_loads_the_demo_once(cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(cli_database)

    assert run_cli("seed", "--demo") == 0
    assert "Demo store loaded: 36 products" in capsys.readouterr().out
    assert run_cli("seed", "--demo") == 0
    assert "already loaded" in capsys.readouterr().out
