"""A large orders import written through a staging table, so the bot's own writes never wait long behind it.

The checked lines go into staged_order_lines a chunk at a time, each chunk a short transaction of its own. One
short transaction then commits the run: it checks that nobody added one of its orders meanwhile and marks it
committed. Until then the shop holds nothing of the file, and a failed or cancelled import deletes its staged
rows at once. From then on the run is finished whatever happens: its orders move into the shop about MOVE_LINES
lines of whole orders (customers, orders, lines and their audit entries) per transaction, then the SKUs it touched get
their stock allocated in queue order and their ETAs, a few SKUs per transaction, and the staged rows are deleted. On
SQLite the import leaves the write lock free for a moment between its transactions when a writer of another process
waits, so the bot's writers, trying every few milliseconds, get in; on PostgreSQL, where nobody waits for these
rows, the move and the settling are one transaction each.

The run itself (import_runs) is renewed as it goes: when its process was killed, the next large import or the daily
jobs delete its rows if it was not committed, and otherwise move, allocate and recompute what it had not reached.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, AuditFact, record_all
from bot.services.backorders.allocation import AllocationChange, allocate_stock_of
from bot.services.backorders.eta import EtaMove, recompute_etas
from bot.services.backorders.notifications import notify_stock_and_eta_changes
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake.field_rules import amount_text
from bot.services.intake.import_records import ImportProgress, OrderLineRecord
from bot.services.intake.import_runs import RunKind, RunTakenOver, begin_run, chunks, discard, renew, renewed_run, stage
from bot.services.intake.shop_lookup import REASON_ORDERS_IMPORTED, execute_in_sets
from bot.services.unit_of_work import UnitOfWork
from db.models import AuditEntry, Customer, ImportRun, LineStatus, Order, OrderLine, StagedOrderLine
from db.types import UTCDateTime

STAGE_CHUNK = 3000  # lines staged per transaction
# Lines moved into the shop per transaction (up to where the next order begins), and SKUs allocated and given ETAs
# per transaction after the move, by database: few on SQLite, whose one write lock the bot's writers wait for; on
# PostgreSQL nobody waits for these rows, and every transaction costs the import time (100,000 lines on a quiet
# machine: 16.0 s in chunks against 11.8 s at once).
MOVE_LINES = {"sqlite": 3000, "postgresql": 10**9}
SETTLE_SKUS = {"sqlite": 20, "postgresql": 10**9}


@dataclass(frozen=True)
class OrdersWritten:
    """What writing an import's new orders did."""

    created: tuple[str, ...]
    customers_created: int
    allocations: tuple[AllocationChange, ...]
    eta_moves: tuple[EtaMove, ...]


def imported_order_details(lines: list[OrderLineRecord]) -> dict[str, Any]:
    """What an order's "order.imported" audit entry says: its lines as [SKU, quantity, unit price], either writer."""
    return {"lines": [[line.sku, line.quantity, amount_text(line.unit_price_minor, line.currency)] for line in lines]}


async def write_staged_orders(
    uow: UnitOfWork,
    orders: dict[str, list[OrderLineRecord]],
    products: dict[str, int],
    actor: Actor,
    progress: ImportProgress,
) -> OrdersWritten:
    """Stage the new orders and commit the run; then move them into the shop, allocate and give ETAs, in chunks.

    Raises ImportRejected, writing nothing, if another writer added one of the orders before the run was committed.
    """
    run_id = await begin_run(uow, "orders", actor)
    try:
        await _stage(uow, run_id, orders, products, progress)
        await _commit(uow, run_id)
    except BaseException:
        await discard(uow, run_id, StagedOrderLine.__table__)
        raise
    customers_created = await _move(uow, run_id, actor)
    allocations, moves = await _settle(uow, run_id, actor)
    await discard(uow, run_id, StagedOrderLine.__table__)
    return OrdersWritten(tuple(orders), customers_created, tuple(allocations), tuple(moves))


_STAGED_COLUMNS = (
    "run_id", "row", "order_number", "placed_at", "email", "customer_name", "phone", "language", "product_id",
    "quantity", "unit_price_minor", "added_tax_ppm", "currency", "order_details",
)


async def _stage(
    uow: UnitOfWork,
    run_id: int,
    orders: dict[str, list[OrderLineRecord]],
    products: dict[str, int],
    progress: ImportProgress,
) -> None:
    """The orders' lines into the staging table, about STAGE_CHUNK lines (whole orders) per transaction."""
    for chunk in _chunks_of_orders(orders):
        await stage(uow, run_id, StagedOrderLine.__table__, _STAGED_COLUMNS, list(_staged_rows(run_id, chunk, products)))
        progress.rows_written(sum(len(lines) for lines in chunk))


def _chunks_of_orders(orders: dict[str, list[OrderLineRecord]]) -> Iterator[list[list[OrderLineRecord]]]:
    chunk: list[list[OrderLineRecord]] = []
    size = 0
    for lines in orders.values():
        chunk.append(lines)
        size += len(lines)
        if size >= STAGE_CHUNK:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _staged_rows(
    run_id: int, chunk: list[list[OrderLineRecord]], products: dict[str, int]
) -> Iterator[tuple[Any, ...]]:
    for lines in chunk:
        details: dict[str, Any] | None = imported_order_details(lines)
        for line in lines:
            yield (
                run_id, line.row, line.order_number, line.placed_at, line.email, line.customer_name, line.phone,
                line.language, products[line.sku], line.quantity, line.unit_price_minor, line.added_tax_ppm,
                line.currency, details,
            )
            details = None  # on the order's first line only


async def _commit(uow: UnitOfWork, run_id: int) -> None:
    """From here the run goes into the shop whole; ImportRejected if another writer added one of its orders."""
    now = uow.clock.now()
    staged = StagedOrderLine.__table__
    async with uow:
        session = uow.session
        if session.bind.dialect.name == "postgresql":
            # Its statistics were taken while the table was empty: they would have every chunk of the move found
            # through the run's index, all of the run's rows each time, instead of by its range of ids.
            await session.execute(text(f"ANALYZE {staged.name}"))
        # Locks the run's row first: another process's clean-up waits for the commit, then finds the run alive.
        last_customer = select(func.coalesce(func.max(Customer.id), 0)).scalar_subquery()
        before_first = select(func.min(staged.c.id) - 1).where(staged.c.run_id == run_id).scalar_subquery()
        moving = {"moved_at": now, "moved_through": before_first, "known_customers_through": last_customer}
        if not await renew(session, run_id, now, **moving):
            raise RunTakenOver("the import was taken for dead and its rows discarded; import the file again")
        clashes = (
            await session.execute(
                select(staged.c.row, staged.c.order_number)
                .join(Order, Order.number == staged.c.order_number)
                .where(staged.c.run_id == run_id)
                .order_by(staged.c.id)
            )
        ).all()
        if clashes:
            raise ImportRejected([
                RowProblem(row, "order_number", f"order {number} was added to the shop while this file was imported")
                for row, number in clashes
            ])
        await uow.commit()


async def _move(uow: UnitOfWork, run_id: int, actor: Actor) -> int:
    """Move the committed run's orders into the shop a chunk per transaction, from where it got; new customers."""
    created = 0
    while (moved := await _move_chunk(uow, run_id, actor)) is not None:
        created += moved
        await uow.let_others_write()
    return created


async def _move_chunk(uow: UnitOfWork, run_id: int, actor: Actor) -> int | None:
    """The run's next chunk of orders into the shop with their customers, lines and audit entries, in one
    transaction: the customers it created, or None once the whole run is in.

    An order someone else added since the commit stays as they wrote it; the file's is left out.
    """
    staged = StagedOrderLine.__table__
    async with uow:
        session = uow.session
        run = await renewed_run(session, run_id, uow.clock.now())
        through = await _chunk_end(session, run_id, run.moved_through)
        if through is None:
            return None
        chunk = (staged.c.run_id == run_id) & (staged.c.id > run.moved_through) & (staged.c.id <= through)
        await session.execute(delete(staged).where(chunk, exists().where(Order.number == staged.c.order_number)))
        facts = await _fill_known_customers(session, chunk, run.known_customers_through)
        created = await _insert_new_customers(session, chunk, run.moved_at)
        facts += [AuditFact("customer.created", "customer", customer_id, {"source": "orders import"}) for customer_id in created]
        await record_all(session, actor, run.moved_at, facts)
        await _insert_orders(session, chunk, actor, run.moved_at)
        await renew(session, run_id, uow.clock.now(), moved_through=through)
        await uow.commit()
    return len(created)


async def _chunk_end(session: AsyncSession, run_id: int, moved_through: int) -> int | None:
    """The last staged row of the run's next chunk, about MOVE_LINES lines of whole orders; None if none is left."""
    staged = StagedOrderLine.__table__
    ours = staged.c.run_id == run_id
    past_chunk = moved_through + MOVE_LINES[session.bind.dialect.name]
    next_order = (
        select(staged.c.id)
        .where(ours, staged.c.id > past_chunk, staged.c.order_details.is_not(None))
        .order_by(staged.c.id)
        .limit(1)
    )
    starts_next = (await session.execute(next_order)).scalar()
    if starts_next is not None:
        return starts_next - 1
    return (await session.execute(select(func.max(staged.c.id)).where(ours, staged.c.id > moved_through))).scalar()


async def _insert_orders(session: AsyncSession, chunk: ColumnElement[bool], actor: Actor, now: datetime) -> None:
    """The chunk's orders, their lines waiting in their SKUs' queues, and an order.imported entry for each."""
    staged = StagedOrderLine.__table__
    at = literal(now, UTCDateTime())
    first_lines = chunk & staged.c.order_details.is_not(None)
    await session.execute(
        insert(Order.__table__).from_select(
            ["number", "customer_id", "placed_at", "currency", "created_at"],
            select(staged.c.order_number, Customer.id, staged.c.placed_at, staged.c.currency, at)
            .join(Customer, Customer.email == staged.c.email)
            .where(first_lines)
            .order_by(staged.c.id),
        )
    )
    await session.execute(
        insert(OrderLine.__table__).from_select(
            list(LINE_COLUMNS),
            select(
                Order.id, staged.c.product_id, staged.c.quantity, staged.c.unit_price_minor, staged.c.added_tax_ppm,
                literal(LineStatus.BACKORDERED, OrderLine.status.type), *(literal(0, Integer()),) * 3,
                staged.c.placed_at, at, at,
            )
            .join(Order, Order.number == staged.c.order_number)
            .where(chunk)
            .order_by(staged.c.id),
        )
    )
    audit = AuditEntry.__table__
    await session.execute(
        insert(audit).from_select(
            ["at", "actor_type", "actor_id", "action", "entity_type", "entity_id", "details"],
            select(
                at, literal(actor.type, audit.c.actor_type.type), literal(actor.id, String()),
                literal("order.imported"), literal("order"), staged.c.order_number, staged.c.order_details,
            )
            .where(first_lines)
            .order_by(staged.c.id),
        )
    )


# An order line as an import writes it, waiting in its SKU's queue.
LINE_COLUMNS = (
    "order_id", "product_id", "quantity", "unit_price_minor", "added_tax_ppm", "status", "allocated_quantity",
    "cancelled_quantity", "substituted_quantity", "queued_at", "created_at", "updated_at",
)


async def _fill_known_customers(
    session: AsyncSession, chunk: ColumnElement[bool], known_through: int
) -> list[AuditFact]:
    """A customer known before the run, missing a phone or language, gets the first one the file gives; audited."""
    staged = StagedOrderLine.__table__
    rows = await session.execute(
        select(Customer.id, Customer.phone, Customer.language, staged.c.phone, staged.c.language)
        .join(Customer, Customer.email == staged.c.email)
        .where(
            chunk,
            staged.c.order_details.is_not(None),  # an order's first line gives its customer's details
            Customer.id <= known_through,
            or_(Customer.phone.is_(None), Customer.language.is_(None)),
        )
        .order_by(staged.c.id)
    )
    missing: dict[int, list[str | None]] = {}
    facts, updates = [], []
    for customer_id, phone, language, given_phone, given_language in rows:
        known = missing.setdefault(customer_id, [phone, language])
        filled: dict[str, Any] = {}
        if known[0] is None and given_phone:
            known[0] = filled["phone"] = given_phone
        if known[1] is None and given_language:
            known[1] = filled["language"] = given_language
        if filled:
            updates.append({"customer_id": customer_id} | filled)
            facts.append(AuditFact("customer.updated", "customer", customer_id, {"filled": list(filled)}))
    customers = Customer.__table__
    await execute_in_sets(session, update(customers).where(customers.c.id == bindparam("customer_id")), updates)
    return facts


async def _insert_new_customers(session: AsyncSession, chunk: ColumnElement[bool], now: datetime) -> list[int]:
    """Customers the shop does not know yet, from the first line naming them; their ids in the file's order."""
    staged = StagedOrderLine.__table__
    customers = Customer.__table__
    firsts = select(func.min(staged.c.id)).where(chunk).group_by(staged.c.email)
    result = await session.execute(
        insert(customers)
        .from_select(
            ["name", "email", "phone", "language", "created_at"],
            select(staged.c.customer_name, staged.c.email, staged.c.phone, staged.c.language, literal(now, UTCDateTime()))
            .where(chunk, staged.c.id.in_(firsts), ~exists().where(customers.c.email == staged.c.email))
            .order_by(staged.c.id),
        )
        .returning(customers.c.id)
    )
    return sorted(result.scalars().all())


async def _settle(uow: UnitOfWork, run_id: int, actor: Actor) -> tuple[list[AllocationChange], list[EtaMove]]:
    """Allocate stock in queue order and recompute ETAs for the moved run's SKUs, SETTLE_SKUS per transaction."""
    staged, runs = StagedOrderLine.__table__, ImportRun.__table__
    async with uow.read_only():
        settled_through = select(runs.c.settled_through).where(runs.c.id == run_id).scalar_subquery()
        product_ids = (
            await uow.session.execute(
                select(staged.c.product_id)
                .where(staged.c.run_id == run_id, staged.c.product_id > settled_through)
                .distinct()
                .order_by(staged.c.product_id)
            )
        ).scalars().all()
    allocations: list[AllocationChange] = []
    moves: list[EtaMove] = []
    for chunk in chunks(product_ids, SETTLE_SKUS[uow.session_dialect()]):
        async with uow:
            session = uow.session
            allocations += await allocate_stock_of(session, uow.clock, actor, chunk)
            moved = await recompute_etas(session, uow.clock, uow.policy, REASON_ORDERS_IMPORTED, chunk)
            # Stock given to the new lines as they came in is no news; waiting lines they overtook are.
            await notify_stock_and_eta_changes(uow, moves=moved)
            await renew(session, run_id, uow.clock.now(), settled_through=chunk[-1])
            await uow.commit()
        moves += moved
        await uow.let_others_write()
    return allocations, moves


async def roll_forward(uow: UnitOfWork, run_id: int, actor: Actor) -> None:
    """The rest of a committed run whose process was killed: moved, allocated and given ETAs from where it got."""
    await _move(uow, run_id, actor)
    await _settle(uow, run_id, actor)


ORDERS = RunKind(StagedOrderLine.__table__, roll_forward)
