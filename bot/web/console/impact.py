"""The home page's impact summary drawn as charts, in the page's language: what customers did after a delay
notice, and how many shipped items kept the ETA they were last told."""

from collections.abc import Sequence

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
        words.gettext("Kept waiting: {n}"),
        words.gettext("Cancelled: {n}"),
        [(period.days, period.kept_waiting, period.cancelled_after_delay, period.kept_waiting_share) for period in periods],
    )


def eta_chart(periods: Sequence[ImpactPeriod]) -> Markup:
    """Per period, the shipped items that had an ETA split into those shipped by it and those shipped later."""
    words = t()
    return _split_chart(
        words.gettext("ETAs met"),
        words.gettext("Shipped by the ETA: {n}"),
        words.gettext("Shipped later: {n}"),
        [(period.days, period.eta_met, period.shipped_with_eta - period.eta_met, period.eta_met_share) for period in periods],
    )


def _split_chart(title: str, good_label: str, poor_label: str, rows: Sequence[tuple[int, int, int, float | None]]) -> Markup:
    """One bar per (days, good count, poor count, good share): the two parts labelled with their counts, the share
    after the bar."""
    words = t()
    return split_bars(
        title,
        [
            SplitRow(
                words.ngettext("{n} day", "{n} days", days).format(n=days),
                [Segment(good, good_label.format(n=good), "good"), Segment(poor, poor_label.format(n=poor), "poor")],
                percent(share),
            )
            for days, good, poor, share in rows
        ],
    )
