"""Alembic, driven from code: upgrade the schema, and refuse to run on an outdated one."""

import asyncio
import importlib.util
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
UPGRADE_COMMAND = "backorder-bot db upgrade"


class SchemaNotCurrent(RuntimeError):
    """The database is missing migrations; the message names the command that fixes it."""


def sql_of_migration(file_name: str, name: str) -> str:
    """The SQL text `name` of an earlier migration (in versions/), for a later one's downgrade to put back."""
    spec = importlib.util.spec_from_file_location(Path(file_name).stem, MIGRATIONS_DIR / "versions" / file_name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(getattr(module, name))


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (blocking; Alembic's env runs its own event loop)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, database_url, revision)


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def revision_of(database_url: str) -> str | None:
    """The database's migration revision; None when it has no tables yet (or, for SQLite, no file)."""
    if missing_sqlite_file(make_url(database_url)) is not None:
        return None
    engine = create_engine(database_url)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


def describe_upgrade(before: str | None, after: str | None) -> str:
    """What `db upgrade` did, from the revisions before and after it."""
    if before is None:
        return f"Created the database schema (revision {after})."
    if before == after:
        return f"The database is already up to date (revision {after}); nothing changed."
    return f"Migrated the database from revision {before} to {after}."


def missing_sqlite_file(url: URL) -> Path | None:
    """The SQLite file `url` names when it does not exist: connecting would leave an empty one behind."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return None
    path = Path(database)
    return None if path.exists() else path


async def ensure_schema_current(engine: AsyncEngine) -> None:
    """Raise SchemaNotCurrent unless the database is at the newest migration."""
    missing = missing_sqlite_file(engine.url)
    if missing is not None:
        raise SchemaNotCurrent(f"There is no database at {missing} yet. Run `{UPGRADE_COMMAND}` first to create it.")
    current = await current_revision(engine)
    head = head_revision(engine.url.render_as_string(hide_password=False))
    if current is None:
        raise SchemaNotCurrent(f"The database has no tables yet. Run `{UPGRADE_COMMAND}` first.")
    if current != head:
        raise SchemaNotCurrent(
            f"The database schema is at {current}, this version needs {head}. Run `{UPGRADE_COMMAND}`."
        )
