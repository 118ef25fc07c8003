"""Supplier purchase orders in by reference: added, moved, resized or cancelled, then the ETAs they feed
recomputed. All or nothing."""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, AuditFact, record_all
from bot.services.backorders.eta import (
    REASON_PURCHASE_ORDER_ADDED,
    EtaMove,
    REASON_PURCHASE_ORDER_CANCELLED,
    REASON_PURCHASE_ORDER_MOVED,
)
from bot.services.backorders.notifications import notify_stock_and_eta_changes
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake.abandoned_imports import finish_abandoned_runs
from bot.services.intake.catalogue_staging import Staged, settling, staged_from, supplier_names, write_staged
from bot.services.intake.import_records import (
    NO_PROGRESS,
    BadRow,
    Batch,
    ImportProgress,
    ImportResult,
    PurchaseOrderRecord,
)
from bot.services.intake.record_checks import check_batch, check_purchase_order
from bot.services.intake.shop_lookup import (
    LARGE_BATCH,
    REASON_PURCHASE_ORDERS_IMPORTED,
    execute_in_sets,
    note_reason,
    recompute_for_reasons,
    rows_in,
    unknown_skus,
)
from bot.services.intake.purchase_order_staging import (
    ADDED_COLUMNS,
    CHANGE,
    CHANGED_STATEMENT,
    MOVE,
    MOVED_STATEMENT,
    PURCHASE_ORDERS,
    PURCHASE_ORDERS_STEP,
    SETTLE,
    SUPPLIERS,
    WRITTEN_AT,
    added_details,
    staged_added,
    staged_values,
)
from bot.services.purchasing.suppliers import supplier_ids_by_name
from bot.services.unit_of_work import UnitOfWork
from db.bulk_rows import insert_rows
from db.models import Product, PurchaseOrder, PurchaseOrderStatus, Supplier


async def import_purchase_order_records(
    uow: UnitOfWork,
    batch: Batch[PurchaseOrderRecord],
    actor: Actor,
    *,
    dry_run: bool = False,
    progress: ImportProgress = NO_PROGRESS,
) -> ImportResult:
    """Add, move, resize or cancel supplier purchase orders by reference, then recompute the ETAs they feed.

    With `dry_run`, nothing is written: a batch below LARGE_BATCH is done and rolled back, so the result says what
    would change; a larger one is only read, and the result leaves out the ETAs it would move.
    """
    today = uow.clock.today()
    checked = check_batch(batch, lambda given, problems: check_purchase_order(given, problems, today))
    records, problems, bad_rows = checked.records, checked.problems, checked.bad_rows
    staged = (from_ := staged_from(uow)) is not None and len(records) >= from_ and not dry_run
    if staged:  # a killed import's rows are cleared or finished first, also when this file changes nothing
        await finish_abandoned_runs(uow)
    if len(records) >= LARGE_BATCH:  # checked beside the bot's writers first; a small batch reads the shop once
        async with uow.read_only():
            products, existing = await _checked_against_shop(uow.session, records, bad_rows, problems)
        # A staged plan names the suppliers it adds; they are written as their ids (purchase_order_staging).
        names = {name: name for name in _supplier_names(records, existing)} if staged else {}
        writes = _plan(records, products, existing, names, uow.clock.now())
        would = writes.result(())
        if not would.changed or dry_run:
            progress.rows_written(len(records))
            return would
        if staged:  # written in short transactions (catalogue_staging)
            planned = _staged_writes(records, existing, writes, names)
            settled = await write_staged(uow, PURCHASE_ORDERS, planned, len(records), actor, progress)
            return writes.result(tuple(settled.eta_moves))
        # The write checks and plans again against the shop as it is then; the check's plan of a large batch, kept
        # alive beside that one, took 10 MB more at 100,000 rows.
        del writes, would, existing, products
    async with uow:
        products, existing = await _checked_against_shop(uow.session, records, bad_rows, problems)
        result = await _write_purchase_orders(uow, records, products, existing, actor)
        await notify_stock_and_eta_changes(uow, moves=result.eta_moves)
        progress.rows_written(len(records))
        if not dry_run:  # leaving the unit of work uncommitted rolls it all back
            await uow.commit()
    return result


async def _checked_against_shop(
    session: AsyncSession,
    records: Sequence[PurchaseOrderRecord],
    bad_rows: Sequence[BadRow],
    problems: Sequence[RowProblem],
) -> tuple[dict[str, tuple[int, int | None]], dict[str, "_StoredPurchaseOrder"]]:
    """The products by SKU and the purchase orders already in the shop; ImportRejected with every problem found."""
    problems = list(problems)
    named = [(po.row, po.sku) for po in records] + [(bad.row, bad.sku) for bad in bad_rows]
    products = await _products_by_sku(session, {sku for _, sku in named if sku})
    problems += unknown_skus(named, products)
    existing = await _purchase_orders_by_reference(session, {po.reference for po in records})
    for po in records:
        if po.sku in products and po.reference in existing:
            problems += [
                RowProblem(po.row, column, reason)
                for column, reason in _purchase_order_conflicts(existing[po.reference], po)
            ]
    if problems:
        raise ImportRejected(problems)
    return products, existing


async def _products_by_sku(session: AsyncSession, skus: Iterable[str]) -> dict[str, tuple[int, int | None]]:
    """Each product's id and its default supplier's, by SKU."""
    rows = await rows_in(
        session, skus, lambda among: select(Product.sku, Product.id, Product.supplier_id).where(among(Product.sku))
    )
    return {sku: (product_id, supplier_id) for sku, product_id, supplier_id in rows}


@dataclass(frozen=True, slots=True)
class _StoredPurchaseOrder:
    """A purchase order already in the shop, as far as an import compares it."""

    id: int
    reference: str
    sku: str
    product_id: int
    quantity: int
    received_quantity: int
    expected_on: date
    status: PurchaseOrderStatus
    supplier: str | None  # its supplier's name


async def _purchase_orders_by_reference(
    session: AsyncSession, references: Iterable[str]
) -> dict[str, _StoredPurchaseOrder]:
    rows = await rows_in(
        session,
        references,
        lambda among: select(
            PurchaseOrder.id,
            PurchaseOrder.reference,
            Product.sku,
            PurchaseOrder.product_id,
            PurchaseOrder.quantity,
            PurchaseOrder.received_quantity,
            PurchaseOrder.expected_on,
            PurchaseOrder.status,
            Supplier.name,
        )
        .join(Product, Product.id == PurchaseOrder.product_id)
        .outerjoin(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .where(among(PurchaseOrder.reference)),
    )
    return {row.reference: _StoredPurchaseOrder(*row) for row in rows}


def _purchase_order_conflicts(stored: _StoredPurchaseOrder, given: PurchaseOrderRecord) -> list[tuple[str, str]]:
    """Why the record cannot be applied to the purchase order already in the shop (nothing if it can)."""
    ref = stored.reference
    if stored.sku != given.sku:
        return [("sku", f"purchase order {ref} is for {stored.sku}; give this shipment a new reference")]
    same = (
        stored.quantity == given.quantity
        and stored.expected_on == given.expected_on
        and given.supplier in (None, stored.supplier)
    )
    if stored.status == PurchaseOrderStatus.CANCELLED:
        if given.status == PurchaseOrderStatus.OPEN:
            return [("status", f"purchase order {ref} was cancelled; give a new shipment a new reference")]
        return []
    if stored.status == PurchaseOrderStatus.RECEIVED:
        if same and given.status == PurchaseOrderStatus.OPEN:
            return []
        return [("reference", f"purchase order {ref} has been received in full and cannot change")]
    if given.quantity < stored.received_quantity:
        return [("quantity", f"{stored.received_quantity} units of purchase order {ref} were already received")]
    return []


_ADDED_COLUMNS = ADDED_COLUMNS + WRITTEN_AT


@dataclass
class _Writes:
    """What a purchase-order import writes, gathered before it is written as sets."""

    added: list[tuple[Any, ...]] = field(default_factory=list)  # of _ADDED_COLUMNS: a tuple is a third of a dict
    changed: list[dict[str, Any]] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)  # their date: counted in the supplier's record
    facts: list[AuditFact] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)

    def result(self, eta_moves: tuple[EtaMove, ...]) -> ImportResult:
        return ImportResult(
            kind="purchase-orders",
            created=tuple(self.created),
            updated=tuple(self.updated),
            cancelled=tuple(self.cancelled),
            unchanged=tuple(self.unchanged),
            eta_moves=eta_moves,
        )


def _plan(
    records: Sequence[PurchaseOrderRecord],
    products: dict[str, tuple[int, int | None]],
    existing: dict[str, _StoredPurchaseOrder],
    supplier_ids: Mapping[str, int | str],
    now: datetime,
) -> _Writes:
    """What the records write; a supplier missing from `supplier_ids` (not added yet) is written as None."""
    writes = _Writes()
    for given in records:
        stored = existing.get(given.reference)
        if stored is None:
            product_id, default_supplier_id = products[given.sku]
            supplier_id = default_supplier_id if given.supplier is None else supplier_ids.get(given.supplier)
            _add(writes, given, product_id, supplier_id, now)
        elif stored.status != PurchaseOrderStatus.OPEN:
            writes.unchanged.append(given.reference)
        else:
            _change(writes, stored, given, supplier_ids, now)
    return writes


async def _write_purchase_orders(
    uow: UnitOfWork,
    records: Sequence[PurchaseOrderRecord],
    products: dict[str, tuple[int, int | None]],
    existing: dict[str, _StoredPurchaseOrder],
    actor: Actor,
) -> ImportResult:
    """Insert new purchase orders and update changed ones as sets; recompute ETAs once per SKU concerned."""
    session, now = uow.session, uow.clock.now()
    supplier_ids = await _supplier_ids(session, records, existing, actor, now)
    writes = _plan(records, products, existing, supplier_ids, now)
    await insert_rows(session, PurchaseOrder.__table__, _ADDED_COLUMNS, writes.added)
    await execute_in_sets(session, CHANGED_STATEMENT, writes.changed)
    await execute_in_sets(session, MOVED_STATEMENT, writes.moved)
    await record_all(session, actor, now, writes.facts)
    return writes.result(await recompute_for_reasons(session, uow.clock, uow.policy, writes.reasons))


async def _supplier_ids(
    session: AsyncSession,
    records: list[PurchaseOrderRecord],
    existing: dict[str, _StoredPurchaseOrder],
    actor: Actor,
    now: datetime,
) -> dict[str, int]:
    """The id of every supplier named by a new purchase order or newly given to an open one that stays open, those
    not known yet added."""
    names = _supplier_names(records, existing)
    return await supplier_ids_by_name(session, names, actor, now) if names else {}


def _supplier_names(records: Sequence[PurchaseOrderRecord], existing: dict[str, _StoredPurchaseOrder]) -> set[str]:
    names = set()
    for given in records:
        stored = existing.get(given.reference)
        if given.supplier is None:
            continue
        if stored is None or (
            stored.status == given.status == PurchaseOrderStatus.OPEN and stored.supplier != given.supplier
        ):
            names.add(given.supplier)
    return names


def _staged_writes(
    records: Sequence[PurchaseOrderRecord],
    existing: dict[str, _StoredPurchaseOrder],
    writes: _Writes,
    names: Iterable[str],
) -> Iterator[Staged]:
    """What the import writes, step by step (purchase_order_staging), as it is staged: a row per purchase order
    written, with its audit entry.

    The plan's facts are in the file's order, one per purchase order written, and say which of its lists holds the
    write: an addition, a move of the date (updated with a new expected_on), or another change or a cancellation.
    """
    yield from supplier_names(SUPPLIERS, names)
    added, changed, moved = iter(writes.added), iter(writes.changed), iter(writes.moved)
    rows = (given.row for given in records if given.reference not in existing)  # those of writes.added, in order
    for fact in writes.facts:
        audit = [fact.action, fact.entity_id, fact.details]
        if fact.action == "purchase_order.added":
            payload = staged_added(next(added), fact.details["sku"])
            yield Staged(PURCHASE_ORDERS_STEP, next(rows), payload, adds=fact.entity_id)
        elif fact.action == "purchase_order.updated" and "expected_on" in fact.details["changes"]:
            yield Staged(PURCHASE_ORDERS_STEP, 0, [MOVE, staged_values(next(moved)), audit])
        else:
            yield Staged(PURCHASE_ORDERS_STEP, 0, [CHANGE, staged_values(next(changed)), audit])
    yield from settling(SETTLE, (), writes.reasons)


def _add(
    writes: _Writes, given: PurchaseOrderRecord, product_id: int, supplier_id: int | None, now: datetime
) -> None:
    """A new purchase order, from the supplier the record names or else the product's default supplier."""
    writes.added.append(
        (given.reference, product_id, supplier_id, given.expected_on, 0, given.quantity, 0, given.expected_on,
         given.status, now, now)
    )
    details = added_details(given.sku, given.quantity, given.expected_on.isoformat(), given.status.value, given.supplier)
    writes.facts.append(AuditFact("purchase_order.added", "purchase_order", given.reference, details))
    writes.created.append(given.reference)
    if given.status == PurchaseOrderStatus.OPEN:
        note_reason(writes.reasons, product_id, REASON_PURCHASE_ORDER_ADDED)


def _change(
    writes: _Writes,
    stored: _StoredPurchaseOrder,
    given: PurchaseOrderRecord,
    supplier_ids: dict[str, int],
    now: datetime,
) -> None:
    """An open purchase order cancelled, or its quantity, date or supplier changed, or left as it is."""
    if given.status == PurchaseOrderStatus.CANCELLED:
        cancel = {"purchase_order_id": stored.id, "status": PurchaseOrderStatus.CANCELLED, "updated_at": now}
        writes.changed.append(cancel)
        outstanding = {"outstanding": stored.quantity - stored.received_quantity}
        writes.facts.append(AuditFact("purchase_order.cancelled", "purchase_order", given.reference, outstanding))
        writes.cancelled.append(given.reference)
        note_reason(writes.reasons, stored.product_id, REASON_PURCHASE_ORDER_CANCELLED)
        return
    changes: dict[str, list[Any]] = {}
    values: dict[str, Any] = {}
    if stored.quantity != given.quantity:
        changes["quantity"] = [stored.quantity, given.quantity]
        values["quantity"] = given.quantity
    if stored.expected_on != given.expected_on:
        changes["expected_on"] = [stored.expected_on.isoformat(), given.expected_on.isoformat()]
        values["expected_on"] = given.expected_on
    if given.supplier is not None and stored.supplier != given.supplier:
        changes["supplier"] = [stored.supplier, given.supplier]
        values["supplier_id"] = supplier_ids.get(given.supplier)
    if not changes:
        writes.unchanged.append(given.reference)
        return
    # A moved date is kept as the first promised one (if none is yet) before it is overwritten.
    (writes.moved if "expected_on" in values else writes.changed).append(
        {"purchase_order_id": stored.id, "updated_at": now} | values
    )
    writes.facts.append(AuditFact("purchase_order.updated", "purchase_order", given.reference, {"changes": changes}))
    writes.updated.append(given.reference)
    reason = REASON_PURCHASE_ORDER_MOVED if "expected_on" in changes else REASON_PURCHASE_ORDERS_IMPORTED
    note_reason(writes.reasons, stored.product_id, reason)
