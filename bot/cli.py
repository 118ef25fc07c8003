"""The `backorder-bot` command: one subcommand per job a shop runs."""

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.config import Settings, get_settings
from db.engine import UNREACHABLE, create_engine, unreachable_message
from db.migrate import SchemaNotCurrent, describe_upgrade, ensure_schema_current, head_revision, revision_of, upgrade

Job = Callable[[argparse.Namespace, Settings], Awaitable[int]]
DEMO_DATABASE = "backorder-demo.sqlite3"
IMPORT_NICENESS = 5  # an import's CPU niceness at least (0-19: higher yields more; see _yield_the_cpu)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backorder-bot",
        description="Backorder Desk: backorder customer service. Settings come from the environment or a .env file"
        " in the current folder (see .env.example); `backorder-bot COMMAND --help` explains each command.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = _command(
        commands, "demo",
        "try the bot without Telegram: the demo store, the bot, its workers and a browser chat sandbox in one"
        " process; prints the address to open",
        "Creates and seeds a demo SQLite database (or uses the one there), starts a built-in sandbox Telegram"
        " server, the bot, its delivery workers and the web server, and prints the address to open. No bot token is"
        " needed and the demo makes its own SECRET_KEY. Ctrl-C stops everything.",
        ["WEB_HOST", "SHOP_NAME", "SHOP_TIMEZONE", "DEFAULT_LANGUAGE"],
    )
    demo.add_argument(
        "--database", default=DEMO_DATABASE,
        help=f"SQLite file for the demo (created and seeded if new, used again if not; default {DEMO_DATABASE})"
        " or a database URL",
    )
    demo.add_argument("--port", type=int, default=8080, help="web server port (default 8080; 0 picks a free one)")

    db = _command(
        commands, "db", "database schema",
        "Manages the database schema. Every other command refuses to run on an outdated schema.", ["DATABASE_URL"],
    )
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    _command(
        db_commands, "upgrade", "create or migrate the schema to the newest version",
        "Creates the schema in a new database (for SQLite, the file too) or applies the migrations an older one"
        " is missing, and says which it did. Safe to run again: an up-to-date database is left as it is.",
        ["DATABASE_URL"],
    )

    seed = _command(
        commands, "seed", "load data",
        "Loads the demo store (products, customers, orders, purchase orders; see the README's \"Demo store\") into"
        " an empty database. A second run says the demo is already there and changes nothing.",
        ["DATABASE_URL", "SHOP_TIMEZONE"],
    )
    seed.add_argument("--demo", action="store_true", required=True, help="load the demo store")

    import_ = _command(
        commands, "import", "import a merchant CSV export",
        "Reads a merchant's CSV export of products, orders, purchase orders or shipments (columns: see the README's"
        " \"Importing CSV files\"). All or nothing: if any row is bad nothing changes and every problem is listed"
        " as `row N, column: reason` (exit code 1). Importing the same file again changes nothing; --dry-run"
        " checks a file and says what it would change without writing.",
        ["DATABASE_URL", "DEFAULT_PHONE_REGION", "SHOP_TIMEZONE", "HANDLING_DAYS"],
    )
    import_.add_argument(
        "kind", choices=["products", "orders", "purchase-orders", "shipments"], help="what the file holds"
    )
    import_.add_argument("file", type=Path, help="the CSV file (UTF-8; `,` or `;` between cells)")
    import_.add_argument(
        "--dry-run", action="store_true", help="check the file and say what it would change, without writing"
    )

    bot_settings = ["BOT_TOKEN", "SECRET_KEY", "DATABASE_URL", "TELEGRAM_API_BASE_URL", "OUTBOX_WORKERS", "SUPPORT_CHAT_ID"]
    _command(
        commands, "run", "run the Telegram bot (long polling; needs BOT_TOKEN)",
        "Runs the bot with long polling, its delivery workers and its daily jobs (ETAs, delay notices), without"
        " the web server, until Ctrl-C or SIGTERM. Needs BOT_TOKEN and a SECRET_KEY of at least 32 bytes; every"
        " other setting in .env.example shapes what the bot says and does.",
        bot_settings,
    )
    _command(
        commands, "deliver",
        "only send queued messages (the outbox) and merchant webhooks, in a process beside run or serve; PostgreSQL only",
        "Only sends what the outbox holds (notifications, broadcasts, delay notices), with OUTBOX_WORKERS workers,"
        " and the merchant's webhooks (one loop per endpoint, apart from the outbox), until Ctrl-C or SIGTERM: a"
        " process of its own beside `run` or `serve` (set OUTBOX_WORKERS=0 there), so a paid broadcast does not slow"
        " the bot's answers. Needs PostgreSQL.",
        ["BOT_TOKEN", "DATABASE_URL", "OUTBOX_WORKERS", "OUTBOX_RATE_PER_SECOND", "PAID_BROADCASTS",
         "PAID_BROADCAST_RATE_PER_SECOND", "QUIET_HOURS_START", "QUIET_HOURS_END"],
    )
    _command(
        commands, "serve",
        "run the bot and the web server: Telegram webhook (or long polling without WEBHOOK_URL),"
        " merchant API, /healthz, /metrics",
        "Runs the bot, its delivery workers and daily jobs, and one web server on WEB_HOST:WEB_PORT with the"
        " Telegram webhook (long polling without WEBHOOK_URL), the merchant API at /api/v1, the merchant console at"
        " /console, /healthz and /metrics, until Ctrl-C or SIGTERM. Needs BOT_TOKEN and a SECRET_KEY of at least"
        " 32 bytes.",
        bot_settings + [
            "WEB_HOST", "WEB_PORT", "WEBHOOK_URL", "WEBHOOK_SECRET", "TRUSTED_PROXIES", "FAILED_TOKENS_PER_HOUR",
            "METRICS_TOKEN",
        ],
    )

    token = _command(
        commands, "token", "merchant API tokens",
        "Merchant API tokens, for the API (`Authorization: Bearer ...`) and the console's sign-in. Only a token's"
        " SHA-256 is stored.",
        ["DATABASE_URL"],
    )
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    token_create = _command(
        token_commands, "create", "create a token and print it (shown only once)",
        "Creates a token and prints it on stdout; it is shown this once, so copy it now.", ["DATABASE_URL"],
    )
    token_create.add_argument("--name", required=True, help="what uses it, e.g. the shop system")
    _command(
        token_commands, "list", "list tokens (never the tokens themselves)",
        "Lists every token: id, name, its first characters, when it was created and last used, and whether it"
        " is revoked. The tokens themselves are never shown again.",
        ["DATABASE_URL"],
    )
    token_revoke = _command(
        token_commands, "revoke", "stop a token working",
        "Revokes a token at once: API requests and console sessions using it are refused from then on.",
        ["DATABASE_URL"],
    )
    token_revoke.add_argument("token_id", metavar="ID", type=int, help="the token's id, from `token list`")

    customer = _command(
        commands, "customer", "a customer's personal data: export or erase it on request",
        "Answers a person's privacy request. `export` prints everything stored about them as one JSON document;"
        " `erase` pseudonymises their customer record, deletes their chat state and ticket transcripts and unlinks"
        " their Telegram account, keeping orders, amounts and refunds without personal data. Erasing again changes"
        " nothing.",
        ["DATABASE_URL"],
    )
    customer_commands = customer.add_subparsers(dest="customer_command", required=True, metavar="ACTION")
    for action, summary in (
        ("export", "print everything stored about a person as JSON"),
        ("erase", "erase a person's personal data (cannot be undone)"),
    ):
        subject = _command(customer_commands, action, summary, summary[0].upper() + summary[1:] + ".", ["DATABASE_URL"])
        who = subject.add_mutually_exclusive_group(required=True)
        who.add_argument("--email", help="the customer's e-mail address")
        who.add_argument("--telegram-id", type=int, help="the person's numeric Telegram user id")

    staff = _command(
        commands, "staff", "a merchant's or agent's own data, by Telegram id: export or erase it on request",
        "Answers a privacy request of one of the shop's people (MERCHANT_USER_IDS, the support group's agents)."
        " `export` prints what is stored about them as one JSON document; `erase` removes their Telegram id and"
        " their chat state from everything stored, keeping what they did (tickets, broadcasts, audit entries)"
        " without naming them. Erasing again changes nothing. Take them out of MERCHANT_USER_IDS and"
        " AGENT_USER_IDS yourself.",
        ["DATABASE_URL", "MERCHANT_USER_IDS", "AGENT_USER_IDS"],
    )
    staff_commands = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    for action, summary in (
        ("export", "print what is stored about a merchant or agent as JSON"),
        ("erase", "erase a merchant's or agent's own data (cannot be undone)"),
    ):
        member = _command(staff_commands, action, summary, summary[0].upper() + summary[1:] + ".", ["DATABASE_URL"])
        member.add_argument("--telegram-id", type=int, required=True, help="their numeric Telegram user id")

    webhook = _command(
        commands, "webhook", "merchant webhook endpoints (signed as Standard Webhooks)",
        "Endpoints that receive the event log (cancels, swaps, shipments, refunds, delay notices, deliveries,"
        " tickets), signed as the Standard Webhooks specification says. A secret is shown once.",
        ["DATABASE_URL"],
    )
    webhook_commands = webhook.add_subparsers(dest="webhook_command", required=True, metavar="ACTION")
    webhook_add = _command(
        webhook_commands, "add", "add an endpoint and print its signing secret (shown once)",
        "Adds an endpoint for the events of the types named, from now on, and prints its whsec_ secret on stdout.",
        ["DATABASE_URL"],
    )
    webhook_add.add_argument("url")
    webhook_add.add_argument(
        "--events", default="", help="comma-separated event types, e.g. line.*,refund.paid (default: every type)"
    )
    _command(
        webhook_commands, "list", "list endpoints, with disabled or failing ones and why",
        "Lists every endpoint: its events, whether it works, is failing (since when, the last error) or is"
        " disabled (why), and how many deliveries wait for it.",
        ["DATABASE_URL"],
    )
    for action, help_text in (
        ("remove", "remove an endpoint and what waits for it"),
        ("test", "send a signed webhook.test message to an endpoint now"),
        ("rotate-secret", "print a new signing secret; the old one keeps signing for 24 hours"),
        ("enable", "turn a disabled endpoint back on"),
    ):
        endpoint = _command(webhook_commands, action, help_text, help_text.capitalize() + ".", ["DATABASE_URL"])
        endpoint.add_argument("endpoint_id", metavar="ID", type=int, help="the endpoint's id, from `webhook list`")

    connect = _command(
        commands, "connect", "connect an online store (Shopify, WooCommerce), or show how it is doing",
        "Connects an online store, both ways: checks the credentials (saying what is wrong: token, scope, address),"
        " registers the webhooks the bot needs at PUBLIC_URL, and loads products, stock and every open order with a"
        " progress bar; interrupted, it carries on where it stopped when run again, and running it again is"
        " harmless. From then on `serve` applies the store's webhooks and writes the chat's cancels and swaps back to"
        " the store. --status shows the connection, its last webhook and anything failing.",
        ["DATABASE_URL", "PUBLIC_URL"],
    )
    stores = connect.add_subparsers(dest="platform", required=True, metavar="PLATFORM")
    shopify = _store_command(
        stores, "shopify", "a Shopify store, through a custom app's Admin API access token",
        "Connects a Shopify store through a custom app (README: \"Online stores\" lists the scopes and how to create"
        " it). The access token and client secret are read from SHOPIFY_ACCESS_TOKEN and SHOPIFY_CLIENT_SECRET"
        " unless given here.",
        ["SHOPIFY_ACCESS_TOKEN", "SHOPIFY_CLIENT_SECRET"],
        [
            ("--shop", "the shop's NAME.myshopify.com domain (required unless --status)"),
            ("--token", "the Admin API access token (shpat_…; default SHOPIFY_ACCESS_TOKEN)"),
            ("--client-secret", "the app's client secret, which signs webhooks (default SHOPIFY_CLIENT_SECRET)"),
            ("--previous-client-secret", "the secret before a rotation, accepted for webhooks for an hour beside the new one"),
        ],
    )
    shopify.add_argument("--api-base-url", help=argparse.SUPPRESS)  # the tests' fake Shopify
    woocommerce = _store_command(
        stores, "woocommerce", "a WooCommerce store, through a REST API key with Read/Write permissions",
        "Connects a WooCommerce store (3.5 or later) through a REST API key (WooCommerce > Settings > Advanced >"
        " REST API, Read/Write; README: \"Online stores\"). The key and secret are read from WOOCOMMERCE_KEY and"
        " WOOCOMMERCE_SECRET unless given here.",
        ["WOOCOMMERCE_KEY", "WOOCOMMERCE_SECRET"],
        [
            ("--url", "the store's address, https://… (required unless --status)"),
            ("--key", "the REST API consumer key (ck_…; default WOOCOMMERCE_KEY)"),
            ("--secret", "the REST API consumer secret (cs_…; default WOOCOMMERCE_SECRET)"),
        ],
    )
    woocommerce.add_argument(
        "--query-string-auth", action="store_true",
        help="send the key in the query string, for servers that drop the Authorization header",
    )
    woocommerce.add_argument(
        "--backordered-label", action="append", metavar="LABEL",
        help="the line-item label the store writes for backordered units in its language (\"Backordered\" is always read)",
    )

    link = _command(
        commands, "link", "print the Telegram link for an order-confirmation e-mail",
        "Prints the t.me link that opens the bot linked to an order, for the shop's order-confirmation e-mail."
        " The link is signed with SECRET_KEY and expires after LINK_TOKEN_TTL_DAYS.",
        ["SECRET_KEY", "DATABASE_URL", "LINK_TOKEN_TTL_DAYS", "BOT_TOKEN", "TELEGRAM_API_BASE_URL"],
    )
    link.add_argument("order_number", help="the order's number, as the customer knows it")
    link.add_argument("--bot-username", help="the bot's @username (default: asked from Telegram with BOT_TOKEN)")
    return parser


def _command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    name: str,
    summary: str,
    description: str,
    settings: list[str],
) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does and which settings it reads."""
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog="settings it reads (environment or .env): " + ", ".join(settings),
    )


def _store_command(
    stores: "argparse._SubParsersAction[argparse.ArgumentParser]",
    name: str,
    summary: str,
    description: str,
    credential_settings: list[str],
    credentials: list[tuple[str, str]],
) -> argparse.ArgumentParser:
    """A `connect PLATFORM` subcommand: the store's address and credentials (option, help), then what every store has."""
    store = _command(
        stores, name, summary, description, ["DATABASE_URL", "PUBLIC_URL", *credential_settings, "DEFAULT_PHONE_REGION"]
    )
    for option, help_text in credentials:
        store.add_argument(option, help=help_text)
    store.add_argument("--status", action="store_true", help="show the connection, its last webhook and what is failing")
    store.add_argument(
        "--retry-failed", action="store_true",
        help="put the changes that gave up being written back to the store (see --status) back in line",
    )
    store.add_argument(
        "--refunds-by-hand", action="store_true",
        help="do not refund in the store: tag and note the order, and list the refund in the To do page",
    )
    store.add_argument("--public-url", help="the public https address of `serve` (default PUBLIC_URL)")
    store.add_argument("--lead-time-days", type=int, default=14, help="supplier lead time of new products (default 14)")
    return store


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    if args.command == "db":
        sys.exit(_upgrade_database(settings.database_url))
    if args.command == "demo":
        from bot.demo import run_demo

        try:
            sys.exit(asyncio.run(run_demo(settings, args.database, args.port)))
        except KeyboardInterrupt:  # Ctrl-C while starting, before the demo listens for it itself
            sys.exit(130)
    sys.exit(asyncio.run(_run_job(_JOBS[args.command], args, settings)))


def _upgrade_database(database_url: str) -> int:
    """`db upgrade`: migrate, and say whether the schema was created, migrated or already current."""
    try:
        before = asyncio.run(revision_of(database_url))
        upgrade(database_url)
    except UNREACHABLE as unreachable:
        print(unreachable_message(database_url, unreachable), file=sys.stderr)
        return 2
    print(describe_upgrade(before, head_revision(database_url)))
    return 0


async def _run_job(job: Job, args: argparse.Namespace, settings: Settings) -> int:
    """Run a job after checking the schema is current, so nothing runs against a stale or unreachable database."""
    engine = create_engine(settings.database_url)
    try:
        await ensure_schema_current(engine)
    except SchemaNotCurrent as problem:
        print(problem, file=sys.stderr)
        return 2
    except UNREACHABLE as unreachable:
        print(unreachable_message(settings.database_url, unreachable), file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    return await job(args, settings)


async def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from bot.jobs import seed_demo

    return await seed_demo(settings)


async def _import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.jobs import import_csv

    _yield_the_cpu()
    return await import_csv(settings, args.kind, args.file, dry_run=args.dry_run)


def _yield_the_cpu() -> None:
    """Lower this process's CPU priority, so the bot beside it gets a CPU first; to IMPORT_NICENESS, never further.

    A large import keeps a core busy, and its database thread much of another; on a small machine the bot's replies
    then wait for a CPU, not for the database. On an idle machine the import runs as fast as before. Only a little
    lower: the import holds SQLite's write lock for most of its run, and one starved of CPU by other busy processes
    would hold it for longer, keeping the bot's writes waiting behind it.
    """
    try:
        if (below := IMPORT_NICENESS - os.nice(0)) > 0:
            os.nice(below)
    except (AttributeError, OSError):  # no nice() on Windows; a sandbox may refuse it
        pass


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.telegram_jobs import run_bot

    return await run_bot(settings)


async def _deliver(args: argparse.Namespace, settings: Settings) -> int:
    from bot.telegram_jobs import deliver

    return await deliver(settings)


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web_jobs import serve

    return await serve(settings)


async def _token(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web_jobs import create_api_token, list_api_tokens, revoke_api_token

    if args.token_command == "create":
        return await create_api_token(settings, args.name)
    if args.token_command == "list":
        return await list_api_tokens(settings)
    return await revoke_api_token(settings, args.token_id)


async def _customer(args: argparse.Namespace, settings: Settings) -> int:
    from bot.privacy_jobs import erase_person, export_person

    job = export_person if args.customer_command == "export" else erase_person
    return await job(settings, args.email, args.telegram_id)


async def _staff(args: argparse.Namespace, settings: Settings) -> int:
    from bot.privacy_jobs import erase_staff, export_staff

    job = export_staff if args.staff_command == "export" else erase_staff
    return await job(settings, args.telegram_id)


async def _webhook(args: argparse.Namespace, settings: Settings) -> int:
    from bot import webhook_jobs

    if args.webhook_command == "add":
        return await webhook_jobs.add_webhook(settings, args.url, args.events)
    if args.webhook_command == "list":
        return await webhook_jobs.list_webhooks(settings)
    jobs = {
        "remove": webhook_jobs.remove_webhook,
        "test": webhook_jobs.test_webhook,
        "rotate-secret": webhook_jobs.rotate_webhook_secret,
        "enable": webhook_jobs.enable_webhook,
    }
    return await jobs[args.webhook_command](settings, args.endpoint_id)


async def _connect(args: argparse.Namespace, settings: Settings) -> int:
    from bot import connect_jobs

    if args.status:
        return await connect_jobs.print_status(settings, args.platform)
    if args.retry_failed:
        return await connect_jobs.retry_failed(settings, args.platform)
    from bot.connectors.shopify.connect_options import shopify_connection

    from bot.connectors.woocommerce.connect_options import woocommerce_connection

    builders = {"shopify": shopify_connection, "woocommerce": woocommerce_connection}
    try:
        new = builders[args.platform](args, settings)
    except ValueError as wrong:
        print(wrong, file=sys.stderr)
        return 1
    return await connect_jobs.connect_store(settings, new, args.public_url or settings.public_url)


async def _link(args: argparse.Namespace, settings: Settings) -> int:
    from bot.telegram_jobs import print_order_link

    return await print_order_link(settings, args.order_number, args.bot_username)


_JOBS: dict[str, Job] = {
    "seed": _seed,
    "import": _import,
    "run": _run,
    "deliver": _deliver,
    "serve": _serve,
    "token": _token,
    "link": _link,
    "customer": _customer,
    "staff": _staff,
    "webhook": _webhook,
    "connect": _connect,
}
