"""The weekly digest reaching the merchants' Telegram chats: the daily jobs, run by two processes sharing the
lease, queue it on the first run of each ISO week, and the outbox delivers it through the fake Bot API in the
shop's language; the other days of the week the jobs run and no digest goes out.

Today is Friday 27 November 2026 (ISO week 48); the test runs the jobs on each day until Monday 7 December.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, time

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from telegram import Bot

from bot.background import DAILY_JOBS, run_daily_jobs_once_a_day
from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.delivery import DeliveryPolicy, FloodControl, OutboxWorker, outbox_bot
from bot.sandbox import FakeBotApi
from bot.sandbox.chat_objects import ChatMessage
from bot.services.quiet_hours import QuietHours
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.engine import create_engine, create_session_factory
from db.models import JobLease
from tests.e2e.chat_bot import chat_settings
from tests.e2e.harness import fake_bot_api
from tests.integration.test_merchant_digest import digest_shop

CHECK_EVERY = 0.01
DIGEST = {
    "en": [
        "Your week in backorders", "", "Customers wait, nothing is on order:", "• MX-500 Stand Mixer — 3 pcs waiting",
        "", "Suppliers slipping:", "• Slow Sounds — 3 days late (median)", "", "Oldest backorders:",
        "• order 1042 · MX-500 — waiting 26 days", "• order 1043 · HS-200 — waiting 25 days",
        "• order 1044 · MX-500 — waiting 24 days", "", "/reorder says what to order and by when.",
    ],
    "de": [
        "Deine Woche bei den Rückständen", "", "Kunden warten, nichts ist bestellt:", "• MX-500 Stand Mixer – 3 Stück warten",
        "", "Lieferanten, die sich verspäten:", "• Slow Sounds – 3 Tage zu spät (Median)", "", "Älteste Rückstände:",
        "• Bestellung 1042 · MX-500 – wartet seit 26 Tagen", "• Bestellung 1043 · HS-200 – wartet seit 25 Tagen",
        "• Bestellung 1044 · MX-500 – wartet seit 24 Tagen", "", "/reorder sagt, was bis wann zu bestellen ist.",
    ],
}


@pytest.fixture(params=["en", "de"])
def language(request: pytest.FixtureRequest) -> str:
    """The shop's DEFAULT_LANGUAGE, in which the merchants get the digest."""
    return str(request.param)


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeBotApi]:
    async with fake_bot_api(now=clock.now) as server:
        yield server


async def test_each_merchant_gets_the_digest_in_telegram_once_a_week(
    fake: FakeBotApi, engine: AsyncEngine, database_url: str, session: AsyncSession, uow: UnitOfWork,
    clock: ManualClock, policy: ShopPolicy, language: str,
) -> None:
    await digest_shop(session, uow, clock)
    merchants = [fake.add_user("Mia"), fake.add_user("Max")]
    for merchant in merchants:
        fake.send_command(merchant, "start")  # a bot cannot write first
    settings = chat_settings(fake, merchant_user_ids=[m.id for m in merchants], default_language=language)
    engines = [create_engine(database_url) for _ in range(2)]
    processes = [ChatDeps(settings, create_session_factory(e), clock, policy) for e in engines]
    jobs = [
        asyncio.create_task(run_daily_jobs_once_a_day(deps, f"p{i}", check_every=CHECK_EVERY))
        for i, deps in enumerate(processes)
    ]
    days_run: list[date] = []
    try:
        async with outbox_bot(settings, workers=1) as bot:
            outbox = outbox_worker(bot, processes[0], clock)
            for day in range(11):  # Friday 27 November to Monday 7 December
                await jobs_done_today(processes[1], clock)
                days_run.append(clock.today())
                await outbox.deliver_due()
                clock.advance(days=1)
    finally:
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        for created in engines:
            await created.dispose()

    assert len(days_run) == 11  # the jobs ran every day, however many processes could run them
    for merchant in merchants:
        digests = [m for m in fake.bot_messages(merchant.id) if m.text and m.text.startswith(DIGEST[language][0])]
        # Friday of week 48 (the first run), then Monday of weeks 49 and 50: once a week each.
        assert [sent_on(m, clock) for m in digests] == [date(2026, 11, 27), date(2026, 11, 30), date(2026, 12, 7)]
        assert digests[0].text.split("\n") == DIGEST[language]


def sent_on(message: ChatMessage, clock: ManualClock) -> date:
    return datetime.fromtimestamp(message.raw["date"], clock.tz).date()


def outbox_worker(bot: Bot, deps: ChatDeps, clock: ManualClock) -> OutboxWorker:
    return OutboxWorker(bot, deps.session_factory, clock, FloodControl(30), DeliveryPolicy(QuietHours(time(21), time(8))))


async def jobs_done_today(deps: ChatDeps, clock: ManualClock, attempts: int = 1000) -> None:
    """Wait until one of the processes has recorded today's run of the daily jobs."""
    for _ in range(attempts):
        async with deps.session_factory() as check:
            lease = await check.get(JobLease, DAILY_JOBS)
            if lease is not None and lease.last_run_on == clock.today():
                return
        await asyncio.sleep(CHECK_EVERY)
    raise AssertionError(f"the daily jobs did not run on {clock.today()}")
