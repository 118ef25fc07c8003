"""The one source of "now" and "today" for every service, so time can be moved in tests and the demo."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """What services ask about time."""

    tz: ZoneInfo

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def today(self) -> date:
        """Today's date in the shop's time zone."""
        ...


@dataclass
class SystemClock:
    """The real clock, optionally shifted forward (the demo moves its days along)."""

    tz: ZoneInfo
    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def today(self) -> date:
        return self.now().astimezone(self.tz).date()


@dataclass
class ManualClock:
    """A clock that stands still until told to move; for tests and benchmarks."""

    current: datetime
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Berlin"))

    def __post_init__(self) -> None:
        if self.current.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware datetime")
        self.current = self.current.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self.current

    def today(self) -> date:
        return self.current.astimezone(self.tz).date()

    def advance(self, **delta: float) -> None:
        """Move time forward, e.g. `clock.advance(days=1)`."""
        self.current += timedelta(**delta)
