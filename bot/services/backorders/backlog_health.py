"""How healthy the backlog is: how long the waiting lines have waited, and how many ETAs a shipment confirms."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import ColumnElement, case, func, select

from bot.clock import Clock
from bot.services.backorders.allocation import open_quantity, waiting
from bot.services.unit_of_work import UnitOfWork
from db.models import EtaBasis, OrderLine, Product

# Age brackets in whole days waited (shop calendar): (from, to inclusive or None for open-ended, label).
AGE_BRACKETS: tuple[tuple[int, int | None, str], ...] = (
    (0, 6, "0–6 days"),
    (7, 13, "1–2 weeks"),
    (14, 27, "2–4 weeks"),
    (28, 55, "4–8 weeks"),
    (56, None, "8+ weeks"),
)
# A line's ETA is confirmed when stock or a supplier's shipment covers it, estimated from the lead time otherwise.
CONFIRMED_BASES = (EtaBasis.IN_STOCK.value, EtaBasis.PURCHASE_ORDER.value)


@dataclass(frozen=True)
class AgeBracket:
    """Waiting lines that have waited from `min_days` to `max_days` whole days (no upper end when None)."""

    label: str
    min_days: int
    max_days: int | None
    lines: int
    quantity: int


@dataclass(frozen=True)
class SkuEtaConfidence:
    """One SKU's waiting lines and how many of them have a confirmed (not estimated) ETA."""

    sku: str
    category: str
    waiting_lines: int
    confirmed_lines: int

    @property
    def confirmed_share(self) -> float:
        return self.confirmed_lines / self.waiting_lines if self.waiting_lines else 0.0


@dataclass(frozen=True)
class BacklogHealth:
    aging: list[AgeBracket]  # youngest first, every bracket present
    by_sku: dict[str, SkuEtaConfidence]

    @property
    def categories(self) -> list[str]:
        """The categories with waiting lines, alphabetically."""
        return sorted({sku.category for sku in self.by_sku.values()})


async def backlog_health(uow: UnitOfWork) -> BacklogHealth:
    """The waiting lines by age bracket, and per SKU the lines whose ETA is confirmed; one read."""
    async with uow:
        bracket = _age_bracket(uow.clock)
        aging_rows = (
            await uow.session.execute(
                select(bracket.label("bracket"), func.count(OrderLine.id), func.sum(open_quantity()))
                .where(waiting())
                .group_by(bracket)
            )
        ).all()
        confirmed = func.sum(case((OrderLine.eta_basis.in_(CONFIRMED_BASES), 1), else_=0))
        sku_rows = (
            await uow.session.execute(
                select(Product.sku, Product.category, func.count(OrderLine.id), confirmed)
                .join(Product, Product.id == OrderLine.product_id)
                .where(waiting())
                .group_by(Product.sku, Product.category)
            )
        ).all()
    counts = {index: (lines, int(quantity or 0)) for index, lines, quantity in aging_rows}
    aging = [
        AgeBracket(label, low, high, *counts.get(index, (0, 0))) for index, (low, high, label) in enumerate(AGE_BRACKETS)
    ]
    by_sku = {
        sku: SkuEtaConfidence(sku, category, lines, int(confirmed_lines or 0))
        for sku, category, lines, confirmed_lines in sku_rows
    }
    return BacklogHealth(aging, by_sku)


def _age_bracket(clock: Clock) -> ColumnElement[int]:
    """The index into AGE_BRACKETS of a line's age, as SQL: compared with instants, so it works on any backend."""
    whens = [
        (OrderLine.queued_at >= _waited_less_than(clock, high + 1), index)
        for index, (_, high, _) in enumerate(AGE_BRACKETS)
        if high is not None
    ]
    return case(*whens, else_=len(AGE_BRACKETS) - 1)


def _waited_less_than(clock: Clock, days: int) -> datetime:
    """Lines queued at or after this instant have waited fewer than `days` whole days in the shop's calendar."""
    day = clock.today() - timedelta(days=days - 1)
    return datetime.combine(day, time(), clock.tz).astimezone(timezone.utc)
