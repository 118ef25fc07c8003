"""The store's data into the bot, through the use cases every other front end uses: products and orders through
intake's imports, stock counts through purchasing, cancels, shipments and paid refunds through fulfilment and
backorders, privacy requests through privacy. The store's ids are linked to ours on the way (store_links).

A new order is imported once; after that the store's updates are reconciled, never re-imported: a cancel cancels
what still waits, a quantity lowered by N cancels N waiting units (the last in the queue first), a fulfilment
ships. An update older than the one applied is skipped, and so is one as old with the same content.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, record
from bot.services.backorders.cancel import cancel_for_shop
from bot.services.connectors.connections import ConnectionConfig, forget_shop, note_webhooks_checked
from bot.services.connectors.store_links import Link, links_by_data, links_by_store_id, save_links
from bot.services.connectors.store_records import (
    UNTRACKED_STOCK,
    FulfillmentSeen,
    OrderCancelled,
    OrderDeleted,
    OrderSeen,
    PrivacyRequest,
    ProductDeleted,
    ProductsSeen,
    RefundSeen,
    StockCount,
    StockCounted,
    StoreChange,
    StoreFulfillment,
    StoreOrder,
    StoreProduct,
    WebhooksChecked,
)
from bot.services.errors import DomainError, ImportRejected
from bot.services.fulfilment.refunds import mark_refund_paid
from bot.services.fulfilment.shipments import Parcel, ShipmentItem, ShipmentRequest, record_shipment
from bot.services.intake.import_records import MAX_QUANTITY, Batch, OrderLineRecord, ProductRecord
from bot.services.intake.order_import import import_order_records
from bot.services.intake.product_import import import_product_records
from bot.services.privacy import PersonNotFound, SubjectQuery, erase_customer
from bot.services.phone import normalise_phone
from bot.services.privacy.subjects import find_subject
from bot.services.purchasing.stock import set_available_stocks
from bot.services.purchasing.suppliers import assign_suppliers_by_name
from bot.services.unit_of_work import UnitOfWork
from db.models import OPEN_LINE_STATUSES, Order, OrderLine, Product, Refund, RefundStatus

DEFAULT_LEAD_TIME_DAYS = 14
DEFAULT_CATEGORY = "general"


@dataclass
class SyncReport:
    """What applying store data did: counts by what happened, and problems worth showing the merchant."""

    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, what: str, count: int = 1) -> None:
        if count:
            self.counts[what] = self.counts.get(what, 0) + count

    def merge(self, other: "SyncReport") -> None:
        for what, count in other.counts.items():
            self.add(what, count)
        self.problems += other.problems


def store_actor(connection: ConnectionConfig) -> Actor:
    """Who changes the shop when the store does: the merchant, through their store platform."""
    return Actor.merchant(connection.platform)


async def apply_store_changes(uow: UnitOfWork, connection: ConnectionConfig, changes: Sequence[StoreChange]) -> SyncReport:
    """Apply what the store reports, in order; each kind through its own use case."""
    report = SyncReport()
    for change in changes:
        match change:
            case ProductsSeen(products):
                report.merge(await apply_products(uow, connection, products))
            case StockCounted(counts, only_changed):
                report.merge(await apply_stock_counts(uow, connection, counts, only_changed=only_changed))
            case OrderSeen(order):
                report.merge(await apply_orders(uow, connection, [order]))
            case OrderCancelled(store_id, number, at):
                report.merge(await _cancel_order(uow, connection, store_id, number, at))
            case FulfillmentSeen(order_store_id, fulfillment):
                report.merge(await _fulfil(uow, connection, order_store_id, fulfillment))
            case RefundSeen(order_store_id, refund_store_id, line_store_ids):
                report.merge(await _refunded_in_store(uow, connection, refund_store_id, line_store_ids))
            case PrivacyRequest():
                report.merge(await _privacy(uow, connection, change))
            case WebhooksChecked(revived, still_off, error):
                await note_webhooks_checked(uow, connection.id, revived, still_off, error, store_actor(connection))
                report.add("webhooks the store had turned off, on again", len(revived))
                if still_off:
                    report.problems.append(f"the store turned off the webhooks {', '.join(still_off)} and keeps them off: {error}")
            case ProductDeleted(store_id) | OrderDeleted(store_id):
                # Lines and refunds name the products and orders: they stay, as after any deletion in the shop.
                report.add("deletions noted")
    return report


# Products


async def apply_products(uow: UnitOfWork, connection: ConnectionConfig, products: Sequence[StoreProduct]) -> SyncReport:
    """Create or update a product per variant with a SKU (name, category, price); stock is counted separately."""
    report = SyncReport()
    variants = {}
    for product in products:
        for variant in product.variants:
            if variant.sku:
                variants[variant.sku] = (product, variant)
            else:
                report.add("variants without a SKU skipped")
    if not variants:
        return report
    async with uow.read_only():
        known = {
            sku: (category, lead_time)
            for sku, category, lead_time in (
                await uow.session.execute(
                    select(Product.sku, Product.category, Product.lead_time_days).where(Product.sku.in_(list(variants)))
                )
            ).all()
        }
    lead_time = int(connection.settings.get("default_lead_time_days", DEFAULT_LEAD_TIME_DAYS))
    records = [
        ProductRecord(
            row=index,
            sku=sku,
            name=variant.name[:200],
            category=(variant.category or known.get(sku, (DEFAULT_CATEGORY, 0))[0])[:100],
            price_minor=variant.price_minor,
            currency=variant.currency,
            lead_time_days=known[sku][1] if sku in known else lead_time,
        )
        for index, (sku, (product, variant)) in enumerate(variants.items(), start=1)
    ]
    imported, rejected = await _import_leaving_out_bad(
        records, lambda batch: import_product_records(uow, Batch(batch), store_actor(connection))
    )
    report.add("products created", sum(len(result.created) for result in imported))
    report.add("products updated", sum(len(result.updated) for result in imported))
    report.add("products refused", len(rejected))
    report.problems += [f"product {records[row - 1].sku}: {reason}" for row, reason in rejected]
    named = {sku: product.supplier for sku, (product, _) in variants.items() if product.supplier}
    if named:
        report.add("products given a supplier", await assign_suppliers_by_name(uow, named, store_actor(connection)))
    links = []
    for sku, (product, variant) in variants.items():
        links.append(Link("variant", variant.store_id, sku, product.updated_at,
                          {"product_id": product.store_id, "shared_stock_id": variant.shared_stock_id}))
        if variant.inventory_item_id:
            links.append(Link("inventory_item", variant.inventory_item_id, sku, None, {"variant_id": variant.store_id}))
        if not variant.tracked:
            links.append(Link("stock", sku, sku, None, {"untracked": True}))
    await save_links(uow, connection.id, links)
    return report


async def _import_leaving_out_bad(records: list[Any], run: Any) -> tuple[list[Any], list[tuple[int, str]]]:
    """Import all records at once; when some are refused, leave those out and import the rest.

    A store's data is not a file the merchant can fix and send again: one bad product or order must not hold up
    the others. The refused ones come back as (row, reason).
    """
    try:
        return [await run(records)], []
    except ImportRejected as refused:
        bad_rows = {problem.row for problem in refused.problems}
        reasons = {problem.row: f"{problem.field}: {problem.reason}" for problem in refused.problems}
    good = [record for record in records if record.row not in bad_rows]
    if not good:
        return [], sorted(reasons.items())
    try:
        return [await run(good)], sorted(reasons.items())
    except ImportRejected as refused_again:  # a record refused only beside others; rare enough to leave for now
        for problem in refused_again.problems:
            reasons.setdefault(problem.row, f"{problem.field}: {problem.reason}")
        return [], sorted(reasons.items())


# Stock


async def apply_stock_counts(
    uow: UnitOfWork, connection: ConnectionConfig, counts: Sequence[StockCount], *, only_changed: bool = False
) -> SyncReport:
    """Set each SKU's unallocated stock from the store's count, which has the store's committed orders taken off.

    The store's `available` goes below zero for orders it sells on backorder; all of those and the allocated ones
    are committed there, so ours (on hand, not yet allocated) is the store's count plus what still waits here.
    A count several variants share is the count of each of them, their waiting lines served in one queue.
    With `only_changed`, a count the same as the store's last one applied is left out (a periodic recount).
    """
    report = SyncReport()
    by_item = await links_by_store_id(uow, connection.id, "inventory_item", [c.inventory_item_id for c in counts if c.inventory_item_id])
    sharing = await _skus_sharing(uow, connection, [count.shared_stock_id for count in counts if count.shared_stock_id])
    latest: dict[str, StockCount] = {}
    for count in counts:
        sku = count.sku or (by_item[count.inventory_item_id].our_key if count.inventory_item_id in by_item else None)
        skus = {sku} if sku else set()
        if count.shared_stock_id:
            skus |= set(sharing.get(count.shared_stock_id, ()))
        if not skus:
            report.add("stock counts of unknown items skipped")
        for each in sorted(skus):
            latest[each] = replace(count, sku=each)
    stored = await links_by_store_id(uow, connection.id, "stock", list(latest))
    if only_changed:
        latest = {sku: count for sku, count in latest.items() if stored.get(sku) is None or stored[sku].data.get("available") != count.available}
    fresh = {
        sku: count for sku, count in latest.items()
        if not (stored.get(sku) and stored[sku].store_updated_at and count.updated_at
                and count.updated_at < stored[sku].store_updated_at)
    }
    report.add("stock counts older than the last skipped", len(latest) - len(fresh))
    await save_links(
        uow, connection.id,
        [Link("stock", sku, sku, count.updated_at, {"available": count.available, "shared_stock_id": count.shared_stock_id})
         for sku, count in fresh.items()],
    )
    report.merge(await _recount(uow, connection, fresh))
    return report


async def _skus_sharing(uow: UnitOfWork, connection: ConnectionConfig, shared_stock_ids: list[str]) -> dict[str, list[str]]:
    """The SKUs whose variants share each of these counts, as the store last listed them."""
    found: dict[str, list[str]] = {}
    for link in await links_by_data(uow, connection.id, "variant", "shared_stock_id", shared_stock_ids):
        found.setdefault(str(link.data["shared_stock_id"]), []).append(link.our_key)
    return found


async def _recount(uow: UnitOfWork, connection: ConnectionConfig, counts: dict[str, StockCount]) -> SyncReport:
    report = SyncReport()
    waiting = await _waiting_quantities(uow, list(counts))
    untracked = await links_by_store_id(uow, connection.id, "stock", list(counts))
    ours = {
        sku: UNTRACKED_STOCK if untracked.get(sku) and untracked[sku].data.get("untracked")
        else count.available + waiting.get(sku, 0)
        for sku, count in counts.items()
    }
    ours |= await _stock_of_shared_counts(
        uow, {sku: count for sku, count in counts.items() if count.shared_stock_id and ours[sku] != UNTRACKED_STOCK}
    )
    ours = {sku: max(0, min(units, MAX_QUANTITY)) for sku, units in ours.items()}
    # All SKUs in one transaction: one allocation and one ETA recompute for the lot, not one per SKU.
    result = await set_available_stocks(uow, ours, store_actor(connection))
    report.problems += [f"stock of {sku}: the shop has no product {sku} (the store's product was refused)" for sku in result.unknown]
    report.add("stock counts applied", len(result.counted))
    report.add("lines allocated from store stock", len(result.allocations))
    return report


async def _stock_of_shared_counts(uow: UnitOfWork, counts: dict[str, StockCount]) -> dict[str, int]:
    """Our stock of SKUs whose counts are shared (by shared_stock_id), each count's SKUs served in one queue."""
    skus_of: dict[str, list[str]] = {}
    for sku, count in counts.items():
        skus_of.setdefault(str(count.shared_stock_id), []).append(sku)
    queues: dict[str, list[tuple[str, int]]] = {}
    for sku, units in await _waiting_queue(uow, list(counts)):  # one read for every shared count
        queues.setdefault(str(counts[sku].shared_stock_id), []).append((sku, units))
    ours: dict[str, int] = {}
    for shared_id, skus in skus_of.items():
        ours |= _shares_of_one_count(counts[skus[0]].available, queues.get(shared_id, []), skus)
    return ours


def _shares_of_one_count(available: int, queue: list[tuple[str, int]], skus: list[str]) -> dict[str, int]:
    """Our stock of SKUs that share one store count: the units there are (the count plus all that waits of them)
    go to their waiting lines first come, first served across the SKUs; what is left over is each one's to sell."""
    units = available + sum(waiting for _, waiting in queue)
    shares = dict.fromkeys(skus, 0)
    for sku, waiting in queue:
        given = max(0, min(waiting, units))
        shares[sku] += given
        units -= given
    return {sku: share + max(0, units) for sku, share in shares.items()}


def _open_quantity() -> Any:
    return OrderLine.quantity - OrderLine.allocated_quantity - OrderLine.cancelled_quantity - OrderLine.substituted_quantity


async def _waiting_quantities(uow: UnitOfWork, skus: list[str]) -> dict[str, int]:
    """Units of each SKU still waiting for stock here."""
    if not skus:
        return {}
    async with uow.read_only():
        rows = await uow.session.execute(
            select(Product.sku, func.sum(_open_quantity()))
            .join(OrderLine, OrderLine.product_id == Product.id)
            .where(Product.sku.in_(skus), OrderLine.status.in_(OPEN_LINE_STATUSES))
            .group_by(Product.sku)
        )
        return {sku: int(total or 0) for sku, total in rows.all()}


async def _waiting_queue(uow: UnitOfWork, skus: list[str]) -> list[tuple[str, int]]:
    """What each waiting line of these SKUs still waits for, as (SKU, units), in one queue: first come, first."""
    if not skus:
        return []
    async with uow.read_only():
        rows = await uow.session.execute(
            select(Product.sku, _open_quantity())
            .join(OrderLine, OrderLine.product_id == Product.id)
            .where(Product.sku.in_(skus), OrderLine.status.in_(OPEN_LINE_STATUSES))
            .order_by(OrderLine.queued_at, OrderLine.id)
        )
        return [(sku, int(units)) for sku, units in rows.all()]


# Orders


async def apply_orders(uow: UnitOfWork, connection: ConnectionConfig, orders: Sequence[StoreOrder]) -> SyncReport:
    """Import the orders the shop does not have yet; reconcile the ones it has with the store's newer version."""
    report = SyncReport()
    newest: dict[str, StoreOrder] = {}
    for order in orders:
        if order.store_id not in newest or newest[order.store_id].updated_at <= order.updated_at:
            newest[order.store_id] = order
    linked = await links_by_store_id(uow, connection.id, "order", list(newest))
    new, known = [], []
    for store_id, order in newest.items():
        link = linked.get(store_id)
        if link is None:
            new.append(order)
        elif _applied_already(order, link):
            report.add("order updates older than the last skipped")
        else:
            known.append((order, link.our_key))
    report.merge(await _import_new_orders(uow, connection, new))
    for order, number in known:
        report.merge(await _reconcile_order(uow, connection, order, number))
    return report


def _applied_already(order: StoreOrder, link: Link) -> bool:
    """An older version than the one applied, or the same one again.

    Stores stamp changes to the second (WooCommerce's date_modified_gmt, Shopify's updated_at): two edits within one
    second share a time, so an equal time is the same version only when the content is the same too.
    """
    if link.store_updated_at is None:
        return False
    if order.updated_at != link.store_updated_at:
        return order.updated_at < link.store_updated_at
    return link.data.get("digest") == order_digest(order)


def order_digest(order: StoreOrder) -> str:
    """A short fingerprint of what an order says, whatever its modification time."""
    return hashlib.sha256(repr(replace(order, updated_at=order.placed_at)).encode()).hexdigest()[:16]


async def _import_new_orders(uow: UnitOfWork, connection: ConnectionConfig, orders: list[StoreOrder]) -> SyncReport:
    report = SyncReport()
    if not orders:
        return report
    async with uow.read_only():
        skus = set(
            (await uow.session.scalars(
                select(Product.sku).where(Product.sku.in_({line.sku for order in orders for line in order.lines if line.sku}))
            )).all()
        )
        numbers_here = set(
            (await uow.session.scalars(select(Order.number).where(Order.number.in_([order.number for order in orders])))).all()
        )
    records: list[OrderLineRecord] = []
    importing: list[StoreOrder] = []
    for order in orders:
        reason = _why_not_imported(order, skus)
        if reason:
            report.add(reason)
            continue
        if order.number in numbers_here:  # imported before its link was saved (an interrupted run): link it now
            importing.append(order)
            continue
        importing.append(order)
        records += [
            OrderLineRecord(
                row=len(records) + index, order_number=order.number, placed_at=order.placed_at, email=order.email or "",
                customer_name=order.customer_name[:200] or order.email or "", phone=order.phone, language=order.language,
                sku=sku, quantity=wanted.units, unit_price_minor=wanted.unit_price_minor, currency=order.currency,
                added_tax_ppm=wanted.added_tax_ppm, in_stock_quantity=wanted.in_stock,
            )
            for index, (sku, wanted) in enumerate(_open_by_sku(order, skus).items(), start=1)
        ]
    imported, rejected = await _import_leaving_out_bad(
        records,
        lambda batch: import_order_records(uow, Batch(batch), store_actor(connection), connection.settings.get("phone_region", "DE")),
    )
    refused_numbers = {records[row - 1].order_number for row, _ in rejected if 0 < row <= len(records)}
    report.add("orders imported", sum(len(result.created) for result in imported))
    report.add("orders refused", len(refused_numbers))
    report.problems += [f"order {records[row - 1].order_number}: {reason}" for row, reason in rejected if 0 < row <= len(records)]
    linked = [order for order in importing if order.number not in refused_numbers]
    await _link_orders(uow, connection, linked)
    report.merge(await _recount_after_orders(uow, connection, linked))
    return report


@dataclass
class _Wanted:
    """What an order still wants of one SKU: units, its first line's unit price and added tax, and the units the
    store supplied from its stock (None when a line of the SKU carries no backorder mark: the store did not say)."""

    units: int
    unit_price_minor: int
    added_tax_ppm: int
    in_stock: int | None


def _open_by_sku(order: StoreOrder, skus: set[str]) -> dict[str, _Wanted]:
    """What the order still wants of each SKU the shop has. The store supplied a line all its units but those it
    marked as backordered."""
    found: dict[str, _Wanted] = {}
    for line in order.lines:
        units = line.quantity - line.fulfilled_quantity
        if line.sku not in skus or units <= 0:
            continue
        in_stock = None if line.backordered_quantity is None else max(0, units - line.backordered_quantity)
        wanted = found.setdefault(line.sku, _Wanted(0, line.unit_price_minor, line.added_tax_ppm, 0))
        wanted.units += units
        wanted.in_stock = None if in_stock is None or wanted.in_stock is None else wanted.in_stock + in_stock
    return found


async def _recount_after_orders(uow: UnitOfWork, connection: ConnectionConfig, orders: list[StoreOrder]) -> SyncReport:
    """Count again the SKUs of new orders whose last store count already had them taken off.

    The store may report its count before the order (webhooks come in any order). A count taken after the order
    was placed includes it; applied before the order was here, it left the order's units out of what waits.
    """
    placed: dict[str, datetime] = {}
    for order in orders:
        for line in order.lines:
            if line.sku:
                placed[line.sku] = min(placed.get(line.sku, order.placed_at), order.placed_at)
    stored = await links_by_store_id(uow, connection.id, "stock", list(placed))
    due = {
        sku: link for sku, link in stored.items()
        if "available" in link.data and link.store_updated_at is not None and link.store_updated_at >= placed[sku]
    }
    # A count shared with other SKUs is theirs too: their lines wait in one queue with these.
    sharing = await _skus_sharing(uow, connection, [link.data.get("shared_stock_id") or "" for link in due.values()])
    partners = {sku for skus in sharing.values() for sku in skus} - set(due)
    due |= {sku: link for sku, link in (await links_by_store_id(uow, connection.id, "stock", partners)).items()
            if "available" in link.data}
    counts = {
        sku: StockCount(int(link.data["available"]), sku, updated_at=link.store_updated_at,
                        shared_stock_id=link.data.get("shared_stock_id"))
        for sku, link in due.items()
    }
    return await _recount(uow, connection, counts) if counts else SyncReport()


def _why_not_imported(order: StoreOrder, skus: set[str]) -> str | None:
    if order.cancelled:
        return "cancelled orders skipped"
    if not order.email:
        return "orders without an e-mail address skipped"
    if not any(line.sku in skus and line.quantity > line.fulfilled_quantity for line in order.lines):
        return "orders with nothing left to ship skipped"
    return None


async def _link_orders(uow: UnitOfWork, connection: ConnectionConfig, orders: list[StoreOrder]) -> None:
    """Link the orders and their line items to ours, so updates find them and write-back knows the store's ids."""
    if not orders:
        return
    our_lines = await _line_ids(uow, [order.number for order in orders])
    links = []
    for order in orders:
        links.append(Link("order", order.store_id, order.number, order.updated_at, {"digest": order_digest(order)}))
        for line in order.lines:
            line_id = our_lines.get((order.number, line.sku or ""))
            if line_id is not None:
                links.append(
                    Link("line", line.store_id, str(line_id), None,
                         {"order_id": order.store_id, "variant_id": line.variant_id, "sku": line.sku, "quantity": line.quantity,
                          "fulfilled_before_import": line.fulfilled_quantity, "added_tax_ppm": line.added_tax_ppm})
                )
        # The store's parcels so far are what it fulfilled before: taken off what came in, not ours to ship.
        for fulfillment_id in {fulfillment.store_id for fulfillment in order.fulfillments} | set(order.fulfillment_ids):
            links.append(Link("fulfillment", fulfillment_id, order.number, None, {"before_import": True}))
    await save_links(uow, connection.id, links)


async def _line_ids(uow: UnitOfWork, numbers: list[str]) -> dict[tuple[str, str], int]:
    """Our original lines (not swapped-in ones) of these orders by (order number, SKU)."""
    async with uow.read_only():
        rows = await uow.session.execute(
            select(Order.number, Product.sku, OrderLine.id)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Order.number.in_(numbers), OrderLine.substitute_for_line_id.is_(None))
        )
        return {(number, sku): line_id for number, sku, line_id in rows.all()}


async def _reconcile_order(uow: UnitOfWork, connection: ConnectionConfig, order: StoreOrder, number: str) -> SyncReport:
    """A known order's newer version: cancelled or lowered lines cancel what waits; new fulfilments ship."""
    report = SyncReport()
    if order.cancelled:
        report.merge(await _cancel_order(uow, connection, order.store_id, number, order.updated_at))
    else:
        remaining = await _remaining_by_sku(uow, number)
        in_store = await _in_store_since_import(uow, connection, order)
        lowered = {sku: here - in_store.get(sku, 0) for sku, here in remaining.items() if in_store.get(sku, 0) < here}
        if lowered:
            result = await cancel_for_shop(uow, number, store_actor(connection), units=lowered)
            done = [each for each in result.cancelled if not each.already_done]
            report.add("lines cancelled in the store", len(done))
            report.problems += _lowered_below_reserved(number, lowered, remaining, await _remaining_by_sku(uow, number))
    for fulfillment in order.fulfillments:
        report.merge(await _fulfil(uow, connection, order.store_id, fulfillment, number))
    await save_links(uow, connection.id, [Link("order", order.store_id, number, order.updated_at, {"digest": order_digest(order)})])
    return report


async def _in_store_since_import(uow: UnitOfWork, connection: ConnectionConfig, order: StoreOrder) -> dict[str, int]:
    """Units of each SKU the store order holds, less those it had fulfilled when imported (they never came in)."""
    lines = await links_by_store_id(uow, connection.id, "line", [line.store_id for line in order.lines])
    in_store: dict[str, int] = {}
    for line in order.lines:
        if line.sku:
            before = int(lines[line.store_id].data.get("fulfilled_before_import", 0)) if line.store_id in lines else 0
            in_store[line.sku] = in_store.get(line.sku, 0) + line.quantity - before
    return in_store


def _lowered_below_reserved(
    number: str, lowered: dict[str, int], before: dict[str, int], after: dict[str, int]
) -> list[str]:
    """The units the store took off that were reserved or shipped here, not waiting: the merchant settles those."""
    return [
        f"order {number}: the store removed {short} unit(s) of {sku} that were already reserved or shipped here"
        for sku, units in lowered.items()
        if (short := units - (before[sku] - after.get(sku, 0))) > 0
    ]


async def _remaining_by_sku(uow: UnitOfWork, number: str) -> dict[str, int]:
    """What the shop still means to deliver of each original SKU of the order (ordered less cancelled and swapped)."""
    async with uow.read_only():
        rows = await uow.session.execute(
            select(Product.sku, OrderLine.quantity - OrderLine.cancelled_quantity - OrderLine.substituted_quantity)
            .join(OrderLine, OrderLine.product_id == Product.id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.number == number, OrderLine.substitute_for_line_id.is_(None))
        )
        return {sku: int(quantity) for sku, quantity in rows.all()}


async def _cancel_order(uow: UnitOfWork, connection: ConnectionConfig, store_id: str, number: str, at: datetime) -> SyncReport:
    report = SyncReport()
    linked = await links_by_store_id(uow, connection.id, "order", [store_id])
    if store_id not in linked:
        report.add("cancels of unknown orders skipped")
        return report
    result = await cancel_for_shop(uow, linked[store_id].our_key, store_actor(connection))
    report.add("lines cancelled in the store", len([done for done in result.cancelled if not done.already_done]))
    return report


async def _fulfil(
    uow: UnitOfWork, connection: ConnectionConfig, order_store_id: str, fulfillment: StoreFulfillment,
    number: str | None = None,
) -> SyncReport:
    """Ship what the store fulfilled, once per fulfilment (the tracking number, or the fulfilment's id)."""
    report = SyncReport()
    done = await links_by_store_id(uow, connection.id, "fulfillment", [fulfillment.store_id])
    if fulfillment.store_id in done:
        return report
    if number is None:
        linked = await links_by_store_id(uow, connection.id, "order", [order_store_id])
        if order_store_id not in linked:
            report.add("fulfilments of unknown orders skipped")
            return report
        number = linked[order_store_id].our_key
    shippable = await _shippable_by_sku(uow, number)
    items = [ShipmentItem(sku, min(quantity, shippable.get(sku, 0))) for sku, quantity in fulfillment.items]
    items = [item for item in items if item.quantity > 0]
    if items:
        parcel = Parcel(fulfillment.carrier, fulfillment.tracking_number or f"store-{fulfillment.store_id}", fulfillment.tracking_url)
        try:
            await record_shipment(uow, ShipmentRequest(number, items, parcel, fulfillment.shipped_at), store_actor(connection))
            report.add("shipments recorded")
        except DomainError as refused:
            report.problems.append(f"fulfilment of order {number}: {refused.message}")
    short = sum(quantity for _, quantity in fulfillment.items) - sum(item.quantity for item in items)
    if short:
        # The store shipped units still waiting here (its stock and ours disagreed): the next stock count settles it.
        report.problems.append(f"order {number}: the store fulfilled {short} unit(s) not allocated here")
    await save_links(uow, connection.id, [Link("fulfillment", fulfillment.store_id, number, None, {})])
    return report


async def _shippable_by_sku(uow: UnitOfWork, number: str) -> dict[str, int]:
    async with uow.read_only():
        rows = await uow.session.execute(
            select(Product.sku, func.sum(OrderLine.allocated_quantity - OrderLine.shipped_quantity))
            .join(OrderLine, OrderLine.product_id == Product.id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.number == number)
            .group_by(Product.sku)
        )
        return {sku: int(quantity or 0) for sku, quantity in rows.all()}


async def _refunded_in_store(
    uow: UnitOfWork, connection: ConnectionConfig, refund_store_id: str, line_store_ids: Iterable[str]
) -> SyncReport:
    """The store refunded these line items: what we owe on them is paid (the merchant refunded by hand there)."""
    report = SyncReport()
    lines = await links_by_store_id(uow, connection.id, "line", list(line_store_ids))
    line_ids = [int(link.our_key) for link in lines.values()]
    if not line_ids:
        return report
    async with uow.read_only():
        owed = (
            await uow.session.scalars(
                select(Refund.id).where(Refund.line_id.in_(line_ids), Refund.status == RefundStatus.OWED)
            )
        ).all()
    for refund_id in owed:
        await mark_refund_paid(uow, refund_id, f"{connection.platform}:{refund_store_id}", store_actor(connection))
        report.add("refunds marked paid")
    return report


async def _privacy(uow: UnitOfWork, connection: ConnectionConfig, request: PrivacyRequest) -> SyncReport:
    """The store passes on a person's request: erase them, note a data request, or forget the shop."""
    report = SyncReport()
    actor = store_actor(connection)
    if request.kind == "shop_redact":
        await forget_shop(uow, connection.id, actor)
        report.add("shop forgotten")
    elif request.kind == "customer_redact":
        query = _subject(request, connection)
        if query is not None:
            result = await erase_customer(uow, query, actor)
            report.add("customers erased" if result.erased else "erasure requests for unknown people")
        else:
            report.add("erasure requests naming no e-mail address or phone")
    else:
        async with uow:
            # Who asked stays out of the audit log; the export command finds them by e-mail.
            record(uow.session, actor, "privacy.data_requested", "store_connection", connection.id, at=uow.clock.now(),
                   customer_known=await _known(uow.session, request.email))
            await uow.commit()
        report.add("data requests noted")
        report.problems.append(
            "a customer asked the store for their data: run `backorder-bot customer export --email ADDRESS` with the"
            " address from the store's request"
        )
    return report


def _subject(request: PrivacyRequest, connection: ConnectionConfig) -> SubjectQuery | None:
    """Who an erasure request names: by e-mail address, else by phone (a number several customers share finds no one)."""
    if request.email:
        return SubjectQuery(email=request.email)
    if request.phone:
        try:
            return SubjectQuery(phone=normalise_phone(request.phone, connection.settings.get("phone_region", "DE")))
        except DomainError:  # not a phone number
            return None
    return None


async def _known(session: AsyncSession, email: str | None) -> bool:
    if not email:
        return False
    try:
        await find_subject(session, SubjectQuery(email=email))
    except PersonNotFound:
        return False
    return True

