"""The private library members the bot stands on, checked so that an upgrade breaks here, loudly, by name.

bot/telegram_send.py posts through python-telegram-bot's `Bot._post`; db/aiosqlite_internals.py reaches
into aiosqlite's Connection. pyproject.toml keeps both libraries below their next major release; these tests
say what to look at when even a minor release moves something.
"""

import inspect
import sqlite3
from pathlib import Path
from queue import SimpleQueue
from threading import Thread, get_ident

import aiosqlite
import pytest
from telegram import Bot
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

from bot.render.screen import Screen
from bot.sandbox import FakeBotApi
from bot.telegram_send import post_screen
from db.aiosqlite_internals import on_thread, queue_on_thread, sqlite3_connection
from db.sqlite_connection import WriteLock, connect

PTB_POST = "python-telegram-bot changed Bot._post, which bot/telegram_send.py calls: adapt post_screen"
AIOSQLITE = "aiosqlite changed the private members db/aiosqlite_internals.py uses: adapt that module"


def test_ptb_still_has_the_private_post_that_post_screen_calls() -> None:
    parameters = inspect.signature(Bot._post).parameters

    assert inspect.iscoroutinefunction(Bot._post), PTB_POST
    assert list(parameters)[:3] == ["self", "endpoint", "data"], PTB_POST
    assert {"read_timeout", "write_timeout", "connect_timeout", "pool_timeout", "api_kwargs"} <= set(parameters), PTB_POST
    # The application's rate limiter and retries sit below _post, in the ExtBot's _do_post.
    assert "_do_post" in vars(ExtBot), PTB_POST


async def test_ptb_public_do_api_request_still_warns_for_send_message(fake_api: FakeBotApi) -> None:
    """Why post_screen is not written with the public `do_api_request`: it warns on every call for a method PTB
    has its own function for. When this fails, PTB stopped warning: switch post_screen to it."""
    user = fake_api.add_user("Ada")
    fake_api.send_text(user, "hi")
    async with Bot(fake_api.token, base_url=fake_api.base_url) as bot:
        with pytest.warns(PTBUserWarning, match="Please use 'Bot.sendMessage'"):
            await bot.do_api_request("sendMessage", {"chat_id": user.id, "text": "public"})
        answer = await post_screen(bot, "sendMessage", Screen("private"), chat_id=user.id)

    assert answer["text"] == "private"
    assert [message.text for message in fake_api.bot_messages(user.id)] == ["public", "private"]


def test_aiosqlite_connection_still_has_the_members_we_reach_for() -> None:
    members = vars(aiosqlite.Connection)

    assert inspect.iscoroutinefunction(members["_execute"]), AIOSQLITE
    assert isinstance(members["_conn"], property), AIOSQLITE
    assert list(inspect.signature(aiosqlite.Connection.__init__).parameters)[:3] == ["self", "connector", "iter_chunk_size"], AIOSQLITE
    connection = aiosqlite.Connection(lambda: sqlite3.connect(":memory:"), 64)
    assert isinstance(connection._tx, SimpleQueue) and isinstance(connection._thread, Thread), AIOSQLITE


async def test_the_internals_work_on_a_real_connection(tmp_path: Path) -> None:
    connection = await connect(str(tmp_path / "internals.sqlite3"), WriteLock(5), timeout=5)
    try:
        loop_thread = get_ident()
        raw = sqlite3_connection(connection)
        queued: list[int] = []

        thread = await on_thread(connection, lambda conn: (conn.execute("SELECT 1").fetchone(), get_ident()), raw)
        queue_on_thread(connection, lambda: queued.append(get_ident()))
        await on_thread(connection, lambda: None)  # runs after the queued one

        assert isinstance(raw, sqlite3.Connection), AIOSQLITE
        assert thread[0] == (1,) and thread[1] != loop_thread, AIOSQLITE
        assert queued == [thread[1]], AIOSQLITE
        assert connection._thread.daemon, AIOSQLITE  # let_the_process_exit_while_open, by connect()
    finally:
        await connection.close()
