"""The demo's hours: it starts in the shop's daytime, and "+1 day" lands on the next day's daytime."""

from datetime import datetime, time, timezone

import pytest

from bot.demo_clock import daytime, next_day
from bot.services.quiet_hours import QuietHours
from tests.conftest import SHOP_TZ

QUIET = QuietHours(time(21, 0), time(8, 0))


def berlin(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHOP_TZ).astimezone(timezone.utc)


@pytest.mark.parametrize(
    ("now", "starts"),
    [
        (berlin(27, 10), berlin(27, 10)),  # daytime: the real time
        (berlin(27, 20, 59), berlin(27, 20, 59)),
        (berlin(27, 21), berlin(28, 8)),  # evening: the next morning
        (berlin(27, 23, 30), berlin(28, 8)),
        (berlin(28, 4, 50), berlin(28, 8)),  # small hours: this morning
    ],
)
def test_the_demo_starts_outside_quiet_hours(now: datetime, starts: datetime) -> None:
    assert daytime(now, SHOP_TZ, QUIET) == starts


@pytest.mark.parametrize(
    ("now", "a_day_later"),
    [
        (berlin(27, 10), berlin(28, 10)),  # daytime: the same time tomorrow
        (berlin(27, 20, 30), berlin(28, 20, 30)),
        (berlin(27, 22), berlin(28, 8)),  # at night: tomorrow morning, still the next day
        (berlin(28, 6), berlin(29, 8)),
        (berlin(28, 12, month=3), berlin(29, 12, month=3)),  # across the change to summer time: the same wall-clock hour
    ],
)
def test_a_day_later_is_the_next_day_at_a_daytime_hour(now: datetime, a_day_later: datetime) -> None:
    later = next_day(now, SHOP_TZ, QUIET)
    assert later == a_day_later
    assert later.astimezone(SHOP_TZ).date().toordinal() == now.astimezone(SHOP_TZ).date().toordinal() + 1
    assert not QUIET.contains(later, SHOP_TZ)


def test_without_quiet_hours_a_day_is_a_day() -> None:
    always = QuietHours(time(0, 0), time(0, 0))
    assert daytime(berlin(27, 23), SHOP_TZ, always) == berlin(27, 23)
    assert next_day(berlin(27, 23), SHOP_TZ, always) == berlin(28, 23)
