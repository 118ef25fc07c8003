"""When the support team is at work, and so when a customer who asks for a person can expect an answer.

BUSINESS_HOURS is written the way a shop would put it on its door, in the shop's time zone:

    Mon-Fri 09:00-17:00
    Mon-Fri 09:00-17:00; Sat 10:00-14:00
    Mon,Wed,Fri 08:30-12:00; Tue,Thu 13:00-18:00

Entries are separated by ";". Each names days (English three-letter names; a range "Mon-Fri", a list
"Mon,Wed" or one day) and one span of 24-hour times; the end may be 24:00 and must be after the start (write
a night shift as two entries). An empty value means the team is always there. Public holidays are not known.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENTRY = re.compile(r"(?P<days>[A-Za-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})")
_MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class OpeningSpan:
    """One day's opening, in minutes after local midnight: [start, end)."""

    weekday: int  # Monday is 0
    start: int
    end: int


@dataclass(frozen=True)
class BusinessHours:
    spans: tuple[OpeningSpan, ...]  # empty: always open

    @property
    def always_open(self) -> bool:
        return not self.spans

    def is_open(self, at: datetime, tz: ZoneInfo) -> bool:
        if self.always_open:
            return True
        local = at.astimezone(tz)
        minute = local.hour * 60 + local.minute
        return any(s.weekday == local.weekday() and s.start <= minute < s.end for s in self.spans)

    def next_opening(self, at: datetime, tz: ZoneInfo) -> datetime | None:
        """The first opening after `at`, in the shop's time zone; None when the team is always there."""
        if self.always_open:
            return None
        today = at.astimezone(tz).date()
        for offset in range(8):
            day = today + timedelta(days=offset)
            for span in (s for s in self.spans if s.weekday == day.weekday()):  # sorted by start
                opening = _local(day, span.start, tz)
                if opening > at:
                    return opening
        return None  # unreachable with at least one span: every weekday recurs within a week


def parse_business_hours(text: str) -> BusinessHours:
    """Read BUSINESS_HOURS, or raise ValueError saying what is wrong and what it should look like."""
    spans: list[OpeningSpan] = []
    for raw in (part.strip() for part in text.split(";")):
        if not raw:
            continue
        match = _ENTRY.fullmatch(raw)
        if match is None:
            raise ValueError(f"business hours entry {raw!r} is not like 'Mon-Fri 09:00-17:00'")
        start, end = _minutes(match.group("start")), _minutes(match.group("end"))
        if end <= start:
            raise ValueError(f"business hours entry {raw!r} ends before it starts; write a night shift as two entries")
        spans.extend(OpeningSpan(day, start, end) for day in _days(match.group("days"), raw))
    return BusinessHours(tuple(sorted(set(spans), key=lambda s: (s.weekday, s.start))))


def _days(text: str, entry: str) -> list[int]:
    days: list[int] = []
    for part in (p.strip().lower() for p in text.split(",")):
        first, _, last = (bound.strip() for bound in part.partition("-"))
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"business hours entry {entry!r}: days are Mon, Tue, Wed, Thu, Fri, Sat, Sun")
        start, stop = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        # A range may wrap round the week end: "Sat-Mon".
        days.extend((start + step) % 7 for step in range((stop - start) % 7 + 1))
    return days


def _minutes(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    value = hours * 60 + minutes
    if minutes > 59 or value > _MINUTES_PER_DAY:
        raise ValueError(f"{text} is not a time of day (00:00 to 24:00)")
    return value


def _local(day: date, minute: int, tz: ZoneInfo) -> datetime:
    if minute == _MINUTES_PER_DAY:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
