"""Orders in, created once with their customers and lines: new lines take stock in queue order (or what their
store says it supplied them from its own), the rest wait with an ETA. An order already in the shop with the same
content is left unchanged; with other content it is a problem, since an imported order is never rewritten."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, AuditFact, record_all
from bot.services.backorders.allocation import AllocationChange, allocate_stock_of, reserve_supplied
from bot.services.backorders.eta import EtaMove, recompute_etas
from bot.services.backorders.notifications import notify_stock_and_eta_changes
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake.abandoned_imports import finish_abandoned_runs
from bot.services.intake.import_records import (
    NO_PROGRESS,
    BadRow,
    Batch,
    ImportProgress,
    ImportResult,
    OrderLineRecord,
)
from bot.services.intake.order_staging import (
    LINE_COLUMNS,
    OrdersWritten,
    imported_order_details,
    write_staged_orders,
)
from bot.services.intake.record_checks import check_batch, check_order_line
from bot.services.intake.shop_lookup import (
    REASON_ORDERS_IMPORTED,
    product_ids_by_sku,
    rows_in,
    unknown_skus,
)
from bot.services.unit_of_work import UnitOfWork
from db.bulk_rows import insert_rows
from db.models import Customer, LineStatus, Order, OrderLine, Product

# A batch of this many lines or more is written through the staging table (order_staging): in short
# transactions, then moved into the shop in one. A smaller one is written in one transaction, which is as short.
STAGED_FROM = 5000


async def import_order_records(
    uow: UnitOfWork,
    batch: Batch[OrderLineRecord],
    actor: Actor,
    default_phone_region: str,
    *,
    dry_run: bool = False,
    progress: ImportProgress = NO_PROGRESS,
) -> ImportResult:
    """Create the batch's orders (one record per order line) that the shop does not have yet.

    With `dry_run`, nothing is written: a batch that would be written in one transaction is checked and done, then
    rolled back, so the result says what would change; a large one is checked beside the bot's writers, and the
    result says which orders and how many customers it would add, but not the stock and ETAs they would get.
    """
    now, tz = uow.clock.now(), uow.clock.tz
    checked = check_batch(
        batch, lambda given, problems: check_order_line(given, problems, now, tz, default_phone_region)
    )
    lines, problems, bad_rows = checked.records, checked.problems, checked.bad_rows
    orders: dict[str, list[OrderLineRecord]] = {}
    for line in lines:
        orders.setdefault(line.order_number, []).append(line)
    # A store's page that says what it supplied from stock (a backfill's few hundred orders) stays one transaction.
    if len(lines) < STAGED_FROM or any(line.in_stock_quantity is not None for line in lines):
        async with uow:
            products, existing = await _checked_against_shop(uow.session, orders, lines, bad_rows, problems)
            new_orders = _new(orders, existing, progress)
            written = await _write_orders(uow, new_orders, products, actor, progress)
            # Stock given to the new lines as they came in is no news; waiting lines they overtook are.
            await notify_stock_and_eta_changes(uow, moves=written.eta_moves)
            if not dry_run:  # leaving the unit of work uncommitted rolls it all back
                await uow.commit()
    else:
        if not dry_run:
            # A killed import's rows are cleared or finished first, also when this file turns out to add nothing.
            await finish_abandoned_runs(uow)
        # Read beside the bot's writers; then written in short transactions (order_staging). A dry run stops at
        # what it read: writing and rolling back would hold up the bot's writes for as long as the whole file.
        async with uow.read_only():
            products, existing = await _checked_against_shop(uow.session, orders, lines, bad_rows, problems)
            new_orders = _new(orders, existing, progress)
            customers = await _new_customers(uow.session, new_orders) if dry_run else 0
        if dry_run:
            written = OrdersWritten(tuple(new_orders), customers, (), ())
        else:
            written = await write_staged_orders(uow, new_orders, products, actor, progress) if new_orders else _NOTHING
    return ImportResult(
        kind="orders",
        created=written.created,
        unchanged=tuple(number for number in orders if number in existing),  # in the file's order
        customers_created=written.customers_created,
        allocations=written.allocations,
        eta_moves=written.eta_moves,
    )


_NOTHING = OrdersWritten((), 0, (), ())


async def _new_customers(session: AsyncSession, orders: dict[str, list[OrderLineRecord]]) -> int:
    """How many customers these orders name that the shop does not know yet."""
    emails = {lines[0].email for lines in orders.values()}
    known = await rows_in(session, emails, lambda among: select(Customer.email).where(among(Customer.email)))
    return len(emails) - len(known)


async def _checked_against_shop(
    session: AsyncSession,
    orders: dict[str, list[OrderLineRecord]],
    lines: Sequence[OrderLineRecord],
    bad_rows: Sequence[BadRow],
    problems: list[RowProblem],
) -> tuple[dict[str, int], dict[str, "_StoredOrder"]]:
    """The products by SKU and the orders already in the shop; ImportRejected with every problem found."""
    named = [(line.row, line.sku) for line in lines] + [(bad.row, bad.sku) for bad in bad_rows]
    products = await product_ids_by_sku(session, {sku for _, sku in named if sku})
    problems += unknown_skus(named, products)
    existing = await _orders_by_number(session, orders)
    # An order with a bad row is incomplete here; comparing it with the stored one would only mislead.
    incomplete = {bad.order_number for bad in bad_rows}
    for number in (number for number in orders if number in existing):  # in the file's order
        difference = None if number in incomplete else _difference(existing[number], orders[number])
        if difference:
            problems += [RowProblem(line.row, "order_number", difference) for line in orders[number]]
    if problems:
        raise ImportRejected(problems)
    return products, existing


def _new(
    orders: dict[str, list[OrderLineRecord]], existing: dict[str, "_StoredOrder"], progress: ImportProgress
) -> dict[str, list[OrderLineRecord]]:
    """The orders the shop does not have yet; the lines of those it has count as written."""
    progress.rows_written(sum(len(lines) for number, lines in orders.items() if number in existing))
    return {number: lines for number, lines in orders.items() if number not in existing}


@dataclass(frozen=True, slots=True)
class _StoredOrder:
    """An order already in the shop, as far as an import compares it."""

    number: str
    email: str
    placed_at: datetime
    currency: str
    lines: dict[str, tuple[int, int]]  # SKU: (quantity, unit price); lines a customer swapped in left out


async def _orders_by_number(session: AsyncSession, numbers: Iterable[str]) -> dict[str, _StoredOrder]:
    heads = await rows_in(
        session,
        numbers,
        lambda among: select(Order.number, Customer.email, Order.placed_at, Order.currency)
        .join(Customer, Customer.id == Order.customer_id)
        .where(among(Order.number)),
    )
    orders = {number: _StoredOrder(number, email, at, currency, {}) for number, email, at, currency in heads}
    # Lines a customer swapped in through the chat are the shop's doing, not the export's.
    lines = await rows_in(
        session,
        orders,
        lambda among: select(Order.number, Product.sku, OrderLine.quantity, OrderLine.unit_price_minor)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(among(Order.number), OrderLine.substitute_for_line_id.is_(None)),
    )
    for number, sku, quantity, unit_price_minor in lines:
        orders[number].lines[sku] = (quantity, unit_price_minor)
    return orders


def _difference(order: _StoredOrder, lines: list[OrderLineRecord]) -> str | None:
    """Why the batch's order is not the one already in the shop, or None if it is the same."""
    first = lines[0]
    prefix = f"order {order.number} is already in the shop"
    if order.email != first.email:
        return f"{prefix} for another customer"
    if order.placed_at != first.placed_at:
        return f"{prefix}, placed at {order.placed_at.isoformat()}"
    if order.currency != first.currency:
        return f"{prefix} in {order.currency}"
    stored = order.lines
    given = {line.sku: (line.quantity, line.unit_price_minor) for line in lines}
    differing = sorted(sku for sku in stored.keys() | given.keys() if stored.get(sku) != given.get(sku))
    if differing:
        return f"{prefix} with other lines (differing: {', '.join(differing)}); an imported order is never changed"
    return None


async def _write_orders(
    uow: UnitOfWork,
    orders: dict[str, list[OrderLineRecord]],
    products: dict[str, int],
    actor: Actor,
    progress: ImportProgress,
) -> OrdersWritten:
    """Insert the orders, their lines and audit entries as sets; allocate and recompute ETAs once per SKU."""
    session, now = uow.session, uow.clock.now()
    customer_ids, customers_created = await _customers_for(uow, [lines[0] for lines in orders.values()], actor)
    await insert_rows(
        session,
        Order.__table__,
        ("number", "customer_id", "placed_at", "currency", "created_at"),
        (
            (number, customer_ids[lines[0].email], lines[0].placed_at, lines[0].currency, now)
            for number, lines in orders.items()
        ),
    )
    order_ids = dict(
        await rows_in(session, orders, lambda among: select(Order.number, Order.id).where(among(Order.number)))
    )
    await insert_rows(session, OrderLine.__table__, LINE_COLUMNS, _line_rows(orders, order_ids, products, now, progress))
    await record_all(
        session,
        actor,
        now,
        (
            AuditFact("order.imported", "order", number, imported_order_details(lines))
            for number, lines in orders.items()
        ),
    )
    affected = sorted({products[line.sku] for lines in orders.values() for line in lines})
    supplied = await _supplied_by_line(session, orders, products)
    allocations = await reserve_supplied(session, uow.clock, actor, supplied)
    # A line its store marked waits for what the store said it lacks, not for what our count may still show.
    allocations += await allocate_stock_of(session, uow.clock, actor, affected, held=list(supplied))
    moves = await recompute_etas(session, uow.clock, uow.policy, REASON_ORDERS_IMPORTED, affected)
    return OrdersWritten(tuple(orders), customers_created, tuple(allocations), tuple(moves))


async def _supplied_by_line(
    session: AsyncSession, orders: dict[str, list[OrderLineRecord]], products: dict[str, int]
) -> dict[int, int]:
    """The new lines whose store said what it supplied from stock: {line id: units supplied}."""
    marked = {
        (number, products[line.sku]): min(max(line.in_stock_quantity, 0), line.quantity)
        for number, lines in orders.items() for line in lines if line.in_stock_quantity is not None
    }
    if not marked:
        return {}
    rows = await rows_in(
        session,
        {number for number, _ in marked},
        lambda among: select(Order.number, OrderLine.product_id, OrderLine.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(among(Order.number)),
    )
    return {line_id: marked[(number, product_id)] for number, product_id, line_id in rows if (number, product_id) in marked}



def _line_rows(
    orders: dict[str, list[OrderLineRecord]],
    order_ids: dict[str, int],
    products: dict[str, int],
    now: datetime,
    progress: ImportProgress,
) -> Iterator[tuple[Any, ...]]:
    """The new lines as rows of LINE_COLUMNS, each waiting in its SKU's queue; progress told as they go."""
    written = 0
    for number, lines in orders.items():
        for line in lines:
            yield (
                order_ids[number], products[line.sku], line.quantity, line.unit_price_minor, line.added_tax_ppm,
                LineStatus.BACKORDERED, 0, 0, 0, line.placed_at, now, now,
            )
        written += len(lines)
        if written >= _PROGRESS_EVERY:
            progress.rows_written(written)
            written = 0
    progress.rows_written(written)


_PROGRESS_EVERY = 1000  # lines written between two reports of progress


async def _customers_for(uow: UnitOfWork, firsts: list[OrderLineRecord], actor: Actor) -> tuple[dict[str, int], int]:
    """The customer ids of these orders by e-mail: new ones created; known ones only get missing details filled in."""
    session, now = uow.session, uow.clock.now()
    rows = await rows_in(
        session, {line.email for line in firsts}, lambda among: select(Customer).where(among(Customer.email))
    )
    known: dict[str, Customer] = {customer.email: customer for (customer,) in rows}
    new: dict[str, OrderLineRecord] = {}
    facts = []
    for line in firsts:
        customer = known.get(line.email)
        if customer is None:
            new.setdefault(line.email, line)
            continue
        filled = []
        if customer.phone is None and line.phone:
            customer.phone = line.phone
            filled.append("phone")
        if customer.language is None and line.language:
            customer.language = line.language
            filled.append("language")
        if filled:
            facts.append(AuditFact("customer.updated", "customer", customer.id, {"filled": filled}))
    ids = {email: customer.id for email, customer in known.items()}
    await insert_rows(
        session,
        Customer.__table__,
        ("name", "email", "phone", "language", "created_at"),
        ((line.customer_name, email, line.phone, line.language, now) for email, line in new.items()),
    )
    created = await rows_in(session, new, lambda among: select(Customer.email, Customer.id).where(among(Customer.email)))
    for email, customer_id in sorted(created, key=lambda row: row[1]):
        ids[email] = customer_id
        facts.append(AuditFact("customer.created", "customer", customer_id, {"source": "orders import"}))
    await session.flush()
    await record_all(session, actor, now, facts)
    return ids, len(new)
