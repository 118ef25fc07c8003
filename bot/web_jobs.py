"""The web side of the `backorder-bot` command: `serve` (bot + merchant API + health), and API tokens."""

import asyncio
import logging
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.background import background_work
from bot.cli_command import cli_command
from bot.composition import ChatDeps
from bot.config import Settings
from bot.delivery import DeliveryStats, FloodControlRateLimiter, flood_control_for
from bot.metrics import BotMetrics
from bot.services.audit import Actor
from bot.services.errors import DomainError
from bot.services.merchant_access.api_tokens import TokenInfo, create_token, list_tokens, revoke_token
from bot.services.merchant_access.idempotent_requests import forget_idempotent_requests
from bot.telegram_app import build_application
from bot.telegram_jobs import until_stopped
from bot.web.app import build_web_app, web_runner
from bot.wiring import NO_BOT_TOKEN, chat_deps, log_to_console, secret_key_problem, unit_of_work

log = logging.getLogger(__name__)

CLI_ACTOR = Actor.merchant("cli")
# Telegram's rule for setWebhook's secret_token.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Idempotency-Keys are honoured this long; a retry after that runs the request again.
IDEMPOTENCY_KEYS_KEPT = timedelta(hours=24)
_FORGET_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class RunningServer:
    port: int
    application: Application  # type: ignore[type-arg]
    metrics: BotMetrics
    receives_by: str  # "webhook" or "polling"


async def serve(settings: Settings) -> int:
    """Run the bot and the web server until Ctrl-C or SIGTERM."""
    problem = configuration_problem(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    log_to_console()
    async with chat_deps(settings) as deps, serving(deps, settings.web_host, settings.web_port) as server:
        log.info(
            "Serving on http://%s:%d (merchant API at /api/v1, /healthz, /metrics); Telegram updates by %s.",
            settings.web_host, server.port, server.receives_by,
        )
        await until_stopped()
    return 0


def configuration_problem(settings: Settings) -> str | None:
    """What keeps `serve` from starting, in words for the operator; None if nothing."""
    if not settings.bot_token:
        return NO_BOT_TOKEN
    if problem := secret_key_problem(settings):
        return problem
    if settings.webhook_url:
        if not settings.webhook_url.startswith("https://"):
            return "WEBHOOK_URL must be the public https:// address of POST /telegram/webhook."
        if not _WEBHOOK_SECRET.fullmatch(settings.webhook_secret):
            return (
                "WEBHOOK_SECRET must be set with WEBHOOK_URL: 1 to 256 characters of A-Z, a-z, 0-9, _ and -"
                " (e.g. the output of `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)."
            )
    return None


@asynccontextmanager
async def serving(deps: ChatDeps, host: str, port: int) -> AsyncIterator[RunningServer]:
    """The bot and the web server running on `deps`, stopped on leaving; `port` 0 picks a free one.

    With WEBHOOK_URL set, Telegram is told to deliver updates there (with WEBHOOK_SECRET); without it, the
    bot long-polls, so a shop needs no public address.
    """
    settings = deps.settings
    # Replies and outbox messages share one flood control, so together they keep to Telegram's limits.
    flood = flood_control_for(settings, deps.session_factory.kw["bind"])
    application = build_application(deps, rate_limiter=FloodControlRateLimiter(flood, max_retries=3))
    metrics = BotMetrics()
    stats = DeliveryStats()
    metrics.count_sends(stats)
    runner = web_runner(build_web_app(deps, application, metrics))
    async with application:
        await application.start()
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            if settings.webhook_url:
                # Telegram pushes as soon as this returns, so the server is listening before it is called.
                await application.bot.set_webhook(
                    url=settings.webhook_url, secret_token=settings.webhook_secret, allowed_updates=Update.ALL_TYPES
                )
            else:
                assert application.updater is not None
                await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            forgetting = asyncio.create_task(_forget_idempotency_keys(deps), name="forget-idempotency-keys")
            try:
                async with background_work(application, deps, flood, stats):
                    yield RunningServer(
                        runner.addresses[0][1], application, metrics, "webhook" if settings.webhook_url else "polling"
                    )
            finally:
                forgetting.cancel()
                with suppress(asyncio.CancelledError):
                    await forgetting
        finally:
            await runner.cleanup()
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            await application.stop()


async def _forget_idempotency_keys(deps: ChatDeps) -> None:
    while True:
        try:
            forgotten = await forget_idempotent_requests(deps.uow(), deps.clock.now() - IDEMPOTENCY_KEYS_KEPT)
            if forgotten:
                log.info("forgot %d Idempotency-Keys older than %s", forgotten, IDEMPOTENCY_KEYS_KEPT)
        except Exception:
            log.exception("could not forget old Idempotency-Keys; trying again later")
        await asyncio.sleep(_FORGET_EVERY_SECONDS)



# ---- API tokens ------------------------------------------------------------------------------------------


async def create_api_token(settings: Settings, name: str) -> int:
    """Create a token and print it, the only time it is shown; the explanation goes to stderr."""
    async with unit_of_work(settings) as uow:
        try:
            plaintext, token = await create_token(uow, name, CLI_ACTOR)
        except DomainError as refused:
            print(refused.message, file=sys.stderr)
            return 1
    print(
        f"API token {token.id} ({token.name}) created. Copy it now: it is not shown again, only its hash is kept.",
        file=sys.stderr,
    )
    print(plaintext)
    return 0


async def list_api_tokens(settings: Settings) -> int:
    async with unit_of_work(settings) as uow:
        tokens = await list_tokens(uow)
    if not tokens:
        print(f"No API tokens yet; `{cli_command('token', 'create', '--name', 'shop-sync')}` makes one.")
        return 0
    print(describe_tokens(tokens))
    return 0


async def revoke_api_token(settings: Settings, token_id: int) -> int:
    async with unit_of_work(settings) as uow:
        try:
            token = await revoke_token(uow, token_id, CLI_ACTOR)
        except DomainError as refused:
            print(refused.message, file=sys.stderr)
            return 1
    print(f"API token {token.id} ({token.name}) is revoked; requests with it are refused from now on.")
    return 0


def describe_tokens(tokens: list[TokenInfo]) -> str:
    """A table of tokens: id, name, the token's first characters, when created and last used, and status."""
    rows = [("ID", "NAME", "STARTS WITH", "CREATED", "LAST USED", "STATUS")]
    for token in tokens:
        status = f"revoked {_when(token.revoked_at)}" if token.revoked_at else "active"
        rows.append(
            (str(token.id), token.name, token.prefix, _when(token.created_at), _when(token.last_used_at), status)
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"

