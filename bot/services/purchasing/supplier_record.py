"""Suppliers' track records: how late each received purchase order arrived, and what that says per supplier.

Lateness is counted in days (negative: early) against the date first promised and against the date last
promised; only the last one matters for ETAs, because an ETA always rests on the date promised now. The slip
ETAs allow for is a high percentile of that lateness over the window (SUPPLIER_ETA_PERCENTILE, 90 by default):
nearly all of the supplier's shipments came within it, so an ETA that allows for it is rarely broken, and one
wild shipment does not swing it. The backtest (bench/supplier_eta_backtest.py) shows why 90 and not 80: at 80,
ETAs of an erratic supplier broke about one time in four.
"""

import math
import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.unit_of_work import SupplierRecordRules
from db.models import Product, PurchaseOrder, PurchaseOrderStatus, Supplier

SLIP_PERCENTILE = 80


class Trend(StrEnum):
    IMPROVING = "improving"
    STEADY = "steady"
    WORSENING = "worsening"


@dataclass(frozen=True)
class ReceivedShipment:
    """One purchase order received in full, against the dates its supplier promised."""

    reference: str
    sku: str
    first_expected_on: date
    last_expected_on: date
    received_on: date
    date_moves: int

    @property
    def days_late(self) -> int:
        """Against the date last promised; negative when early."""
        return (self.received_on - self.last_expected_on).days

    @property
    def days_late_vs_first(self) -> int:
        return (self.received_on - self.first_expected_on).days


@dataclass(frozen=True)
class TrackRecord:
    """A supplier's received shipments over a window, oldest first, and what they add up to."""

    shipments: tuple[ReceivedShipment, ...]
    window_days: int
    since: date

    @property
    def received(self) -> int:
        return len(self.shipments)

    @property
    def on_time_rate(self) -> float | None:
        """Share of shipments that arrived on or before the date last promised."""
        if not self.shipments:
            return None
        return sum(shipment.days_late <= 0 for shipment in self.shipments) / len(self.shipments)

    @property
    def median_days_late(self) -> float | None:
        return _median([shipment.days_late for shipment in self.shipments])

    @property
    def p80_days_late(self) -> int | None:
        return percentile([shipment.days_late for shipment in self.shipments], SLIP_PERCENTILE)

    @property
    def median_days_late_vs_first(self) -> float | None:
        return _median([shipment.days_late_vs_first for shipment in self.shipments])

    @property
    def p80_days_late_vs_first(self) -> int | None:
        return percentile([shipment.days_late_vs_first for shipment in self.shipments], SLIP_PERCENTILE)

    @property
    def date_moves(self) -> int:
        return sum(shipment.date_moves for shipment in self.shipments)

    @property
    def trend(self) -> Trend | None:
        """The newer half of the window against the older half, by median lateness; None below four shipments."""
        if len(self.shipments) < 4:
            return None
        half = len(self.shipments) // 2
        older = statistics.median(shipment.days_late for shipment in self.shipments[:half])
        newer = statistics.median(shipment.days_late for shipment in self.shipments[-half:])
        if newer - older >= 1:
            return Trend.WORSENING
        if older - newer >= 1:
            return Trend.IMPROVING
        return Trend.STEADY

    def eta_slip_days(self, rules: SupplierRecordRules) -> int | None:
        """Days to add to the supplier's promised dates in ETAs; None when the record is too short or it is off."""
        if not rules.adjust_etas or self.received < rules.minimum_received:
            return None
        return max(percentile([shipment.days_late for shipment in self.shipments], rules.slip_percentile) or 0, 0)


def percentile(values: Sequence[int], share: int) -> int | None:
    """The nearest-rank percentile: the smallest value at least `share` % of the values do not exceed."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share / 100 * len(ordered)) - 1, 0)]


def _median(values: Sequence[int]) -> float | None:
    return statistics.median(values) if values else None


async def track_records(
    session: AsyncSession, today: date, window_days: int, supplier_ids: Collection[int] | None = None
) -> dict[int, TrackRecord]:
    """Each supplier's record over the last `window_days` (every supplier named, or all when None)."""
    since = today - timedelta(days=window_days)
    suppliers = select(Supplier.id)
    received = (
        select(
            PurchaseOrder.supplier_id,
            PurchaseOrder.reference,
            Product.sku,
            PurchaseOrder.first_expected_on,
            PurchaseOrder.expected_on,
            PurchaseOrder.received_on,
            PurchaseOrder.date_moves,
        )
        .join(Product, Product.id == PurchaseOrder.product_id)
        .where(
            PurchaseOrder.status == PurchaseOrderStatus.RECEIVED,
            PurchaseOrder.received_on >= since,
            PurchaseOrder.received_on <= today,
        )
        .order_by(PurchaseOrder.received_on, PurchaseOrder.id)
    )
    if supplier_ids is not None:
        suppliers = suppliers.where(Supplier.id.in_(list(supplier_ids)))
        received = received.where(PurchaseOrder.supplier_id.in_(list(supplier_ids)))
    else:
        received = received.where(PurchaseOrder.supplier_id.is_not(None))
    shipments: dict[int, list[ReceivedShipment]] = {
        supplier_id: [] for supplier_id in (await session.execute(suppliers)).scalars()
    }
    for supplier_id, reference, sku, first, last, received_on, moves in await session.execute(received):
        shipments.setdefault(supplier_id, []).append(
            ReceivedShipment(reference, sku, first or last, last, received_on, moves)
        )
    return {
        supplier_id: TrackRecord(tuple(rows), window_days, since) for supplier_id, rows in shipments.items()
    }


async def refresh_eta_slips(
    session: AsyncSession, today: date, rules: SupplierRecordRules, supplier_ids: Collection[int] | None = None
) -> list[int]:
    """Store each supplier's slip as its record now says; the SKUs with open purchase orders of those that changed.

    Does not commit; the caller recomputes those SKUs' ETAs in the same transaction.
    """
    records = await track_records(session, today, rules.window_days, supplier_ids)
    if not records:
        return []
    current = dict(
        (await session.execute(select(Supplier.id, Supplier.eta_slip_days).where(Supplier.id.in_(list(records))))).all()
    )
    changed = []
    for supplier_id, record in records.items():
        slip = record.eta_slip_days(rules)
        if current.get(supplier_id) != slip:
            await session.execute(update(Supplier).where(Supplier.id == supplier_id).values(eta_slip_days=slip))
            changed.append(supplier_id)
    if not changed:
        return []
    products = await session.execute(
        select(PurchaseOrder.product_id)
        .where(PurchaseOrder.supplier_id.in_(changed), PurchaseOrder.status == PurchaseOrderStatus.OPEN)
        .distinct()
    )
    return sorted(products.scalars())
