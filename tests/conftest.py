"""Test database set-up: every run starts from an empty schema built by the real migrations.

TEST_DATABASE_URL picks the backend (SQLite by default). On PostgreSQL each run gets a database of its
own, created next to the one named in the URL and dropped afterwards, so parallel runs never meet.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade_async
from db.models import Base

# Modules whose fixtures every test may ask for by name, without importing them. Each comes before the modules
# that import it, so pytest can still rewrite its asserts.
pytest_plugins = (
    "tests.e2e.harness",
    "tests.e2e.chat_driver",
    "tests.e2e.support_driver",
    "tests.e2e.web_client",
    "tests.cli_runner",
    "tests.fakes.woocommerce_fixtures",
    "tests.fakes.shopify_fixtures",
)

DEFAULT_URL = "sqlite+aiosqlite:///{tmp}/test.sqlite3"
SHOP_TZ = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("TEST_DATABASE_URL", "")
    if not configured or configured.startswith("sqlite"):
        tmp = tmp_path_factory.mktemp("db")
        yield DEFAULT_URL.format(tmp=tmp)
        return
    yield from _fresh_postgres_database(configured)


def _fresh_postgres_database(admin_url: str) -> Iterator[str]:
    import asyncio

    name = f"backorder_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(admin_url)

    async def run(statement: str) -> None:
        engine = create_engine(admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_async(database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Leave every table empty after a test that used the database."""
    yield
    if "engine" not in request.fixturenames:
        return
    engine: AsyncEngine = request.getfixturevalue("engine")
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


@pytest.fixture
def clock() -> ManualClock:
    """Friday 27 November 2026, 10:00 in Berlin."""
    return ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc), tz=SHOP_TZ)


@pytest.fixture
def policy() -> ShopPolicy:
    return ShopPolicy(handling_days=1, alternative_surcharge_cap_percent=15, recently_resolved_days=14)


@pytest.fixture
def uow(session_factory: async_sessionmaker[AsyncSession], clock: ManualClock, policy: ShopPolicy) -> UnitOfWork:
    return UnitOfWork(session_factory, clock, policy)


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A plain session for arranging data and checking results."""
    async with session_factory() as session:
        yield session


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(os.environ.get("TEST_ARTIFACTS_DIR", "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
