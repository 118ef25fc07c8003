"""The shop's quiet hours, when optional messages wait for the morning."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class QuietHours:
    """From `start` to `end` in the shop's time zone; may cross midnight (21:00–08:00). Equal times: never quiet."""

    start: time
    end: time

    def contains(self, at: datetime, tz: ZoneInfo) -> bool:
        local = at.astimezone(tz).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def end_of(self, at: datetime, tz: ZoneInfo) -> datetime | None:
        """When the quiet hours `at` falls in end, in the shop's time zone; None when `at` is not in quiet hours."""
        if not self.contains(at, tz):
            return None
        local = at.astimezone(tz)
        end = datetime.combine(local.date(), self.end, tzinfo=tz)
        # Adding a day to a zoned time keeps the wall clock, so the end stays at `end` across a DST change.
        return end if end > local else end + timedelta(days=1)
