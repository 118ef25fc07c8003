"""The steps a large purchase-orders import is written in through the staging table (catalogue_staging).

Its planned rows name a supplier the shop may not have yet by name (written as its id by then); dates travel as ISO
text and statuses as their values, and every row gets the run's commit time as it is written.
"""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update

from bot.services.audit import Actor, AuditFact, record_all
from bot.services.intake.catalogue_staging import SETTLE_STEP, CatalogueKind, Step, write_suppliers
from bot.services.intake.shop_lookup import execute_in_sets, rows_in
from bot.services.purchasing.suppliers import supplier_ids_by_name
from bot.services.unit_of_work import UnitOfWork
from db.bulk_rows import insert_rows
from db.models import PurchaseOrder, PurchaseOrderStatus

# A new purchase order's columns, then when it was written.
ADDED_COLUMNS = (
    "reference", "product_id", "supplier_id", "first_expected_on", "date_moves", "quantity", "received_quantity",
    "expected_on", "status",
)
WRITTEN_AT = ("created_at", "updated_at")
_DATES = ("first_expected_on", "expected_on")

SUPPLIERS, PURCHASE_ORDERS_STEP, SETTLE = range(3)
# How a purchase order's row writes it: added, changed (or cancelled), or changed with a moved date.
ADD, CHANGE, MOVE = "add", "change", "move"


def added_details(sku: str, quantity: int, expected_on: str, status: str, supplier: str | None) -> dict[str, Any]:
    """What a new purchase order's purchase_order.added entry says."""
    details: dict[str, Any] = {"sku": sku, "quantity": quantity, "expected_on": expected_on, "status": status}
    if supplier is not None:
        details["supplier"] = supplier
    return details


def staged_added(added: tuple[Any, ...], sku: str) -> list[Any]:
    """A planned new purchase order (of ADDED_COLUMNS) as its row: [ADD, reference, product id, supplier's id or
    name, expected on, quantity, status, SKU]; its audit entry is made from it as it is written."""
    reference, product_id, supplier, _, _, quantity, _, expected_on, status, *_ = added
    return [ADD, reference, product_id, supplier, expected_on.isoformat(), quantity, status, sku]


def staged_values(values: dict[str, Any]) -> dict[str, Any]:
    """A planned row (by column) as its payload: JSON, without when it is written."""
    staged = {column: value for column, value in values.items() if column not in WRITTEN_AT}
    for column in _DATES:
        if isinstance(staged.get(column), date):
            staged[column] = staged[column].isoformat()
    return staged


async def _supplier_ids(uow: UnitOfWork, actor: Actor, now: datetime, suppliers: Iterable[Any]) -> dict[str, int]:
    """The ids of the suppliers named (a str among ids and None), added by the suppliers step already."""
    names = {supplier for supplier in suppliers if isinstance(supplier, str)}
    return await supplier_ids_by_name(uow.session, names, actor, now) if names else {}


async def _written_values(uow: UnitOfWork, actor: Actor, now: datetime, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The payloads as rows to write: dates, statuses and suppliers' ids again, written now."""
    supplier_ids = await _supplier_ids(uow, actor, now, (row.get("supplier_id") for row in rows))
    written = []
    for row in rows:
        values = dict(row, updated_at=now)
        for column in _DATES:
            if column in values:
                values[column] = date.fromisoformat(values[column])
        if "status" in values:
            values["status"] = PurchaseOrderStatus(values["status"])
        if isinstance(values.get("supplier_id"), str):
            values["supplier_id"] = supplier_ids[values["supplier_id"]]
        written.append(values)
    return written


async def _write_purchase_orders(uow: UnitOfWork, actor: Actor, now: datetime, rows: list[Any]) -> None:
    """New purchase orders (staged_added) and [CHANGE or MOVE, values by column, [audit action, reference, details]],
    in the file's order, with their audit entries."""
    adds = [row for row in rows if row[0] == ADD]
    # A purchase order another import added after this run's commit (its own commit came first) stays as it wrote it.
    if taken := await _references_in_shop(uow, [row[1] for row in adds]):
        rows = [row for row in rows if row[0] != ADD or row[1] not in taken]
        adds = [row for row in adds if row[1] not in taken]
    # One received or cancelled since the file was checked stays so: the file's change was planned for an open one.
    if closed := await _closed_meanwhile(uow, [row[1] for row in rows if row[0] != ADD]):
        rows = [row for row in rows if row[0] == ADD or row[1]["purchase_order_id"] not in closed]
    supplier_ids = await _supplier_ids(uow, actor, now, (row[3] for row in adds))
    changed = await _written_values(uow, actor, now, [row[1] for row in rows if row[0] == CHANGE])
    moved = await _written_values(uow, actor, now, [row[1] for row in rows if row[0] == MOVE])
    session = uow.session
    added = (_added(row, supplier_ids, now) for row in adds)
    await insert_rows(session, PurchaseOrder.__table__, ADDED_COLUMNS + WRITTEN_AT, added)
    await execute_in_sets(session, CHANGED_STATEMENT, changed)
    await execute_in_sets(session, MOVED_STATEMENT, moved)
    await record_all(session, actor, now, (_fact(row) for row in rows))


async def _closed_meanwhile(uow: UnitOfWork, planned: list[dict[str, Any]]) -> set[int]:
    """Of the open purchase orders the file changes, the ids of those no longer open, or received beyond the file's
    quantity for them: what the check would now refuse."""
    quantities = {values["purchase_order_id"]: values.get("quantity") for values in planned}
    found = await rows_in(
        uow.session,
        list(quantities),
        lambda among: select(_table.c.id, _table.c.status, _table.c.received_quantity).where(among(_table.c.id)),
    )
    return {
        found_id
        for found_id, status, received in found
        if status != PurchaseOrderStatus.OPEN or (quantities[found_id] or received) < received
    }


async def _references_in_shop(uow: UnitOfWork, references: list[str]) -> set[str]:
    table = PurchaseOrder.__table__
    found = await rows_in(uow.session, references, lambda among: select(table.c.reference).where(among(table.c.reference)))
    return {reference for reference, in found}


def _added(row: list[Any], supplier_ids: dict[str, int], now: datetime) -> tuple[Any, ...]:
    """A staged_added row as the purchase order's columns (ADDED_COLUMNS + WRITTEN_AT)."""
    _, reference, product_id, supplier, expected_on, quantity, status, _ = row
    if isinstance(supplier, str):
        supplier = supplier_ids[supplier]
    on = date.fromisoformat(expected_on)
    return (reference, product_id, supplier, on, 0, quantity, 0, on, PurchaseOrderStatus(status), now, now)


def _fact(row: list[Any]) -> AuditFact:
    if row[0] == ADD:
        _, reference, _, supplier, expected_on, quantity, status, sku = row
        named = supplier if isinstance(supplier, str) else None  # a default supplier is not named in the entry
        return AuditFact("purchase_order.added", "purchase_order", reference, added_details(sku, quantity, expected_on, status, named))
    action, reference, details = row[2]
    return AuditFact(action, "purchase_order", reference, details)


_table = PurchaseOrder.__table__
CHANGED_STATEMENT = update(_table).where(_table.c.id == bindparam("purchase_order_id"))
# A moved date is kept as the first promised one (if none is yet) before it is overwritten.
MOVED_STATEMENT = (
    update(_table)
    .where(_table.c.id == bindparam("purchase_order_id"))
    .values(first_expected_on=func.coalesce(_table.c.first_expected_on, _table.c.expected_on), date_moves=_table.c.date_moves + 1)
)


PURCHASE_ORDERS = CatalogueKind(
    name="purchase-orders",
    steps=(Step(write_suppliers), Step(_write_purchase_orders), SETTLE_STEP),
    added_to=PurchaseOrder.reference,
    counted_step=PURCHASE_ORDERS_STEP,
    added_meanwhile="purchase order {key} was added to the shop while this file was imported",
)
