"""The console's charts, drawn on the server as inline SVG: nothing to download, no outside host, no script.

Colours come from classes styled in console.css (the page's Content-Security-Policy allows no inline styles).
The drawings are sized for a phone first: their viewBox is about as wide as a phone's screen, so text keeps
its size there, and CSS caps their width on larger screens.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from bot.services.backorders.backlog_health import AgeBracket
from bot.services.outreach.broadcasts import BroadcastView
from bot.services.support.ticket_ratings import RatingSummary

_WIDTH = 360
_LABEL_WIDTH = 84
_ROW_HEIGHT = 30
_BAR_HEIGHT = 18
_COUNT_ROOM = 40  # right of the longest bar, for its number


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    tooltip: str
    css_class: str


def bar_chart(title: str, bars: Sequence[Bar]) -> Markup:
    """Horizontal bars with a label on the left and the value after each bar, longest bar = largest value."""
    top = max((bar.value for bar in bars), default=0) or 1
    room = _WIDTH - _LABEL_WIDTH - _COUNT_ROOM
    rows = []
    for index, bar in enumerate(bars):
        y = index * _ROW_HEIGHT + 6
        width = round(room * bar.value / top, 1)
        middle = y + _BAR_HEIGHT / 2
        rows.append(
            f'<g class="bar {escape(bar.css_class)}"><title>{escape(bar.tooltip)}</title>'
            f'<text class="label" x="0" y="{middle}" dominant-baseline="central">{escape(bar.label)}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y}" width="{width}" height="{_BAR_HEIGHT}" rx="3"/>'
            f'<text class="value" x="{_LABEL_WIDTH + width + 6}" y="{middle}" dominant-baseline="central">'
            f"{bar.value}</text></g>"
        )
    height = len(bars) * _ROW_HEIGHT + 6
    return Markup(
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(rows)}</svg>"
    )


def aging_chart(brackets: Sequence[AgeBracket]) -> Markup:
    """Waiting lines per age bracket, the older the warmer."""
    return bar_chart(
        "Waiting lines by how long they have waited",
        [
            Bar(
                bracket.label,
                bracket.lines,
                f"{bracket.label}: {bracket.lines} waiting lines, {bracket.quantity} units",
                f"age-{index}",
            )
            for index, bracket in enumerate(brackets)
        ],
    )


def ratings_chart(summary: RatingSummary) -> Markup:
    """How many tickets got each number of stars, five first."""
    return bar_chart(
        "Ratings by stars",
        [
            Bar("★" * stars, summary.by_stars[stars], f"{stars} stars: {summary.by_stars[stars]}", f"stars-{stars}")
            for stars in range(5, 0, -1)
        ],
    )


def share_meter(share: float) -> Markup:
    """A small bar filled to `share` (0 to 1), for a table cell."""
    filled = round(max(0.0, min(share, 1.0)) * 60, 1)
    return Markup(
        '<svg class="meter" viewBox="0 0 60 8" aria-hidden="true">'
        f'<rect class="track" width="60" height="8" rx="2"/><rect class="fill" width="{filled}" height="8" rx="2"/></svg>'
    )


def progress_bar(view: BroadcastView) -> Markup:
    """A broadcast's delivery as one bar: sent, then failed, then blocked, out of every recipient.

    console.js moves the segments as the delivery goes on; their ids are what it looks for.
    """
    total = view.recipient_count or 1
    segments = []
    x = 0.0
    for name, count in (("sent", view.sent), ("failed", view.failed), ("blocked", view.blocked)):
        width = round(100 * count / total, 2)
        segments.append(f'<rect id="progress-{name}" class="{name}" x="{x}" y="0" width="{width}" height="10"/>')
        x += width
    done = view.sent + view.failed + view.blocked
    return Markup(
        '<svg id="progress-bar" class="progress" viewBox="0 0 100 10" preserveAspectRatio="none" role="progressbar"'
        f' aria-label="Delivery" aria-valuemin="0" aria-valuemax="{view.recipient_count}" aria-valuenow="{done}">'
        f'<rect class="track" width="100" height="10"/>{"".join(segments)}</svg>'
    )


@dataclass(frozen=True)
class LatenessPoint:
    label: str  # the shipment, e.g. its reference
    days_late: int  # negative: early


def lateness_chart(title: str, points: Sequence[LatenessPoint]) -> Markup:
    """One column per received shipment, oldest left: up for days late, down for days early, from a zero line."""
    top = max((abs(point.days_late) for point in points), default=0) or 1
    half = 60  # px above (and below) the zero line for the largest lateness
    step = min(36.0, (_WIDTH - 20) / max(len(points), 1))
    columns = []
    for index, point in enumerate(points):
        x = round(10 + index * step, 1)
        length = round(half * abs(point.days_late) / top, 1) or 1.0
        y = half + 4 - length if point.days_late > 0 else half + 4
        kind = "late" if point.days_late > 0 else "on-time"
        columns.append(
            f'<g class="{kind}"><title>{escape(point.label)}: {point.days_late:+d}</title>'
            f'<rect x="{x}" y="{y}" width="{round(step * 0.7, 1)}" height="{length}" rx="2"/></g>'
        )
    height = 2 * half + 8
    return Markup(
        f'<svg class="chart lateness" viewBox="0 0 {_WIDTH} {height}" role="img" aria-label="{escape(title)}">'
        f'<title>{escape(title)}</title><line class="zero" x1="0" x2="{_WIDTH}" y1="{half + 4}" y2="{half + 4}"/>'
        f"{''.join(columns)}</svg>"
    )


@dataclass(frozen=True)
class Segment:
    """A part of a split bar: how many, what they are (its tooltip) and its colour's class."""

    value: int
    tooltip: str
    css_class: str


@dataclass(frozen=True)
class SplitRow:
    """A split bar's row: its label, its parts in order, and the text after it (e.g. the first part's share)."""

    label: str
    segments: Sequence[Segment]
    after: str


def split_bars(title: str, rows: Sequence[SplitRow]) -> Markup:
    """One full-width bar per row, split into its parts by their shares of the row's total; an empty row is a track."""
    room = _WIDTH - _LABEL_WIDTH - 64  # right of the bar: a share, `100 %` at the most
    drawn = []
    for index, row in enumerate(rows):
        y = index * _ROW_HEIGHT + 6
        middle = y + _BAR_HEIGHT / 2
        total = sum(segment.value for segment in row.segments)
        parts = [f'<rect class="track" x="{_LABEL_WIDTH}" y="{y}" width="{room}" height="{_BAR_HEIGHT}" rx="3"/>']
        x = float(_LABEL_WIDTH)
        for segment in row.segments if total else ():
            width = round(room * segment.value / total, 1)
            parts.append(
                f'<rect class="{escape(segment.css_class)}" x="{round(x, 1)}" y="{y}" width="{width}" height="{_BAR_HEIGHT}">'
                f"<title>{escape(segment.tooltip)}</title></rect>"
            )
            x += width
        drawn.append(
            f'<g class="split"><text class="label" x="0" y="{middle}" dominant-baseline="central">{escape(row.label)}</text>'
            f'{"".join(parts)}<text class="value" x="{_LABEL_WIDTH + room + 6}" y="{middle}" dominant-baseline="central">'
            f"{escape(row.after)}</text></g>"
        )
    height = len(rows) * _ROW_HEIGHT + 6
    return Markup(
        f'<svg class="chart split-bars" viewBox="0 0 {_WIDTH} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(drawn)}</svg>"
    )
