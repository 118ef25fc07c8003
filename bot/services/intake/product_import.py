"""Products in by SKU, with their tags, substitutes and (optionally) unallocated stock: all or nothing."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, AuditFact, record_all
from bot.services.backorders.allocation import AllocationChange, allocate_stock_of
from bot.services.backorders.eta import REASON_STOCK_CHANGED, EtaMove
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
    ProductRecord,
)
from bot.services.intake.record_checks import check_batch, check_product
from bot.services.intake.shop_lookup import (
    LARGE_BATCH,
    REASON_LEAD_TIME_CHANGED,
    each_row_in,
    execute_in_sets,
    note_reason,
    recompute_for_reasons,
    rows_in,
)
from bot.services.intake.product_staging import (
    FIELDS,
    PRODUCTS,
    PRODUCTS_STEP,
    SETTLE,
    SUBSTITUTES,
    SUPPLIERS,
    column_values,
    created_details,
    staged_product,
    write_substitutes,
)
from bot.services.purchasing.suppliers import supplier_ids_by_name
from bot.services.unit_of_work import UnitOfWork
from db.bulk_rows import insert_rows
from db.models import Product, ProductSubstitute, StockLevel, Supplier


async def import_product_records(
    uow: UnitOfWork,
    batch: Batch[ProductRecord],
    actor: Actor,
    *,
    dry_run: bool = False,
    progress: ImportProgress = NO_PROGRESS,
) -> ImportResult:
    """Create or update products by SKU; a record without tags, substitutes, stock or supplier leaves those as they
    are. A supplier named that the shop does not have yet is added by that name.

    With `dry_run`, nothing is written: a batch below LARGE_BATCH is done and rolled back, so the result says what
    would change; a larger one is only read, and the result leaves out the stock and ETAs it would move.
    """
    checked = check_batch(batch, check_product)
    records, problems, bad_rows = checked.records, checked.problems, checked.bad_rows
    staged = (from_ := staged_from(uow)) is not None and len(records) >= from_ and not dry_run
    if staged:  # a killed import's rows are cleared or finished first, also when this file changes nothing
        await finish_abandoned_runs(uow)
    if len(records) >= LARGE_BATCH:  # checked beside the bot's writers first; a small batch reads the shop once
        async with uow.read_only():
            existing, changes = await _checked_against_shop(uow.session, records, bad_rows, problems)
            current = await _substitute_skus(uow.session, [stored.id for stored in existing.values()])
        replacing = _note_substitute_changes(records, existing, changes, current)
        counted = _note_stock_changes(records, existing, changes)
        would = _result(records, existing, changes)
        if not would.changed or dry_run:
            progress.rows_written(len(records))
            return would
        if staged:  # written in short transactions (catalogue_staging)
            planned = _staged_writes(records, existing, changes, replacing, counted)
            settled = await write_staged(uow, PRODUCTS, planned, len(records), actor, progress)
            return _result(records, existing, changes, tuple(settled.allocations), tuple(settled.eta_moves))
    async with uow:
        existing, changes = await _checked_against_shop(uow.session, records, bad_rows, problems)
        result = await _write_products(uow, records, existing, changes, actor)
        await notify_stock_and_eta_changes(uow, result.allocations, result.eta_moves)
        progress.rows_written(len(records))
        if not dry_run:  # leaving the unit of work uncommitted rolls it all back
            await uow.commit()
    return result


def _staged_writes(
    records: list[ProductRecord],
    existing: dict[str, "_StoredProduct"],
    changes: "Changes",
    replacing: list[ProductRecord],
    counted: list[ProductRecord],
) -> Iterator[Staged]:
    """What the import writes, step by step (product_staging), as it is staged: generated, never held whole."""
    yield from supplier_names(SUPPLIERS, _supplier_names([given for given in records if given.sku not in existing], changes))
    counting = {given.sku for given in counted}
    for given in records:
        stored = existing.get(given.sku)
        if stored is None:
            yield Staged(PRODUCTS_STEP, given.row, staged_product(given.sku, new=_new_product(given)), adds=given.sku)
            continue
        changed = changes.get(given.sku)
        if not changed:
            continue
        stock = None
        if given.available is not None and stored.available is None:
            stock = ("add", given.available)
        elif given.available is not None and given.sku in counting:
            stock = ("count", given.available)
        fields_changed = {field: change for field, change in changed.items() if field in _COMPARED}
        payload = staged_product(
            given.sku, product_id=stored.id, fields_changed=fields_changed, stock=stock, audit={"changes": changed}
        )
        yield Staged(PRODUCTS_STEP, given.row, payload)
    for given in replacing:
        yield Staged(SUBSTITUTES, given.row, [given.sku, list(given.substitutes or ())])
    ids = {sku: existing[sku].id for sku in changes}
    allocated = [ids[sku] for sku, changed in changes.items() if "available" in changed]
    yield from settling(SETTLE, allocated, _eta_reasons(changes, ids))


def _new_product(given: ProductRecord) -> list[Any]:
    """A new product as product_staging stages it: NEW_PRODUCT."""
    return [
        given.name, given.category, given.price_minor, given.currency, given.lead_time_days, list(given.tags or ()),
        given.supplier, given.available or 0, list(given.substitutes or ()),
    ]


async def _checked_against_shop(
    session: AsyncSession, records: Sequence[ProductRecord], bad_rows: Sequence[BadRow], problems: Sequence[RowProblem]
) -> tuple[dict[str, "_StoredProduct"], "Changes"]:
    """The products of the records in the shop and how the records change their fields; ImportRejected with every
    problem found."""
    named = [(r.row, r.sku, r.substitutes or ()) for r in records] + [(r.row, r.sku, r.substitutes) for r in bad_rows]
    in_batch = {sku for _, sku, _ in named if sku}
    existing, changes = await _stored_products(
        session, in_batch | {sku for _, _, subs in named for sku in subs}, {r.sku: r for r in records}
    )
    problems = [*problems, *_substitute_problems(named, set(existing) | in_batch)]
    if problems:
        raise ImportRejected(problems)
    return existing, changes


def _substitute_problems(named: list[tuple[int, str | None, tuple[str, ...]]], known: set[str]) -> list[RowProblem]:
    """Substitutes must name other products of the batch or the shop; checked on bad rows too."""
    problems = []
    for row, own_sku, substitutes in named:
        for sku in substitutes:
            if sku == own_sku:
                problems.append(RowProblem(row, "substitutes", "a product cannot be its own substitute"))
            elif sku not in known:
                problems.append(RowProblem(row, "substitutes", f"{sku} is not a SKU of this file or of the shop"))
    return problems


_COMPARED = FIELDS + ("supplier",)  # the default supplier by name, as the records give it

Changes = dict[str, dict[str, list[Any]]]  # by SKU, {field: [old, new]} of each known product that changes


@dataclass(frozen=True, slots=True)
class _StoredProduct:
    """A product already in the shop, as far as an import needs it once its fields are compared."""

    id: int
    available: int | None  # None: no stock row yet


async def _stored_products(
    session: AsyncSession, skus: Iterable[str], records: dict[str, ProductRecord]
) -> tuple[dict[str, _StoredProduct], Changes]:
    """The products of these SKUs in the shop, and how the records change their fields.

    Each stored product is compared as it is read and only what changes is kept: a whole store's products and
    their fields held at once took more memory than the rest of the import.
    """
    rows = each_row_in(
        session,
        skus,
        lambda among: select(
            Product.sku, Product.id, *(getattr(Product, field) for field in FIELDS), Supplier.name,
            StockLevel.available,
        )
        .outerjoin(StockLevel, StockLevel.product_id == Product.id)
        .outerjoin(Supplier, Supplier.id == Product.supplier_id)
        .where(among(Product.sku)),
    )
    stored: dict[str, _StoredProduct] = {}
    changes: Changes = {}
    async for sku, product_id, *values, available in rows:
        stored[sku] = _StoredProduct(product_id, available)
        given = records.get(sku)
        if given is not None:
            old = dict(zip(_COMPARED, values, strict=True))
            changed = {field: [old[field], new] for field, new in _wanted(given).items() if old[field] != new}
            if changed:
                changes[sku] = changed
    return stored, changes


def _wanted(given: ProductRecord) -> dict[str, Any]:
    wanted: dict[str, Any] = {
        "name": given.name,
        "category": given.category,
        "price_minor": given.price_minor,
        "currency": given.currency,
        "lead_time_days": given.lead_time_days,
    }
    if given.tags is not None:
        wanted["tags"] = list(given.tags)
    if given.supplier is not None:
        wanted["supplier"] = given.supplier
    return wanted


async def _write_products(
    uow: UnitOfWork,
    records: list[ProductRecord],
    existing: dict[str, _StoredProduct],
    changes: Changes,
    actor: Actor,
) -> ImportResult:
    """Insert new products and update changed ones as sets; allocate and recompute ETAs once per SKU that moved."""
    session, now = uow.session, uow.clock.now()
    new = [given for given in records if given.sku not in existing]
    ids = {sku: stored.id for sku, stored in existing.items()}
    supplier_ids = await _supplier_ids(session, new, changes, actor, now)
    await insert_rows(
        session,
        Product.__table__,
        FIELDS + ("sku", "supplier_id", "created_at", "updated_at"),
        (
            (given.name, given.category, given.price_minor, given.currency, given.lead_time_days,
             list(given.tags or ()), given.sku, supplier_ids.get(given.supplier), now, now)
            for given in new
        ),
    )
    ids.update(await rows_in(session, [given.sku for given in new], lambda among: select(Product.sku, Product.id).where(among(Product.sku))))
    changed = [given for given in records if changes.get(given.sku)]
    await execute_in_sets(
        session,
        update(Product.__table__).where(Product.__table__.c.id == bindparam("product_id")),
        [
            {"product_id": ids[given.sku], "updated_at": now} | column_values(changes[given.sku], supplier_ids)
            for given in changed
        ],
    )
    plan = _Plan(records, existing, ids, changes, now)
    current = await _substitute_skus(session, [stored.id for stored in existing.values()])
    replacing = _note_substitute_changes(records, existing, changes, current)
    await write_substitutes(session, ids, [(given.sku, given.substitutes or ()) for given in replacing])
    await _write_stock(session, plan, _note_stock_changes(records, existing, changes))

    # Generated as they are written, so a whole store's audit trail is never in memory at once.
    await record_all(session, actor, now, _audit_facts(records, existing, changes))
    reasons = _eta_reasons(changes, ids)

    allocations = await allocate_stock_of(
        session, uow.clock, actor, [ids[given.sku] for given in records if "available" in changes.get(given.sku, {})]
    )
    moves = await recompute_for_reasons(session, uow.clock, uow.policy, reasons)
    return _result(records, existing, changes, tuple(allocations), moves)


def _eta_reasons(changes: Changes, ids: dict[str, int]) -> dict[int, str]:
    """The products whose ETAs the changes move, each with the reason its lines are told."""
    reasons: dict[int, str] = {}
    for sku, changed in changes.items():
        if "available" in changed:
            note_reason(reasons, ids[sku], REASON_STOCK_CHANGED)
        if "lead_time_days" in changed:
            note_reason(reasons, ids[sku], REASON_LEAD_TIME_CHANGED)
    return reasons


def _result(
    records: Sequence[ProductRecord],
    existing: dict[str, "_StoredProduct"],
    changes: Changes,
    allocations: tuple[AllocationChange, ...] = (),
    eta_moves: tuple[EtaMove, ...] = (),
) -> ImportResult:
    return ImportResult(
        kind="products",
        created=tuple(given.sku for given in records if given.sku not in existing),
        updated=tuple(given.sku for given in records if changes.get(given.sku)),
        unchanged=tuple(given.sku for given in records if given.sku in existing and not changes.get(given.sku)),
        allocations=allocations,
        eta_moves=eta_moves,
    )


async def _supplier_ids(
    session: AsyncSession, new: list[ProductRecord], changes: Changes, actor: Actor, now: datetime
) -> dict[str | None, int]:
    """The id of every supplier the new and changed products name, those the shop does not have yet added."""
    names = _supplier_names(new, changes)
    if not names:
        return {}
    return dict(await supplier_ids_by_name(session, names, actor, now))


def _supplier_names(new: list[ProductRecord], changes: Changes) -> set[str]:
    names = {given.supplier for given in new if given.supplier}
    return names | {changed["supplier"][1] for changed in changes.values() if "supplier" in changed}


@dataclass(frozen=True)
class _Plan:
    """What one product import writes: its records, the products in the shop and the changes found so far."""

    records: list[ProductRecord]
    existing: dict[str, _StoredProduct]
    ids: dict[str, int]  # every product's id by SKU, new ones included
    changes: Changes
    now: datetime


def _audit_facts(
    records: Sequence[ProductRecord], existing: dict[str, "_StoredProduct"], changes: Changes
) -> Iterator[AuditFact]:
    """product.created for each new product, product.updated with its changes for each changed one."""
    for given in records:
        changed = changes.get(given.sku)
        if given.sku not in existing:
            yield AuditFact("product.created", "product", given.sku, created_details(_new_product(given)))
        elif changed:
            yield AuditFact("product.updated", "product", given.sku, {"changes": changed})


def _note_stock_changes(
    records: Sequence[ProductRecord], existing: dict[str, "_StoredProduct"], changes: Changes
) -> list[ProductRecord]:
    """The records of known products whose stock count changes, noted in `changes`; those with a stock row first."""
    counted = []
    for given in records:
        stored = existing.get(given.sku)
        if stored is None or given.available is None or given.available == stored.available:
            continue
        changes.setdefault(given.sku, {})["available"] = [stored.available, given.available]
        if stored.available is not None:
            counted.append(given)
    return counted


async def _write_stock(session: AsyncSession, plan: _Plan, counted: list[ProductRecord]) -> None:
    """New products get a stock row; a known product's count changes only when the record gives one."""
    existing, ids, now = plan.existing, plan.ids, plan.now
    added = (
        (ids[given.sku], given.available or 0, now)
        for given in plan.records
        if given.sku not in existing or (given.available is not None and existing[given.sku].available is None)
    )
    await insert_rows(session, StockLevel.__table__, ("product_id", "available", "updated_at"), added)
    stock = StockLevel.__table__
    await execute_in_sets(
        session,
        update(stock).where(stock.c.product_id == bindparam("stocked")),
        [{"stocked": ids[given.sku], "available": given.available, "updated_at": now} for given in counted],
    )


def _note_substitute_changes(
    records: Sequence[ProductRecord],
    existing: dict[str, "_StoredProduct"],
    changes: Changes,
    current: dict[int, list[str]],
) -> list[ProductRecord]:
    """The records whose substitutes replace their product's list (`current`, by product id); a known product's
    change noted in `changes`."""
    replacing = []
    for given in records:
        stored = existing.get(given.sku)
        before = current.get(stored.id, []) if stored is not None else []
        if given.substitutes is None or list(given.substitutes) == before:
            continue
        replacing.append(given)
        if stored is not None:
            changes.setdefault(given.sku, {})["substitutes"] = [before, list(given.substitutes)]
    return replacing


async def _substitute_skus(session: AsyncSession, product_ids: list[int]) -> dict[int, list[str]]:
    rows = await rows_in(
        session,
        product_ids,
        lambda among: select(ProductSubstitute.product_id, Product.sku)
        .join(Product, Product.id == ProductSubstitute.substitute_id)
        .where(among(ProductSubstitute.product_id))
        .order_by(ProductSubstitute.product_id, ProductSubstitute.rank, Product.sku),
    )
    substitutes: dict[int, list[str]] = {}
    for product_id, sku in rows:
        substitutes.setdefault(product_id, []).append(sku)
    return substitutes
