"""`backorder-bot deliver`: a process that only sends the outbox, beside the bot, on PostgreSQL."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.sandbox import FakeBotApi, FakeUser, RateLimits
from bot.services.audit import Actor
from bot.services.event_log import EventType, emit
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from bot.services.webhooks.endpoints import add_endpoint
from bot.telegram_jobs import deliver
from db.models import OutboxStatus
from tests.cli_runner import run_cli
from tests.e2e.chat_bot import chat_settings
from tests.outbox_queue import broadcast_text, outbox_rows, queue
from tests.webhook_receiver import HANGING_LIMIT, Receiver, arrival, running_receiver

QUIET_HOURS_OFF = {"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}


def started_customers(fake: FakeBotApi, count: int) -> list[FakeUser]:
    """Customers who wrote to the bot first, as Telegram requires before it lets the bot write to them."""
    users = [fake.add_user(f"Customer {i}") for i in range(count)]
    for user in users:
        fake.send_command(user, "start")
    return users


@pytest.mark.postgres_only
async def test_deliver_sends_what_the_outbox_holds_until_it_is_stopped(
    fake_api: FakeBotApi, session_factory: async_sessionmaker[AsyncSession], database_url: str, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("needs PostgreSQL: deliver refuses SQLite, which is one process's database")
    users = started_customers(fake_api, 5)
    queued_a_minute_ago = ManualClock(datetime.now(timezone.utc) - timedelta(minutes=1))  # deliver runs on the real clock
    ids = await queue(session_factory, queued_a_minute_ago, [broadcast_text(user.id, f"sale {i}") for i, user in enumerate(users)])
    settings = chat_settings(fake_api, database_url=database_url, outbox_workers=2, **QUIET_HOURS_OFF)
    stop = asyncio.Event()

    running = asyncio.create_task(deliver(settings, stop.wait()))
    await fake_api.wait_until(lambda: len(fake_api.requests("sendMessage")) == len(users), 10, what="every message sent")
    stop.set()

    assert await asyncio.wait_for(running, 10) == 0
    assert [[m.text for m in fake_api.bot_messages(user.id)] for user in users] == [[f"sale {i}"] for i in range(5)]
    assert all(row.status is OutboxStatus.SENT for row in await outbox_rows(session_factory, ids))


@pytest.mark.postgres_only
async def test_deliver_sends_webhooks_too_and_a_hanging_endpoint_holds_up_neither_telegram_nor_another_endpoint(
    fake_api: FakeBotApi, session_factory: async_sessionmaker[AsyncSession], database_url: str, is_postgres: bool,
    policy: ShopPolicy,
) -> None:
    if not is_postgres:
        pytest.skip("needs PostgreSQL: deliver refuses SQLite, which is one process's database")
    users = started_customers(fake_api, 3)
    a_minute_ago = ManualClock(datetime.now(timezone.utc) - timedelta(minutes=1))  # deliver runs on the real clock
    uow = UnitOfWork(session_factory, a_minute_ago, policy)
    async for hanging in running_receiver(Receiver(then="slow")):  # takes each request and never answers in time
        async for healthy in running_receiver(Receiver()):
            hanging.secret = (await add_endpoint(uow, hanging.url, [], Actor.merchant("shop"))).secret
            healthy.secret = (await add_endpoint(uow, healthy.url, ["line.*"], Actor.merchant("shop"))).secret
            async with uow:
                for number in ("1042", "1043"):
                    emit(uow.session, EventType.LINE_SHIPPED, a_minute_ago.now(), {"order_number": number}, number)
                await uow.commit()
            await queue(session_factory, a_minute_ago, [broadcast_text(user.id, f"sale {i}") for i, user in enumerate(users)])
            settings = chat_settings(fake_api, database_url=database_url, outbox_workers=1, **QUIET_HOURS_OFF)
            stop = asyncio.Event()

            running = asyncio.create_task(deliver(settings, stop.wait()))
            told_at = await arrival(lambda: len(fake_api.requests("sendMessage")) == len(users), what="every message")
            await arrival(lambda: len(healthy.received) == 2 and bool(hanging.received), what="deliveries at both")
            stop.set()
            assert await asyncio.wait_for(running, 10) == 0

    # Neither waited for the hanging endpoint's requests to time out (10 s), on however loaded a machine.
    assert told_at - hanging.received[0].arrived_at < HANGING_LIMIT
    assert healthy.received[-1].arrived_at - hanging.received[0].arrived_at < HANGING_LIMIT
    assert [m.data["order_number"] for m in healthy.received] == ["1042", "1043"] and healthy.refused == 0
    assert [[m.text for m in fake_api.bot_messages(user.id)] for user in users] == [[f"sale {i}"] for i in range(3)]


async def test_deliver_refuses_sqlite_and_a_process_with_no_workers(
    fake_api: FakeBotApi, capsys: pytest.CaptureFixture[str]
) -> None:
    on_sqlite = chat_settings(fake_api, database_url="sqlite+aiosqlite:///shop.sqlite3")
    no_workers = chat_settings(fake_api, database_url="postgresql+asyncpg://shop@127.0.0.1:1/shop", outbox_workers=0)

    never = asyncio.get_running_loop().create_future()  # refused before waiting for it
    assert await deliver(on_sqlite, never) == 2
    assert "needs PostgreSQL" in capsys.readouterr().err
    assert await deliver(no_workers, never) == 2
    assert "OUTBOX_WORKERS is 0" in capsys.readouterr().err
    assert fake_api.requests() == []


def test_the_command_line_offers_deliver_and_explains_why_it_will_not_run_on_sqlite(
    cli_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    assert run_cli("db", "upgrade") == 0

    assert run_cli("deliver") == 2
    assert "needs PostgreSQL" in capsys.readouterr().err


@pytest.mark.postgres_only
async def test_two_deliver_processes_configured_with_the_whole_limit_keep_to_it_together(
    fake_api: FakeBotApi, session_factory: async_sessionmaker[AsyncSession], database_url: str, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("needs PostgreSQL: deliver refuses SQLite, which is one process's database")
    users = started_customers(fake_api, 90)
    fake_api.enforce_rate_limits(RateLimits(per_chat_per_second=1, global_per_second=30))
    queued_a_minute_ago = ManualClock(datetime.now(timezone.utc) - timedelta(minutes=1))
    # A broadcast, and a second message to some of its recipients: the two may be claimed by different processes.
    messages = [broadcast_text(user.id, f"sale {i}") for i, user in enumerate(users)]
    messages += [broadcast_text(user.id, f"update {i}") for i, user in enumerate(users[:10])]
    ids = await queue(session_factory, queued_a_minute_ago, messages)
    # Both say 30 a second, as the operator configures every process: the limit is the bot's, not each one's.
    settings = chat_settings(fake_api, database_url=database_url, outbox_workers=2, outbox_rate_per_second=30, **QUIET_HOURS_OFF)
    stop = asyncio.Event()

    running = [asyncio.create_task(deliver(settings, stop.wait())) for _ in range(2)]
    # 30/s would take 4 s; a loaded machine sends more slowly rather than into 429s.
    await fake_api.wait_until(
        lambda: sum(1 for r in fake_api.requests("sendMessage") if r.ok) == len(messages), 60, what="every message sent"
    )
    stop.set()

    assert await asyncio.wait_for(asyncio.gather(*running), 10) == [0, 0]
    assert fake_api.rate_limit_violations == []
    expected = [[f"sale {i}"] + ([f"update {i}"] if i < 10 else []) for i in range(len(users))]
    assert sorted([m.text for m in fake_api.bot_messages(user.id)] for user in users) == sorted(expected)
    assert all(row.status is OutboxStatus.SENT for row in await outbox_rows(session_factory, ids))
