"""The migrations build the schema the models describe, from an empty database, on every backend."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import ManualClock
from db.engine import create_engine
from db.migrate import SchemaNotCurrent, current_revision, ensure_schema_current, head_revision
from db.models import Base


async def test_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    def diff(sync_connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_connection, opts={"compare_type": False})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


async def test_a_migrated_database_is_accepted(engine: AsyncEngine, database_url: str) -> None:
    assert await current_revision(engine) == head_revision(database_url)
    await ensure_schema_current(engine)


async def test_an_empty_database_is_refused_with_the_command_to_run(tmp_path, clock: ManualClock) -> None:
    empty = create_engine(f"sqlite+aiosqlite:///{tmp_path}/empty.sqlite3")
    try:
        try:
            await ensure_schema_current(empty)
        except SchemaNotCurrent as refused:
            assert "backorder-bot db upgrade" in str(refused)
        else:
            raise AssertionError("an unmigrated database was accepted")
    finally:
        await empty.dispose()
