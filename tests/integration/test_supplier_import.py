"""Suppliers named in products and purchase-orders files: found or added by name in the import's own transaction,
a repeat changes nothing, a change is audited, an empty cell keeps what is there, a bad name is a row error.

Today is Friday 27 November 2026 in Berlin.
"""

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.audit import Actor
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake.csv_import import import_products, import_purchase_orders
from bot.services.purchasing.purchase_orders import receive_purchase_order
from bot.services.purchasing.suppliers import SupplierFields, add_supplier
from bot.services.unit_of_work import UnitOfWork
from db.models import AuditEntry, Product, PurchaseOrder, Supplier
from tests.row_counts import row_counts

Sessions = async_sessionmaker[AsyncSession]
MERCHANT = Actor.merchant("test")
PRODUCTS = "sku,name,category,price,currency,lead_time_days,supplier\n"
PURCHASE_ORDERS = "reference,sku,quantity,expected_on,supplier\n"


def products(*rows: tuple[str, str]) -> str:
    """A products file of (SKU, supplier cell) rows."""
    return PRODUCTS + "".join(f"{sku},Product {sku},audio,19.90,EUR,21,{supplier}\n" for sku, supplier in rows)


async def supplier_of(sessions: Sessions, model: type[Product] | type[PurchaseOrder]) -> dict[str, str | None]:
    """Each product's default supplier, or each purchase order's supplier, by name."""
    key = Product.sku if model is Product else PurchaseOrder.reference
    async with sessions() as session:
        rows = await session.execute(select(key, Supplier.name).outerjoin(Supplier, Supplier.id == model.supplier_id))
        return dict(rows.all())


async def audit(sessions: Sessions, *actions: str) -> list[tuple[str, str, dict]]:
    async with sessions() as session:
        rows = await session.execute(
            select(AuditEntry).where(AuditEntry.action.in_(actions)).order_by(AuditEntry.id)
        )
        return [(entry.action, entry.entity_id, entry.details) for entry in rows.scalars()]


async def test_products_name_their_supplier_and_those_the_shop_lacks_are_added(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    nordic = (await add_supplier(uow, SupplierFields("Nordic Audio AB", lead_time_days=21), MERCHANT)).supplier

    result = await import_products(
        uow, products(("HS-200", "Nordic Audio AB"), ("HS-120", "Studio Sound GmbH"), ("EB-300", ""),
                      ("EB-150", "Studio Sound GmbH")),
        MERCHANT,
    )

    assert result.created == ("HS-200", "HS-120", "EB-300", "EB-150")
    assert await supplier_of(session_factory, Product) == {
        "HS-200": "Nordic Audio AB", "HS-120": "Studio Sound GmbH", "EB-300": None, "EB-150": "Studio Sound GmbH",
    }
    async with session_factory() as session:
        suppliers = dict((await session.execute(select(Supplier.name, Supplier.id))).all())
    assert suppliers["Nordic Audio AB"] == nordic.id  # found by name, not added twice
    added = await audit(session_factory, "supplier.added")
    assert added[1:] == [("supplier.added", str(suppliers["Studio Sound GmbH"]), {"name": "Studio Sound GmbH"})]
    created = await audit(session_factory, "product.created")
    assert created[0][2]["supplier"] == "Nordic Audio AB" and "supplier" not in created[2][2]


async def test_the_same_supplier_again_changes_nothing_and_a_new_one_is_an_audited_change(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await import_products(uow, products(("HS-200", "Nordic Audio AB"), ("HS-120", "Nordic Audio AB")), MERCHANT)
    before = await row_counts(session_factory)

    again = await import_products(uow, products(("HS-200", "Nordic Audio AB"), ("HS-120", "Nordic Audio AB")), MERCHANT)
    assert (again.changed, again.unchanged) == (False, ("HS-200", "HS-120"))
    assert await row_counts(session_factory) == before

    moved = await import_products(uow, products(("HS-200", "Studio Sound GmbH"), ("HS-120", "")), MERCHANT)

    assert (moved.updated, moved.unchanged) == (("HS-200",), ("HS-120",))  # an empty cell keeps the supplier
    assert await supplier_of(session_factory, Product) == {"HS-200": "Studio Sound GmbH", "HS-120": "Nordic Audio AB"}
    assert (await audit(session_factory, "product.updated")) == [
        ("product.updated", "HS-200", {"changes": {"supplier": ["Nordic Audio AB", "Studio Sound GmbH"]}})
    ]


async def test_a_file_without_the_supplier_column_keeps_every_supplier(uow: UnitOfWork, session_factory: Sessions) -> None:
    await import_products(uow, products(("HS-200", "Nordic Audio AB")), MERCHANT)

    result = await import_products(
        uow, "sku,name,category,price,currency,lead_time_days\nHS-200,Product HS-200,audio,19.90,EUR,21\n", MERCHANT
    )

    assert not result.changed
    assert await supplier_of(session_factory, Product) == {"HS-200": "Nordic Audio AB"}


async def test_a_bad_supplier_name_is_a_row_error_and_no_supplier_is_added(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    before = await row_counts(session_factory)
    file_text = products(("HS-200", "Nordic Audio AB"), ("HS-120", "x" * 201), ("EB-300", '"Studio\x00Sound"'))

    with pytest.raises(ImportRejected) as refusal:
        await import_products(uow, file_text, MERCHANT)

    assert list(refusal.value.problems) == [
        RowProblem(3, "supplier", "is longer than 200 characters"),
        RowProblem(4, "supplier", "contains a NUL character (\\x00), which text cannot hold"),
    ]
    assert await row_counts(session_factory) == before


async def test_a_dry_run_adds_no_supplier(uow: UnitOfWork, session_factory: Sessions) -> None:
    before = await row_counts(session_factory)

    result = await import_products(uow, products(("HS-200", "Nordic Audio AB")), MERCHANT, dry_run=True)

    assert result.created == ("HS-200",)
    assert await row_counts(session_factory) == before


async def test_purchase_orders_name_their_supplier_or_take_the_products_default(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await import_products(uow, products(("HS-200", "Nordic Audio AB"), ("HS-120", "")), MERCHANT)

    created = await import_purchase_orders(
        uow,
        PURCHASE_ORDERS + "PO-1,HS-200,5,2026-12-04,\nPO-2,HS-200,5,2026-12-11,Studio Sound GmbH\n"
        "PO-3,HS-120,2,2026-12-04,\n",
        MERCHANT,
    )
    again = await import_purchase_orders(
        uow, PURCHASE_ORDERS + "PO-1,HS-200,5,2026-12-04,Nordic Audio AB\nPO-2,HS-200,5,2026-12-11,\n", MERCHANT
    )
    moved = await import_purchase_orders(
        uow, PURCHASE_ORDERS + "PO-1,HS-200,5,2026-12-04,Studio Sound GmbH\nPO-3,HS-120,2,2026-12-04,Casa Cucina\n",
        MERCHANT,
    )

    assert created.created == ("PO-1", "PO-2", "PO-3")
    assert (again.changed, again.unchanged) == (False, ("PO-1", "PO-2"))
    assert moved.updated == ("PO-1", "PO-3")
    assert await supplier_of(session_factory, PurchaseOrder) == {
        "PO-1": "Studio Sound GmbH", "PO-2": "Studio Sound GmbH", "PO-3": "Casa Cucina",
    }
    assert await supplier_of(session_factory, Product) == {"HS-200": "Nordic Audio AB", "HS-120": None}
    updates = await audit(session_factory, "purchase_order.updated")
    assert [details for _, _, details in updates] == [
        {"changes": {"supplier": ["Nordic Audio AB", "Studio Sound GmbH"]}},
        {"changes": {"supplier": [None, "Casa Cucina"]}},
    ]


async def test_a_received_purchase_order_cannot_change_its_supplier(
    uow: UnitOfWork, session_factory: Sessions
) -> None:
    await import_products(uow, products(("HS-200", "")), MERCHANT)
    await import_purchase_orders(uow, PURCHASE_ORDERS + "PO-1,HS-200,5,2026-12-04,Nordic Audio AB\n", MERCHANT)
    await receive_purchase_order(uow, "PO-1", MERCHANT)
    before = await row_counts(session_factory)

    same = await import_purchase_orders(uow, PURCHASE_ORDERS + "PO-1,HS-200,5,2026-12-04,Nordic Audio AB\n", MERCHANT)
    with pytest.raises(ImportRejected) as refusal:
        await import_purchase_orders(uow, PURCHASE_ORDERS + "PO-1,HS-200,5,2026-12-04,Casa Cucina\n", MERCHANT)

    assert not same.changed
    assert list(refusal.value.problems) == [
        RowProblem(2, "reference", "purchase order PO-1 has been received in full and cannot change")
    ]
    assert await row_counts(session_factory) == before
