"""The running demo's clock as a person watching it sees it: started at night, it starts in the morning,
and "+1 day" always lands on the next day, outside quiet hours, so held messages go out."""

import logging
from datetime import datetime, timedelta, timezone

import pytest

from bot.clock import SystemClock
from bot.config import Settings
from bot.demo import demo_stack
from tests.conftest import SHOP_TZ


def local(moment: datetime) -> datetime:
    return moment.astimezone(SHOP_TZ)


async def test_a_demo_started_at_night_starts_when_quiet_hours_end_and_a_day_later_is_the_next_days_daytime(
    engine: object, database_url: str
) -> None:
    late_evening = datetime(2026, 11, 27, 23, 0, tzinfo=SHOP_TZ)
    clock = SystemClock(SHOP_TZ, offset=late_evening - datetime.now(timezone.utc))
    async with demo_stack(Settings(_env_file=None), database_url, clock=clock) as demo:  # type: ignore[call-arg]
        started = local(demo.clock.now())
        assert (started.date().isoformat(), started.hour) == ("2026-11-28", 8)

        await demo.next_day()
        assert local(demo.clock.now()).date() == started.date() + timedelta(days=1)
        assert local(demo.clock.now()).hour == 8


async def test_a_demo_started_in_the_daytime_keeps_the_time_and_does_not_call_it_night(
    engine: object, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.demo")
    afternoon = datetime(2026, 11, 27, 15, 0, tzinfo=SHOP_TZ)
    clock = SystemClock(SHOP_TZ, offset=afternoon - datetime.now(timezone.utc))
    async with demo_stack(Settings(_env_file=None), database_url, clock=clock) as demo:  # type: ignore[call-arg]
        started = local(demo.clock.now())

    assert (started.date().isoformat(), started.hour) == ("2026-11-27", 15)
    assert not [record for record in caplog.records if "night" in record.getMessage()]
