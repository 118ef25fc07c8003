"""Unallocated stock on hand: what the merchant counts, what deliveries add, and the queue it serves."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.services.audit import Actor, AuditFact, record, record_all
from bot.services.backorders.allocation import AllocationChange, allocate_available_stock, allocate_stock_of
from bot.services.backorders.eta import REASON_STOCK_CHANGED, EtaMove, recompute_etas
from bot.services.backorders.notifications import notify_stock_and_eta_changes
from bot.services.errors import InvalidQuantity, ProductNotFound
from bot.services.unit_of_work import UnitOfWork
from db.models import Product, StockLevel


@dataclass(frozen=True)
class StockResult:
    """A SKU's stock after a count: what the waiting lines took, what is left, and the ETAs that moved."""

    sku: str
    counted: int
    available: int
    allocations: tuple[AllocationChange, ...]
    eta_moves: tuple[EtaMove, ...]

    @property
    def ready_to_ship(self) -> tuple[AllocationChange, ...]:
        return tuple(change for change in self.allocations if change.ready_to_ship)


async def set_available_stock(uow: UnitOfWork, sku: str, available: int, actor: Actor) -> StockResult:
    """Record that `available` units of a SKU are on hand and unallocated, then serve its waiting lines."""
    if available < 0:
        raise InvalidQuantity(N_("Stock on hand cannot be negative."))
    async with uow:
        session = uow.session
        product = await product_by_sku(session, sku)
        now = uow.clock.now()
        previous = await _locked_available(session, product.id)
        if previous is None:
            session.add(StockLevel(product_id=product.id, available=available, updated_at=now))
            await session.flush()
        elif previous != available:
            await session.execute(
                update(StockLevel)
                .where(StockLevel.product_id == product.id)
                .values(available=available, updated_at=now)
            )
        if previous != available:
            record(
                session,
                actor,
                "stock.set",
                "product",
                sku,
                at=now,
                old_available=previous,
                new_available=available,
            )
        allocations = await allocate_available_stock(session, uow.clock, actor, product.id)
        moves = await recompute_etas(session, uow.clock, uow.policy, REASON_STOCK_CHANGED, [product.id])
        await notify_stock_and_eta_changes(uow, allocations, moves)
        await uow.commit()
    left = available - sum(change.allocated_now for change in allocations)
    return StockResult(sku, available, left, tuple(allocations), tuple(moves))


@dataclass(frozen=True)
class StockCountsResult:
    """Many SKUs counted at once: the SKUs set, those the shop does not have, and what the waiting lines took."""

    counted: dict[str, int]
    unknown: tuple[str, ...]
    allocations: tuple[AllocationChange, ...]
    eta_moves: tuple[EtaMove, ...]


async def set_available_stocks(uow: UnitOfWork, counts: Mapping[str, int], actor: Actor) -> StockCountsResult:
    """set_available_stock for many SKUs in one transaction and a few statements (a store's stock page, a backfill):
    the counts saved, the waiting lines of every SKU served in queue order, ETAs recomputed once. Unknown SKUs are
    left out and named; a negative count is InvalidQuantity."""
    if any(available < 0 for available in counts.values()):
        raise InvalidQuantity(N_("Stock on hand cannot be negative."))
    async with uow:
        session, now = uow.session, uow.clock.now()
        ids = dict((await session.execute(select(Product.sku, Product.id).where(Product.sku.in_(list(counts))))).all())
        unknown = tuple(sku for sku in counts if sku not in ids)
        by_id = {ids[sku]: (sku, available) for sku, available in counts.items() if sku in ids}
        previous = dict(
            (
                await session.execute(
                    select(StockLevel.product_id, StockLevel.available)
                    .where(StockLevel.product_id.in_(list(by_id)))
                    .order_by(StockLevel.product_id)
                    .with_for_update()
                )
            ).all()
        )
        new = [{"product_id": pid, "available": available, "updated_at": now}
               for pid, (_, available) in by_id.items() if pid not in previous]
        changed = [{"b_product_id": pid, "available": available, "updated_at": now}
                   for pid, (_, available) in by_id.items() if pid in previous and previous[pid] != available]
        if new:
            await session.execute(insert(StockLevel), new)
        if changed:
            table = StockLevel.__table__
            await session.execute(
                update(table).where(table.c.product_id == bindparam("b_product_id"))
                .values(available=bindparam("available"), updated_at=bindparam("updated_at")),
                changed,
            )
        await record_all(session, actor, now, [
            AuditFact("stock.set", "product", sku, {"old_available": previous.get(pid), "new_available": available})
            for pid, (sku, available) in by_id.items() if previous.get(pid) != available
        ])
        allocations = await allocate_stock_of(session, uow.clock, actor, list(by_id))
        moves = await recompute_etas(session, uow.clock, uow.policy, REASON_STOCK_CHANGED, list(by_id))
        await notify_stock_and_eta_changes(uow, allocations, moves)
        await uow.commit()
    return StockCountsResult(
        {sku: available for sku, available in by_id.values()}, unknown, tuple(allocations), tuple(moves)
    )


async def product_by_sku(session: AsyncSession, sku: str) -> Product:
    product = (await session.execute(select(Product).where(Product.sku == sku))).scalar_one_or_none()
    if product is None:
        raise ProductNotFound(sku)
    return product


async def add_to_stock(session: AsyncSession, product_id: int, quantity: int, now: datetime) -> None:
    """Add delivered units to a SKU's unallocated stock; does not commit."""
    added = await session.execute(
        update(StockLevel)
        .where(StockLevel.product_id == product_id)
        .values(available=StockLevel.available + quantity, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if added.rowcount == 0:
        session.add(StockLevel(product_id=product_id, available=quantity, updated_at=now))
        await session.flush()


async def _locked_available(session: AsyncSession, product_id: int) -> int | None:
    return (
        await session.execute(
            select(StockLevel.available).where(StockLevel.product_id == product_id).with_for_update()
        )
    ).scalar_one_or_none()
