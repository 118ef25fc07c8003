"""The demo's hours: it starts in the shop's daytime, and "+1 day" lands on the next day's daytime.

Outside the demo nothing moves the clock; in it, a person watching should see messages go out. In quiet
hours (21:00–08:00 by default) every optional message waits for the morning, so a demo started at night,
or a "+1 day" from 22:00 to 22:00, would show broadcasts and notifications held with nothing moving.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.services.quiet_hours import QuietHours


def daytime(at: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """`at`, or when it falls in the shop's quiet hours, the moment they end."""
    end = quiet.end_of(at, tz)
    return at if end is None else end.astimezone(at.tzinfo)


def next_day(at: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """The same wall-clock time on the shop's next day; that morning, when quiet hours end, if the time is in them."""
    local = at.astimezone(tz)
    tomorrow = local.date() + timedelta(days=1)
    same_time = datetime.combine(tomorrow, local.timetz().replace(tzinfo=None), tz)
    if quiet.contains(same_time, tz):
        same_time = datetime.combine(tomorrow, quiet.end, tz)
    return same_time.astimezone(at.tzinfo)


def quiet_hours_of(settings: Settings) -> QuietHours:
    return QuietHours(settings.quiet_hours_start, settings.quiet_hours_end)
