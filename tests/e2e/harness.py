"""End-to-end harness: the fake Bot API server and a real PTB `Application` long-polling it.

    async with fake_bot_api() as fake, running_bot(fake, build_my_app) as bot:
        update = fake.send_text(fake.add_user("Ada"), "hello")
        reply = await fake.wait_for_reply(update)

`build_my_app(fake)` builds the Application, typically from `application_builder(fake)`. Errors raised in
handlers are collected; any left untaken (`bot.take_errors()`) fail the block when it ends. Nothing here
sleeps for a fixed time: every wait is for something the server saw.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot.sandbox import FakeBotApi
from bot.sandbox.chat_objects import JSON

log = logging.getLogger(__name__)

AppFactory = Callable[[FakeBotApi], Application[Any, Any, Any, Any, Any, Any]]


@asynccontextmanager
async def fake_bot_api(**options: Any) -> AsyncIterator[FakeBotApi]:
    """A started FakeBotApi (options as for its constructor), stopped afterwards."""
    fake = FakeBotApi(**options)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    """A fresh fake server per test."""
    async with fake_bot_api() as fake:
        yield fake


def application_builder(fake: FakeBotApi, token: str | None = None) -> ApplicationBuilder:  # type: ignore[type-arg]
    """An ApplicationBuilder aimed at the fake server with its token (or `token`, to test a wrong one)."""
    return ApplicationBuilder().token(token or fake.token).base_url(fake.base_url).base_file_url(fake.base_file_url)


class RunningBot:
    """One Application at a time polling the fake server; `restart()` swaps in a fresh one from the factory."""

    def __init__(self, fake: FakeBotApi, factory: AppFactory, *, poll_timeout: int = 1, allowed_updates: list[str] | None = None) -> None:
        self.fake = fake
        self.factory = factory
        self.poll_timeout = poll_timeout
        self.allowed_updates = allowed_updates
        self.errors: list[BaseException] = []
        self._error_seen = asyncio.Event()
        self._application: Application[Any, Any, Any, Any, Any, Any] | None = None

    @property
    def application(self) -> Application[Any, Any, Any, Any, Any, Any]:
        if self._application is None:
            raise RuntimeError("the bot is not running")
        return self._application

    async def start(self) -> None:
        application = self.factory(self.fake)
        application.add_error_handler(self._collect_error)
        await application.initialize()
        await application.start()
        assert application.updater is not None, "the Application must be built with an Updater for polling"
        await application.updater.start_polling(poll_interval=0, timeout=self.poll_timeout, allowed_updates=self.allowed_updates)
        self._application = application

    async def stop(self) -> None:
        """Stop polling (confirming fetched updates), then the Application, as PTB's own shutdown does."""
        application, self._application = self._application, None
        if application is None:
            return
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

    async def restart(self) -> None:
        """A new process in miniature: the old Application stops and a fresh one polls the same server."""
        await self.stop()
        await self.start()

    async def settle(self, update: JSON | None = None, timeout: float = 5.0) -> None:
        """Wait until the bot has fetched `update` (default: every queued update) and finished handling it.

        PTB asks for more updates only after queueing the last batch, so once the server saw the offset
        confirm an update, it is in the Application's queue, and joining that queue waits out its handling.
        """
        if update is None:
            await self.fake.wait_until(lambda: self.fake.pending_update_count == 0, timeout, what="every update confirmed")
        else:
            await self.fake.wait_until(lambda: self.fake.is_confirmed(update), timeout, what=f"update {update['update_id']} confirmed")
        async with asyncio.timeout(timeout):
            await self.application.update_queue.join()

    async def wait_for_error(self, timeout: float = 5.0) -> BaseException:
        """The oldest untaken handler error, waiting for one if there is none yet; it is taken."""
        async with asyncio.timeout(timeout):
            while not self.errors:
                self._error_seen.clear()
                await self._error_seen.wait()
        return self.errors.pop(0)

    def take_errors(self) -> list[BaseException]:
        """The errors handlers raised so far (cleared, so they no longer fail the run)."""
        taken, self.errors = self.errors, []
        return taken

    async def _collect_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        log.warning("handler error for %r", update, exc_info=context.error)
        self.errors.append(context.error)
        self._error_seen.set()


@asynccontextmanager
async def running_bot(
    fake: FakeBotApi,
    factory: AppFactory,
    *,
    poll_timeout: int = 1,
    allowed_updates: list[str] | None = None,
) -> AsyncIterator[RunningBot]:
    """Start an Application from `factory` polling `fake`; stop it afterwards and fail on untaken handler errors."""
    running = RunningBot(fake, factory, poll_timeout=poll_timeout, allowed_updates=allowed_updates)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
    if running.errors:
        raise AssertionError(f"handlers raised {len(running.errors)} error(s): {running.errors!r}")


__all__ = ["AppFactory", "RunningBot", "application_builder", "fake_api", "fake_bot_api", "running_bot"]
