"""Supplier purchase orders in by reference: added, moved, resized or cancelled, then the ETAs they feed
recomputed. All or nothing."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.services.audit import Actor, record
from bot.services.backorders.eta import (
    REASON_PURCHASE_ORDER_ADDED,
    REASON_PURCHASE_ORDER_CANCELLED,
    REASON_PURCHASE_ORDER_MOVED,
)
from bot.services.backorders.notifications import notify_stock_and_eta_changes
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake.import_records import (
    NO_PROGRESS,
    Batch,
    ImportProgress,
    ImportResult,
    PurchaseOrderRecord,
)
from bot.services.intake.record_checks import check_batch, check_purchase_order
from bot.services.intake.shop_lookup import (
    REASON_PURCHASE_ORDERS_IMPORTED,
    note_reason,
    products_by_sku,
    recompute_for_reasons,
    rows_in,
    unknown_skus,
)
from bot.services.unit_of_work import UnitOfWork
from db.models import Product, PurchaseOrder, PurchaseOrderStatus


async def import_purchase_order_records(
    uow: UnitOfWork,
    batch: Batch[PurchaseOrderRecord],
    actor: Actor,
    *,
    dry_run: bool = False,
    progress: ImportProgress = NO_PROGRESS,
) -> ImportResult:
    """Add, move, resize or cancel supplier purchase orders by reference, then recompute the ETAs they feed.

    With `dry_run`, everything is checked and done but rolled back: the result says what would change.
    """
    today = uow.clock.today()
    checked = check_batch(batch, lambda given, problems: check_purchase_order(given, problems, today))
    records, problems, bad_rows = checked.records, checked.problems, checked.bad_rows
    async with uow:
        session = uow.session
        named = [(po.row, po.sku) for po in records] + [(bad.row, bad.sku) for bad in bad_rows]
        products = await products_by_sku(session, {sku for _, sku in named if sku})
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
        result = await _write_purchase_orders(uow, records, products, existing, actor)
        await notify_stock_and_eta_changes(uow, moves=result.eta_moves)
        progress.rows_written(len(records))
        if not dry_run:  # leaving the unit of work uncommitted rolls it all back
            await uow.commit()
    return result


async def _purchase_orders_by_reference(session: AsyncSession, references: Iterable[str]) -> dict[str, PurchaseOrder]:
    rows = await rows_in(
        session,
        references,
        lambda chunk: select(PurchaseOrder)
        .where(PurchaseOrder.reference.in_(chunk))
        .options(selectinload(PurchaseOrder.product)),
    )
    return {purchase_order.reference: purchase_order for (purchase_order,) in rows}


def _purchase_order_conflicts(stored: PurchaseOrder, given: PurchaseOrderRecord) -> list[tuple[str, str]]:
    """Why the record cannot be applied to the purchase order already in the shop (nothing if it can)."""
    ref = stored.reference
    if stored.product.sku != given.sku:
        return [("sku", f"purchase order {ref} is for {stored.product.sku}; give this shipment a new reference")]
    same = stored.quantity == given.quantity and stored.expected_on == given.expected_on
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


async def _write_purchase_orders(
    uow: UnitOfWork,
    records: list[PurchaseOrderRecord],
    products: dict[str, Product],
    existing: dict[str, PurchaseOrder],
    actor: Actor,
) -> ImportResult:
    session, now = uow.session, uow.clock.now()
    created, updated, cancelled, unchanged = [], [], [], []
    reasons: dict[int, str] = {}
    for given in records:
        product = products[given.sku]
        stored = existing.get(given.reference)
        if stored is None:
            session.add(
                PurchaseOrder(
                    reference=given.reference,
                    product_id=product.id,
                    quantity=given.quantity,
                    received_quantity=0,
                    expected_on=given.expected_on,
                    status=given.status,
                    created_at=now,
                    updated_at=now,
                )
            )
            record(
                session,
                actor,
                "purchase_order.added",
                "purchase_order",
                given.reference,
                at=now,
                sku=given.sku,
                quantity=given.quantity,
                expected_on=given.expected_on.isoformat(),
                status=given.status.value,
            )
            created.append(given.reference)
            if given.status == PurchaseOrderStatus.OPEN:
                note_reason(reasons, product.id, REASON_PURCHASE_ORDER_ADDED)
        elif stored.status != PurchaseOrderStatus.OPEN:
            unchanged.append(given.reference)
        elif given.status == PurchaseOrderStatus.CANCELLED:
            stored.status = PurchaseOrderStatus.CANCELLED
            stored.updated_at = now
            record(
                session,
                actor,
                "purchase_order.cancelled",
                "purchase_order",
                given.reference,
                at=now,
                outstanding=stored.outstanding,
            )
            cancelled.append(given.reference)
            note_reason(reasons, product.id, REASON_PURCHASE_ORDER_CANCELLED)
        else:
            changes = _apply_purchase_order_fields(stored, given)
            if not changes:
                unchanged.append(given.reference)
                continue
            stored.updated_at = now
            record(session, actor, "purchase_order.updated", "purchase_order", given.reference, at=now, changes=changes)
            updated.append(given.reference)
            moved = "expected_on" in changes
            note_reason(reasons, product.id, REASON_PURCHASE_ORDER_MOVED if moved else REASON_PURCHASE_ORDERS_IMPORTED)
    await session.flush()
    moves = await recompute_for_reasons(session, uow.clock, uow.policy, reasons)
    return ImportResult(
        kind="purchase-orders",
        created=tuple(created),
        updated=tuple(updated),
        cancelled=tuple(cancelled),
        unchanged=tuple(unchanged),
        eta_moves=moves,
    )


def _apply_purchase_order_fields(stored: PurchaseOrder, given: PurchaseOrderRecord) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    if stored.quantity != given.quantity:
        changes["quantity"] = [stored.quantity, given.quantity]
        stored.quantity = given.quantity
    if stored.expected_on != given.expected_on:
        changes["expected_on"] = [stored.expected_on.isoformat(), given.expected_on.isoformat()]
        stored.expected_on = given.expected_on
    return changes
