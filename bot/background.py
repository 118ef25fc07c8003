"""Work that runs beside the bot in every process that serves customers: the outbox workers, the
broadcast progress messages, merchant webhook deliveries, the online stores' connectors (store webhooks applied,
changes written back), and the daily jobs (ETA recompute, delay notices, housekeeping).

However many processes serve, the daily jobs and the progress messages run in one of them at a time: each
holds a lease in the database (bot/services/job_leases.py) while it does the work, and another process takes
over when the holder stops renewing it. The outbox, webhook and store-connector workers run everywhere, as their
claims share the work out (the outbox's claim is also what lets optional messages go once quiet hours end, in one
process).
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from telegram.ext import Application

from bot.broadcast_progress import update_broadcast_progress_messages
from bot.connectors.worker import run_store_connectors
from bot.composition import ChatDeps
from bot.delivery import DeliveryStats, FloodControl, give_way_to, outbox_bot, start_outbox_workers
from bot.services.backorders.delay_notices import process_delay_notices
from bot.services.backorders.eta import recompute_all_etas
from bot.services.intake.abandoned_imports import finish_abandoned_runs
from bot.services.job_leases import hold_lease, record_run, release_lease
from bot.services.outbox import new_worker_id
from bot.services.privacy.retention import purge_expired
from bot.services.purchasing.merchant_digest import queue_weekly_digest
from bot.services.purchasing.suppliers import refresh_supplier_slips
from bot.webhook_delivery import run_webhook_delivery
from bot.wiring import delay_notice_policy, retention_periods

log = logging.getLogger(__name__)

STOP_SECONDS = 5.0
DAILY_JOBS = "daily-jobs"
BROADCAST_PROGRESS = "broadcast-progress"
# The holder renews its leases at every check; one that died is taken over once its lease has run out.
LEASE_CHECK_SECONDS = 15.0
JOB_LEASE = timedelta(seconds=60)


async def run_daily_jobs(deps: ChatDeps) -> None:
    """Once a day: what killed imports left staged is cleared, suppliers' slips follow their records, estimated
    ETAs follow the calendar, delay notices go out, data past its retention goes; once a week the merchants get
    their digest."""
    imports = await finish_abandoned_runs(deps.uow())
    moves = await refresh_supplier_slips(deps.uow())
    moves += await recompute_all_etas(deps.uow())
    notices = await process_delay_notices(deps.uow(), delay_notice_policy(deps.settings))
    purged = await purge_expired(deps.uow(), retention_periods(deps.settings))
    await queue_weekly_digest(deps.uow(), deps.settings.merchant_user_ids, deps.settings.default_language)
    log.info(
        "daily jobs: %d killed imports cleared; %d ETAs moved; delay notices: %d first, %d further, %d lines"
        " cancelled without an answer, %d customers unreachable; %d rows past their retention purged",
        imports, len(moves), notices.first_notices, notices.further_notices, notices.auto_cancelled, notices.unreachable, purged.total(),
    )


async def run_daily_jobs_once_a_day(
    deps: ChatDeps,
    holder: str,
    job: Callable[[ChatDeps], Awaitable[None]] = run_daily_jobs,
    *,
    check_every: float = LEASE_CHECK_SECONDS,
    lease: timedelta = JOB_LEASE,
) -> None:
    """Run `job` once a shop day, in whichever process holds the daily jobs' lease; until cancelled.

    The day it last completed is kept with the lease, so a process taking over does not run it again that day;
    one that died midway had not recorded it, so the next holder runs it (each job is idempotent within a day).
    At every check the holder also finishes what a killed import left: the rest of a committed one goes into the
    shop within a check or two of its process's death, not the next day.
    """
    try:
        while True:
            try:
                today = deps.clock.today()  # the day of the lease's time, not of when it came back
                held = await hold_lease(deps.uow(), DAILY_JOBS, holder, lease)
                if held is not None:  # a run is taken over by one process only, should the lease pass meanwhile
                    await finish_abandoned_runs(deps.uow())
                if held is not None and held.last_run_on != today:
                    await _renewing_lease(deps, DAILY_JOBS, holder, lease, check_every, job(deps))
                    await record_run(deps.uow(), DAILY_JOBS, holder, today)
            except Exception:  # noqa: BLE001 - a failed run is logged and tried again at the next check
                log.exception("the daily jobs failed; trying again in %d seconds", check_every)
            await asyncio.sleep(check_every)
    finally:
        await _release_quietly(deps, DAILY_JOBS, holder)


async def update_progress_in_one_process(
    application: Application, deps: ChatDeps, holder: str, *, every_seconds: float, lease: timedelta = JOB_LEASE
) -> None:
    """Edit the broadcast progress messages every few seconds while this process holds their lease; until cancelled."""
    shown: dict[int, str] = {}
    try:
        while True:
            try:
                if await hold_lease(deps.uow(), BROADCAST_PROGRESS, holder, lease) is not None:
                    await update_broadcast_progress_messages(application.bot, deps.uow(), shown=shown)
                else:
                    shown.clear()  # another process edits them now; what it showed is not known here
            except Exception:  # noqa: BLE001 - a failed round must not end the updates; the next one tries again
                log.exception("updating broadcast progress messages failed")
            await asyncio.sleep(every_seconds)
    finally:
        await _release_quietly(deps, BROADCAST_PROGRESS, holder)


async def _renewing_lease(
    deps: ChatDeps, job: str, holder: str, lease: timedelta, every: float, work: Awaitable[None]
) -> None:
    """Await `work` while renewing the lease every `every` seconds, so a long run is not taken over midway."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await hold_lease(deps.uow(), job, holder, lease)
            except Exception:  # noqa: BLE001 - the next renewal tries again; the lease outlasts several
                log.warning("could not renew the %s lease", job, exc_info=True)

    renewing = asyncio.create_task(renew(), name=f"{job}-lease")
    try:
        await work
    finally:
        renewing.cancel()
        with suppress(asyncio.CancelledError):
            await renewing


async def _release_quietly(deps: ChatDeps, job: str, holder: str) -> None:
    """On a clean stop, hand the lease on at once rather than after it runs out."""
    with suppress(Exception):
        await asyncio.shield(release_lease(deps.uow(), job, holder))


@asynccontextmanager
async def background_work(
    application: Application,
    deps: ChatDeps,
    flood: FloodControl,
    stats: DeliveryStats,
    *,
    daily_jobs: bool = True,
    progress_every_seconds: float = 5.0,
) -> AsyncIterator[None]:
    """Run the outbox workers, the progress updater and (unless told not to) the daily jobs until left."""
    settings = deps.settings
    stop = asyncio.Event()
    async with outbox_bot(settings, settings.outbox_workers) as sender:
        workers = start_outbox_workers(
            sender, deps.session_factory, deps.clock, settings, settings.outbox_workers, stop=stop, flood=flood, stats=stats,
            give_way=give_way_to(application.update_processor),
        )
        holder = new_worker_id("jobs")
        chores = [
            asyncio.create_task(
                update_progress_in_one_process(application, deps, holder, every_seconds=progress_every_seconds),
                name="broadcast-progress",
            )
        ]
        chores.append(asyncio.create_task(run_webhook_delivery(deps.uow), name="webhook-delivery"))
        chores.append(asyncio.create_task(run_store_connectors(deps.uow), name="store-connectors"))
        if daily_jobs:
            chores.append(asyncio.create_task(run_daily_jobs_once_a_day(deps, holder), name="daily-jobs"))
        try:
            yield
        finally:
            stop.set()
            for chore in chores:
                chore.cancel()
            with suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.gather(*chores, *workers, return_exceptions=True), STOP_SECONDS)
