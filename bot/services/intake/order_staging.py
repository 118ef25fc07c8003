"""A large orders import written through a staging table, so the bot's own writes never wait long behind it.

The checked lines go into staged_order_lines a chunk at a time, each chunk a short transaction of its own. One
transaction then moves them into the shop (customers, orders, lines and their audit entries) as INSERT … SELECT,
so the file is in the shop whole or not at all. After it, the SKUs the file touched get their stock allocated in
queue order and their ETAs, a few SKUs per transaction, and the staged rows are deleted.

A run names its process (host:pid) and is renewed as it goes. When an import fails or is cancelled before the
move, its staged rows are deleted at once; when its process was killed, the next large import finds the run
abandoned (its process is gone, or it has not been renewed for ABANDONED_AFTER) and deletes its rows, or, if the
move had already happened, allocates and recomputes what it had not reached yet.
"""

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Integer, String, bindparam, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, AuditFact, record_all
from bot.services.backorders.allocation import AllocationChange, allocate_stock_of
from bot.services.backorders.eta import EtaMove, recompute_etas
from bot.services.backorders.notifications import notify_stock_and_eta_changes
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake.field_rules import amount_text
from bot.services.intake.import_records import ImportProgress, OrderLineRecord
from bot.services.intake.shop_lookup import REASON_ORDERS_IMPORTED, execute_in_sets
from bot.services.unit_of_work import UnitOfWork
from db.bulk_rows import insert_rows
from db.models import ActorType, AuditEntry, Customer, ImportRun, LineStatus, Order, OrderLine, StagedOrderLine
from db.types import UTCDateTime

STAGE_CHUNK = 5000  # lines staged per transaction
SETTLE_SKUS = 50  # SKUs allocated and given ETAs per transaction after the move
DISCARD_CHUNK = 10_000  # staged rows deleted per transaction
ABANDONED_AFTER = timedelta(minutes=10)  # a run not renewed for this long is taken for dead, wherever it ran

_HOST = socket.gethostname()


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
    """Stage the new orders in chunks, move them into the shop in one transaction, then allocate and give ETAs.

    Raises ImportRejected, writing nothing, if another writer added one of the orders meanwhile.
    """
    await finish_abandoned_runs(uow)
    run_id = await _begin_run(uow, actor)
    try:
        await _stage(uow, run_id, orders, products, progress)
        customers_created = await _move(uow, run_id, orders, actor)
    except BaseException:
        await _discard(uow, run_id)
        raise
    allocations, moves = await _settle(uow, run_id, actor)
    await _discard(uow, run_id)
    return OrdersWritten(tuple(orders), customers_created, tuple(allocations), tuple(moves))


async def finish_abandoned_runs(uow: UnitOfWork) -> int:
    """Delete what imports whose process died left staged; finish allocating for those that had moved. How many."""
    now = uow.clock.now()
    async with uow.read_only():
        runs = (await uow.session.execute(select(ImportRun.__table__).order_by(ImportRun.id))).all()
    finished = 0
    for run in runs:
        if not _abandoned(run, now) or not await _take_over(uow, run):
            continue
        if run.moved_at is not None:
            await _settle(uow, run.id, Actor(ActorType(run.actor_type), run.actor_id))
        await _discard(uow, run.id)
        finished += 1
    return finished


def _holder() -> str:
    return f"{_HOST}:{os.getpid()}"


def _abandoned(run: Row[Any], now: datetime) -> bool:
    if now - run.alive_at > ABANDONED_AFTER:
        return True
    host, _, pid = run.holder.rpartition(":")
    if host != _HOST or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


async def _take_over(uow: UnitOfWork, run: Row[Any]) -> bool:
    """Claim an abandoned run for this process, unless another process claimed it or it came back to life."""
    runs = ImportRun.__table__
    async with uow:
        claimed = await uow.session.execute(
            update(runs)
            .where(runs.c.id == run.id, runs.c.holder == run.holder, runs.c.alive_at == run.alive_at)
            .values(holder=_holder(), alive_at=uow.clock.now())
        )
        await uow.commit()
    return bool(claimed.rowcount)


async def _begin_run(uow: UnitOfWork, actor: Actor) -> int:
    async with uow:
        run = ImportRun(
            kind="orders",
            actor_type=actor.type.value,
            actor_id=actor.id,
            holder=_holder(),
            alive_at=uow.clock.now(),
            settled_through=0,
        )
        uow.session.add(run)
        await uow.session.flush()
        run_id = run.id
        await uow.commit()
    return run_id


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
    table = StagedOrderLine.__table__
    for chunk in _chunks_of_orders(orders):
        async with uow:
            await insert_rows(uow.session, table, _STAGED_COLUMNS, _staged_rows(run_id, chunk, products))
            await _renew(uow.session, run_id, uow.clock.now())
            await uow.commit()
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


async def _renew(session: AsyncSession, run_id: int, now: datetime, **values: Any) -> int:
    runs = ImportRun.__table__
    result = await session.execute(update(runs).where(runs.c.id == run_id).values(alive_at=now, **values))
    return result.rowcount


class RunDiscarded(RuntimeError):
    """The run's staged rows were discarded by another process that took it for dead; nothing was written."""


async def _move(uow: UnitOfWork, run_id: int, orders: dict[str, list[OrderLineRecord]], actor: Actor) -> int:
    """One transaction: the staged customers, orders, lines and their audit entries into the shop; new customers."""
    now = uow.clock.now()
    staged = StagedOrderLine.__table__
    ours = staged.c.run_id == run_id
    async with uow:
        session = uow.session
        # Locks the run's row first: another process's clean-up waits for the move, then finds the run alive.
        if not await _renew(session, run_id, now, moved_at=now):
            raise RunDiscarded("the import was taken for dead and its rows discarded; import the file again")
        clashes = (
            await session.execute(
                select(staged.c.row, staged.c.order_number)
                .join(Order, Order.number == staged.c.order_number)
                .where(ours)
                .order_by(staged.c.id)
            )
        ).all()
        if clashes:
            raise ImportRejected([
                RowProblem(row, "order_number", f"order {number} was added to the shop while this file was imported")
                for row, number in clashes
            ])
        facts = await _fill_known_customers(session, run_id, orders)
        created = await _insert_new_customers(session, run_id, now)
        facts += [AuditFact("customer.created", "customer", customer_id, {"source": "orders import"}) for customer_id in created]
        await record_all(session, actor, now, facts)
        at = literal(now, UTCDateTime())
        first_lines = ours & staged.c.order_details.is_not(None)
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
                .where(ours)
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
        await uow.commit()
    return len(created)


# An order line as an import writes it, waiting in its SKU's queue.
LINE_COLUMNS = (
    "order_id", "product_id", "quantity", "unit_price_minor", "added_tax_ppm", "status", "allocated_quantity",
    "cancelled_quantity", "substituted_quantity", "queued_at", "created_at", "updated_at",
)


async def _fill_known_customers(
    session: AsyncSession, run_id: int, orders: dict[str, list[OrderLineRecord]]
) -> list[AuditFact]:
    """A known customer missing a phone or language gets the first one the file gives; audited."""
    staged = StagedOrderLine.__table__
    rows = await session.execute(
        select(Customer.id, Customer.email, Customer.phone, Customer.language).where(
            or_(Customer.phone.is_(None), Customer.language.is_(None)),
            Customer.email.in_(select(staged.c.email).where(staged.c.run_id == run_id)),
        )
    )
    missing = {email: [customer_id, phone, language] for customer_id, email, phone, language in rows}
    facts, updates = [], []
    for lines in orders.values():
        line = lines[0]
        known = missing.get(line.email)
        if known is None:
            continue
        filled: dict[str, Any] = {}
        if known[1] is None and line.phone:
            known[1] = filled["phone"] = line.phone
        if known[2] is None and line.language:
            known[2] = filled["language"] = line.language
        if filled:
            updates.append({"customer_id": known[0]} | filled)
            facts.append(AuditFact("customer.updated", "customer", known[0], {"filled": list(filled)}))
    customers = Customer.__table__
    await execute_in_sets(session, update(customers).where(customers.c.id == bindparam("customer_id")), updates)
    return facts


async def _insert_new_customers(session: AsyncSession, run_id: int, now: datetime) -> list[int]:
    """Customers the shop does not know yet, from the first line naming them; their ids in the file's order."""
    staged = StagedOrderLine.__table__
    customers = Customer.__table__
    firsts = select(func.min(staged.c.id)).where(staged.c.run_id == run_id).group_by(staged.c.email)
    result = await session.execute(
        insert(customers)
        .from_select(
            ["name", "email", "phone", "language", "created_at"],
            select(staged.c.customer_name, staged.c.email, staged.c.phone, staged.c.language, literal(now, UTCDateTime()))
            .where(staged.c.id.in_(firsts), ~exists().where(customers.c.email == staged.c.email))
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
    for chunk in _chunks(product_ids, SETTLE_SKUS):
        async with uow:
            session = uow.session
            allocations += await allocate_stock_of(session, uow.clock, actor, chunk)
            moved = await recompute_etas(session, uow.clock, uow.policy, REASON_ORDERS_IMPORTED, chunk)
            # Stock given to the new lines as they came in is no news; waiting lines they overtook are.
            await notify_stock_and_eta_changes(uow, moves=moved)
            await _renew(session, run_id, uow.clock.now(), settled_through=chunk[-1])
            await uow.commit()
        moves += moved
    return allocations, moves


def _chunks(values: list[int], size: int) -> Iterator[list[int]]:
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


async def _discard(uow: UnitOfWork, run_id: int) -> None:
    """Delete the run's staged rows, DISCARD_CHUNK per transaction, then the run."""
    staged = StagedOrderLine.__table__
    while True:
        async with uow:
            deleted = await uow.session.execute(
                delete(staged).where(
                    staged.c.id.in_(select(staged.c.id).where(staged.c.run_id == run_id).limit(DISCARD_CHUNK))
                )
            )
            await uow.commit()
        if deleted.rowcount < DISCARD_CHUNK:
            break
    async with uow:
        await uow.session.execute(delete(ImportRun.__table__).where(ImportRun.__table__.c.id == run_id))
        await uow.commit()
