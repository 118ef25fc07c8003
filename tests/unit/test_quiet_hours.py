"""Quiet hours in the shop's time zone, across midnight."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.services.quiet_hours import QuietHours

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("local", "quiet"),
    [("20:59", False), ("21:00", True), ("23:30", True), ("00:00", True), ("07:59", True), ("08:00", False), ("12:00", False)],
)
def test_evening_to_morning_quiet_hours_cross_midnight(local: str, quiet: bool) -> None:
    hours, minutes = map(int, local.split(":"))
    at = datetime(2026, 11, 27, hours, minutes, tzinfo=BERLIN)

    assert QuietHours(time(21), time(8)).contains(at, BERLIN) is quiet


def test_quiet_hours_are_read_in_the_shops_time_zone() -> None:
    at = datetime(2026, 7, 1, 19, 30, tzinfo=ZoneInfo("UTC"))  # 21:30 in Berlin (summer time)

    assert QuietHours(time(21), time(8)).contains(at, BERLIN)
    assert not QuietHours(time(21), time(8)).contains(at, ZoneInfo("UTC"))


def test_quiet_hours_within_one_day_and_none_when_start_equals_end() -> None:
    lunch = QuietHours(time(12), time(13))
    noon = datetime(2026, 11, 27, 12, 30, tzinfo=BERLIN)
    evening = datetime(2026, 11, 27, 22, 0, tzinfo=BERLIN)

    assert lunch.contains(noon, BERLIN) and not lunch.contains(evening, BERLIN)
    assert not QuietHours(time(8), time(8)).contains(evening, BERLIN)


@pytest.mark.parametrize(
    ("local", "ends"),
    [
        (datetime(2026, 11, 27, 21, 0), datetime(2026, 11, 28, 8, 0)),
        (datetime(2026, 11, 27, 23, 59), datetime(2026, 11, 28, 8, 0)),
        (datetime(2026, 11, 28, 0, 0), datetime(2026, 11, 28, 8, 0)),
        (datetime(2026, 11, 28, 7, 59), datetime(2026, 11, 28, 8, 0)),
        (datetime(2026, 3, 28, 22, 0), datetime(2026, 3, 29, 8, 0)),  # the night the clocks go forward
    ],
)
def test_the_end_of_quiet_hours_is_the_next_end_time_in_the_shops_time_zone(local: datetime, ends: datetime) -> None:
    end = QuietHours(time(21), time(8)).end_of(local.replace(tzinfo=BERLIN), BERLIN)

    assert end == ends.replace(tzinfo=BERLIN)
    assert end is not None and end.tzinfo == BERLIN and end.utcoffset() == ends.replace(tzinfo=BERLIN).utcoffset()


def test_outside_quiet_hours_there_is_no_end_to_wait_for() -> None:
    assert QuietHours(time(21), time(8)).end_of(datetime(2026, 11, 27, 12, 0, tzinfo=BERLIN), BERLIN) is None
    assert QuietHours(time(8), time(8)).end_of(datetime(2026, 11, 27, 12, 0, tzinfo=BERLIN), BERLIN) is None
