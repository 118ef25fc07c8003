"""A merchant's CSV exports: imported whole or not at all, every bad row named, and safe to import twice."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.audit import Actor
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake.csv_import import (
    ImportResult,
    import_orders,
    import_products,
    import_purchase_orders,
)
from bot.services.unit_of_work import UnitOfWork
from db.migrate import upgrade
from db.models import (
    ActorType,
    AuditEntry,
    Customer,
    EtaBasis,
    EtaChange,
    LineStatus,
    Order,
    OrderLine,
    Product,
    ProductSubstitute,
    PurchaseOrder,
    PurchaseOrderStatus,
    StockLevel,
)
from tests.cli_runner import run_cli
from tests.import_cases import ORDER_TIMES_OUTSIDE_REASON
from tests.row_counts import row_counts
from tests.shop import add_customer, add_order, add_product

Sessions = async_sessionmaker[AsyncSession]
FIXTURES = Path(__file__).parent.parent / "fixtures" / "csv"
MERCHANT = Actor.merchant("test")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8-sig")


async def rejected(import_call) -> set[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """The (row, column) pairs an import refused; fails the test if it was accepted."""
    with pytest.raises(ImportRejected) as refusal:
        await import_call
    return {(problem.row, problem.field) for problem in refusal.value.problems}


async def products_by_sku(sessions: Sessions) -> dict[str, Product]:
    async with sessions() as session:
        rows = await session.execute(select(Product))
        return {product.sku: product for product in rows.scalars()}


async def stock(sessions: Sessions, sku: str) -> int:
    async with sessions() as session:
        return (
            await session.execute(
                select(StockLevel.available)
                .join(Product, Product.id == StockLevel.product_id)
                .where(Product.sku == sku)
            )
        ).scalar_one()


async def substitutes(sessions: Sessions, sku: str) -> list[str]:
    async with sessions() as session:
        product = (await session.execute(select(Product).where(Product.sku == sku))).scalar_one()
        rows = await session.execute(
            select(Product.sku)
            .join(ProductSubstitute, ProductSubstitute.substitute_id == Product.id)
            .where(ProductSubstitute.product_id == product.id)
            .order_by(ProductSubstitute.rank)
        )
        return list(rows.scalars())


async def lines_of(sessions: Sessions, order_number: str) -> dict[str, OrderLine]:
    async with sessions() as session:
        rows = await session.execute(
            select(Product.sku, OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Order.number == order_number)
        )
        return {sku: line for sku, line in rows}


async def audit_actions(sessions: Sessions) -> list[tuple[str, ActorType, str | None]]:
    async with sessions() as session:
        rows = await session.execute(select(AuditEntry).order_by(AuditEntry.id))
        return [(entry.action, entry.actor_type, entry.actor_id) for entry in rows.scalars()]


async def shop_with_orders(uow: UnitOfWork) -> None:
    await import_products(uow, fixture("products.csv"), MERCHANT)
    await import_orders(uow, fixture("orders.csv"), MERCHANT, "DE")


# --- products ----------------------------------------------------------------------------------------------


async def test_products_are_created_with_prices_in_cents_tags_substitutes_and_stock(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    result = await import_products(uow, fixture("products.csv"), MERCHANT)

    assert result.created == ("HS-200", "HS-120", "EB-300", "EB-150", "MX-500")
    products = await products_by_sku(session_factory)
    headset = products["HS-200"]
    assert (headset.name, headset.category, headset.price_minor, headset.currency) == (
        "Studio Pro Wireless Headset",
        "audio",
        14900,
        "EUR",
    )
    assert headset.tags == ["headset", "wireless", "noise-cancelling"]
    assert headset.lead_time_days == 28
    assert products["MX-500"].name == "ProMix Stand Mixer, 5 L"  # a quoted comma stays in the name
    assert await substitutes(session_factory, "EB-300") == ["EB-150", "HS-120"]  # in the merchant's order
    assert await stock(session_factory, "EB-150") == 20
    actions = await audit_actions(session_factory)
    assert actions.count(("product.created", ActorType.MERCHANT, "test")) == 5


async def test_an_excel_export_with_bom_semicolons_and_decimal_commas_reads_the_same(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    result = await import_products(uow, fixture("products-excel.csv"), MERCHANT)

    assert len(result.created) == 5
    products = await products_by_sku(session_factory)
    assert products["HS-200"].price_minor == 14900
    assert products["HS-120"].price_minor == 8900  # "89" is 89.00
    assert products["HS-200"].currency == "EUR"  # "eur" in the file
    assert products["MX-500"].name == "ProMix Stand Mixer, 5 L"
    assert await substitutes(session_factory, "EB-300") == ["EB-150", "HS-120"]


async def test_importing_the_same_products_again_changes_nothing(uow: UnitOfWork, session_factory: Sessions) -> None:
    await import_products(uow, fixture("products.csv"), MERCHANT)
    before = await row_counts(session_factory)
    stamps = {sku: product.updated_at for sku, product in (await products_by_sku(session_factory)).items()}

    again = await import_products(uow, fixture("products.csv"), MERCHANT)

    assert not again.changed
    assert set(again.unchanged) == {"HS-200", "HS-120", "EB-300", "EB-150", "MX-500"}
    assert await row_counts(session_factory) == before
    assert {sku: product.updated_at for sku, product in (await products_by_sku(session_factory)).items()} == stamps


async def test_changed_products_are_updated_and_the_change_is_audited(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    await import_products(uow, fixture("products.csv"), MERCHANT)
    clock.advance(hours=1)
    changed = (
        fixture("products.csv")
        .replace("HS-200,Studio Pro Wireless Headset,audio,149.00", "HS-200,Studio Pro Wireless Headset,audio,139.00")
        .replace("EB-150|HS-120,3", "HS-120|EB-150,3")
    )

    result = await import_products(uow, changed, MERCHANT)

    assert set(result.updated) == {"HS-200", "EB-300"}
    products = await products_by_sku(session_factory)
    assert products["HS-200"].price_minor == 13900
    assert products["HS-200"].updated_at == clock.now()
    assert products["HS-120"].updated_at < clock.now()
    assert await substitutes(session_factory, "EB-300") == ["HS-120", "EB-150"]
    async with session_factory() as session:
        entries = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "product.updated"))
        ).scalars()
        changes = {entry.entity_id: entry.details["changes"] for entry in entries}
    assert changes == {
        "HS-200": {"price_minor": [14900, 13900]},
        "EB-300": {"substitutes": [["EB-150", "HS-120"], ["HS-120", "EB-150"]]},
    }


async def test_products_without_the_optional_columns_keep_their_tags_and_stock(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await import_products(uow, fixture("products.csv"), MERCHANT)

    result = await import_products(
        uow, "sku,name,category,price,currency,lead_time_days\nEB-150,AirBeat Lite,audio,79.00,EUR,14\n", MERCHANT
    )

    assert result.updated == ("EB-150",)
    product = (await products_by_sku(session_factory))["EB-150"]
    assert product.name == "AirBeat Lite"
    assert product.tags == ["earbuds", "wireless"]
    assert await stock(session_factory, "EB-150") == 20


async def test_stock_in_a_products_file_serves_the_waiting_lines_first(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    product = await add_product(session, "HS-200", price=14900, lead_time_days=28)
    customer = await add_customer(session)
    order = await add_order(session, customer, [(product, 2)])
    await session.commit()

    result = await import_products(uow, fixture("products.csv").replace("HS-120,0", "HS-120,5"), MERCHANT)

    assert "HS-200" in result.updated
    assert sum(change.allocated_now for change in result.allocations) == 2
    line = (await lines_of(session_factory, order.number))["HS-200"]
    assert (line.status, line.allocated_quantity) == (LineStatus.ALLOCATED, 2)
    assert await stock(session_factory, "HS-200") == 3


async def test_a_bad_products_file_names_every_bad_row_and_writes_nothing(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await import_products(uow, fixture("products.csv"), MERCHANT)
    before = await row_counts(session_factory)
    text = (
        "sku,name,category,price,currency,lead_time_days,tags,substitutes,available\n"
        "HS-200,Studio Pro Wireless Headset,audio,99.00,EUR,28,,,\n"  # good: would lower the price
        "NEW-1,New thing,audio,abc,EUR,14,,,\n"
        "NEW-2,Other thing,audio,19.999,EUR,14,,,\n"
        "NEW-3,Third thing,audio,19.99,EURO,-3,,,\n"
        "NEW-4,,audio,19.99,EUR,14,,GONE-9|HS-120,\n"
        "NEW-5,Fifth thing,audio,19.99,EUR,14,,NEW-5,2.5\n"
        "\n"
        "HS-200,Studio Pro Wireless Headset,audio,149.00,EUR,28,,,\n"
    )

    problems = await rejected(import_products(uow, text, MERCHANT))

    assert problems == {
        (3, "price"),
        (4, "price"),
        (5, "currency"),
        (5, "lead_time_days"),
        (6, "name"),
        (6, "substitutes"),
        (7, "substitutes"),
        (7, "available"),
        (9, "sku"),  # the blank row 8 still counts, as in a spreadsheet
    }
    assert await row_counts(session_factory) == before
    assert (await products_by_sku(session_factory))["HS-200"].price_minor == 14900


async def test_every_problem_says_what_is_wrong(uow: UnitOfWork) -> None:
    text = "sku,name,category,price,currency,lead_time_days,substitutes\nA-1,A,audio,19.999,EUR,14,B-9\n"
    with pytest.raises(ImportRejected) as refusal:
        await import_products(uow, text, MERCHANT)
    assert set(refusal.value.problems) == {
        RowProblem(2, "price", "19.999 has more decimals than EUR has (2)"),
        RowProblem(2, "substitutes", "B-9 is not a SKU of this file or of the shop"),
    }


async def test_a_bad_header_is_refused_before_any_row(uow: UnitOfWork) -> None:
    text = "sku,name,category,currency,lead_time_days,stock\nA-1,A,audio,EUR,14,3\n"
    with pytest.raises(ImportRejected) as refusal:
        await import_products(uow, text, MERCHANT)
    assert {(problem.row, problem.field) for problem in refusal.value.problems} == {(1, "stock"), (1, "price")}


async def test_an_empty_file_is_refused(uow: UnitOfWork) -> None:
    assert await rejected(import_products(uow, "\ufeff\n", MERCHANT)) == {(1, "")}


# --- orders ------------------------------------------------------------------------------------------------


async def test_orders_take_stock_in_queue_order_and_the_rest_waits_with_an_eta(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    await import_products(uow, fixture("products.csv"), MERCHANT)

    result = await import_orders(uow, fixture("orders.csv"), MERCHANT, "DE")

    assert result.created == ("5001", "5002", "5003")
    assert result.customers_created == 3
    anna, ben, clara = [await lines_of(session_factory, number) for number in ("5001", "5002", "5003")]
    # In stock: served at once.
    assert (anna["EB-150"].status, anna["EB-150"].allocated_quantity) == (LineStatus.ALLOCATED, 1)
    # 3 earbuds: Ben ordered 2 first, Clara's 2 came later and get the last one.
    assert (ben["EB-300"].status, ben["EB-300"].allocated_quantity) == (LineStatus.ALLOCATED, 2)
    assert (clara["EB-300"].status, clara["EB-300"].allocated_quantity) == (LineStatus.PARTIALLY_ALLOCATED, 1)
    # Nothing in stock and no purchase order: estimated from the supplier's lead time.
    headset = anna["HS-200"]
    assert headset.status == LineStatus.BACKORDERED
    assert (headset.eta, headset.eta_basis) == (clock.today() + timedelta(days=28), EtaBasis.LEAD_TIME)
    assert clara["MX-500"].eta == clock.today() + timedelta(days=42)
    assert await stock(session_factory, "EB-300") == 0
    async with session_factory() as session:
        reasons = set((await session.execute(select(EtaChange.reason))).scalars())
    assert reasons == {"orders_imported"}


async def test_imported_customers_are_matched_by_email_with_their_phone_in_e164(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await shop_with_orders(uow)
    async with session_factory() as session:
        customers = {c.email: c for c in (await session.execute(select(Customer))).scalars()}
        placed = {o.number: o.placed_at for o in (await session.execute(select(Order))).scalars()}

    assert set(customers) == {"anna@example.com", "ben.carter@example.com", "clara@example.com"}
    assert customers["anna@example.com"].phone == "+4915123456789"
    assert (customers["anna@example.com"].name, customers["anna@example.com"].language) == ("Anna Klein", "de")
    assert customers["ben.carter@example.com"].phone == "+442079460321"
    assert customers["clara@example.com"].phone is None
    assert placed["5001"].isoformat() == "2026-11-20T08:15:00+00:00"
    assert placed["5003"].isoformat() == "2026-11-21T23:00:00+00:00"  # a date alone is midnight in Berlin


async def test_a_known_customer_gets_missing_details_but_keeps_the_rest(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    await add_customer(session, "Anna K.", email="anna@example.com")
    await session.commit()

    result = await import_products(uow, fixture("products.csv"), MERCHANT)
    result = await import_orders(uow, fixture("orders.csv"), MERCHANT, "DE")

    assert result.customers_created == 2
    async with session_factory() as session:
        anna = (await session.execute(select(Customer).where(Customer.email == "anna@example.com"))).scalar_one()
    assert (anna.name, anna.phone, anna.language) == ("Anna K.", "+4915123456789", "de")


async def test_importing_the_same_orders_again_changes_nothing(uow: UnitOfWork, session_factory: Sessions) -> None:
    await shop_with_orders(uow)
    before = await row_counts(session_factory)
    lines_before = await lines_of(session_factory, "5003")

    again = await import_orders(uow, fixture("orders.csv"), MERCHANT, "DE")

    assert not again.changed
    assert again.unchanged == ("5001", "5002", "5003")
    assert (again.customers_created, again.allocations, again.eta_moves) == (0, (), ())
    assert await row_counts(session_factory) == before
    lines_after = await lines_of(session_factory, "5003")
    assert {sku: (line.status, line.eta, line.updated_at) for sku, line in lines_after.items()} == {
        sku: (line.status, line.eta, line.updated_at) for sku, line in lines_before.items()
    }


async def test_an_order_already_imported_with_other_lines_is_a_row_error(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await shop_with_orders(uow)
    before = await row_counts(session_factory)
    text = fixture("orders.csv").replace("de,EB-150,1,79.00", "de,EB-150,2,79.00") + (
        "5004,2026-11-23,dora@example.com,Dora Lang,,de,HS-120,1,89.00,EUR\n"
    )

    with pytest.raises(ImportRejected) as refusal:
        await import_orders(uow, text, MERCHANT, "DE")

    assert {(p.row, p.field) for p in refusal.value.problems} == {(2, "order_number"), (3, "order_number")}
    assert "order 5001 is already in the shop with other lines (differing: EB-150)" in refusal.value.problems[0].reason
    assert await row_counts(session_factory) == before  # order 5004 was not created either


async def test_a_bad_orders_file_names_every_bad_row_and_writes_nothing(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await import_products(uow, fixture("products.csv"), MERCHANT)
    before = await row_counts(session_factory)

    problems = await rejected(import_orders(uow, fixture("orders-with-errors.csv"), MERCHANT, "DE"))

    assert problems == {
        (3, "quantity"),
        (4, "customer_email"),
        (5, "customer_phone"),
        (5, "sku"),
        (6, "sku"),  # the same order and SKU as row 2
        (7, "placed_at"),
        (7, "customer_language"),
        (7, "currency"),
    }
    assert await row_counts(session_factory) == before


async def test_rows_of_one_order_must_agree_and_orders_cannot_come_from_the_future(
    uow: UnitOfWork, clock: ManualClock
) -> None:
    await import_products(uow, fixture("products.csv"), MERCHANT)
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    text = (
        "order_number,placed_at,customer_email,customer_name,sku,quantity,unit_price,currency\n"
        "7001,2026-11-20,a@example.com,A,HS-120,1,89.00,EUR\n"
        "7001,2026-11-21,b@example.com,A,EB-150,1,79.00,EUR\n"
        f"7002,{tomorrow},a@example.com,A,HS-120,1,89.00,EUR\n"
    )

    assert await rejected(import_orders(uow, text, MERCHANT, "DE")) == {
        (3, "placed_at"),
        (3, "customer_email"),
        (4, "placed_at"),
    }


# --- purchase orders ---------------------------------------------------------------------------------------


async def test_purchase_orders_turn_estimated_etas_into_confirmed_ones(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await shop_with_orders(uow)

    result = await import_purchase_orders(uow, fixture("purchase-orders.csv"), MERCHANT)

    assert result.created == ("PO-7001", "PO-7002", "PO-7003")
    headset = (await lines_of(session_factory, "5001"))["HS-200"]
    assert (headset.eta, headset.eta_basis) == (date(2026, 12, 5), EtaBasis.PURCHASE_ORDER)  # due 4 Dec + 1 day
    clara = await lines_of(session_factory, "5003")
    assert (clara["EB-300"].eta, clara["EB-300"].eta_basis) == (date(2026, 12, 19), EtaBasis.PURCHASE_ORDER)
    assert (clara["MX-500"].eta, clara["MX-500"].eta_basis) == (date(2027, 1, 16), EtaBasis.PURCHASE_ORDER)
    assert {move.order_number for move in result.eta_moves} == {"5001", "5003"}


async def test_purchase_orders_are_moved_resized_and_cancelled_by_reference(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    await shop_with_orders(uow)
    await import_purchase_orders(uow, fixture("purchase-orders.csv"), MERCHANT)
    before = await row_counts(session_factory)
    text = (
        "reference,sku,quantity,expected_on,status\n"
        "PO-7001,HS-200,5,2026-12-11,open\n"
        "PO-7002,EB-300,10,2026-12-18,cancelled\n"
        "PO-7003,MX-500,8,2027-01-15,open\n"
    )

    result = await import_purchase_orders(uow, text, MERCHANT)

    assert (result.updated, result.cancelled, result.created) == (("PO-7001", "PO-7003"), ("PO-7002",), ())
    headset = (await lines_of(session_factory, "5001"))["HS-200"]
    assert headset.eta == date(2026, 12, 12)
    earbuds = (await lines_of(session_factory, "5003"))["EB-300"]
    assert (earbuds.eta, earbuds.eta_basis) == (clock.today() + timedelta(days=21), EtaBasis.LEAD_TIME)
    async with session_factory() as session:
        history = {
            (change.line_id, change.reason)
            for change in (await session.execute(select(EtaChange).where(EtaChange.changed_at == clock.now())))
            .scalars()
        }
        statuses = {po.reference: po.status for po in (await session.execute(select(PurchaseOrder))).scalars()}
    assert (headset.id, "purchase_order_moved") in history
    assert (earbuds.id, "purchase_order_cancelled") in history
    assert statuses["PO-7002"] == PurchaseOrderStatus.CANCELLED
    counts = await row_counts(session_factory)
    assert counts["purchase_orders"] == before["purchase_orders"]
    assert counts["audit_log"] == before["audit_log"] + 3

    again = await import_purchase_orders(uow, text, MERCHANT)
    assert not again.changed
    assert await row_counts(session_factory) == counts


async def test_importing_the_same_purchase_orders_again_changes_nothing(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await shop_with_orders(uow)
    await import_purchase_orders(uow, fixture("purchase-orders.csv"), MERCHANT)
    before = await row_counts(session_factory)

    again = await import_purchase_orders(uow, fixture("purchase-orders.csv"), MERCHANT)

    assert isinstance(again, ImportResult) and not again.changed
    assert again.unchanged == ("PO-7001", "PO-7002", "PO-7003")
    assert await row_counts(session_factory) == before


async def test_a_bad_purchase_orders_file_names_every_bad_row_and_writes_nothing(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await shop_with_orders(uow)
    await import_purchase_orders(uow, fixture("purchase-orders.csv"), MERCHANT)
    before = await row_counts(session_factory)
    text = (
        "reference;sku;quantity;expected_on;status\n"
        "PO-8001;HS-120;5;2026-12-10;\n"  # good
        "PO-8002;NOPE;5;2026-12-10;\n"
        "PO-8003;HS-120;0;04.12.2026;\n"
        "PO-8004;HS-120;3;2026-02-30;received\n"
        "PO-8001;HS-120;5;2026-12-10;\n"
        "PO-7001;EB-150;5;2026-12-04;open\n"  # a known reference cannot move to another SKU
    )

    problems = await rejected(import_purchase_orders(uow, text, MERCHANT))

    assert problems == {
        (3, "sku"),
        (4, "quantity"),
        (4, "expected_on"),
        (5, "expected_on"),
        (5, "status"),
        (6, "reference"),
        (7, "sku"),
    }
    assert await row_counts(session_factory) == before


async def test_a_cancelled_purchase_order_is_not_reopened(uow: UnitOfWork) -> None:
    await shop_with_orders(uow)
    cancelled = "reference,sku,quantity,expected_on,status\nPO-1,HS-200,5,2026-12-04,cancelled\n"
    await import_purchase_orders(uow, cancelled, MERCHANT)

    assert await rejected(
        import_purchase_orders(uow, "reference,sku,quantity,expected_on\nPO-1,HS-200,5,2026-12-04\n", MERCHANT)
    ) == {(2, "status")}


# --- the backorder-bot command -----------------------------------------------------------------------------


def test_the_import_command_lists_every_bad_row_and_exits_1(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(cli_database)
    assert run_cli("import", "products", str(FIXTURES / "products.csv")) == 0
    capsys.readouterr()

    code = run_cli("import", "orders", str(FIXTURES / "orders-with-errors.csv"))

    err = capsys.readouterr().err
    assert code == 1
    assert "nothing was changed" in err
    for row in (3, 4, 5, 6, 7):
        assert f"row {row}, " in err
    assert "row 2," not in err
    assert "row 3, quantity: 'two' is not a whole number" in err


def test_the_import_command_prints_what_it_did(cli_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(cli_database)

    assert run_cli("import", "products", str(FIXTURES / "products-excel.csv")) == 0
    assert "5 created" in capsys.readouterr().out
    assert run_cli("import", "products", str(FIXTURES / "products.csv")) == 0
    assert "nothing changed" in capsys.readouterr().out


def test_a_file_that_is_not_utf8_is_refused_with_a_hint(
    cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(cli_database)
    latin1 = tmp_path / "products.csv"
    text = "sku,name,category,price,currency,lead_time_days\nK-1,Küche,kitchen,1.00,EUR,3\n"
    latin1.write_bytes(text.encode("latin-1"))

    assert run_cli("import", "products", str(latin1)) == 1
    assert "CSV UTF-8" in capsys.readouterr().err


def test_a_command_on_an_unmigrated_database_exits_2_naming_the_upgrade(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli("import", "products", str(FIXTURES / "products.csv"))

    assert code == 2
    assert "backorder-bot db upgrade" in capsys.readouterr().err



# --- input no column can hold --------------------------------------------------------------------------------


async def test_a_nul_character_in_any_cell_is_a_row_error_and_writes_nothing(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    before = await row_counts(session_factory)
    text = (
        "sku,name,category,price,currency,lead_time_days,tags\n"
        "A-1,Good thing,audio,19.99,EUR,14,\n"
        "A-2,Bad\x00thing,audio,19.99,EUR,14,x\x00y\n"
    )

    with pytest.raises(ImportRejected) as refusal:
        await import_products(uow, text, MERCHANT)

    assert {(p.row, p.field) for p in refusal.value.problems} == {(3, "name"), (3, "tags")}
    assert all("NUL character" in problem.reason for problem in refusal.value.problems)
    assert await row_counts(session_factory) == before


@pytest.mark.parametrize(("placed_at", "reason"), ORDER_TIMES_OUTSIDE_REASON)
async def test_an_order_placed_outside_reason_is_a_row_error_naming_the_window(
    uow: UnitOfWork, session_factory: Sessions, placed_at: str, reason: str
) -> None:
    await import_products(uow, fixture("products.csv"), MERCHANT)
    before = await row_counts(session_factory)
    text = (
        "order_number,placed_at,customer_email,customer_name,sku,quantity,unit_price,currency\n"
        f"7001,{placed_at},a@example.com,A,HS-120,1,89.00,EUR\n"
    )

    with pytest.raises(ImportRejected) as refusal:
        await import_orders(uow, text, MERCHANT, "DE")

    assert refusal.value.problems == (RowProblem(2, "placed_at", reason),)
    assert await row_counts(session_factory) == before


async def test_a_purchase_order_due_years_away_is_a_row_error_naming_the_window(uow: UnitOfWork) -> None:
    await shop_with_orders(uow)
    text = "reference,sku,quantity,expected_on\nPO-1,HS-200,5,9999-12-31\nPO-2,HS-200,5,2024-01-01\n"

    with pytest.raises(ImportRejected) as refusal:
        await import_purchase_orders(uow, text, MERCHANT)

    assert refusal.value.problems == (
        RowProblem(2, "expected_on", "9999-12-31 is outside the dates a purchase order may be due (2025-11-27 to 2029-11-26)"),
        RowProblem(3, "expected_on", "2024-01-01 is outside the dates a purchase order may be due (2025-11-27 to 2029-11-26)"),
    )
