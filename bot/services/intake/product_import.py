"""Products in by SKU, with their tags, substitutes and (optionally) unallocated stock: all or nothing."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, record
from bot.services.backorders.allocation import AllocationChange, allocate_available_stock
from bot.services.backorders.eta import REASON_STOCK_CHANGED
from bot.services.backorders.notifications import notify_stock_and_eta_changes
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake.import_records import Batch, ImportResult, ProductRecord
from bot.services.intake.record_checks import check_batch, check_product
from bot.services.intake.shop_lookup import (
    REASON_LEAD_TIME_CHANGED,
    note_reason,
    products_by_sku,
    recompute_for_reasons,
    rows_in,
)
from bot.services.unit_of_work import UnitOfWork
from db.models import Product, ProductSubstitute, StockLevel


async def import_product_records(uow: UnitOfWork, batch: Batch[ProductRecord], actor: Actor) -> ImportResult:
    """Create or update products by SKU; a record without tags, substitutes or stock leaves those as they are."""
    checked = check_batch(batch, check_product)
    records, problems, bad_rows = checked.records, checked.problems, checked.bad_rows
    async with uow:
        session = uow.session
        named = [(r.row, r.sku, r.substitutes or ()) for r in records] + [
            (r.row, r.sku, r.substitutes) for r in bad_rows
        ]
        in_batch = {sku for _, sku, _ in named if sku}
        existing = await products_by_sku(session, in_batch | {sku for _, _, subs in named for sku in subs})
        problems += _substitute_problems(named, set(existing) | in_batch)
        if problems:
            raise ImportRejected(problems)
        result = await _write_products(uow, records, existing, actor)
        await notify_stock_and_eta_changes(uow, result.allocations, result.eta_moves)
        await uow.commit()
    return result


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


async def _write_products(
    uow: UnitOfWork, records: list[ProductRecord], existing: dict[str, Product], actor: Actor
) -> ImportResult:
    session, now = uow.session, uow.clock.now()
    created: dict[str, Product] = {}
    changes: dict[str, dict[str, list[Any]]] = {}
    for given in records:
        product = existing.get(given.sku)
        if product is None:
            product = Product(
                sku=given.sku,
                name=given.name,
                category=given.category,
                price_minor=given.price_minor,
                currency=given.currency,
                lead_time_days=given.lead_time_days,
                tags=list(given.tags or ()),
                created_at=now,
                updated_at=now,
            )
            session.add(product)
            created[given.sku] = product
        else:
            changes[given.sku] = _apply_product_fields(product, given)
    await session.flush()

    by_sku = existing | created
    current_substitutes = await _substitute_skus(session, [product.id for product in existing.values()])
    for given in records:
        product = by_sku[given.sku]
        before = current_substitutes.get(product.id, [])
        if given.substitutes is not None and list(given.substitutes) != before:
            await session.execute(delete(ProductSubstitute).where(ProductSubstitute.product_id == product.id))
            session.add_all(
                ProductSubstitute(product_id=product.id, substitute_id=by_sku[sku].id, rank=rank)
                for rank, sku in enumerate(given.substitutes)
            )
            if given.sku in changes:
                changes[given.sku]["substitutes"] = [before, list(given.substitutes)]
        if given.sku in created:
            session.add(StockLevel(product_id=product.id, available=given.available or 0, updated_at=now))
        elif given.available is not None:
            _apply_stock(session, product, given.available, changes[given.sku], now)

    reasons: dict[int, str] = {}
    for given in records:
        product = by_sku[given.sku]
        if given.sku in created:
            record(
                session,
                actor,
                "product.created",
                "product",
                given.sku,
                at=now,
                name=given.name,
                price_minor=given.price_minor,
                currency=given.currency,
                lead_time_days=given.lead_time_days,
                substitutes=list(given.substitutes or ()),
                available=given.available or 0,
            )
        elif changes[given.sku]:
            product.updated_at = now
            record(session, actor, "product.updated", "product", given.sku, at=now, changes=changes[given.sku])
            if "available" in changes[given.sku]:
                note_reason(reasons, product.id, REASON_STOCK_CHANGED)
            if "lead_time_days" in changes[given.sku]:
                note_reason(reasons, product.id, REASON_LEAD_TIME_CHANGED)
    await session.flush()

    allocations: list[AllocationChange] = []
    for given in records:
        if "available" in changes.get(given.sku, {}):
            allocations += await allocate_available_stock(session, uow.clock, actor, by_sku[given.sku].id)
    moves = await recompute_for_reasons(session, uow.clock, uow.policy, reasons)
    return ImportResult(
        kind="products",
        created=tuple(created),
        updated=tuple(sku for sku, changed in changes.items() if changed),
        unchanged=tuple(sku for sku, changed in changes.items() if not changed),
        allocations=tuple(allocations),
        eta_moves=moves,
    )


def _apply_product_fields(product: Product, given: ProductRecord) -> dict[str, list[Any]]:
    """Set the product's fields from the record; return {field: [old, new]} for those that changed."""
    wanted: dict[str, Any] = {
        "name": given.name,
        "category": given.category,
        "price_minor": given.price_minor,
        "currency": given.currency,
        "lead_time_days": given.lead_time_days,
    }
    if given.tags is not None:
        wanted["tags"] = list(given.tags)
    changes: dict[str, list[Any]] = {}
    for field, new in wanted.items():
        old = getattr(product, field)
        if old != new:
            changes[field] = [old, new]
            setattr(product, field, new)
    return changes


def _apply_stock(
    session: AsyncSession, product: Product, available: int, changes: dict[str, list[Any]], now: datetime
) -> None:
    stock = product.stock
    if stock is None:
        session.add(StockLevel(product_id=product.id, available=available, updated_at=now))
        changes["available"] = [None, available]
    elif stock.available != available:
        changes["available"] = [stock.available, available]
        stock.available = available
        stock.updated_at = now


async def _substitute_skus(session: AsyncSession, product_ids: list[int]) -> dict[int, list[str]]:
    rows = await rows_in(
        session,
        product_ids,
        lambda chunk: select(ProductSubstitute.product_id, Product.sku)
        .join(Product, Product.id == ProductSubstitute.substitute_id)
        .where(ProductSubstitute.product_id.in_(chunk))
        .order_by(ProductSubstitute.product_id, ProductSubstitute.rank, Product.sku),
    )
    substitutes: dict[int, list[str]] = {}
    for product_id, sku in rows:
        substitutes.setdefault(product_id, []).append(sku)
    return substitutes
