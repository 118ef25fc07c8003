"""The shop's quiet hours, when optional messages wait for the morning."""

from dataclasses import dataclass
from datetime import datetime, time
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
