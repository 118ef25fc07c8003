"""A writing transaction while another process holds SQLite's write lock: it goes in as soon as the lock is free,
and gives up with SQLite's own error once the busy timeout has passed; while it waits, the other process can see
that it waits, and a long job there lets it in before its next transaction."""

import asyncio
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import ManualClock
from bot.services.unit_of_work import UnitOfWork
from db.engine import create_engine, create_session_factory
from db.sqlite_connection import STILL_WAITING, WaitingWriters, WriteLock, connect


async def test_a_write_waiting_for_another_process_goes_in_when_it_lets_go_and_gives_up_after_the_busy_timeout(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "writers.sqlite3")
    connection = await connect(path, WriteLock(5), timeout=0.3)
    other_process = sqlite3.connect(path, isolation_level=None)
    try:
        await connection.run("CREATE TABLE notes (text TEXT)", ())
        other_process.execute("BEGIN IMMEDIATE")  # say, an import in another process, between two of its chunks
        connection.begin_with_next_statement(read_only=False)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            await connection.run("INSERT INTO notes VALUES ('given up')", ())
        await connection.rollback()

        connection.begin_with_next_statement(read_only=False)
        writing = asyncio.create_task(connection.run("INSERT INTO notes VALUES ('waited')", ()))
        await asyncio.sleep(0.1)
        assert not writing.done()
        other_process.execute("COMMIT")
        await asyncio.wait_for(writing, 0.25)  # in at its next try, within the busy timeout
        await connection.commit()
    finally:
        other_process.close()
        await connection.close()
    check = sqlite3.connect(path)
    assert check.execute("SELECT text FROM notes").fetchall() == [("waited",)]
    check.close()


async def test_a_writer_waiting_for_another_process_says_so_until_it_is_in(tmp_path: Path) -> None:
    path = str(tmp_path / "writers.sqlite3")
    connection = await connect(path, WriteLock(5))
    other_process = sqlite3.connect(path, isolation_level=None)
    seen_from_the_other_process = WaitingWriters(path)
    try:
        await connection.run("CREATE TABLE notes (text TEXT)", ())
        assert not seen_from_the_other_process.any()
        other_process.execute("BEGIN IMMEDIATE")
        connection.begin_with_next_statement(read_only=False)
        writing = asyncio.create_task(connection.run("INSERT INTO notes VALUES ('waited')", ()))
        await asyncio.sleep(0.02)
        assert seen_from_the_other_process.any()
        other_process.execute("COMMIT")
        await asyncio.wait_for(writing, 0.25)
        await connection.commit()
        await asyncio.sleep(STILL_WAITING * 2)
        assert not seen_from_the_other_process.any()
    finally:
        other_process.close()
        await connection.close()


async def test_a_long_job_lets_a_writer_of_another_process_in_between_its_transactions(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.sqlite3'}"
    job_engine, bot_engine = create_engine(url), create_engine(url)  # two engines: two processes' write locks
    job = UnitOfWork(create_session_factory(job_engine), ManualClock(datetime(2026, 12, 3, 9, tzinfo=timezone.utc)))
    try:
        async with job_engine.begin() as connection:
            await connection.execute(text("CREATE TABLE writes (id INTEGER PRIMARY KEY, writer TEXT)"))
        async with job:
            await job.session.execute(text("INSERT INTO writes (writer) VALUES ('job, first transaction')"))
            bot_writing = asyncio.create_task(_bot_writes(bot_engine))
            await asyncio.sleep(0.02)  # the bot's write now waits for the job's lock
            await job.commit()
        await job.let_others_write()
        async with job:
            await job.session.execute(text("INSERT INTO writes (writer) VALUES ('job, second transaction')"))
            await job.commit()
        await bot_writing
        async with job_engine.connect() as connection:
            writers = (await connection.execute(text("SELECT writer FROM writes ORDER BY id"))).scalars().all()
    finally:
        await job_engine.dispose()
        await bot_engine.dispose()
    assert writers == ["job, first transaction", "bot", "job, second transaction"]


async def _bot_writes(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO writes (writer) VALUES ('bot')"))
