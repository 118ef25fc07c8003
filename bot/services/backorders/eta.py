"""ETAs, computed and never typed in: each waiting line's place in its SKU's queue against stock and supply.

A SKU's waiting lines are served first come, first served (queued_at, then id). Walking them in that order,
unallocated stock covers the first ones (ETA = today + handling days); then the open purchase orders, by
expected date, cover the next ones (ETA = the date of the purchase order that completes the line, plus
handling days, *confirmed*; a supplier whose record shows it usually delivers late has that slip added to its
promised date, see _expected_arrival); the rest get today + the product's supplier lead time, *estimated*.

The walk is done in SQL with running totals, so a recompute is a few statements whatever the number of lines.
"""

from collections.abc import Collection
from datetime import date, timedelta
from functools import cache
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    FromClause,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.clock import Clock
from bot.memory import collector_paused
from bot.services.audit import Actor, record
from bot.services.backorders.allocation import open_quantity, waiting
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.models import (
    EtaBasis,
    EtaChange,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderStatus,
    StockLevel,
    Supplier,
)

# Why an ETA moved; stored on each EtaChange row.
REASON_PURCHASE_ORDER_ADDED = "purchase_order_added"
REASON_PURCHASE_ORDER_MOVED = "purchase_order_moved"
REASON_PURCHASE_ORDER_CANCELLED = "purchase_order_cancelled"
REASON_PURCHASE_ORDER_RECEIVED = "purchase_order_received"
REASON_STOCK_CHANGED = "stock_changed"
REASON_RECALCULATED = "recalculated"
REASON_QUEUE_CHANGED = "queue_changed"  # a line ahead was cancelled or swapped
REASON_SUPPLIER_RECORD = "supplier_record"  # the supplier's track record changed the slip its dates are given


class EtaMove(NamedTuple):
    """A waiting line whose ETA date, or the basis of it, changed.

    A named tuple rather than a frozen dataclass: a full recompute makes 100,000 of them, and a frozen dataclass
    takes four times as long to build (0.11 s against 0.03 s).
    """

    line_id: int
    customer_id: int
    order_number: str
    sku: str
    old_eta: date | None
    new_eta: date | None
    old_basis: EtaBasis | None
    new_basis: EtaBasis | None
    reason: str


class _days_after(FunctionElement[date]):
    """`day + days` as a date, on SQLite and PostgreSQL alike."""

    type = Date()
    inherit_cache = True
    name = "days_after"


@compiles(_days_after, "sqlite")
def _days_after_sqlite(element: _days_after, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = element.clauses
    # SQLite keeps dates as 'YYYY-MM-DD' text, which is what date() returns.
    return f"date({compiler.process(day, **kw)}, '+' || ({compiler.process(days, **kw)}) || ' days')"


@compiles(_days_after, "postgresql")
def _days_after_postgresql(element: _days_after, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = element.clauses
    return f"(CAST({compiler.process(day, **kw)} AS DATE) + CAST({compiler.process(days, **kw)} AS INTEGER))"


def _expected_arrival() -> ColumnElement[date]:
    """When a purchase order should really arrive: the promised date plus its supplier's usual slip, if any.

    Needs `Supplier` outer-joined on the purchase order's supplier; the slip is kept on the supplier
    (bot/services/purchasing/supplier_record.py), so the queue walk itself stays as it is.
    """
    return _days_after(PurchaseOrder.expected_on, func.coalesce(Supplier.eta_slip_days, 0))


def _computed_etas(scoped: bool) -> Select[Any]:
    """One row per waiting line whose computed ETA, basis or purchase order differs from the stored one.

    Bound: `today`, `handling_days`, `ready_on` (today + handling days) and, when scoped, `product_ids`.
    """
    queue_filter = [waiting()]
    supply_filter = [PurchaseOrder.status == PurchaseOrderStatus.OPEN]
    sku_filter = []
    if scoped:
        product_ids = bindparam("product_ids", expanding=True)
        queue_filter.append(OrderLine.product_id.in_(product_ids))
        supply_filter.append(PurchaseOrder.product_id.in_(product_ids))
        sku_filter.append(Product.id.in_(product_ids))
    today_param = bindparam("today", type_=Date)
    handling = bindparam("handling_days", type_=Integer)

    # Running totals: how many units the queue needs up to and including each line...
    queue = (
        select(
            OrderLine.id,
            OrderLine.order_id,
            OrderLine.product_id,
            OrderLine.eta,
            # Read as text: the moves map it to EtaBasis themselves, faster than a result processor per row.
            type_coerce(OrderLine.eta_basis, String).label("eta_basis"),
            OrderLine.eta_purchase_order_id,
            func.sum(open_quantity())
            .over(partition_by=OrderLine.product_id, order_by=(OrderLine.queued_at, OrderLine.id), rows=(None, 0))
            .label("needed_through"),
        )
        .where(*queue_filter)
        .cte("queue")
    )
    # ...and how many units the open purchase orders bring, up to and including each one.
    outstanding = PurchaseOrder.quantity - PurchaseOrder.received_quantity
    supplied_through = func.sum(outstanding).over(
        partition_by=PurchaseOrder.product_id,
        order_by=(PurchaseOrder.expected_on, PurchaseOrder.id),
        rows=(None, 0),
    )
    # A late purchase order has not arrived yet, so the earliest it can ship from is today.
    expected = _expected_arrival()
    arrival = case((expected < today_param, today_param), else_=expected)
    supply = (
        select(
            PurchaseOrder.id,
            PurchaseOrder.product_id,
            _days_after(arrival, handling).label("eta"),
            (supplied_through - outstanding).label("supplied_before"),
            supplied_through.label("supplied_through"),
        )
        .outerjoin(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .where(*supply_filter)
        .cte("supply")
    )
    skus = (
        select(
            Product.id,
            func.coalesce(StockLevel.available, 0).label("available"),
            _days_after(today_param, Product.lead_time_days).label("estimated_eta"),
        )
        .outerjoin(StockLevel, StockLevel.product_id == Product.id)
        .where(*sku_filter)
        .cte("skus")
    )
    # What the line still lacks once unallocated stock has served everyone up to and including it.
    shortfall = queue.c.needed_through - skus.c.available
    in_stock = shortfall <= 0
    on_purchase_order = supply.c.id.is_not(None)
    computed = (
        select(
            queue.c.id.label("line_id"),
            queue.c.order_id,
            queue.c.product_id,
            queue.c.eta.label("old_eta"),
            queue.c.eta_basis.label("old_basis"),
            queue.c.eta_purchase_order_id.label("old_purchase_order_id"),
            case(
                (in_stock, bindparam("ready_on", type_=Date)),
                (on_purchase_order, supply.c.eta),
                else_=skus.c.estimated_eta,
            ).label("new_eta"),
            case(
                (in_stock, literal(EtaBasis.IN_STOCK.value)),
                (on_purchase_order, literal(EtaBasis.PURCHASE_ORDER.value)),
                else_=literal(EtaBasis.LEAD_TIME.value),
            ).label("new_basis"),
            case((in_stock, None), else_=supply.c.id).label("new_purchase_order_id"),
        )
        .select_from(queue)
        .join(skus, skus.c.id == queue.c.product_id)
        # The purchase order whose cumulative supply first reaches the line's shortfall completes it.
        .outerjoin(
            supply,
            and_(
                supply.c.product_id == queue.c.product_id,
                shortfall > supply.c.supplied_before,
                shortfall <= supply.c.supplied_through,
            ),
        )
        .subquery("computed")
    )
    return select(computed).where(
        or_(
            computed.c.old_eta.is_distinct_from(computed.c.new_eta),
            computed.c.old_basis.is_distinct_from(computed.c.new_basis),
            computed.c.old_purchase_order_id.is_distinct_from(computed.c.new_purchase_order_id),
        )
    )


# Scratch space for one recompute: the computed rows are written once and then read by the statements that
# record history, update the lines and report the moves, so the running totals are computed only once.
_scratch = MetaData()
_recomputed = Table(
    "eta_recompute",
    _scratch,
    Column("line_id", Integer, primary_key=True, autoincrement=False),
    Column("order_id", Integer),
    Column("product_id", Integer),
    Column("old_eta", Date),
    Column("old_basis", String(24)),
    Column("old_purchase_order_id", Integer),
    Column("new_eta", Date),
    Column("new_basis", String(24)),
    Column("new_purchase_order_id", Integer),
    prefixes=["TEMPORARY"],
)
_BASES = {basis.value: basis for basis in EtaBasis}
# Up to this many SKUs a recompute's rows fit PostgreSQL's default working memory.
_FEW_SKUS = 100


async def recompute_etas(
    session: AsyncSession,
    clock: Clock,
    policy: ShopPolicy,
    reason: str,
    product_ids: Collection[int] | None = None,
) -> list[EtaMove]:
    """Recompute the ETA of every waiting line of the given SKUs (all when None); does not commit.

    Lines whose ETA is unchanged are left alone; every line whose date or basis moved gets a history row
    and is returned, in line order.
    """
    if product_ids is not None and not product_ids:
        return []
    today = clock.today()
    parameters: dict[str, Any] = {
        "today": today,
        "handling_days": policy.handling_days,
        "ready_on": today + timedelta(days=policy.handling_days),
        "reason": reason,
        "now": clock.now(),
    }
    scoped = product_ids is not None
    if scoped:
        parameters["product_ids"] = list(product_ids)
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        if product_ids is None or len(product_ids) > _FEW_SKUS:
            # Sorting and keeping 100,000 computed rows takes some 20 MB; with the default 4 MB PostgreSQL spills
            # them to temporary files three times over. For this transaction only.
            await connection.execute(text("SET LOCAL work_mem = '64MB'"))
        return _moves(await connection.execute(_one_statement(scoped), parameters), reason)
    return await _recompute_through_scratch_table(session, scoped, parameters)


@cache
def _one_statement(scoped: bool) -> Select[Any]:
    """PostgreSQL: compute, store, record and report in one statement (data-modifying CTEs).

    One round trip and no scratch table: a temporary table costs PostgreSQL catalog writes in every
    transaction, several times the work of a one-SKU recompute. Built once and reused, as building it
    takes longer than running it for one SKU.
    """
    changed = _computed_etas(scoped).cte("changed")
    lines = OrderLine.__table__
    # Not read below: PostgreSQL runs a data-modifying WITH query to completion whether or not it is read.
    stored = update(lines).where(lines.c.id == changed.c.line_id).values(_stored_values(changed)).cte("stored")
    history = insert(EtaChange.__table__).from_select(_HISTORY_COLUMNS, _history_rows(changed))
    # Unsorted, so the moves stream to the bot while PostgreSQL stores the lines and writes the history (it runs
    # those once the main query is done); _moves puts them in line order.
    return _moves_of(changed).order_by(None).add_cte(history.cte("history"), stored)


async def _recompute_through_scratch_table(
    session: AsyncSession, scoped: bool, parameters: dict[str, Any]
) -> list[EtaMove]:
    """SQLite: the computed rows go to a scratch table once, then history, lines and moves are read from it."""
    # No try/finally: after an error the transaction is rolled back, and the scratch table with it.
    await session.run_sync(lambda sync_session: _recomputed.create(sync_session.connection()))
    connection = await session.connection()
    fill, record_history, store, report = _scratch_statements(scoped)
    moves: list[EtaMove] = []
    if (await connection.execute(fill, parameters)).rowcount:
        await connection.execute(record_history, parameters)
        await connection.execute(store, parameters)
        moves = _moves(await connection.execute(report), parameters["reason"])
    await session.run_sync(lambda sync_session: _recomputed.drop(sync_session.connection()))
    return moves


@cache
def _scratch_statements(scoped: bool) -> tuple[Executable, Executable, Executable, Select[Any]]:
    """SQLite: fill the scratch table, record history, store the new ETAs, report the moves; built once."""
    lines = OrderLine.__table__
    recomputed = _recomputed.c
    return (
        insert(_recomputed).from_select([column.name for column in _recomputed.columns], _computed_etas(scoped)),
        insert(EtaChange.__table__).from_select(_HISTORY_COLUMNS, _history_rows(_recomputed)),
        update(lines)
        # The IN is redundant, but without it SQLite's planner walks every order line instead of the few changed.
        .where(lines.c.id == recomputed.line_id, lines.c.id.in_(select(recomputed.line_id)))
        .values(_stored_values(_recomputed)),
        _moves_of(_recomputed),
    )


def _moved(computed: FromClause) -> ColumnElement[bool]:
    """The date or the basis changed; a new purchase order with the same date is not news."""
    return or_(
        computed.c.old_eta.is_distinct_from(computed.c.new_eta),
        computed.c.old_basis.is_distinct_from(computed.c.new_basis),
    )


def _stored_values(computed: FromClause) -> dict[str, Any]:
    return {
        "eta": computed.c.new_eta,
        "eta_basis": computed.c.new_basis,
        "eta_purchase_order_id": computed.c.new_purchase_order_id,
        "updated_at": bindparam("now", type_=OrderLine.updated_at.type),
    }


_HISTORY_COLUMNS = ["line_id", "old_eta", "new_eta", "old_basis", "new_basis", "reason", "changed_at"]


def _history_rows(computed: FromClause) -> Select[Any]:
    """One ETA-history row per moved line, inserted in line order."""
    return (
        select(
            computed.c.line_id,
            computed.c.old_eta,
            computed.c.new_eta,
            computed.c.old_basis,
            computed.c.new_basis,
            bindparam("reason", type_=String),
            bindparam("now", type_=EtaChange.changed_at.type),
        )
        .where(_moved(computed))
        .order_by(computed.c.line_id)
    )


def _moves_of(computed: FromClause) -> Select[Any]:
    """The moved lines with what an EtaMove is made of, in line order."""
    return (
        select(
            computed.c.line_id,
            Order.customer_id,
            Order.number,
            Product.sku,
            computed.c.old_eta,
            computed.c.new_eta,
            computed.c.old_basis,
            computed.c.new_basis,
        )
        .join(Order, Order.id == computed.c.order_id)
        .join(Product, Product.id == computed.c.product_id)
        .where(_moved(computed))
        .order_by(computed.c.line_id)
    )


def _moves(result: Result[Any], reason: str) -> list[EtaMove]:
    """The moves of the result's rows, in line order."""
    # All rows at once: fetching row by row through the async adapter would double the time for 100,000 rows.
    # The collector off: 100,000 moves (a row and a move each) set it off again and again, and each time it walked
    # every object of the process, half of the CPU a full recompute spent in the bot. Nothing awaits inside.
    with collector_paused():
        moves = [
            EtaMove(
                line_id, customer_id, number, sku, old_eta, new_eta, _BASES.get(old_basis), _BASES[new_basis], reason
            )
            for line_id, customer_id, number, sku, old_eta, new_eta, old_basis, new_basis in result.all()
        ]
    moves.sort(key=itemgetter(0))  # by line id; a few milliseconds when they come sorted already
    return moves


async def recompute_all_etas(uow: UnitOfWork, reason: str = REASON_RECALCULATED) -> list[EtaMove]:
    """Recompute every waiting line's ETA in one transaction and return the lines whose ETA moved."""
    async with uow:
        moves = await recompute_etas(uow.session, uow.clock, uow.policy, reason)
        record(
            uow.session,
            Actor.system(),
            "etas.recomputed",
            "shop",
            "all",
            at=uow.clock.now(),
            reason=reason,
            lines_moved=len(moves),
        )
        await uow.commit()
    return moves
