"""The `backorder-bot` command: one subcommand per job a shop runs."""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.config import Settings, get_settings
from db.engine import create_engine
from db.migrate import SchemaNotCurrent, ensure_schema_current, upgrade

Job = Callable[[argparse.Namespace, Settings], Awaitable[int]]
DEMO_DATABASE = "backorder-demo.sqlite3"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backorder-bot", description="Backorder Desk: backorder customer service.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="try the bot without Telegram: the demo store, the bot, its workers and a browser chat sandbox in one"
        " process; prints the address to open",
    )
    demo.add_argument(
        "--database", default=DEMO_DATABASE,
        help=f"SQLite file for the demo (created and seeded if new, used again if not; default {DEMO_DATABASE})"
        " or a database URL",
    )
    demo.add_argument("--port", type=int, default=8080, help="web server port (default 8080; 0 picks a free one)")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="create or migrate the schema to the newest version")

    seed = commands.add_parser("seed", help="load data")
    seed.add_argument("--demo", action="store_true", required=True, help="load the demo store")

    import_ = commands.add_parser("import", help="import a merchant CSV export")
    import_.add_argument("kind", choices=["products", "orders", "purchase-orders"])
    import_.add_argument("file", type=Path)

    commands.add_parser("run", help="run the Telegram bot (long polling; needs BOT_TOKEN)")
    commands.add_parser(
        "deliver",
        help="only send queued messages (the outbox), in a process beside run or serve; PostgreSQL only",
    )
    commands.add_parser(
        "serve",
        help="run the bot and the web server: Telegram webhook (or long polling without WEBHOOK_URL),"
        " merchant API, /healthz, /metrics",
    )

    token = commands.add_parser("token", help="merchant API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    token_create = token_commands.add_parser("create", help="create a token and print it (shown only once)")
    token_create.add_argument("--name", required=True, help="what uses it, e.g. the shop system")
    token_commands.add_parser("list", help="list tokens (never the tokens themselves)")
    token_revoke = token_commands.add_parser("revoke", help="stop a token working")
    token_revoke.add_argument("token_id", metavar="ID", type=int)

    link = commands.add_parser("link", help="print the Telegram link for an order-confirmation e-mail")
    link.add_argument("order_number")
    link.add_argument("--bot-username", help="the bot's @username (default: asked from Telegram)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    if args.command == "db":
        upgrade(settings.database_url)
        print("Database is up to date.")
        return
    if args.command == "demo":
        from bot.demo import run_demo

        try:
            sys.exit(asyncio.run(run_demo(settings, args.database, args.port)))
        except KeyboardInterrupt:  # Ctrl-C while starting, before the demo listens for it itself
            sys.exit(130)
    sys.exit(asyncio.run(_run_job(_JOBS[args.command], args, settings)))


async def _run_job(job: Job, args: argparse.Namespace, settings: Settings) -> int:
    """Run a job after checking the schema is current, so nothing runs against a stale database."""
    engine = create_engine(settings.database_url)
    try:
        await ensure_schema_current(engine)
    except SchemaNotCurrent as problem:
        print(problem, file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    return await job(args, settings)


async def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from bot.jobs import seed_demo

    return await seed_demo(settings)


async def _import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.jobs import import_csv

    return await import_csv(settings, args.kind, args.file)


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
}
