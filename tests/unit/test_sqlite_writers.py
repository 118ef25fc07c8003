"""A writing transaction while another process holds SQLite's write lock: it goes in as soon as the lock is free,
and gives up with SQLite's own error once the busy timeout has passed."""

import asyncio
import sqlite3
from pathlib import Path

import pytest

from db.sqlite_connection import WriteLock, connect


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
