"""Builds the objects a running process shares (engine, clock, unit of work) from the settings."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from bot.clock import SystemClock
from bot.composition import ChatDeps
from bot.config import Settings
from bot.services.audit import last_change_at
from bot.services.backorders.delay_notices import DelayNoticePolicy
from bot.services.privacy.retention import RetentionPeriods
from bot.services.quiet_hours import QuietHours
from bot.services.unit_of_work import ShopPolicy, SupplierRecordRules, UnitOfWork
from db.engine import create_engine, create_session_factory

NO_BOT_TOKEN = "BOT_TOKEN is not set. Put your bot's token from @BotFather into .env."
MIN_SECRET_KEY_BYTES = 32  # HMAC-SHA256 keys: shorter ones are weaker than the hash
GENERATE_SECRET_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def secret_key_problem(settings: Settings) -> str | None:
    """Why SECRET_KEY cannot sign order links and console sessions safely; None when it can."""
    size = len(settings.secret_key.encode("utf-8"))
    if size >= MIN_SECRET_KEY_BYTES:
        return None
    found = "is not set" if size == 0 else f"has {size} bytes"
    return (
        f"SECRET_KEY {found}; it signs order links and console sessions and needs at least {MIN_SECRET_KEY_BYTES}."
        f" Generate one with `{GENERATE_SECRET_KEY}` and put it into .env as SECRET_KEY=..."
    )


def log_to_console() -> None:
    """INFO and above to stderr, a line each, for the commands that keep running."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def shop_policy(settings: Settings) -> ShopPolicy:
    """The merchant's choices the services are given; services never read the settings themselves."""
    return ShopPolicy(
        default_language=settings.default_language,
        handling_days=settings.handling_days,
        alternative_surcharge_cap_percent=settings.alternative_surcharge_cap_percent,
        recently_resolved_days=settings.recently_resolved_days,
        quiet_hours=QuietHours(settings.quiet_hours_start, settings.quiet_hours_end),
        supplier_record=SupplierRecordRules(
            window_days=settings.supplier_record_window_days,
            minimum_received=settings.supplier_record_min_received,
            adjust_etas=settings.supplier_eta_adjustment,
            slip_percentile=settings.supplier_eta_percentile,
        ),
    )


def retention_periods(settings: Settings) -> RetentionPeriods:
    """The RETENTION_*_DAYS settings, for the daily purge."""
    return RetentionPeriods(
        ticket_transcripts=timedelta(days=settings.retention_ticket_transcript_days),
        closed_tickets=timedelta(days=settings.retention_closed_ticket_days),
        link_attempts=timedelta(days=settings.retention_link_attempt_days),
        processed_updates=timedelta(days=settings.retention_processed_update_days),
        sent_message_bodies=timedelta(days=settings.retention_sent_message_days),
        idempotent_responses=timedelta(days=settings.retention_idempotent_response_days),
    )


def delay_notice_policy(settings: Settings) -> DelayNoticePolicy:
    """DELAY_NOTICE_POLICY (`eu`, `ftc` or `off`; by default the rule of where the shop is) and
    DELAY_NOTICE_DEFAULT_DAYS, for the daily delay-notice job."""
    return DelayNoticePolicy(
        enabled=settings.delay_rule != "off", rule=settings.delay_rule, default_days=settings.delay_notice_default_days
    )


@asynccontextmanager
async def chat_deps(settings: Settings) -> AsyncIterator[ChatDeps]:
    """What the Telegram handlers share, on the configured database."""
    engine = create_engine(settings.database_url)
    try:
        yield ChatDeps(settings, create_session_factory(engine), SystemClock(settings.timezone), shop_policy(settings))
    finally:
        await engine.dispose()


@asynccontextmanager
async def unit_of_work(settings: Settings) -> AsyncIterator[UnitOfWork]:
    """A unit of work on the configured database, with the engine disposed of afterwards."""
    engine = create_engine(settings.database_url)
    try:
        clock = SystemClock(settings.timezone)
        uow = UnitOfWork(create_session_factory(engine), clock, shop_policy(settings))
        await catch_up_with_the_database(uow, clock)
        yield uow
    finally:
        await engine.dispose()


async def catch_up_with_the_database(uow: UnitOfWork, clock: SystemClock) -> bool:
    """Keep time from going back behind the database; True if the clock had to move on.

    Only the demo's database is ever ahead of the real time (its "+1 day" moves everything on): a command
    run against it then writes on the demo's timeline, so a token created from the command line is not
    "created" days before the demo's console "last used" it.
    """
    last = await last_change_at(uow)
    if last is None or last <= clock.now():
        return False
    clock.offset += last - clock.now() + timedelta(seconds=1)
    return True
