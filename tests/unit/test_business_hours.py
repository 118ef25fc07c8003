"""BUSINESS_HOURS as a shop writes it, and when the team is at work or back, in the shop's time zone."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.business_hours import OpeningSpan, parse_business_hours

BERLIN = ZoneInfo("Europe/Berlin")


def test_days_may_be_a_range_a_list_or_one_day_and_entries_are_separated_by_semicolons() -> None:
    hours = parse_business_hours("Mon-Wed 09:00-17:00; fri, SAT 10:00 - 14:30 ;Sun 08:00-24:00")

    assert hours.spans == (
        OpeningSpan(0, 540, 1020),
        OpeningSpan(1, 540, 1020),
        OpeningSpan(2, 540, 1020),
        OpeningSpan(4, 600, 870),
        OpeningSpan(5, 600, 870),
        OpeningSpan(6, 480, 1440),
    )


def test_a_range_may_wrap_round_the_weekend() -> None:
    assert [span.weekday for span in parse_business_hours("Sat-Mon 10:00-12:00").spans] == [0, 5, 6]


def test_empty_means_always_open() -> None:
    hours = parse_business_hours("  ")

    assert hours.always_open
    assert hours.is_open(datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc), BERLIN)
    assert hours.next_opening(datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc), BERLIN) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Mon-Fri 9-17", "is not like"),
        ("Mo-Fr 09:00-17:00", "days are Mon"),
        ("Mon 17:00-09:00", "ends before it starts"),
        ("Mon 09:00-25:00", "not a time of day"),
        ("Mon 09:60-10:00", "not a time of day"),
    ],
)
def test_a_mistake_is_refused_saying_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_business_hours(text)


def test_open_and_closed_follow_the_shops_clock_not_utc() -> None:
    hours = parse_business_hours("Mon-Fri 09:00-17:00")

    assert hours.is_open(datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc), BERLIN)  # 09:00 in Berlin
    assert not hours.is_open(datetime(2026, 11, 27, 7, 59, tzinfo=timezone.utc), BERLIN)
    assert not hours.is_open(datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc), BERLIN)  # 17:00: closed
    assert not hours.is_open(datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc), BERLIN)  # Saturday


@pytest.mark.parametrize(
    ("now", "back"),
    [
        (datetime(2026, 11, 27, 17, 0, tzinfo=timezone.utc), datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)),  # Fri evening
        (datetime(2026, 11, 30, 5, 0, tzinfo=timezone.utc), datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)),  # Mon 06:00
        (datetime(2026, 3, 27, 18, 0, tzinfo=timezone.utc), datetime(2026, 3, 30, 9, 0, tzinfo=BERLIN)),  # over the DST change
    ],
)
def test_the_next_opening_is_the_next_start_of_a_span(now: datetime, back: datetime) -> None:
    hours = parse_business_hours("Mon-Fri 09:00-17:00; Wed 18:00-20:00")

    assert hours.next_opening(now, BERLIN) == back


def test_a_second_span_the_same_day_is_the_next_opening_after_the_first() -> None:
    hours = parse_business_hours("Wed 09:00-12:00; Wed 14:00-17:00")

    assert hours.next_opening(datetime(2026, 11, 25, 11, 30, tzinfo=timezone.utc), BERLIN) == datetime(
        2026, 11, 25, 14, 0, tzinfo=BERLIN
    )
