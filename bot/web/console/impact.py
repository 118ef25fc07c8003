"""The home page's impact summary drawn as charts, in the page's language: what customers did after a delay
notice, and how many shipped items kept the ETA they were last told."""

from collections.abc import Callable, Sequence

from markupsafe import Markup

from bot.services.reporting.impact import ImpactPeriod
from bot.web.charts import Segment, SplitRow, split_bars
from bot.web.console.render import percent, t


def period_label(period: ImpactPeriod) -> str:
    return t().ngettext("Last {n} day", "Last {n} days", period.days).format(n=period.days)


def delay_chart(periods: Sequence[ImpactPeriod]) -> Markup:
    """Per period, the customers told of a delay split into those who kept waiting and those who cancelled."""
    words = t()
    return _split_chart(
        words.gettext("Customers who kept waiting after a delay notice"),
        periods,
        lambda period: (
            Segment(period.kept_waiting, words.gettext("Kept waiting: {n}").format(n=period.kept_waiting), "good"),
            Segment(
                period.cancelled_after_delay,
                words.gettext("Cancelled: {n}").format(n=period.cancelled_after_delay),
                "poor",
            ),
            period.kept_waiting_share,
        ),
    )


def eta_chart(periods: Sequence[ImpactPeriod]) -> Markup:
    """Per period, the shipped items that had an ETA split into those shipped by it and those shipped later."""
    words = t()
    return _split_chart(
        words.gettext("ETAs met"),
        periods,
        lambda period: (
            Segment(period.eta_met, words.gettext("Shipped by the ETA: {n}").format(n=period.eta_met), "good"),
            Segment(
                period.shipped_with_eta - period.eta_met,
                words.gettext("Shipped later: {n}").format(n=period.shipped_with_eta - period.eta_met),
                "poor",
            ),
            period.eta_met_share,
        ),
    )


def _split_chart(
    title: str, periods: Sequence[ImpactPeriod], parts: Callable[[ImpactPeriod], tuple[Segment, Segment, float | None]]
) -> Markup:
    """One row per period: its good part, its poor part, and the good part's share after the bar."""
    rows = []
    for period in periods:
        good, poor, share = parts(period)
        rows.append(SplitRow(t().ngettext("{n} day", "{n} days", period.days).format(n=period.days), [good, poor], percent(share)))
    return split_bars(title, rows)
