"""Reorder suggestions: per SKU, how much to order from its supplier and by when, so customers stop waiting.

Deliberately simple, so a merchant can check it by hand:

- demand rate = units ordered in the last 30 days (backordered ones included) ÷ 30;
- real lead time = the supplier's usual lead time (else the product's) + how late the supplier's shipments have
  arrived on average lately (never less than the usual lead time);
- wanted = units customers wait for + demand rate × (real lead time + 4 weeks of cover), rounded up;
- suggested order = wanted − (stock on hand + units still coming on open purchase orders), if above 0;
- order by = today if customers already wait for more than is coming, else the day the free stock and supply
  run out minus the real lead time.

A forecasting library would buy little here: the demand of one shop's SKU over a month is a handful of units,
and an explanation the merchant can redo on paper is worth more than a smoother estimate.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select

from bot.services.backorders.allocation import open_quantity, waiting
from bot.services.purchasing.supplier_record import track_records
from bot.services.unit_of_work import UnitOfWork
from db.models import OrderLine, Product, PurchaseOrder, PurchaseOrderStatus, StockLevel, Supplier

DEMAND_WINDOW_DAYS = 30
COVER_DAYS = 28
RECENT_WINDOWS_DAYS = (7, 30, 90)


@dataclass(frozen=True)
class ReorderSuggestion:
    """What to order of one SKU, by when, and the figures behind it."""

    sku: str
    product_name: str
    supplier_name: str | None
    ordered_7_days: int
    ordered_30_days: int
    ordered_90_days: int
    waiting: int  # units customers wait for
    waiting_lines: int
    oldest_waiting_since: datetime | None
    on_hand: int  # unallocated stock
    incoming: int  # still outstanding on open purchase orders
    open_purchase_orders: int
    usual_lead_time_days: int
    supplier_days_late: int  # how late its shipments have arrived on average lately; 0 when on time or unknown
    cover_days: int
    suggested_quantity: int
    order_by: date

    @property
    def lead_time_days(self) -> int:
        """The lead time to plan with: the usual one plus the supplier's lateness."""
        return self.usual_lead_time_days + self.supplier_days_late

    @property
    def uncovered(self) -> int:
        """Waiting units that neither stock nor open purchase orders will serve."""
        return max(self.waiting - self.on_hand - self.incoming, 0)


async def reorder_suggestions(uow: UnitOfWork) -> list[ReorderSuggestion]:
    """Every SKU worth reordering now or soon, the most urgent first (order-by date, then waiting units)."""
    today = uow.clock.today()
    now = uow.clock.now()
    async with uow.read_only():
        session = uow.session
        since = now - timedelta(days=max(RECENT_WINDOWS_DAYS))
        ordered = {
            row[0]: row[1:]
            for row in await session.execute(
                select(
                    OrderLine.product_id,
                    *(
                        func.sum(case((OrderLine.queued_at >= now - timedelta(days=days), OrderLine.quantity), else_=0))
                        for days in RECENT_WINDOWS_DAYS
                    ),
                )
                .where(OrderLine.queued_at >= since, OrderLine.queued_at <= now)
                .group_by(OrderLine.product_id)
            )
        }
        waiting_now = {
            row[0]: row[1:]
            for row in await session.execute(
                select(OrderLine.product_id, func.sum(open_quantity()), func.count(), func.min(OrderLine.queued_at))
                .where(waiting())
                .group_by(OrderLine.product_id)
            )
        }
        incoming = {
            row[0]: row[1:]
            for row in await session.execute(
                select(
                    PurchaseOrder.product_id,
                    func.sum(PurchaseOrder.quantity - PurchaseOrder.received_quantity),
                    func.count(),
                )
                .where(PurchaseOrder.status == PurchaseOrderStatus.OPEN)
                .group_by(PurchaseOrder.product_id)
            )
        }
        wanted = sorted(set(ordered) | set(waiting_now))
        products = (
            await session.execute(
                select(
                    Product.id,
                    Product.sku,
                    Product.name,
                    Product.lead_time_days,
                    func.coalesce(StockLevel.available, 0),
                    Supplier.id,
                    Supplier.name,
                    Supplier.lead_time_days,
                )
                .outerjoin(StockLevel, StockLevel.product_id == Product.id)
                .outerjoin(Supplier, Supplier.id == Product.supplier_id)
                .where(Product.id.in_(wanted))
            )
        ).all()
        supplier_ids = {row[5] for row in products if row[5] is not None}
        records = await track_records(session, today, uow.policy.supplier_record.window_days, supplier_ids)
    suggestions = []
    for product_id, sku, name, product_lead_time, on_hand, supplier_id, supplier_name, supplier_lead_time in products:
        week, month, quarter = (int(value or 0) for value in ordered.get(product_id, (0, 0, 0)))
        units_waiting, lines_waiting, oldest = waiting_now.get(product_id, (0, 0, None))
        coming, open_orders = incoming.get(product_id, (0, 0))
        record = records.get(supplier_id) if supplier_id is not None else None
        late = 0
        if record is not None and record.shipments:
            late = max(round(sum(shipment.days_late for shipment in record.shipments) / record.received), 0)
        usual = supplier_lead_time if supplier_lead_time is not None else product_lead_time
        suggestion = _suggest(
            today, month, int(units_waiting or 0), int(on_hand), int(coming or 0), usual + late
        )
        if suggestion is None:
            continue
        quantity, order_by = suggestion
        suggestions.append(
            ReorderSuggestion(
                sku=sku,
                product_name=name,
                supplier_name=supplier_name,
                ordered_7_days=week,
                ordered_30_days=month,
                ordered_90_days=quarter,
                waiting=int(units_waiting or 0),
                waiting_lines=int(lines_waiting or 0),
                oldest_waiting_since=oldest,
                on_hand=int(on_hand),
                incoming=int(coming or 0),
                open_purchase_orders=int(open_orders or 0),
                usual_lead_time_days=usual,
                supplier_days_late=late,
                cover_days=COVER_DAYS,
                suggested_quantity=quantity,
                order_by=order_by,
            )
        )
    suggestions.sort(key=lambda s: (s.order_by, -s.waiting, s.sku))
    return suggestions


def _suggest(
    today: date, ordered_in_window: int, waiting_units: int, on_hand: int, incoming: int, lead_time_days: int
) -> tuple[int, date] | None:
    """(quantity, order-by date), or None when nothing needs ordering."""
    rate = ordered_in_window / DEMAND_WINDOW_DAYS
    wanted = waiting_units + math.ceil(rate * (lead_time_days + COVER_DAYS))
    quantity = wanted - on_hand - incoming
    if quantity <= 0:
        return None
    free = on_hand + incoming - waiting_units
    if free <= 0 or rate == 0:
        return quantity, today
    lasts_days = math.floor(free / rate)
    return quantity, today + timedelta(days=max(lasts_days - lead_time_days, 0))
