"""Outbox workers sending through a real telegram.Bot to the fake Bot API: what customers receive, and when."""

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.clock import ManualClock
from bot.delivery import DeliveryPolicy, DeliveryStats, FloodControl, OutboxWorker, outbox_bot, start_outbox_workers
from bot.delivery.claims import LEASE_EXPIRED, claim_due
from bot.delivery.worker import GIVE_WAY_AT_MOST
from bot.sandbox import FakeBotApi, FakeUser, Fault, RateLimits
from bot.services.outbox import PRIORITY_BROADCAST, PRIORITY_INTERACTIVE, PRIORITY_NOTIFICATION, OutgoingMessage
from bot.services.quiet_hours import QuietHours
from bot.services.unit_of_work import UnitOfWork
from db.engine import create_engine, create_session_factory
from db.models import Broadcast, BroadcastStatus, OutboxStatus
from tests.e2e.chat_bot import chat_settings
from tests.e2e.harness import fake_bot_api
from tests.outbox_queue import add_chat_customer, broadcast_text, customer, outbox_row, outbox_rows, queue

Sessions = async_sessionmaker[AsyncSession]
QUIET = QuietHours(time(21), time(8))


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeBotApi]:
    async with fake_bot_api(now=clock.now) as server:
        yield server


@pytest.fixture
async def telegram_bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with outbox_bot(chat_settings(fake), workers=4) as bot:
        yield bot


def worker(bot: Bot, sessions: Sessions, clock: ManualClock, flood: FloodControl | None = None, **policy: Any) -> OutboxWorker:
    return OutboxWorker(bot, sessions, clock, flood or FloodControl(1000), DeliveryPolicy(QUIET, **policy))


def started_chats(fake: FakeBotApi, count: int) -> list[FakeUser]:
    """Users who have opened their chat with the bot (a bot cannot write first)."""
    users = [fake.add_user(f"Customer {i}") for i in range(count)]
    for user in users:
        fake.send_command(user, "start")
    return users


def sent_texts(fake: FakeBotApi, chat_id: int) -> list[str | None]:
    return [message.text for message in fake.bot_messages(chat_id)]


def sends_to(fake: FakeBotApi, chat_id: int) -> list[int]:
    """The HTTP status of every sendMessage to the chat, in order."""
    return [request.status for request in fake.requests("sendMessage", chat_id=chat_id)]


async def test_a_queued_message_is_delivered_once_with_its_rendered_text(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    [user] = started_chats(fake, 1)
    [message_id] = await queue(session_factory, clock, [broadcast_text(user.id, "Back in stock: <Headset> & case")])
    outbox = worker(telegram_bot, session_factory, clock)

    assert await outbox.deliver_due() == 1
    assert await outbox.deliver_due() == 0

    assert sent_texts(fake, user.id) == ["Back in stock: <Headset> & case"]
    [request] = fake.requests("sendMessage", chat_id=user.id)
    assert request.params["parse_mode"] == "HTML"
    row = await outbox_row(session_factory, message_id)
    assert (row.status, row.telegram_message_id, row.sent_at, row.attempts) == (
        OutboxStatus.SENT, fake.bot_messages(user.id)[0].message_id, clock.now(), 1
    )
    assert outbox.stats.as_dict()["sent"] == 1


async def test_telegrams_limits_are_kept_per_chat_per_group_and_overall(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    fake.enforce_rate_limits(RateLimits(per_chat_per_second=1, per_group_per_minute=20, global_per_second=20))
    busy, *others = started_chats(fake, 16)
    group = fake.add_group("Wholesale customers")
    messages = [broadcast_text(busy.id, f"busy {i}") for i in range(3)]
    messages += [broadcast_text(group.id, f"group {i}") for i in range(22)]
    messages += [broadcast_text(user.id, "hello") for user in others]
    ids = await queue(session_factory, clock, messages)
    flood = FloodControl(20)  # one process: its two workers share the limits
    workers = [worker(telegram_bot, session_factory, clock, flood) for _ in range(2)]

    sent = await asyncio.gather(*(w.deliver_due() for w in workers))

    assert fake.rate_limit_violations == []
    assert sum(sent) == len(ids) - 2
    assert sent_texts(fake, busy.id) == ["busy 0", "busy 1", "busy 2"]
    assert len(fake.bot_messages(group.id)) == 20
    held_back = [row for row in await outbox_rows(session_factory) if row.status is not OutboxStatus.SENT]
    assert [row.chat_id for row in held_back] == [group.id, group.id]
    assert all(row.status is OutboxStatus.PENDING and row.not_before > clock.now() for row in held_back)
    assert all(row.attempts == 0 for row in held_back)


async def test_a_chats_messages_held_by_two_workers_all_go_out_in_the_order_queued(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    fake.enforce_rate_limits(RateLimits(per_chat_per_second=1, per_group_per_minute=20, global_per_second=20))
    [anna] = started_chats(fake, 1)
    first_id, *_ = await queue(session_factory, clock, [broadcast_text(anna.id, f"part {i}") for i in range(3)])
    fake.inject_fault("sendMessage", Fault.slow(0.5), chat_id=anna.id)  # "part 0" takes a while to be answered
    flood = FloodControl(20)  # one process: its workers share the limits
    one, other = (worker(telegram_bot, session_factory, clock, flood, batch_size=1) for _ in range(2))

    first = asyncio.create_task(one.deliver_due())
    while (await outbox_row(session_factory, first_id)).status is not OutboxStatus.SENDING:
        await asyncio.sleep(0.01)
    # While "part 0" is on its way, the other worker takes "part 1": Telegram's answer comes in moments,
    # so it waits for it rather than putting "part 1" off until after "part 2".
    sent = await asyncio.gather(first, other.deliver_due())

    assert sum(sent) == 3
    assert sent_texts(fake, anna.id) == ["part 0", "part 1", "part 2"]
    assert fake.rate_limit_violations == []


async def test_a_429_is_waited_out_then_the_message_is_delivered(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    first, second = started_chats(fake, 2)
    [limited, other] = await queue(session_factory, clock, [broadcast_text(first.id, "one"), broadcast_text(second.id, "two")])
    fake.inject_fault("sendMessage", Fault.flood(1), chat_id=first.id)
    outbox = worker(telegram_bot, session_factory, clock)

    assert await outbox.deliver_due() == 1

    row = await outbox_row(session_factory, limited)
    assert (row.status, row.attempts, row.not_before) == (OutboxStatus.PENDING, 0, clock.now() + timedelta(seconds=1))
    [refused] = fake.requests("sendMessage", chat_id=first.id)
    [after_pause] = fake.requests("sendMessage", chat_id=second.id)
    assert refused.status == 429 and after_pause.at >= refused.at + 1  # the whole bot waited, not just that chat

    clock.advance(seconds=1)
    assert await outbox.deliver_due() == 1
    assert sends_to(fake, first.id) == [429, 200]
    assert sent_texts(fake, first.id) == ["one"]
    assert outbox.stats.as_dict() | {"sent": 0} == {**dict.fromkeys(outbox.stats.as_dict(), 0), "rate_limited": 1}


async def test_a_server_error_is_retried_later_and_the_message_delivered(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    [user] = started_chats(fake, 1)
    [message_id] = await queue(session_factory, clock, [broadcast_text(user.id, "eta moved")])
    fake.inject_fault("sendMessage", Fault.server_error(502), chat_id=user.id)
    outbox = worker(telegram_bot, session_factory, clock)

    assert await outbox.deliver_due() == 0
    row = await outbox_row(session_factory, message_id)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.PENDING, 1, "Bad Gateway")
    assert row.not_before == clock.now() + timedelta(seconds=15)

    clock.advance(seconds=15)
    assert await outbox.deliver_due() == 1
    assert sends_to(fake, user.id) == [502, 200]
    assert sent_texts(fake, user.id) == ["eta moved"]


async def test_repeated_server_errors_give_up_with_the_last_error(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    [user] = started_chats(fake, 1)
    [message_id] = await queue(session_factory, clock, [broadcast_text(user.id, "eta moved")])
    fake.inject_fault("sendMessage", Fault.server_error(500), chat_id=user.id, times=3)
    fake.inject_fault("sendMessage", Fault.server_error(503), chat_id=user.id, times=10)
    outbox = worker(telegram_bot, session_factory, clock, max_attempts=4)

    for _ in range(6):
        await outbox.deliver_due()
        clock.advance(minutes=30)

    row = await outbox_row(session_factory, message_id)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.FAILED, 4, "Service Unavailable")
    assert sends_to(fake, user.id) == [500, 500, 500, 503]
    assert sent_texts(fake, user.id) == []


async def test_a_customer_who_blocked_the_bot_is_marked_and_gets_no_more_optional_messages(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    anna, ben = started_chats(fake, 2)
    anna_id = await add_chat_customer(session_factory, anna.id, "Anna Klein")
    ben_id = await add_chat_customer(session_factory, ben.id, "Ben Carter")
    fake.block_bot(anna)
    [eta, sale, notice, bens] = await queue(session_factory, clock, [
        broadcast_text(anna.id, "eta moved", customer_id=anna_id),
        broadcast_text(anna.id, "sale", customer_id=anna_id, priority=PRIORITY_BROADCAST),
        broadcast_text(anna.id, "your order is delayed", customer_id=anna_id, optional=False),
        broadcast_text(ben.id, "eta moved", customer_id=ben_id),
    ])

    sent = await worker(telegram_bot, session_factory, clock, batch_size=1).deliver_due()

    assert sent == 1 and sent_texts(fake, ben.id) == ["eta moved"]
    statuses = {row.id: row.status for row in await outbox_rows(session_factory)}
    assert statuses == {eta: OutboxStatus.BLOCKED, sale: OutboxStatus.BLOCKED, notice: OutboxStatus.BLOCKED, bens: OutboxStatus.SENT}
    texts_tried = [request.params["text"] for request in fake.requests("sendMessage", chat_id=anna.id)]
    assert texts_tried == ["eta moved", "your order is delayed"]  # never the sale
    assert (await customer(session_factory, anna_id)).bot_blocked
    assert not (await customer(session_factory, ben_id)).bot_blocked


async def test_a_request_telegram_refuses_or_a_template_we_cannot_render_fails_without_retrying(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    [user] = started_chats(fake, 1)
    [unknown_chat, unknown_template] = await queue(session_factory, clock, [
        broadcast_text(424242, "hello"),
        OutgoingMessage(chat_id=user.id, template="no_such_template", language="en"),
    ])
    outbox = worker(telegram_bot, session_factory, clock)

    assert await outbox.deliver_due() == 0
    clock.advance(hours=1)
    assert await outbox.deliver_due() == 0

    chat_row, template_row = await outbox_rows(session_factory, [unknown_chat, unknown_template])
    assert (chat_row.status, chat_row.attempts, chat_row.last_error) == (OutboxStatus.FAILED, 1, "Chat not found")
    assert (template_row.status, template_row.attempts) == (OutboxStatus.FAILED, 0)
    assert "no_such_template" in (template_row.last_error or "")
    assert len(fake.requests("sendMessage")) == 1
    assert outbox.stats.as_dict()["failed"] == 2


async def test_quiet_hours_hold_optional_messages_until_morning_while_required_ones_go(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    [user] = started_chats(fake, 1)
    clock.advance(hours=12, minutes=30)  # 22:30 in Berlin
    await queue(session_factory, clock, [
        broadcast_text(user.id, "new eta"),
        broadcast_text(user.id, "your order is delayed", optional=False),
    ])
    outbox = worker(telegram_bot, session_factory, clock)

    assert await outbox.deliver_due() == 1
    clock.advance(hours=9, minutes=29)  # 07:59
    assert await outbox.deliver_due() == 0
    assert sent_texts(fake, user.id) == ["your order is delayed"]

    clock.advance(minutes=1)  # 08:00
    assert await outbox.deliver_due() == 1
    assert sent_texts(fake, user.id) == ["your order is delayed", "new eta"]


async def test_broadcast_messages_yield_to_notifications_and_answers(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    users = started_chats(fake, 15)
    broadcast = [broadcast_text(user.id, f"sale {i}", priority=PRIORITY_BROADCAST) for i, user in enumerate(users[:12])]
    urgent = [
        broadcast_text(users[12].id, "eta moved", priority=PRIORITY_NOTIFICATION),
        broadcast_text(users[13].id, "agent replied", priority=PRIORITY_INTERACTIVE),
        broadcast_text(users[14].id, "stock arrived", priority=PRIORITY_NOTIFICATION),
    ]
    await queue(session_factory, clock, broadcast + urgent)

    await worker(telegram_bot, session_factory, clock, batch_size=4).deliver_due()

    order = [request.params["text"] for request in fake.requests("sendMessage")]
    assert order == ["agent replied", "eta moved", "stock arrived"] + [f"sale {i}" for i in range(12)]


async def test_messages_claimed_by_a_worker_that_died_are_delivered_once_its_lease_runs_out(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    users = started_chats(fake, 6)
    ids = await queue(session_factory, clock, [broadcast_text(user.id, f"m{i}") for i, user in enumerate(users)])
    dead = UnitOfWork(session_factory, clock)
    await claim_due(dead, "killed-9", limit=4, lease=timedelta(seconds=60), optional_allowed=True, max_attempts=8)
    outbox = worker(telegram_bot, session_factory, clock)

    assert await outbox.deliver_due() == 2  # only what the dead worker had not claimed
    clock.advance(seconds=61)
    assert await outbox.deliver_due() == 4

    assert [sent_texts(fake, user.id) for user in users] == [[f"m{i}"] for i in range(6)]
    rows = await outbox_rows(session_factory, ids)
    assert [row.attempts for row in rows] == [2, 2, 2, 2, 1, 1]  # the lost lease counts as a try


async def test_a_worker_killed_mid_send_loses_nothing_and_repeats_at_most_the_message_in_flight(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    users = started_chats(fake, 8)
    ids = await queue(session_factory, clock, [broadcast_text(user.id, f"m{i}") for i, user in enumerate(users)])
    in_flight = users[2]
    fake.inject_fault("sendMessage", Fault.slow(1.0), chat_id=in_flight.id)  # Telegram is slow to answer this one
    running = asyncio.create_task(worker(telegram_bot, session_factory, clock).run(asyncio.Event()))
    await fake.wait_for_request("sendMessage", lambda request: request.chat_id == users[1].id)
    await asyncio.sleep(0.3)
    running.cancel()  # Telegram has the message; the worker dies before it hears back
    with pytest.raises(asyncio.CancelledError):
        await running
    await fake.wait_for_request("sendMessage", lambda request: request.chat_id == in_flight.id)  # delivered all the same

    resumed = worker(telegram_bot, session_factory, clock)
    await resumed.deliver_due()  # what the dead worker had not tried was handed back at once
    clock.advance(seconds=61)
    await resumed.deliver_due()  # the message in flight comes back when its lease runs out

    deliveries = Counter({user.id: len(fake.bot_messages(user.id)) for user in users})
    assert all(deliveries[user.id] >= 1 for user in users)  # nothing lost
    duplicated = [chat_id for chat_id, count in deliveries.items() if count > 1]
    assert duplicated == [in_flight.id]  # only the one in flight, once; what was sent before is recorded
    assert max(deliveries.values()) == 2
    assert all(row.status is OutboxStatus.SENT for row in await outbox_rows(session_factory, ids))
    assert (await outbox_row(session_factory, ids[2])).attempts == 2


async def test_a_worker_too_slow_to_keep_its_lease_does_not_send_what_another_worker_took_over(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    users = started_chats(fake, 4)
    ids = await queue(session_factory, clock, [broadcast_text(user.id, f"m{i}") for i, user in enumerate(users)])
    fake.inject_fault("sendMessage", Fault.slow(0.5), chat_id=users[0].id)
    flood = FloodControl(1000)
    slow = worker(telegram_bot, session_factory, clock, flood)
    delivering = asyncio.create_task(slow.deliver_due())
    await until(lambda: flood.wait_for(users[0].id) == math.inf)  # the slow send is under way...
    clock.advance(seconds=61)  # ...for longer than the lease, and another worker takes the batch over
    other = UnitOfWork(session_factory, clock)
    taken = await claim_due(other, "worker-2", limit=10, lease=timedelta(seconds=60), optional_allowed=True, max_attempts=8)

    assert await delivering == 1

    assert [m.id for m in taken] == ids
    assert [request.chat_id for request in fake.requests("sendMessage")] == [users[0].id]
    assert slow.stats.as_dict()["lease_lost"] == 3
    first, *rest = await outbox_rows(session_factory, ids)
    assert first.status is OutboxStatus.SENT  # it did go out: recorded, so worker-2 will not send it again
    assert all((row.status, row.worker_id) == (OutboxStatus.SENDING, "worker-2") for row in rest)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.005)


async def test_started_workers_deliver_until_told_to_stop(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    users = started_chats(fake, 3)
    stop, stats = asyncio.Event(), DeliveryStats()
    tasks = start_outbox_workers(telegram_bot, session_factory, clock, chat_settings(fake), 2, stop=stop, stats=stats)

    await queue(session_factory, clock, [broadcast_text(user.id, "hello") for user in users])
    for user in users:
        await fake.wait_for_messages(user.id, 1)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)

    assert stats.as_dict()["sent"] == 3
    assert all(sent_texts(fake, user.id) == ["hello"] for user in users)


@pytest.mark.postgres_only
async def test_two_worker_processes_on_postgresql_never_send_a_message_twice(
    fake: FakeBotApi, session_factory: Sessions, clock: ManualClock, database_url: str, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("needs PostgreSQL: on SQLite the bot runs as one process")
    users = started_chats(fake, 500)
    ids = await queue(session_factory, clock, [broadcast_text(user.id, f"message {i}") for i, user in enumerate(users)])

    async def process() -> int:
        """What one more process would have: its own engine, Bot and flood control."""
        engine = create_engine(database_url)
        try:
            async with Bot(fake.token, base_url=fake.base_url, request=HTTPXRequest(connection_pool_size=2)) as bot:
                return await worker(bot, create_session_factory(engine), clock, batch_size=5).deliver_due()
        finally:
            await engine.dispose()

    sent = await asyncio.gather(process(), process())

    assert sum(sent) == 500 and all(sent), f"both processes sent a share: {sent}"
    accepted = Counter(request.chat_id for request in fake.requests("sendMessage") if request.ok)
    assert accepted == Counter({user.id: 1 for user in users})
    rows = await outbox_rows(session_factory, ids)
    assert all(row.status is OutboxStatus.SENT and row.attempts == 1 for row in rows)
    assert LEASE_EXPIRED not in {row.last_error for row in rows}


async def test_paid_mode_sends_broadcast_messages_as_paid_broadcasts_and_nothing_else(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    fan, waiting = started_chats(fake, 2)
    async with session_factory() as session:
        sale = Broadcast(
            created_by="test", audience={"all": True}, texts={"en": "Winter sale"}, status=BroadcastStatus.SENDING,
            recipient_count=1, created_at=clock.now(),
        )
        session.add(sale)
        await session.commit()
    await queue(session_factory, clock, [
        broadcast_text(fan.id, "Winter sale", broadcast_id=sale.id, priority=PRIORITY_BROADCAST),
        broadcast_text(waiting.id, "Your headset ships on 4 Dec", priority=PRIORITY_NOTIFICATION),
    ])
    flood = FloodControl(30, paid_rate_per_second=1000)

    assert await worker(telegram_bot, session_factory, clock, flood, paid_broadcasts=True).deliver_due() == 2

    [paid] = fake.requests("sendMessage", chat_id=fan.id)
    [standard] = fake.requests("sendMessage", chat_id=waiting.id)
    assert paid.params.get("allow_paid_broadcast") is True
    assert "allow_paid_broadcast" not in standard.params
    assert (sent_texts(fake, fan.id), sent_texts(fake, waiting.id)) == (["Winter sale"], ["Your headset ships on 4 Dec"])


async def test_a_worker_waits_for_the_bot_to_finish_its_updates_before_each_send(
    fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock
) -> None:
    users = started_chats(fake, 2)
    await queue(session_factory, clock, [broadcast_text(user.id, f"sale {i}") for i, user in enumerate(users)])
    bot_busy = asyncio.Event()
    bot_busy.set()
    quiet = asyncio.Event()
    waits: list[float] = []

    async def give_way(at_most: float) -> None:
        waits.append(at_most)
        if bot_busy.is_set():
            await quiet.wait()

    outbox = OutboxWorker(telegram_bot, session_factory, clock, FloodControl(1000), DeliveryPolicy(QUIET), give_way=give_way)
    delivering = asyncio.create_task(outbox.deliver_due())
    await asyncio.sleep(0.2)
    sent_while_busy = len(fake.requests("sendMessage"))
    bot_busy.clear()
    quiet.set()

    assert await asyncio.wait_for(delivering, 5) == 2
    assert sent_while_busy == 0
    assert waits == [GIVE_WAY_AT_MOST, GIVE_WAY_AT_MOST]  # before each send, for a moment at most
