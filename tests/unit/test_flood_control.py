"""The process's flood control: Telegram's limits as sliding windows, counted from each answer, with even spacing."""

import asyncio
import math
from contextlib import AsyncExitStack
from time import monotonic

import pytest
from pytest import approx
from telegram.error import RetryAfter

from bot.delivery.rate_limits import OUTBOX_SHARE, PAID_KEPT_FREE, FloodControl, FloodControlRateLimiter, Lane

GROUP = -1_000_000_000_001


class StoppedTime:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def send(flood: FloodControl, chat_id: int, lane: Lane = Lane.STANDARD) -> AsyncExitStack:
    """Start a send now (it must be allowed now); close the returned stack when Telegram has answered."""
    assert flood.wait_for(chat_id, lane) == approx(0, abs=1e-7)
    stack = AsyncExitStack()
    await stack.enter_async_context(flood.sending(chat_id, lane))
    return stack


async def test_outbox_sends_keep_an_even_grid_a_little_under_the_rate() -> None:
    time = StoppedTime()
    flood = FloodControl(30, monotonic=time)
    interval = 1 / (30 * OUTBOX_SHARE)

    await (await send(flood, 1)).aclose()
    assert flood.wait_for(2) == approx(interval / 2)  # after a quiet spell, the grid starts half a step on
    time.advance(interval / 2)
    await (await send(flood, 2)).aclose()
    assert flood.wait_for(3) == approx(interval)
    time.advance(interval + 0.002)  # woken 2 ms late
    await (await send(flood, 3)).aclose()

    assert flood.wait_for(4) == approx(interval - 0.002)  # lateness is not carried forward


async def test_a_sender_that_fell_behind_the_grid_catches_up_but_a_quiet_spell_is_not_made_up_for() -> None:
    time = StoppedTime()
    flood = FloodControl(30, monotonic=time)
    interval = 1 / (30 * OUTBOX_SHARE)
    await (await send(flood, 1)).aclose()
    time.advance(interval / 2)
    await (await send(flood, 2)).aclose()  # on the grid

    time.advance(interval + 0.1)  # claiming the next batch took 0.1 s
    caught_up = 0
    while flood.wait_for(100 + caught_up) == approx(0, abs=1e-7):
        await (await send(flood, 100 + caught_up)).aclose()
        caught_up += 1
    time.advance(5)  # nothing to send for a while
    await (await send(flood, 3)).aclose()

    assert caught_up == 1 + math.floor(0.1 / interval)  # the late one and those the grid had due meanwhile
    assert flood.wait_for(4) == approx(interval / 2)  # then half a step on, not a burst for the quiet spell


async def test_a_send_counts_against_the_window_until_a_second_after_its_answer() -> None:
    time = StoppedTime()
    flood = FloodControl(2, monotonic=time)  # two per second
    first = await send(flood, 1)
    time.advance(0.5)
    second = await send(flood, 2)
    time.advance(0.1)
    await second.aclose()  # answered at 0.6
    time.advance(0.1)
    await first.aclose()  # answered at 0.7

    time.advance(0.3)  # 1.0: a second after the first *started*, but not after either answer

    assert abs(flood.wait_for(3) - 0.6) < 1e-9  # the earliest answer (0.6) plus a second


async def test_a_send_still_waiting_for_its_answer_fills_the_window_until_it_is_answered() -> None:
    time = StoppedTime()
    flood = FloodControl(1, monotonic=time)
    hanging = await send(flood, 1)

    time.advance(5)

    assert flood.wait_for(2) == float("inf")
    await hanging.aclose()
    assert flood.wait_for(2) == 1.0


async def test_one_message_per_second_to_a_private_chat_and_twenty_a_minute_to_a_group() -> None:
    time = StoppedTime()
    flood = FloodControl(1000, monotonic=time)
    await (await send(flood, 7)).aclose()
    for _ in range(20):
        time.advance(0.01)
        await (await send(flood, GROUP)).aclose()
    time.advance(0.01)

    assert abs(flood.wait_for(7) - 0.79) < 1e-9
    assert abs(flood.wait_for(GROUP) - 59.8) < 1e-9
    assert flood.wait_for(8) == 0


async def test_a_429_pauses_everything_for_its_retry_after() -> None:
    time = StoppedTime()
    flood = FloodControl(30, monotonic=time)

    flood.pause(3)

    assert flood.wait_for(1) == 3
    assert flood.paused_for() == 3
    time.advance(3)
    assert flood.wait_for(1) == 0


async def test_paid_broadcasts_go_at_the_paid_rate_and_everything_else_at_the_standard_one() -> None:
    time = StoppedTime()
    flood = FloodControl(30, paid_rate_per_second=1000, monotonic=time)
    await (await send(flood, 1)).aclose()
    time.advance(0.001)

    assert flood.wait_for(2, Lane.PAID_BROADCAST) == 0
    assert flood.wait_for(2, Lane.STANDARD) == approx(1 / (2 * 30 * OUTBOX_SHARE) - 0.001)
    for chat in range(100, 600):  # paid sends also count against the total
        await (await send(flood, chat, Lane.PAID_BROADCAST)).aclose()
        time.advance(1 / (1000 * OUTBOX_SHARE))
    assert flood.wait_for(2, Lane.STANDARD) == 0


async def test_paid_broadcasts_leave_places_in_the_window_to_replies() -> None:
    time = StoppedTime()
    flood = FloodControl(30, paid_rate_per_second=1000, monotonic=time)
    unanswered = AsyncExitStack()  # Telegram is slow today: every send counts until its answer comes
    started = 0
    while started < 2000 and (wait := flood.wait_for(10_000 + started, Lane.PAID_BROADCAST)) < math.inf:
        time.advance(wait)
        await unanswered.enter_async_context(flood.sending(10_000 + started, Lane.PAID_BROADCAST))
        started += 1

    async with flood.sending(7, interactive=True):  # a reply still gets in at once
        reply_started = time.now
    await unanswered.aclose()

    assert started == 1000 - PAID_KEPT_FREE
    assert flood.wait_for(10_000, Lane.PAID_BROADCAST) > 0 and reply_started == time.now


async def test_a_reply_to_a_waiting_customer_goes_before_outbox_messages_that_wait() -> None:
    flood = FloodControl(20)  # real time: one start every 50 ms
    order: list[str] = []

    async def sender(name: str, chat_id: int, interactive: bool) -> None:
        async with flood.sending(chat_id, interactive=interactive):
            order.append(name)

    await sender("first outbox message", 1, False)
    outbox = asyncio.create_task(sender("waiting outbox message", 2, False))
    await asyncio.sleep(0)
    reply = asyncio.create_task(sender("reply", 3, True))
    await asyncio.gather(outbox, reply)

    assert order == ["first outbox message", "reply", "waiting outbox message"]


async def test_a_reply_waits_for_its_chats_one_message_a_second_and_counts_against_it() -> None:
    flood = FloodControl(1000)  # real time: the chat's second is the only wait
    starts: list[float] = []
    answered: list[float] = []

    async def reply() -> None:
        async with flood.sending(7, interactive=True):
            starts.append(monotonic())
        answered.append(monotonic())

    await asyncio.gather(reply(), reply())  # a double tap's two answers

    assert starts[1] >= answered[0] + 1.0
    assert flood.wait_for(7) > 0.9  # the outbox waits for that chat too


async def test_the_bots_replies_count_against_the_same_limits_and_a_429_pauses_the_outbox_too() -> None:
    time = StoppedTime()
    flood = FloodControl(30, monotonic=time)
    limiter = FloodControlRateLimiter(flood, max_retries=0)

    async def answered(*args: object, **kwargs: object) -> dict[str, object]:
        return {"message_id": 1}

    async def refused(*args: object, **kwargs: object) -> dict[str, object]:
        raise RetryAfter(3)

    await limiter.process_request(answered, (), {}, "answerCallbackQuery", {"callback_query_id": "1"}, None)
    assert flood.wait_for(7) == 0  # not a message: not counted
    await limiter.process_request(answered, (), {}, "sendMessage", {"chat_id": 7}, None)
    assert flood.wait_for(7) == approx(1.0)  # the outbox now waits for that chat
    with pytest.raises(RetryAfter):
        await limiter.process_request(refused, (), {}, "sendMessage", {"chat_id": 8}, None)
    assert flood.paused_for() == approx(3)
