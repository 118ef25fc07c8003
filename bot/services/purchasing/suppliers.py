"""Suppliers as the merchant keeps them: name, contact, usual lead time, the products they supply by default,
and their track record (how late their shipments arrive), which ETAs allow for.

Every change is one transaction, audited, and a repeat of what is already so changes nothing.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, AuditFact, record, record_all
from bot.services.backorders.eta import REASON_SUPPLIER_RECORD, EtaMove, recompute_etas
from bot.services.backorders.notifications import notify_eta_moves
from bot.services.errors import ProductNotFound, SupplierInUse, SupplierNameTaken, SupplierNotFound
from bot.services.purchasing.supplier_record import TrackRecord, refresh_eta_slips, track_records
from bot.services.unit_of_work import UnitOfWork
from db.models import Product, PurchaseOrder, Supplier
from db.types import MAX_ROW_ID

MAX_NAME = 200


@dataclass(frozen=True)
class SupplierFields:
    """What the merchant says about a supplier."""

    name: str
    contact: str | None = None
    lead_time_days: int | None = None


@dataclass(frozen=True)
class SupplierView:
    id: int
    name: str
    contact: str | None
    lead_time_days: int | None
    eta_slip_days: int | None  # what ETAs resting on its shipments allow for now; None: not adjusted
    skus: tuple[str, ...]  # the products it supplies by default
    created_at: datetime


@dataclass(frozen=True)
class SupplierChange:
    supplier: SupplierView
    changed: bool  # False when the request repeated what was already so


@dataclass(frozen=True)
class SupplierPerformance:
    supplier: SupplierView
    record: TrackRecord
    minimum_received: int  # the record is long enough to adjust ETAs from this many received shipments


async def add_supplier(uow: UnitOfWork, fields: SupplierFields, actor: Actor) -> SupplierChange:
    """Add a supplier; adding one with the same name and details again returns it unchanged."""
    async with uow:
        session = uow.session
        existing = await _by_name(session, fields.name)
        if existing is not None:
            if _fields_of(existing) != fields:
                raise SupplierNameTaken(fields.name)
            return SupplierChange(await _view(session, existing), changed=False)
        now = uow.clock.now()
        supplier = Supplier(
            name=fields.name,
            contact=fields.contact,
            lead_time_days=fields.lead_time_days,
            created_at=now,
            updated_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(supplier)
        except IntegrityError:
            raise SupplierNameTaken(fields.name) from None
        record(session, actor, "supplier.added", "supplier", supplier.id, at=now, **_details(fields))
        view = await _view(session, supplier)
        await uow.commit()
    return SupplierChange(view, changed=True)


async def update_supplier(uow: UnitOfWork, supplier_id: int, fields: SupplierFields, actor: Actor) -> SupplierChange:
    """Replace a supplier's name, contact and lead time; the same values again change nothing."""
    async with uow:
        session = uow.session
        supplier = await _locked(session, supplier_id)
        before = _fields_of(supplier)
        if before == fields:
            return SupplierChange(await _view(session, supplier), changed=False)
        other = await _by_name(session, fields.name)
        if other is not None and other.id != supplier.id:
            raise SupplierNameTaken(fields.name)
        now = uow.clock.now()
        supplier.name, supplier.contact, supplier.lead_time_days = fields.name, fields.contact, fields.lead_time_days
        supplier.updated_at = now
        record(
            session, actor, "supplier.updated", "supplier", supplier.id, at=now,
            before=_details(before), after=_details(fields),
        )
        await session.flush()
        view = await _view(session, supplier)
        await uow.commit()
    return SupplierChange(view, changed=True)


async def remove_supplier(uow: UnitOfWork, supplier_id: int, actor: Actor) -> None:
    """Remove a supplier nothing refers to; one with purchase orders or products stays (its record matters)."""
    async with uow:
        session = uow.session
        supplier = await _locked(session, supplier_id)
        used = await session.scalar(
            select(func.count()).select_from(PurchaseOrder).where(PurchaseOrder.supplier_id == supplier.id)
        )
        supplied = await session.scalar(
            select(func.count()).select_from(Product).where(Product.supplier_id == supplier.id)
        )
        if used or supplied:
            raise SupplierInUse(supplier.name)
        await session.delete(supplier)
        record(session, actor, "supplier.removed", "supplier", supplier_id, at=uow.clock.now(), name=supplier.name)
        await uow.commit()


async def assign_products(uow: UnitOfWork, supplier_id: int, skus: Sequence[str], actor: Actor) -> SupplierChange:
    """Make the supplier the default of these SKUs (new purchase orders of them are its); all SKUs or none."""
    async with uow:
        session = uow.session
        supplier = await _locked(session, supplier_id)
        wanted = list(dict.fromkeys(skus))
        rows = dict((await session.execute(select(Product.sku, Product.supplier_id).where(Product.sku.in_(wanted)))).all())
        for sku in wanted:
            if sku not in rows:
                raise ProductNotFound(sku)
        moving = [sku for sku in wanted if rows[sku] != supplier.id]
        if moving:
            now = uow.clock.now()
            await session.execute(
                update(Product).where(Product.sku.in_(moving)).values(supplier_id=supplier.id, updated_at=now)
            )
            record(session, actor, "supplier.products_assigned", "supplier", supplier.id, at=now, skus=moving)
        view = await _view(session, supplier)
        await uow.commit()
    return SupplierChange(view, changed=bool(moving))


async def assign_suppliers_by_name(uow: UnitOfWork, supplier_of: Mapping[str, str], actor: Actor) -> int:
    """Make the supplier named for each SKU its default, adding suppliers not known by that name; for stores whose
    products name their supplier (Shopify's vendor). SKUs not in the shop are left out; returns the products moved."""
    async with uow:
        session = uow.session
        now = uow.clock.now()
        current = dict(
            (await session.execute(select(Product.sku, Product.supplier_id).where(Product.sku.in_(list(supplier_of))))).all()
        )
        wanted = {sku: supplier_of[sku][:MAX_NAME] for sku in current}
        ids = await supplier_ids_by_name(session, set(wanted.values()), actor, now)
        moving: dict[int, list[str]] = {}
        for sku, name in sorted(wanted.items()):
            if current[sku] != ids[name]:
                moving.setdefault(ids[name], []).append(sku)
        for supplier_id, skus in moving.items():
            await session.execute(
                update(Product).where(Product.sku.in_(skus)).values(supplier_id=supplier_id, updated_at=now)
            )
            record(session, actor, "supplier.products_assigned", "supplier", supplier_id, at=now, skus=skus)
        await uow.commit()
    return sum(len(skus) for skus in moving.values())


_NAMES_AT_ONCE = 1000  # names per statement: well within both databases' limits on parameters


async def supplier_ids_by_name(
    session: AsyncSession, names: Collection[str], actor: Actor, now: datetime
) -> dict[str, int]:
    """The id of the supplier of each name, adding those there are none of yet, in the caller's transaction.

    A few statements however many names (an import's file may name hundreds), each addition audited; a supplier
    another transaction added a moment earlier is taken as found instead of failing this one.
    """
    wanted = sorted(set(names))
    ids = await _ids_by_name(session, wanted)
    missing = [name for name in wanted if name not in ids]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    added: dict[str, int] = {}
    for start in range(0, len(missing), _NAMES_AT_ONCE):
        chunk = missing[start : start + _NAMES_AT_ONCE]
        rows = [{"name": name, "created_at": now, "updated_at": now} for name in chunk]
        statement = (
            insert(Supplier)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[Supplier.name])
            .returning(Supplier.name, Supplier.id)
        )
        added.update((await session.execute(statement)).all())
    ids |= added | await _ids_by_name(session, [name for name in missing if name not in added])
    facts = (AuditFact("supplier.added", "supplier", added[name], {"name": name}) for name in sorted(added))
    await record_all(session, actor, now, facts)
    return ids


async def _ids_by_name(session: AsyncSession, names: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for start in range(0, len(names), _NAMES_AT_ONCE):
        among = list(names[start : start + _NAMES_AT_ONCE])
        rows = await session.execute(select(Supplier.name, Supplier.id).where(Supplier.name.in_(among)))
        ids.update(rows.all())
    return ids


async def list_suppliers(uow: UnitOfWork) -> list[SupplierView]:
    """Every supplier, by name."""
    async with uow.read_only():
        suppliers = (await uow.session.execute(select(Supplier).order_by(Supplier.name, Supplier.id))).scalars().all()
        skus = await _skus(uow.session, [supplier.id for supplier in suppliers])
        return [_as_view(supplier, skus.get(supplier.id, ())) for supplier in suppliers]


async def get_supplier(uow: UnitOfWork, supplier_id: int) -> SupplierView:
    async with uow.read_only():
        return await _view(uow.session, await _get(uow.session, supplier_id))


async def supplier_performance(uow: UnitOfWork, supplier_id: int) -> SupplierPerformance:
    """The supplier's track record over the configured window: every received shipment and what they add up to."""
    rules = uow.policy.supplier_record
    async with uow.read_only():
        supplier = await _get(uow.session, supplier_id)
        records = await track_records(uow.session, uow.clock.today(), rules.window_days, [supplier.id])
        return SupplierPerformance(await _view(uow.session, supplier), records[supplier.id], rules.minimum_received)


async def refresh_supplier_slips(uow: UnitOfWork) -> list[EtaMove]:
    """Bring every supplier's ETA slip up to date with its record (the window moves daily, the setting may change)
    and move the ETAs resting on those whose slip changed."""
    async with uow:
        session = uow.session
        products = await refresh_eta_slips(session, uow.clock.today(), uow.policy.supplier_record)
        moves = await recompute_etas(session, uow.clock, uow.policy, REASON_SUPPLIER_RECORD, products)
        if products:
            record(
                session, Actor.system(), "suppliers.slips_refreshed", "shop", "all", at=uow.clock.now(),
                products=len(products), lines_moved=len(moves),
            )
        await notify_eta_moves(uow, moves)
        await uow.commit()
    return moves


async def _by_name(session: AsyncSession, name: str) -> Supplier | None:
    return (await session.execute(select(Supplier).where(Supplier.name == name))).scalar_one_or_none()


async def _get(session: AsyncSession, supplier_id: int) -> Supplier:
    if not 1 <= supplier_id <= MAX_ROW_ID:  # no such row, and PostgreSQL refuses ids past 32 bits outright
        raise SupplierNotFound(supplier_id)
    supplier = await session.get(Supplier, supplier_id)
    if supplier is None:
        raise SupplierNotFound(supplier_id)
    return supplier


async def _locked(session: AsyncSession, supplier_id: int) -> Supplier:
    if not 1 <= supplier_id <= MAX_ROW_ID:
        raise SupplierNotFound(supplier_id)
    supplier = (
        await session.execute(select(Supplier).where(Supplier.id == supplier_id).with_for_update())
    ).scalar_one_or_none()
    if supplier is None:
        raise SupplierNotFound(supplier_id)
    return supplier


async def _skus(session: AsyncSession, supplier_ids: list[int]) -> dict[int, tuple[str, ...]]:
    rows = await session.execute(
        select(Product.supplier_id, Product.sku).where(Product.supplier_id.in_(supplier_ids)).order_by(Product.sku)
    )
    found: dict[int, list[str]] = {}
    for supplier_id, sku in rows:
        found.setdefault(supplier_id, []).append(sku)
    return {supplier_id: tuple(skus) for supplier_id, skus in found.items()}


async def _view(session: AsyncSession, supplier: Supplier) -> SupplierView:
    skus = await _skus(session, [supplier.id])
    return _as_view(supplier, skus.get(supplier.id, ()))


def _as_view(supplier: Supplier, skus: tuple[str, ...]) -> SupplierView:
    return SupplierView(
        supplier.id, supplier.name, supplier.contact, supplier.lead_time_days, supplier.eta_slip_days, skus,
        supplier.created_at,
    )


def _fields_of(supplier: Supplier) -> SupplierFields:
    return SupplierFields(supplier.name, supplier.contact, supplier.lead_time_days)


def _details(fields: SupplierFields) -> dict[str, object]:
    return {"name": fields.name, "contact": fields.contact, "lead_time_days": fields.lead_time_days}
