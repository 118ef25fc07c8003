"""What the Shopify benches share: their command line, and a fresh database with a Shopify store connected.

A bench runs on the database --database-url names, or on a fresh SQLite file; either way the real migrations
set it up and the connection is saved through the real use case, as `connect shopify` does.
"""

import argparse
import asyncio
import tempfile
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import SystemClock
from bot.services.audit import Actor
from bot.services.connectors import ConnectionConfig, save_connection
from bot.services.unit_of_work import UnitOfWork
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade_async

SHOP = "backorder-demo.myshopify.com"


@dataclass(frozen=True)
class ConnectedShop:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    uow: UnitOfWork
    config: ConnectionConfig


async def connect_shop(database_url: str, credentials: dict[str, str], settings: dict[str, Any]) -> ConnectedShop:
    """The database migrated, and the Shopify store SHOP connected with these credentials and settings."""
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    uow = UnitOfWork(sessions, SystemClock(ZoneInfo("Europe/Berlin")))
    config = await save_connection(uow, "shopify", SHOP, credentials, settings, Actor.merchant("bench"))
    return ConnectedShop(engine, sessions, uow, config)


def run_bench(doc: str, options: dict[str, int], run: Callable[[str, argparse.Namespace], Coroutine[Any, Any, None]]) -> None:
    """Parse the bench's whole-number options (name: default) and --database-url, then run it on that database."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in options.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", args))
