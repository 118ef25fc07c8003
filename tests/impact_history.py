"""A known month of a shop's history for the impact summary: delays, swaps, cancels, refunds, tickets, shipments.

The conftest clock stands at Friday 27 November 2026, 10:00 in Berlin. The last 7 shop days began on Saturday
21 November at midnight, the last 30 on Wednesday 28 October. What the history holds, and what each period says:

| figure | last 7 days | last 30 days |
|---|---|---|
| customers told of a delay / kept waiting / cancelled | 2 / 1 / 1 | 4 / 2 / 2 |
| swaps / their value | 1 / €178.00 | 2 / €218.00 |
| cancellations | 1 | 2 |
| refunds owed / paid | €209.00 / €50.00 | €259.00 / €50.00 |
| tickets opened / closed / rated (average) | 2 / 1 / 1 (5.0) | 3 / 2 / 2 (4.0) |
| shipped items with an ETA / shipped by it | 3 / 1 | 4 / 2 |
"""

from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from db.models import (
    Customer,
    DelayNotice,
    DelayResponse,
    LineStatus,
    OrderLine,
    Product,
    Refund,
    RefundReason,
    RefundStatus,
    Ticket,
    TicketStatus,
)
from tests.shop import T0, add_customer, add_order, add_product


async def add_impact_history(session: AsyncSession, clock: ManualClock) -> None:
    """The history the table above describes, committed."""
    headset = await add_product(session, "HS-200", price=14900)
    earbuds = await add_product(session, "EB-100", price=8900)
    customers = [await add_customer(session, f"{name} Tester") for name in ("Anna", "Ben", "Clara", "David", "Emma")]
    now = clock.now()

    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    # Delay notices: agreed (3 days ago), silent and still waiting (10), cancelled (2), silent and cancelled (20),
    # and one before both periods (40).
    for customer, days, response, cancelled in (
        (customers[0], 3, DelayResponse.AGREED, 0),
        (customers[1], 10, None, 0),
        (customers[2], 2, DelayResponse.CANCELLED, 1),
        (customers[3], 20, None, 1),
        (customers[4], 40, DelayResponse.AGREED, 0),
    ):
        line = await _line(session, customer, headset, cancelled=cancelled)
        session.add(
            DelayNotice(
                line_id=line.id, sequence=1, promised_ship_by=date(2026, 11, 1), notified_at=ago(days),
                response=response, responded_at=ago(days - 1) if response else None,
            )
        )
    # Swaps: 2 earbuds yesterday, 1 at €40.00 a fortnight ago.
    for days, quantity, price in ((1, 2, 8900), (15, 1, 4000)):
        original = await _line(session, customers[0], headset, substituted=quantity)
        session.add(
            OrderLine(
                order_id=original.order_id, product_id=earbuds.id, quantity=quantity, unit_price_minor=price,
                status=LineStatus.ALLOCATED, allocated_quantity=quantity, cancelled_quantity=0, substituted_quantity=0,
                queued_at=ago(days), substitute_for_line_id=original.id, resolved_at=ago(days), created_at=ago(days),
                updated_at=ago(days),
            )
        )
    # Refunds: a cancel owed 2 days ago, a cancel owed 20 days ago and paid 5 days ago, a cheaper swap's
    # difference owed yesterday, and one owed and paid before both periods.
    for days, amount, reason, paid_days in (
        (2, 14900, RefundReason.CANCELLED, None),
        (20, 5000, RefundReason.CANCELLED, 5),
        (1, 6000, RefundReason.SUBSTITUTE_CHEAPER, None),
        (40, 7000, RefundReason.CANCELLED, 35),
    ):
        line = await _line(session, customers[1], headset)
        session.add(
            Refund(
                line_id=line.id, amount_minor=amount, currency="EUR", reason=reason,
                status=RefundStatus.PAID if paid_days else RefundStatus.OWED, created_at=ago(days),
                paid_at=ago(paid_days) if paid_days else None,
            )
        )
    # Tickets: rated 5 yesterday, rated 3 nine days ago, one still open.
    for customer, opened, closed, rating in ((customers[0], 2, 1, 5), (customers[1], 10, 9, 3), (customers[2], 1, None, None)):
        session.add(
            Ticket(
                customer_id=customer.id, customer_chat_id=1000 + customer.id, reason="talk_to_person",
                status=TicketStatus.CLOSED if closed else TicketStatus.OPEN, opened_at=ago(opened),
                closed_at=ago(closed) if closed else None, rating=rating, rated_at=ago(closed) if rating else None,
            )
        )
    # Shipments against the ETA last told: on the day (met); 00:30 Berlin the day after the ETA, which is still
    # the ETA's date in UTC (late); 3 days late; 2 days early a fortnight ago (met); and one that never had an ETA.
    today = clock.today()
    for shipped_at, eta in (
        (ago(1), today - timedelta(days=1)),
        (_berlin(clock, today - timedelta(days=2), time(0, 30)), today - timedelta(days=3)),
        (ago(3), today - timedelta(days=6)),
        (ago(12), today - timedelta(days=10)),
        (ago(2), None),
    ):
        await _line(session, customers[3], headset, shipped_at=shipped_at, eta=eta)
    await session.commit()


def _berlin(clock: ManualClock, day: date, at: time) -> datetime:
    return datetime.combine(day, at, clock.tz)


async def _line(
    session: AsyncSession,
    customer: Customer,
    product: Product,
    *,
    cancelled: int = 0,
    substituted: int = 0,
    shipped_at: datetime | None = None,
    eta: date | None = None,
) -> OrderLine:
    """A one-line order of `product`, waiting unless cancelled, swapped or shipped as asked."""
    order = await add_order(session, customer, [(product, max(1, substituted))], placed_at=T0)
    line = order.lines[0]
    line.cancelled_quantity, line.substituted_quantity, line.eta = cancelled, substituted, eta
    if cancelled:
        line.status = LineStatus.CANCELLED
    elif substituted:
        line.status = LineStatus.SUBSTITUTED
    elif shipped_at is not None:
        line.status, line.allocated_quantity, line.shipped_quantity, line.resolved_at = LineStatus.SHIPPED, 1, 1, shipped_at
    await session.flush()
    return line
