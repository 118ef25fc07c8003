"""Unallocated stock on hand: what the merchant counts, what deliveries add, and the queue it serves."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.services.audit import Actor, record
from bot.services.backorders.allocation import AllocationChange, allocate_available_stock
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
