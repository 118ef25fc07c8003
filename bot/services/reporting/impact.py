"""The impact summary a merchant can show their boss: what the bot did for the shop in the last 7 and 30 days.

Each figure is one set-based read over its table, both periods at once (a CASE per period), so it costs the same
few statements whatever the shop's size. Periods are whole shop days: "the last 7 days" are today and the six
before it, in the shop's time zone.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import ColumnElement, Date, and_, case, distinct, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    DelayNotice,
    DelayResponse,
    LineStatus,
    Order,
    OrderLine,
    Refund,
    RefundReason,
    Ticket,
)

PERIODS = (7, 30)  # days, the console's two columns


@dataclass(frozen=True)
class ImpactPeriod:
    """The shop's figures over the last `days` shop days (since `since`, an instant)."""

    days: int
    since: datetime
    delayed_customers: int = 0  # customers told their item would be late
    kept_waiting: int = 0  # of them, customers who agreed to wait or did not cancel
    cancelled_after_delay: int = 0  # of them, customers who cancelled (or were cancelled for not consenting)
    swaps: int = 0  # waiting items swapped for an alternative in stock
    swap_value: dict[str, int] = field(default_factory=dict)  # currency -> minor units, what the alternatives sold for
    cancellations: int = 0  # items cancelled, each with a refund owed
    refunds_owed: dict[str, int] = field(default_factory=dict)  # currency -> minor units owed in the period
    refunds_paid: dict[str, int] = field(default_factory=dict)  # currency -> minor units paid in the period
    tickets_opened: int = 0
    tickets_closed: int = 0
    ratings: int = 0
    rating_total: int = 0  # the stars of those ratings added up
    shipped_with_eta: int = 0  # items shipped that had an ETA
    eta_met: int = 0  # of them, shipped on or before the ETA they last had (shop calendar)

    @property
    def kept_waiting_share(self) -> float | None:
        return self.kept_waiting / self.delayed_customers if self.delayed_customers else None

    @property
    def rating_average(self) -> float | None:
        return self.rating_total / self.ratings if self.ratings else None

    @property
    def eta_met_share(self) -> float | None:
        return self.eta_met / self.shipped_with_eta if self.shipped_with_eta else None


async def impact_summary(uow: UnitOfWork, periods: Sequence[int] = PERIODS) -> list[ImpactPeriod]:
    """The impact figures for each period (in days), in the order given; one read-only transaction."""
    starts = {days: period_start(uow.clock, days) for days in periods}
    figures: dict[int, dict[str, object]] = {days: {} for days in periods}
    async with uow.read_only():
        session = uow.session
        await _delays(session, starts, figures)
        await _swaps(session, starts, figures)
        await _cancellations(session, starts, figures)
        await _refunds(session, starts, figures)
        await _tickets(session, starts, figures)
        await _etas_met(session, uow.clock, starts, figures)
    return [ImpactPeriod(days, starts[days], **figures[days]) for days in periods]  # type: ignore[arg-type]


def period_start(clock: Clock, days: int) -> datetime:
    """The instant the last `days` shop days began: midnight, shop time, `days - 1` days before today."""
    return _midnight(clock, clock.today() - timedelta(days=days - 1))


def _midnight(clock: Clock, day: date) -> datetime:
    return datetime.combine(day, time(), clock.tz).astimezone(timezone.utc)


def _count_since(column: ColumnElement[datetime], since: datetime, when: ColumnElement[bool] | None = None) -> ColumnElement[int]:
    condition = column >= since if when is None else and_(column >= since, when)
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _sum_since(column: ColumnElement[datetime], since: datetime, amount: ColumnElement[int]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((column >= since, amount), else_=0)), 0)


async def _delays(session: AsyncSession, starts: dict[int, datetime], figures: dict[int, dict[str, object]]) -> None:
    """Customers told of a delay, and what they did: kept waiting (agreed, or did not cancel) or cancelled."""
    cancelled = or_(
        DelayNotice.response.in_([DelayResponse.CANCELLED, DelayResponse.AUTO_CANCELLED]),
        and_(DelayNotice.response.is_(None), OrderLine.cancelled_quantity > 0),
    )
    kept = or_(  # spelt out rather than NOT(cancelled), which is NULL for a notice not yet answered
        DelayNotice.response == DelayResponse.AGREED,
        and_(DelayNotice.response.is_(None), OrderLine.cancelled_quantity == 0),
    )
    customer = Order.customer_id
    columns = []
    for since in starts.values():
        told = DelayNotice.notified_at >= since
        columns += [
            func.count(distinct(case((told, customer)))),
            func.count(distinct(case((and_(told, kept), customer)))),
            func.count(distinct(case((and_(told, cancelled), customer)))),
        ]
    row = (
        await session.execute(
            select(*columns)
            .select_from(DelayNotice)
            .join(OrderLine, OrderLine.id == DelayNotice.line_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(DelayNotice.notified_at >= min(starts.values()))
        )
    ).one()
    for index, days in enumerate(starts):
        told, kept_waiting, gave_up = row[index * 3 : index * 3 + 3]
        figures[days].update(delayed_customers=told, kept_waiting=kept_waiting, cancelled_after_delay=gave_up)


async def _swaps(session: AsyncSession, starts: dict[int, datetime], figures: dict[int, dict[str, object]]) -> None:
    """Items swapped for an alternative, and what the alternatives sold for, per currency."""
    value = OrderLine.quantity * OrderLine.unit_price_minor
    columns = []
    for since in starts.values():
        columns += [_count_since(OrderLine.created_at, since), _sum_since(OrderLine.created_at, since, value)]
    rows = await session.execute(
        select(Order.currency, *columns)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.substitute_for_line_id.is_not(None), OrderLine.created_at >= min(starts.values()))
        .group_by(Order.currency)
    )
    for currency, *values in rows:
        for index, days in enumerate(starts):
            count, amount = values[index * 2 : index * 2 + 2]
            figures[days]["swaps"] = int(figures[days].get("swaps", 0)) + int(count)  # type: ignore[call-overload]
            if amount:
                _money(figures[days], "swap_value")[currency] = int(amount)


async def _cancellations(session: AsyncSession, starts: dict[int, datetime], figures: dict[int, dict[str, object]]) -> None:
    """Items cancelled: each cancel owes exactly one refund for its line, so those are counted."""
    row = (
        await session.execute(
            select(*(_count_since(Refund.created_at, since) for since in starts.values())).where(
                Refund.reason == RefundReason.CANCELLED, Refund.created_at >= min(starts.values())
            )
        )
    ).one()
    for index, days in enumerate(starts):
        figures[days]["cancellations"] = int(row[index])


async def _refunds(session: AsyncSession, starts: dict[int, datetime], figures: dict[int, dict[str, object]]) -> None:
    """Refunds owed in the period (cancels and cheaper swaps) and refunds paid in it, per currency."""
    earliest = min(starts.values())
    columns = []
    for since in starts.values():
        columns += [_sum_since(Refund.created_at, since, Refund.amount_minor), _sum_since(Refund.paid_at, since, Refund.amount_minor)]
    rows = await session.execute(
        select(Refund.currency, *columns)
        .where(or_(Refund.created_at >= earliest, Refund.paid_at >= earliest))
        .group_by(Refund.currency)
    )
    for currency, *values in rows:
        for index, days in enumerate(starts):
            owed, paid = values[index * 2 : index * 2 + 2]
            if owed:
                _money(figures[days], "refunds_owed")[currency] = int(owed)
            if paid:
                _money(figures[days], "refunds_paid")[currency] = int(paid)


async def _tickets(session: AsyncSession, starts: dict[int, datetime], figures: dict[int, dict[str, object]]) -> None:
    """Tickets opened and closed in the period, and the ratings given in it."""
    earliest = min(starts.values())
    columns = []
    for since in starts.values():
        columns += [
            _count_since(Ticket.opened_at, since),
            _count_since(Ticket.closed_at, since),
            _count_since(Ticket.rated_at, since, Ticket.rating.is_not(None)),
            _sum_since(Ticket.rated_at, since, func.coalesce(Ticket.rating, 0)),
        ]
    row = (
        await session.execute(
            select(*columns).where(
                or_(Ticket.opened_at >= earliest, Ticket.closed_at >= earliest, Ticket.rated_at >= earliest)
            )
        )
    ).one()
    for index, days in enumerate(starts):
        opened, closed, rated, stars = (int(value) for value in row[index * 4 : index * 4 + 4])
        figures[days].update(tickets_opened=opened, tickets_closed=closed, ratings=rated, rating_total=stars)


async def _etas_met(
    session: AsyncSession, clock: Clock, starts: dict[int, datetime], figures: dict[int, dict[str, object]]
) -> None:
    """Items shipped in the period that had an ETA, and how many shipped on or before it (shop calendar).

    A line's `eta` is left as it was when it stopped waiting, so it is the ETA the customer was last told. The
    day a line shipped is its shop-calendar day, found by comparing instants with the period's midnights (a CASE
    of at most a month of days), which works alike on every backend and across daylight-saving changes.
    """
    earliest = min(starts.values())
    today = clock.today()
    first_day = earliest.astimezone(clock.tz).date()
    days = [first_day + timedelta(days=offset) for offset in range((today - first_day).days + 1)]
    shipped_on = case(
        *((OrderLine.resolved_at < _midnight(clock, day + timedelta(days=1)), literal(day, Date())) for day in days),
        else_=literal(today, Date()),
    )
    met = shipped_on <= OrderLine.eta
    columns = []
    for since in starts.values():
        columns += [_count_since(OrderLine.resolved_at, since), _count_since(OrderLine.resolved_at, since, met)]
    row = (
        await session.execute(
            select(*columns).where(
                OrderLine.status == LineStatus.SHIPPED, OrderLine.eta.is_not(None), OrderLine.resolved_at >= earliest
            )
        )
    ).one()
    for index, period in enumerate(starts):
        shipped, on_time = row[index * 2 : index * 2 + 2]
        figures[period].update(shipped_with_eta=int(shipped), eta_met=int(on_time))


def _money(figures: dict[str, object], name: str) -> dict[str, int]:
    return figures.setdefault(name, {})  # type: ignore[return-value]
