"""The Telegram side of the `backorder-bot` command: run the bot, send the outbox, print an order's deep link."""

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable

from sqlalchemy.engine import make_url
from telegram import Bot, Update

from bot.background import background_work
from bot.config import Settings
from bot.delivery import DeliveryStats, FloodControlRateLimiter, flood_control_for, outbox_bot, start_outbox_workers
from bot.memory import settle_for_serving
from bot.services.conversations.linking import build_link_for_order
from bot.services.errors import DomainError
from bot.telegram_app import build_application
from bot.webhook_delivery import run_webhook_delivery
from bot.wiring import NO_BOT_TOKEN, chat_deps, log_to_console, secret_key_problem, unit_of_work

log = logging.getLogger(__name__)


async def run_bot(settings: Settings) -> int:
    """Long-poll the Bot API until Ctrl-C or SIGTERM."""
    problem = NO_BOT_TOKEN if not settings.bot_token else secret_key_problem(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    log_to_console()
    async with chat_deps(settings) as deps:
        # Replies and outbox messages share one flood control, so together they keep to Telegram's limits.
        flood = flood_control_for(settings, deps.session_factory.kw["bind"])
        application = build_application(deps, rate_limiter=FloodControlRateLimiter(flood, max_retries=3))
        async with application:
            await application.start()
            await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            async with background_work(application, deps, flood, DeliveryStats()):
                log.info("Bot @%s is running; press Ctrl-C to stop.", application.bot.username)
                await until_stopped()
            await application.updater.stop()
            await application.stop()
    return 0


async def deliver(settings: Settings, stopped: Awaitable[None] | None = None, stats: DeliveryStats | None = None) -> int:
    """Only send what waits to be sent — the outbox, with OUTBOX_WORKERS workers, and the merchant's webhooks, one
    loop per endpoint beside them — until `stopped` (default: Ctrl-C or SIGTERM).

    A process of its own beside `run` or `serve` (set OUTBOX_WORKERS=0 there), so a paid broadcast at up to
    1,000 messages a second does not slow the bot's answers. Needs PostgreSQL: SQLite is one process's database.
    The webhook loops lease their deliveries as the bot's own do, so both processes may send without sending twice.
    """
    if not settings.bot_token:
        print(NO_BOT_TOKEN, file=sys.stderr)
        return 2
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        print("deliver runs beside the bot in a process of its own, which needs PostgreSQL (DATABASE_URL);"
              " on SQLite the bot's own process sends (OUTBOX_WORKERS).", file=sys.stderr)
        return 2
    if settings.outbox_workers == 0:
        print("OUTBOX_WORKERS is 0, so there is nobody to send; set it to 1 or more for this process.", file=sys.stderr)
        return 2
    log_to_console()
    async with chat_deps(settings) as deps:
        stop = asyncio.Event()
        # The bot's one flood limit, shared with its other processes through the database.
        flood = flood_control_for(settings, deps.session_factory.kw["bind"])
        async with outbox_bot(settings, settings.outbox_workers) as sender:
            workers = start_outbox_workers(
                sender, deps.session_factory, deps.clock, settings, settings.outbox_workers, stop=stop, flood=flood,
                stats=stats,
            )
            # A task of its own: a slow or dead endpoint waits only for itself, never for the outbox or another endpoint.
            webhooks = asyncio.create_task(run_webhook_delivery(deps.uow), name="webhook-delivery")
            log.info("Sending the outbox with %d workers, and webhooks; press Ctrl-C to stop.", settings.outbox_workers)
            settle_for_serving()
            await (stopped or until_stopped())
            stop.set()
            webhooks.cancel()
            try:
                await asyncio.gather(*workers)
            finally:
                await asyncio.gather(webhooks, return_exceptions=True)
    return 0


async def until_stopped() -> None:
    """Wait for Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


async def print_order_link(settings: Settings, order_number: str, bot_username: str | None) -> int:
    """Print the t.me link a shop puts into its order-confirmation e-mail."""
    if not settings.secret_key:
        print("SECRET_KEY is not set; it signs the link. Put a long random string into .env.", file=sys.stderr)
        return 2
    if bot_username is None:
        if not settings.bot_token:
            print("Pass --bot-username, or set BOT_TOKEN so I can ask Telegram.", file=sys.stderr)
            return 2
        api = settings.telegram_api_base_url.rstrip("/")
        async with Bot(settings.bot_token, base_url=f"{api}/bot") as bot:
            bot_username = bot.username
    async with unit_of_work(settings) as uow:
        try:
            link = await build_link_for_order(uow, order_number, settings.secret_key, bot_username, settings.link_token_ttl_days)
        except DomainError as refused:
            print(refused.message, file=sys.stderr)
            return 1
    print(link)
    return 0
