"""`backorder-bot demo`: the whole bot on this machine, with a built-in sandbox standing in for Telegram.

One process runs the sandbox Bot API server (bot/sandbox), the bot long-polling it exactly as it would
api.telegram.org, the outbox workers, and the web server with the sandbox page at /sandbox, on a SQLite
file holding the demo store. The page acts as the demo's people: customers (the README's demo customers,
whose Telegram phone numbers match the shop's records, or new users), a support agent in the support
group's topics, and the merchant. Its "+1 day" button moves the one clock everything reads a day on and
runs the daily jobs, so ETAs, delay notices and quiet hours can be watched as days pass.
"""

import logging
import secrets
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from aiohttp import web
from telegram import Update

from bot.background import background_work
from bot.cli_command import cli_command
from bot.clock import SystemClock
from bot.composition import MINI_APP_PATH, ChatDeps
from bot.config import Settings
from bot.delivery import DeliveryStats, FloodControlRateLimiter, flood_control_for
from bot.demo_clock import daytime, quiet_hours_of
from bot.demo_sign_in_links import LINK_LIFETIME, SignInLinks
from bot.demo_stack import DemoCast, DemoStack, Persona
from bot.jobs import describe_demo
from bot.metrics import BotMetrics
from bot.sandbox import FakeBotApi
from bot.services.conversations.chat_session import forget_old_updates
from bot.services.errors import DomainError
from bot.services.intake.demo_store import DEMO_CUSTOMERS, seed_demo_store
from bot.services.unit_of_work import UnitOfWork
from bot.telegram_app import build_application
from bot.telegram_jobs import until_stopped
from bot.web.app import build_web_app, web_runner
from bot.web.sandbox_page import add_sandbox_page
from bot.wiring import catch_up_with_the_database, log_to_console, shop_policy
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade_async

log = logging.getLogger(__name__)

SANDBOX_BOT_ID = 7_000_000_001
# Fixed ids, so a demo database used again still knows who linked which order.
CUSTOMER_IDS_FROM = 5_100_001
AGENT_ID = 5_200_001
MERCHANT_ID = 5_300_001
# A new sandbox server numbers its updates from the start again, so what the last one delivered is forgotten.
_ALL_OF_TIME = timedelta(days=365 * 100)
PROGRESS_EVERY_SECONDS = 2.0  # broadcast progress messages: quicker than in production, to watch them


async def run_demo(base: Settings, database: str, port: int) -> int:
    """The `demo` job: prepare the demo database, run everything, print the address; until Ctrl-C or SIGTERM."""
    log_to_console()
    database_url = database if "://" in database else f"sqlite+aiosqlite:///{Path(database).absolute()}"
    try:
        async with demo_stack(base, database_url, host=base.web_host, port=port) as stack:
            token_command = cli_command("token", "create", "--name", "me", environment={"DATABASE_URL": database_url})
            minutes = int(LINK_LIFETIME.total_seconds() // 60)
            print(
                f"\nBackorder Desk demo: open {stack.sandbox_url}  (Ctrl-C stops it)\n"
                f"The merchant console: {stack.console_sign_in_url()}\n"
                f"  (signs you in once, within {minutes} minutes; the sandbox page's Console button makes a new link)\n"
                f"An API token for the merchant API or the console's sign-in form:\n"
                f"  {token_command}\n",
                flush=True,
            )
            await until_stopped()
    except DomainError as refused:
        print(f"{refused.message} Use another file with --database.", file=sys.stderr)
        return 1
    except PortUnavailable as unavailable:
        print(f"{unavailable} Try --port 0 for any free port.", file=sys.stderr)
        return 1
    print("Demo stopped.")
    return 0


class PortUnavailable(Exception):
    """The demo's web server cannot listen where it was asked to."""


def _listen(host: str, port: int) -> socket.socket:
    """The web server's socket, bound first, so a busy port is refused before the database is touched."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as refused:
        raise PortUnavailable(f"Cannot listen on {host} port {port}: {refused.strerror or refused}.") from refused


@asynccontextmanager
async def demo_stack(
    base: Settings, database_url: str, *, host: str = "127.0.0.1", port: int = 0, clock: SystemClock | None = None
) -> AsyncIterator[DemoStack]:
    """The demo running on `database_url` (migrated and seeded here), its web server on `port` (0: any free one).

    The port is taken first: when it is busy, PortUnavailable is raised before the database is touched.

    `base` gives the shop's settings; the demo replaces the database, the Bot API server, the bot token,
    SECRET_KEY, the support group, its agents and the merchants with its own. `clock` is the demo's time
    (default: the real one, moved on so it never goes back behind what the database already holds); it starts
    in the shop's daytime, outside quiet hours.
    """
    clock = clock or SystemClock(base.timezone)
    with _listen(host, port) as listener:
        await upgrade_async(database_url)
        engine = create_engine(database_url)
        try:
            session_factory = create_session_factory(engine)
            policy = shop_policy(base)

            def uow() -> UnitOfWork:
                return UnitOfWork(session_factory, clock, policy)

            if await catch_up_with_the_database(uow(), clock):
                log.info("The demo's clock goes on from %s, where the database left off.", clock.now().astimezone(clock.tz).date())
            _start_in_daytime(clock, base)
            summary = await seed_demo_store(uow())
            log.info("%s", describe_demo(summary) if summary.created else "Using the demo store already in the database.")
            await forget_old_updates(uow(), clock.now() + _ALL_OF_TIME)
            async with FakeBotApi(f"{SANDBOX_BOT_ID}:{secrets.token_urlsafe(24)}", now=clock.now) as fake:
                cast = _cast(fake, base)
                deps = ChatDeps(
                    _demo_settings(base, database_url, fake, cast, _address(listener)), session_factory, clock, policy,
                    sandbox_mini_app_url=_address(listener) + MINI_APP_PATH,
                )
                stack = DemoStack(fake, deps, clock, cast, SignInLinks(clock))
                async with _running(stack, listener):
                    yield stack
        finally:
            await engine.dispose()


def _start_in_daytime(clock: SystemClock, base: Settings) -> None:
    """Start at night, and every optional message would wait for the morning: start when quiet hours end."""
    now = clock.now()
    start = daytime(now, clock.tz, quiet_hours_of(base))
    if start == now:
        return
    clock.offset += start - now
    log.info("It is night in %s: the demo's clock starts at %s, when quiet hours end.", clock.tz, f"{clock.now().astimezone(clock.tz):%a %H:%M}")


def _cast(fake: FakeBotApi, base: Settings) -> DemoCast:
    """The support group with its agent, the merchant, and the README's demo customers as Telegram users."""
    group = fake.add_group(f"{base.shop_name} support", forum=True, bot_is_admin=True)
    agent_user = fake.add_user("Maria", last_name="Lopez", username="maria_support", language_code="en", user_id=AGENT_ID)
    fake.set_member_status(group, agent_user, "member")
    merchant_user = fake.add_user("Sam", last_name="Becker", username="sam_shop", language_code="en", user_id=MERCHANT_ID)
    customers = []
    for number, demo in enumerate(DEMO_CUSTOMERS):
        first, _, last = demo.name.partition(" ")
        user = fake.add_user(first, last_name=last or None, language_code=demo.language, user_id=CUSTOMER_IDS_FROM + number)
        customers.append(
            Persona(
                first.lower(), "customer", user, phone=demo.phone.replace(" ", ""), email=demo.email,
                order_number=demo.order_numbers[0], shows=demo.shows,
            )
        )
    return DemoCast(
        group,
        Persona("agent", "agent", agent_user, shows="support agent: answers escalated chats in the support group's topics"),
        Persona("merchant", "merchant", merchant_user, shows="the shop's owner: /backorders and /broadcast"),
        customers,
    )


def _address(listener: socket.socket) -> str:
    """`http://host:port` of the demo's web server."""
    host, port = listener.getsockname()[:2]
    return f"http://{host if ':' not in host else f'[{host}]'}:{port}"


def _demo_settings(base: Settings, database_url: str, fake: FakeBotApi, cast: DemoCast, address: str) -> Settings:
    # PUBLIC_URL is the demo's own address: the sandbox's merchant and agent get the console behind their menu button.
    return base.model_copy(
        update={
            "database_url": database_url,
            "bot_token": fake.token,
            "telegram_api_base_url": fake.url,
            "secret_key": secrets.token_urlsafe(32),
            "webhook_url": "",
            "support_chat_id": cast.support_group.id,
            "agent_user_ids": [cast.agent.user.id],
            "merchant_user_ids": [cast.merchant.user.id],
            "public_url": address,
        }
    )


@asynccontextmanager
async def _running(stack: DemoStack, listener: socket.socket) -> AsyncIterator[None]:
    """The bot polling the sandbox, the background work beside it (bot/background.py) and the web server."""
    deps, settings = stack.deps, stack.deps.settings
    # Replies and outbox messages share one flood control, as in `serve`.
    flood = flood_control_for(settings, deps.session_factory.kw["bind"])
    application = build_application(deps, rate_limiter=FloodControlRateLimiter(flood, max_retries=3))
    metrics = BotMetrics()
    stats = DeliveryStats()
    metrics.count_sends(stats)
    app = build_web_app(deps, application, metrics)
    add_sandbox_page(app, stack)
    runner = web_runner(app, shutdown_timeout=1.0)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=10, allowed_updates=Update.ALL_TYPES)
        await runner.setup()
        try:
            async with background_work(application, deps, flood, stats, progress_every_seconds=PROGRESS_EVERY_SECONDS):
                await web.SockSite(runner, listener).start()
                stack.url = _address(listener)
                yield
        finally:
            await runner.cleanup()
            if application.updater.running:
                await application.updater.stop()
            await application.stop()
