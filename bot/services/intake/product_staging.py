"""The steps a large products import is written in through the staging table (catalogue_staging), and the writes
they share with a batch written in one transaction."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, AuditFact, record_all
from bot.services.intake.catalogue_staging import (
    SETTLE_STEP,
    CatalogueKind,
    Step,
    write_suppliers,
)
from bot.services.intake.shop_lookup import execute_in_sets, rows_in
from bot.services.purchasing.suppliers import supplier_ids_by_name
from bot.services.unit_of_work import UnitOfWork
from db.bulk_rows import insert_rows
from db.models import Product, ProductSubstitute, StockLevel

FIELDS = ("name", "category", "price_minor", "currency", "lead_time_days", "tags")

# A new product as it is staged, after its SKU.
NEW_PRODUCT = FIELDS + ("supplier", "available", "substitutes")

# The steps, in the order they are written: suppliers before the products naming them, every product before the
# substitutes pointing at it, and stock and ETAs last.
SUPPLIERS, PRODUCTS_STEP, SUBSTITUTES, SETTLE = range(4)
_SUPPLIER, _AVAILABLE = NEW_PRODUCT.index("supplier"), NEW_PRODUCT.index("available")


def created_details(new: Sequence[Any]) -> dict[str, Any]:
    """What a new product's product.created entry says (`new` as NEW_PRODUCT)."""
    name, _, price_minor, currency, lead_time_days, _, supplier, available, substitutes = new
    details = {
        "name": name,
        "price_minor": price_minor,
        "currency": currency,
        "lead_time_days": lead_time_days,
        "substitutes": substitutes,
        "available": available,
    }
    if supplier:
        details["supplier"] = supplier
    return details


def column_values(changed: Mapping[str, list[Any]], supplier_ids: Mapping[str | None, int]) -> dict[str, Any]:
    """A product's changed fields as its columns: a new supplier name as that supplier's id."""
    values = {field: new for field, (_, new) in changed.items() if field != "supplier"}
    if "supplier" in changed:
        values["supplier_id"] = supplier_ids[changed["supplier"][1]]
    return values


async def write_substitutes(
    session: AsyncSession, ids: Mapping[str, int], replacing: Sequence[tuple[str, Sequence[str]]]
) -> None:
    """Replace the substitutes of these products (SKU, its substitutes' SKUs best first)."""
    table = ProductSubstitute.__table__
    await execute_in_sets(
        session,
        delete(table).where(table.c.product_id == bindparam("replaced")),
        [{"replaced": ids[sku]} for sku, _ in replacing],
    )
    rows = [
        {"product_id": ids[sku], "substitute_id": ids[substitute], "rank": rank}
        for sku, substitutes in replacing
        for rank, substitute in enumerate(substitutes)
    ]
    await execute_in_sets(session, insert(ProductSubstitute), rows)


async def _supplier_ids(uow: UnitOfWork, actor: Actor, now: datetime, names: Iterable[str | None]) -> dict[str | None, int]:
    """The ids of the named suppliers, added by the suppliers step already."""
    named = {name for name in names if name}
    return dict(await supplier_ids_by_name(uow.session, named, actor, now)) if named else {}


def staged_product(
    sku: str,
    *,
    new: list[Any] | None = None,
    product_id: int | None = None,
    fields_changed: dict[str, list[Any]] | None = None,
    stock: tuple[str, int] | None = None,
    audit: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A product's row of the products step: a new product (NEW_PRODUCT, with its stock row and audit entry made
    from it) or a known one's id and changed fields ({field: [old, new]}), its stock row added or counted (["add" or
    "count", available]) and the details of its product.updated entry."""
    payload: dict[str, Any] = {"sku": sku}
    for key, value in (("new", new), ("id", product_id), ("set", fields_changed), ("stock", stock), ("audit", audit)):
        if value:
            payload[key] = value
    return payload


async def _write_products(uow: UnitOfWork, actor: Actor, now: datetime, products: list[dict[str, Any]]) -> None:
    """The chunk's new products and changed ones, their stock rows and their audit entries, in the file's order."""
    session = uow.session
    names = [given["new"][_SUPPLIER] for given in products if "new" in given]
    names += [given["set"]["supplier"][1] for given in products if "supplier" in given.get("set", {})]
    supplier_ids = await _supplier_ids(uow, actor, now, names)
    new = [given for given in products if "new" in given]
    # A product another import added after this run's commit (its own commit came first) stays as it wrote it.
    if taken := await _product_ids(session, [given["sku"] for given in new]):
        products = [given for given in products if "new" not in given or given["sku"] not in taken]
        new = [given for given in new if given["sku"] not in taken]
    await insert_rows(
        session,
        Product.__table__,
        FIELDS + ("sku", "supplier_id", "created_at", "updated_at"),
        (
            (*given["new"][: len(FIELDS)], given["sku"], supplier_ids.get(given["new"][_SUPPLIER]), now, now)
            for given in new
        ),
    )
    ids = await _product_ids(session, [given["sku"] for given in new])
    table = Product.__table__
    await execute_in_sets(
        session,
        update(table).where(table.c.id == bindparam("product_id")),
        (
            {"product_id": given["id"], "updated_at": now} | column_values(given["set"], supplier_ids)
            for given in products
            if "set" in given
        ),
    )
    stock = [given for given in products if "stock" in given]
    added = (
        (ids[given["sku"]], given["new"][_AVAILABLE], now) if "new" in given else (given["id"], given["stock"][1], now)
        for given in products
        if "new" in given or ("stock" in given and given["stock"][0] == "add")
    )
    await insert_rows(session, StockLevel.__table__, ("product_id", "available", "updated_at"), added)
    stock_table = StockLevel.__table__
    await execute_in_sets(
        session,
        update(stock_table).where(stock_table.c.product_id == bindparam("stocked")),
        (
            {"stocked": given["id"], "available": given["stock"][1], "updated_at": now}
            for given in stock
            if given["stock"][0] == "count"
        ),
    )
    facts = (
        AuditFact("product.created", "product", given["sku"], created_details(given["new"]))
        if "new" in given
        else AuditFact("product.updated", "product", given["sku"], given["audit"])
        for given in products
    )
    await record_all(session, actor, now, facts)


async def _write_staged_substitutes(uow: UnitOfWork, actor: Actor, now: datetime, replacing: list[Any]) -> None:
    """[SKU, [substitutes' SKUs]] each: every product is in the shop by this step, those later in the file too."""
    skus = {sku for sku, _ in replacing} | {sku for _, substitutes in replacing for sku in substitutes}
    await write_substitutes(uow.session, await _product_ids(uow.session, skus), replacing)


async def _product_ids(session: AsyncSession, skus: Iterable[str]) -> dict[str, int]:
    """By SKU; selected from the table, not through the ORM, whose handling of each row cost more than the lookup."""
    table = Product.__table__
    return dict(await rows_in(session, skus, lambda among: select(table.c.sku, table.c.id).where(among(table.c.sku))))


PRODUCTS = CatalogueKind(
    name="products",
    steps=(Step(write_suppliers), Step(_write_products), Step(_write_staged_substitutes), SETTLE_STEP),
    added_to=Product.sku,
    counted_step=PRODUCTS_STEP,
    added_meanwhile="product {key} was added to the shop while this file was imported",
)

