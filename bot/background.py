"""Work that runs beside the bot in every process that serves customers: the outbox workers, the
broadcast progress messages, merchant webhook deliveries, and the daily jobs (ETA recompute, delay notices,
housekeeping)."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import date

from telegram.ext import Application

from bot.broadcast_progress import keep_broadcast_progress_updated
from bot.composition import ChatDeps
from bot.delivery import DeliveryStats, FloodControl, give_way_to, outbox_bot, start_outbox_workers
from bot.services.backorders.delay_notices import process_delay_notices
from bot.services.backorders.eta import recompute_all_etas
from bot.services.privacy.retention import purge_expired
from bot.services.purchasing.suppliers import refresh_supplier_slips
from bot.webhook_delivery import run_webhook_delivery
from bot.wiring import delay_notice_policy, retention_periods

log = logging.getLogger(__name__)

STOP_SECONDS = 5.0
DAILY_CHECK_SECONDS = 15 * 60


async def run_daily_jobs(deps: ChatDeps) -> None:
    """Once a day: suppliers' slips follow their records, estimated ETAs follow the calendar, delay notices go
    out, data past its retention goes."""
    moves = await refresh_supplier_slips(deps.uow())
    moves += await recompute_all_etas(deps.uow())
    notices = await process_delay_notices(deps.uow(), delay_notice_policy(deps.settings))
    purged = await purge_expired(deps.uow(), retention_periods(deps.settings))
    log.info(
        "daily jobs: %d ETAs moved; delay notices: %d first, %d further, %d lines cancelled without an answer,"
        " %d customers unreachable; %d rows past their retention purged",
        len(moves), notices.first_notices, notices.further_notices, notices.auto_cancelled, notices.unreachable, purged.total(),
    )


async def _every_day(deps: ChatDeps, job: Callable[[ChatDeps], Awaitable[None]]) -> None:
    """Run `job` at start and then whenever the shop's date changes; each job is idempotent within a day."""
    last_run: date | None = None
    while True:
        today = deps.clock.today()
        if today != last_run:
            try:
                await job(deps)
                last_run = today
            except Exception:  # noqa: BLE001 - a failed run is logged and tried again at the next check
                log.exception("the daily jobs failed; trying again in %d minutes", DAILY_CHECK_SECONDS // 60)
        await asyncio.sleep(DAILY_CHECK_SECONDS)


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
        chores = [
            asyncio.create_task(
                keep_broadcast_progress_updated(application.bot, deps.uow, every_seconds=progress_every_seconds),
                name="broadcast-progress",
            )
        ]
        chores.append(asyncio.create_task(run_webhook_delivery(deps.uow), name="webhook-delivery"))
        if daily_jobs:
            chores.append(asyncio.create_task(_every_day(deps, run_daily_jobs), name="daily-jobs"))
        try:
            yield
        finally:
            stop.set()
            for chore in chores:
                chore.cancel()
            with suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.gather(*chores, *workers, return_exceptions=True), STOP_SECONDS)
