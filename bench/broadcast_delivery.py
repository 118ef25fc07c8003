"""Benchmark: a broadcast through the outbox workers against the fake Bot API enforcing Telegram's limits,
while a linked customer keeps asking our real bot for /orders.

    .venv/bin/python -m bench.broadcast_delivery                           # 10,000 recipients at 30/s (~6.5 min)
    .venv/bin/python -m bench.broadcast_delivery --recipients 1000         # a quick run
    .venv/bin/python -m bench.broadcast_delivery --paid --workers 16 --ask-every 1 --askers 3  # paid, 1,000/s
    .venv/bin/python -m bench.broadcast_delivery --paid --workers 16 --processes 1 --database-url ...  # sending apart
    .venv/bin/python -m bench.broadcast_delivery --unshared-replies        # replies not sharing the outbox's limits
    createdb -h 127.0.0.1 -U postgres bench_outbox && \
      .venv/bin/python -m bench.broadcast_delivery --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_outbox

Reports the broadcast's rate as a share of the limit the fake enforces, 429s, messages lost and
duplicated, and the customer's reply latency during the broadcast against the same bot idle (asked
before and after). The bot and the workers share one process and event loop, as in production; the fake
server runs in a process of its own (bench/fake_server_process.py), as Telegram's work is not on the
bot's CPU either.
"""

import argparse
import asyncio
import logging
import multiprocessing
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.ext import Application

from bench.fake_server_process import FakeServerProcess, SentMessage
from bot.clock import SystemClock
from bot.composition import ChatDeps
from bot.config import Settings
from bot.delivery import (
    DeliveryPolicy,
    DeliveryStats,
    FloodControl,
    FloodControlRateLimiter,
    Outcome,
    flood_control_for,
    give_way_to,
    outbox_bot,
    start_outbox_workers,
)
from bot.sandbox import FakeUser, RateLimits, RateLimitViolation
from bot.services.backorders.eta import recompute_all_etas
from bot.services.outbox import PRIORITY_BROADCAST, OutgoingMessage, enqueue
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from bot.telegram_app import build_application
from bot.telegram_jobs import deliver
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade_async
from db.models import Broadcast, BroadcastStatus, Customer, OutboxMessage, OutboxStatus
from tests.e2e.harness import RunningBot, running_bot
from tests.shop import add_customer, add_order, add_product

Sessions = async_sessionmaker[AsyncSession]
QUIET_HOURS_OFF = {"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}  # the run must not wait for morning
BROADCAST_TEXT = "Our winter sale starts today: 20% off everything in stock."


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)

    def summary(self) -> str:
        if not self.seconds:
            return "no replies measured"
        ordered = sorted(self.seconds)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        return f"median {1000 * statistics.median(ordered):.0f} ms, p95 {1000 * p95:.0f} ms, max {1000 * ordered[-1]:.0f} ms (n={len(ordered)})"


@dataclass
class Result:
    recipients: int
    limit: float
    senders: str
    seconds: float
    cpu_seconds: float  # the bot's process (bot, workers in it, database driver), while the broadcast ran
    sender_cpu_seconds: float | None  # the sending processes', when they ran apart from the bot
    broadcast_rate: float
    total_rate: float
    outbox_429s: int
    reply_429s: int
    violations: dict[str, int]
    lost: int
    duplicated: int
    statuses: dict[str, int]
    stats: dict[str, int]
    idle: Latencies
    during: Latencies

    def report(self) -> str:
        ratio = statistics.median(self.during.seconds) / statistics.median(self.idle.seconds) if self.during.seconds else float("nan")
        return "\n".join([
            f"{self.recipients} recipients, limit {self.limit:g} msgs/s, {self.senders}: {self.seconds:.1f} s",
            f"  CPU per message: {1000 * self.cpu_seconds / self.recipients:.2f} ms in the bot's process"
            + (f", {1000 * self.sender_cpu_seconds / self.recipients:.2f} ms in the sending processes" if self.sender_cpu_seconds is not None else ""),
            f"  broadcast rate: {self.broadcast_rate:.2f} msgs/s = {100 * self.broadcast_rate / self.limit:.1f}% of the limit"
            f" (with the replies: {100 * self.total_rate / self.limit:.1f}%)",
            f"  429s received: {self.outbox_429s} by the outbox, {self.reply_429s} by replies"
            + (f" (limits broken: {self.violations})" if self.violations else ""),
            f"  lost: {self.lost}, duplicated: {self.duplicated}; outbox rows: {self.statuses}",
            f"  worker outcomes: {self.stats}",
            f"  /orders reply idle:             {self.idle.summary()}",
            f"  /orders reply during broadcast: {self.during.summary()}  ({ratio:.2f}x idle, median)",
            f"  machine load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        ])


async def run(args: argparse.Namespace, url: str) -> Result:
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        return await measure(args, create_session_factory(engine), url)
    finally:
        await engine.dispose()


async def measure(args: argparse.Namespace, sessions: Sessions, url: str) -> Result:
    async with FakeServerProcess() as fake:
        settings = bench_settings(args, fake, url)
        clock = SystemClock(settings.timezone)
        recipients = await fake.add_users(args.recipients, "Customer")
        askers = await fake.add_users(args.askers, "Asking Customer")
        await forget_updates(fake)
        await link_asking_customers(sessions, clock, askers)
        await queue_broadcast(sessions, clock, recipients)

        flood = flood_control_for(settings, sessions.kw["bind"])
        limit = settings.paid_broadcast_rate_per_second if settings.paid_broadcasts else settings.outbox_rate_per_second
        await fake.enforce_rate_limits(RateLimits(per_chat_per_second=1, per_group_per_minute=20, global_per_second=int(limit)))
        async with our_bot(fake, sessions, clock, settings, None if args.unshared_replies else flood) as bot:
            idle_gap = min(args.ask_every, 2.0)
            idle = await ask_repeatedly(fake, bot, askers, times=args.idle_asks // 2, every=idle_gap)
            senders = (
                sender_processes(args, settings) if args.processes
                else senders_in_this_process(args, settings, sessions, clock, flood, bot.application.update_processor)
            )
            async with senders as sending:
                started, cpu_started = time.perf_counter(), time.process_time()
                during = await ask_until_done(fake, bot, askers, sessions, args.recipients, every=args.ask_every)
                seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
            # Idle again afterwards, so a machine busier or quieter than at the start does not tilt the comparison.
            idle.seconds += (await ask_repeatedly(fake, bot, askers, times=args.idle_asks - args.idle_asks // 2, every=idle_gap)).seconds
        sends, violations = await fake.sent_messages(), await fake.rate_limit_violations()
        return tally(
            sends, violations, recipients, askers, limit, describe_senders(args), (seconds, cpu_seconds, sending.cpu_seconds),
            await statuses(sessions),
            sending.stats, idle, during,
        )


def describe_senders(args: argparse.Namespace) -> str:
    if args.processes:
        return f"{args.processes} sending process(es) of {args.workers} worker(s) beside the bot"
    return f"{args.workers} worker(s) in the bot's process"


@dataclass
class Sending:
    """What the senders tell once they stopped: their outcome counts and, when they ran apart, their CPU seconds."""

    stats: DeliveryStats = field(default_factory=DeliveryStats)
    cpu_seconds: float | None = None


@asynccontextmanager
async def senders_in_this_process(
    args: argparse.Namespace, settings: Settings, sessions: Sessions, clock: SystemClock, flood: FloodControl, updates: Any
) -> AsyncIterator[Sending]:
    """`--workers` outbox workers as tasks beside the bot, sharing its flood control and giving way to its updates,
    as `run` and `serve` start them."""
    sending, stop = Sending(), asyncio.Event()
    async with outbox_bot(settings, args.workers) as sender:
        policy = DeliveryPolicy.from_settings(settings)
        policy = replace(policy, batch_size=args.batch_size or policy.batch_size)
        tasks = start_outbox_workers(
            sender, sessions, clock, settings, args.workers, stop=stop, flood=flood, stats=sending.stats, policy=policy,
            give_way=give_way_to(updates),
        )
        try:
            yield sending
        finally:
            stop.set()
            await asyncio.gather(*tasks)


@asynccontextmanager
async def sender_processes(args: argparse.Namespace, settings: Settings) -> AsyncIterator[Sending]:
    """`--processes` processes running `backorder-bot deliver` with `--workers` workers each, all configured with the
    one limit, which they share through PostgreSQL together with the bot's replies."""
    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    each = settings.model_copy(update={"outbox_workers": args.workers})
    processes = [context.Process(target=deliver_in_process, args=(each, stop, results), daemon=True) for _ in range(args.processes)]
    for process in processes:
        process.start()
    sending = Sending(cpu_seconds=0.0)
    try:
        yield sending
    finally:
        stop.set()
        loop = asyncio.get_running_loop()
        for _ in processes:
            cpu_seconds, counts = await loop.run_in_executor(None, results.get)
            sending.cpu_seconds = (sending.cpu_seconds or 0.0) + cpu_seconds
            sending.stats.counts.update({Outcome(name): count for name, count in counts.items()})
        for process in processes:
            process.join()


def deliver_in_process(settings: Settings, stop: Any, results: Any) -> None:
    """A sending process: `backorder-bot deliver` until `stop` is set; then its CPU seconds and outcomes go to `results`."""

    async def main() -> None:
        stats = DeliveryStats()
        stopped = asyncio.get_running_loop().run_in_executor(None, stop.wait)
        cpu_started = time.process_time()
        await deliver(settings, stopped, stats)
        results.put((time.process_time() - cpu_started, stats.as_dict()))

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())


def bench_settings(args: argparse.Namespace, fake: FakeServerProcess, url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        bot_token=fake.token,
        telegram_api_base_url=fake.url,
        secret_key="benchmark-secret-key-0123456789-0123456789",
        outbox_workers=args.workers,
        outbox_rate_per_second=args.rate,
        paid_broadcasts=args.paid,
        paid_broadcast_rate_per_second=args.paid_rate,
        **QUIET_HOURS_OFF,
    )


async def forget_updates(fake: FakeServerProcess) -> None:
    """Confirm the recipients' /start updates, so the bot under test does not spend the run answering them."""
    async with Bot(fake.token, base_url=f"{fake.url}/bot") as bot:
        [last] = await bot.get_updates(offset=-1, timeout=0)
        await bot.get_updates(offset=last.update_id + 1, timeout=0)


async def link_asking_customers(sessions: Sessions, clock: SystemClock, askers: list[FakeUser]) -> None:
    """For each asker, a customer with a backordered headset and its ETA, linked to the asker's chat."""
    async with sessions() as session:
        headset = await add_product(session, "HS-200", name="Studio Pro Wireless Headset")
        for index, asker in enumerate(askers):
            customer = await add_customer(session, f"Asking Customer {index}", email=f"asking{index}@example.com")
            customer.telegram_user_id = asker.id
            await add_order(session, customer, [(headset, 1)], placed_at=clock.now() - timedelta(days=3))
        await session.commit()
    await recompute_all_etas(UnitOfWork(sessions, clock, ShopPolicy()))


async def queue_broadcast(sessions: Sessions, clock: SystemClock, recipients: list[FakeUser]) -> None:
    """One broadcast: a customer per recipient and an outbox message each, as the broadcast service queues them."""
    now = clock.now()
    async with sessions() as session:
        broadcast = Broadcast(
            created_by="benchmark", audience={"all": True}, texts={"en": BROADCAST_TEXT},
            status=BroadcastStatus.SENDING, recipient_count=len(recipients), created_at=now,
        )
        session.add(broadcast)
        await session.flush()
        await session.execute(insert(Customer), [
            {"name": user.first_name, "email": f"{user.username}@example.com", "telegram_user_id": user.id, "language": "en", "created_at": now}
            for user in recipients
        ])
        customer_ids = {row.telegram_user_id: row.id for row in await session.execute(select(Customer.telegram_user_id, Customer.id))}
        await enqueue(session, clock, [
            OutgoingMessage(
                chat_id=user.id, template="broadcast", language="en", params={"text": BROADCAST_TEXT},
                customer_id=customer_ids[user.id], broadcast_id=broadcast.id, priority=PRIORITY_BROADCAST,
                dedupe_key=f"broadcast:{broadcast.id}:{user.id}",
            )
            for user in recipients
        ])
        await session.commit()


@asynccontextmanager
async def our_bot(
    fake: FakeServerProcess, sessions: Sessions, clock: SystemClock, settings: Settings, flood: Any
) -> AsyncIterator[RunningBot]:
    """The real bot from build_application; sharing the outbox's flood control unless `flood` is None."""

    def factory(server: Any) -> Application:
        deps = ChatDeps(settings, sessions, clock, ShopPolicy())
        if flood is None:
            return build_application(deps)
        return build_application(deps, rate_limiter=FloodControlRateLimiter(flood, max_retries=3))

    async with running_bot(fake, factory) as bot:  # type: ignore[arg-type]  # it polls by URL only
        yield bot


async def ask(fake: FakeServerProcess, bot: RunningBot, asker: FakeUser) -> float:
    """Seconds from the customer sending /orders to the server receiving the bot's answer.

    Timed on the server's clock (the system's monotonic clock, the same in both processes) rather than
    when this task wakes up, and found among the new requests only.
    """
    mark = await fake.checkpoint()
    started = time.monotonic()
    await fake.send_command(asker, "orders")
    answer = await fake.wait_for_message_to(asker.id, mark, timeout=30)
    return answer.at - started


async def ask_repeatedly(
    fake: FakeServerProcess, bot: RunningBot, askers: list[FakeUser], *, times: int, every: float
) -> Latencies:
    """`times` asks, the askers taking turns, each asking every `every` seconds."""
    # Telegram allows a chat one message a second, so a chat is never asked again sooner than `every`: here after
    # the asks before this call and after the warm-up, and in turns spaced every / len(askers) apart.
    await asyncio.sleep(every)
    for asker in askers:
        await ask(fake, bot, asker)  # warm-up: first-contact work stays out of the figures
    await asyncio.sleep(every)
    measured = Latencies()
    for turn in range(times):
        if turn:
            await asyncio.sleep(every / len(askers))
        measured.seconds.append(await ask(fake, bot, askers[turn % len(askers)]))
    return measured


async def ask_until_done(
    fake: FakeServerProcess, bot: RunningBot, askers: list[FakeUser], sessions: Sessions, recipients: int, *, every: float
) -> Latencies:
    """The askers take turns, each asking every `every` seconds, until every broadcast message has an outcome
    (the senders may be other processes)."""
    measured = Latencies()
    gap = every / len(askers)
    next_ask, turn = time.perf_counter() + every, 0  # a full `every` after the asks before (see ask_repeatedly)
    while await finished_messages(sessions) < recipients:
        await asyncio.sleep(min(0.1, gap))
        if time.perf_counter() >= next_ask:
            measured.seconds.append(await ask(fake, bot, askers[turn % len(askers)]))
            next_ask, turn = time.perf_counter() + gap, turn + 1
    return measured


async def finished_messages(sessions: Sessions) -> int:
    async with sessions() as session:
        finished = OutboxMessage.status.in_([OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.BLOCKED])
        return await session.scalar(select(func.count()).where(finished)) or 0


async def statuses(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {status.value: count for status, count in rows}


def tally(
    sends: list[SentMessage], violations: list[RateLimitViolation], recipients: list[FakeUser], askers: list[FakeUser],
    limit: float, senders: str, times: tuple[float, float, float | None], rows: dict[str, int], stats: DeliveryStats,
    idle: Latencies, during: Latencies,
) -> Result:
    broadcast_ids = {user.id for user in recipients}
    delivered = [r for r in sends if r.ok and r.chat_id in broadcast_ids]
    per_chat = Counter(r.chat_id for r in delivered)
    first, last = delivered[0].at, delivered[-1].at
    span = max(last - first, 1e-9)
    all_ok_in_span = [r for r in sends if r.ok and first <= r.at <= last]
    return Result(
        recipients=len(recipients),
        limit=limit,
        senders=senders,
        seconds=times[0],
        cpu_seconds=times[1],
        sender_cpu_seconds=times[2],
        broadcast_rate=(len(delivered) - 1) / span,
        total_rate=(len(all_ok_in_span) - 1) / span,
        outbox_429s=sum(1 for r in sends if r.status == 429 and r.chat_id in broadcast_ids),
        reply_429s=sum(1 for r in sends if r.status == 429 and r.chat_id in {asker.id for asker in askers}),
        violations=dict(Counter(violation.scope for violation in violations)),
        lost=sum(1 for chat_id in broadcast_ids if per_chat[chat_id] == 0),
        duplicated=sum(count - 1 for count in per_chat.values() if count > 1),
        statuses=rows,
        stats={name: count for name, count in stats.as_dict().items() if count},
        idle=idle,
        during=during,
    )


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """`url` (an empty database), or a fresh SQLite file removed afterwards."""
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30, help="OUTBOX_RATE_PER_SECOND, and the limit the fake enforces")
    parser.add_argument("--paid", action="store_true", help="paid broadcasts: the fake enforces --paid-rate instead")
    parser.add_argument("--paid-rate", type=float, default=1000, help="PAID_BROADCAST_RATE_PER_SECOND")
    parser.add_argument("--workers", type=int, default=1, help="outbox worker tasks (per sending process)")
    parser.add_argument(
        "--processes", type=int, default=0,
        help="send from this many `backorder-bot deliver` processes instead of the bot's own (PostgreSQL only)",
    )
    parser.add_argument("--batch-size", type=int, help="messages a worker claims at once (default: as the shop's settings say)")
    parser.add_argument("--ask-every", type=float, default=2.0, help="seconds between a customer's /orders")
    parser.add_argument("--askers", type=int, default=1, help="customers asking in turn (more asks, steadier latencies)")
    parser.add_argument("--idle-asks", type=int, default=20, help="/orders asked without a broadcast (half before, half after)")
    parser.add_argument("--unshared-replies", action="store_true", help="the bot keeps its own rate limiter (no sharing)")
    parser.add_argument("--database-url", help="an empty database to use, e.g. PostgreSQL (default: a fresh SQLite file)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with database(args.database_url) as url:
        result = asyncio.run(run(args, url))
    print(result.report())


if __name__ == "__main__":
    main()
