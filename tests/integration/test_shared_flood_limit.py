"""On PostgreSQL every process sending for the bot draws on one flood limit: together they keep Telegram's overall
rate, one message a second per chat and a 429's pause, and a process that dies leaves its share to the others."""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery import SharedFloodControl
from bot.delivery.rate_limits import Lane
from bot.delivery.shared_flood_limit import ChatBusy
from db.engine import create_engine
from db.flood_limit import Grid, claim_reply_turn, claim_turns, start_turn

RATE = 30


def due_at(seconds: float) -> object:
    """A time on the database's clock, seconds since the epoch: approx's relative tolerance there would be half an hour."""
    return pytest.approx(seconds, abs=0.001)


@pytest.fixture
async def engines(engine: AsyncEngine, database_url: str, is_postgres: bool) -> AsyncIterator[list[AsyncEngine]]:
    """Three processes' engines on the one database."""
    if not is_postgres:
        pytest.skip("the flood limit is shared through PostgreSQL; on SQLite one process sends (test_flood_control.py)")
    own = [create_engine(database_url) for _ in range(3)]
    yield own
    for each in own:
        await each.dispose()


def shared(engine: AsyncEngine, **options: float) -> SharedFloodControl:
    return SharedFloodControl(engine, RATE, **options)


async def send(flood: SharedFloodControl, chat_id: int, starts: list[float], *, interactive: bool = False) -> None:
    async with flood.sending(chat_id, Lane.STANDARD, interactive=interactive):
        starts.append(time.monotonic())


def most_in_one_second(starts: list[float]) -> int:
    ordered = sorted(starts)
    return max(sum(1 for later in ordered[i:] if later - first < 1.0) for i, first in enumerate(ordered))


async def test_three_processes_together_keep_to_one_overall_limit(engines: list[AsyncEngine]) -> None:
    floods = [shared(engine) for engine in engines]
    starts: list[float] = []

    async def sender(flood: SharedFloodControl, first_chat: int) -> None:
        chats = list(range(first_chat, first_chat + 25))  # a broadcast: one message per chat, ten to a batch
        for batch in (chats[i:i + 10] for i in range(0, len(chats), 10)):
            for at, chat in enumerate(batch):
                await flood.book(batch[at:])  # as an outbox worker does before each message
                await send(flood, chat, starts)

    # Two workers in each process; alone, each process would allow itself the whole limit.
    await asyncio.gather(*(sender(flood, 1000 * (i + 1) + 100 * w) for i, flood in enumerate(floods) for w in range(2)))

    assert len(starts) == 150
    assert most_in_one_second(starts) <= RATE
    # Turns are booked several to a round trip.
    assert sum(flood.round_trips for flood in floods) < 150


async def test_a_reply_takes_over_the_first_outbox_turn_not_yet_started_and_moves_the_later_ones_on(
    engines: list[AsyncEngine],
) -> None:
    grid = Grid(interval=1.0, catch_up=0.0, horizon=10.0)  # turns a second apart: the test runs between two
    autocommit = [engine.execution_options(isolation_level="AUTOCOMMIT") for engine in engines[:2]]
    async with autocommit[0].connect() as outbox, autocommit[1].connect() as bot:
        booked = await claim_turns(outbox, "standard", [(chat, 1.1) for chat in (1, 2, 3)], grid, displaceable=True)
        due = [turn.db_now + turn.wait for turn in booked]

        reply = await claim_reply_turn(bot, "standard", (9, 1.1), grid, early=0.6, window=30.0)
        again = await claim_reply_turn(bot, "standard", (8, 1.1), grid, early=0.6, window=30.0)

        # The first turn not yet due, with a head start; the second reply's has none (the window's room is spent).
        assert (reply.reserved, reply.db_now + reply.wait, reply.early) == (True, due_at(due[1]), 0.6)
        assert (again.reserved, again.db_now + again.wait, again.early) == (True, due_at(due[1] + 0.4), 0.0)
        started = [await start_turn(outbox, turn.turn_id) for turn in booked if turn.turn_id is not None]
    assert [at for at, _ in started] == [due_at(due[0]), due_at(due[1] + 1.4), due_at(due[2] + 1.4)]


async def test_a_reply_never_takes_a_turn_before_one_already_started(engines: list[AsyncEngine]) -> None:
    # Senders in different processes start their turns at different leads, so a later turn can start first. Moved
    # on by a reply, the earlier turn would land on the started one, which cannot move: two sends at once, a 429.
    grid = Grid(interval=1.0, catch_up=0.0, horizon=10.0)
    autocommit = [engine.execution_options(isolation_level="AUTOCOMMIT") for engine in engines]
    async with autocommit[0].connect() as first, autocommit[1].connect() as second, autocommit[2].connect() as bot:
        booked = await claim_turns(first, "standard", [(chat, 1.1) for chat in (1, 2, 3)], grid, displaceable=True)
        due = [turn.db_now + turn.wait for turn in booked]
        ids = [turn.turn_id for turn in booked]
        assert None not in ids
        early_start = await start_turn(second, ids[2])  # the last turn's process starts it ahead of the others

        reply = await claim_reply_turn(bot, "standard", (9, 1.1), grid, early=0.0, window=30.0)

        late_starts = [await start_turn(first, turn_id) for turn_id in ids[:2]]
    assert reply.reserved and reply.db_now + reply.wait == due_at(due[2] + 1.0)
    assert [at for at, _ in [*late_starts, early_start]] == [due_at(at) for at in due]  # no booked turn moved


async def test_an_outbox_message_waits_for_a_chat_another_process_just_answered(engines: list[AsyncEngine]) -> None:
    serving, delivering = shared(engines[0]), shared(engines[1])
    reply: list[float] = []
    notice: list[float] = []
    await send(serving, 4242, reply, interactive=True)  # the bot answers the customer
    await send(delivering, 4242, notice)  # then the outbox has a notice for them
    assert notice[0] - reply[0] >= 1.0

    impatient = shared(engines[2], chat_wait_limit=0.2)
    with pytest.raises(ChatBusy) as busy:  # a worker that may not wait that long hands the message back
        await send(impatient, 4242, notice)
    assert 0.2 < busy.value.seconds <= 1.2


async def test_replies_to_one_chat_from_two_processes_keep_to_its_one_message_a_second(engines: list[AsyncEngine]) -> None:
    first, second = shared(engines[0]), shared(engines[1])
    starts: list[float] = []
    # A customer's double tap answered by two processes: Telegram counts one message a second in the chat.
    await asyncio.gather(send(first, 77, starts, interactive=True), send(second, 77, starts, interactive=True))
    assert max(starts) - min(starts) >= 1.0


async def test_a_reply_answered_late_holds_its_chat_a_whole_second_from_then(engines: list[AsyncEngine]) -> None:
    first, second = shared(engines[0]), shared(engines[1])
    # Telegram saw the first answer somewhere before its slow request came back, so the chat's next message, from
    # whichever process, waits a second from then rather than from the turn.
    async with first.sending(55, Lane.STANDARD, interactive=True):
        await asyncio.sleep(0.4)
    answered = time.monotonic()
    await asyncio.sleep(0.05)  # the customer reads it and taps again
    starts: list[float] = []
    await send(second, 55, starts, interactive=True)
    assert starts[0] - answered >= 1.0


async def test_a_429_pauses_every_process(engines: list[AsyncEngine]) -> None:
    refused, other = shared(engines[0]), shared(engines[1])
    starts: list[float] = []
    await send(refused, 1, starts)
    paused_at = time.monotonic()
    refused.pause(1.5)  # Telegram answered this process with retry_after
    await asyncio.sleep(0.1)  # the pause reaches the database in the background
    await send(other, 2, starts)
    assert starts[-1] - paused_at >= 1.4


async def test_a_process_that_dies_leaves_its_share_to_the_others(engines: list[AsyncEngine], database_url: str) -> None:
    dying_engine = create_engine(database_url)
    dying = shared(dying_engine)
    for chat in range(1, 21):  # it was sending at the full rate...
        await send(dying, chat, [])
    await dying_engine.dispose()  # ...and is killed

    survivor = shared(engines[0])
    started = time.monotonic()
    async with engines[0].connect() as connection:  # later than now only as far as its late answers moved it on
        next_turn_in = await connection.scalar(text(
            "SELECT next_turn_at - extract(epoch from clock_timestamp()) FROM flood_lanes WHERE lane = 'standard'"
        ))
    starts: list[float] = []
    for chat in range(100, 110):
        await send(survivor, chat, starts)
    # Nothing was reserved ahead: the survivor takes the lane's next turn at once.
    assert starts[0] - started < max(0.0, next_turn_in) + 0.5
    assert most_in_one_second(starts) <= RATE
