"""Updates of different chats handled side by side; each chat's and each user's updates one at a time, in order."""

import asyncio
import contextlib
from collections.abc import Awaitable, Coroutine, Iterable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates handled at once. Each holds at most one database connection at a time, so this stays below
# SQLAlchemy's default pool (5 + 10 overflow), leaving room for the support desk's and outbox's workers.
MAX_RUNNING_UPDATES = 8
# Updates taken from the queue: the running ones and those waiting for their chat's or user's previous update.
MAX_ACCEPTED_UPDATES = 512


class ChatOrderedUpdates(BaseUpdateProcessor):
    """Runs an update once every earlier update of its chat and of its user has finished.

    A user's updates share `context.user_data` and their row in the database, and a chat's messages must be
    answered (and relayed) in the order they were written; updates of other chats and users need not wait.
    PTB starts each update's task in the order the updates arrived, so that is the order they queue in.
    """

    def __init__(self, max_running: int = MAX_RUNNING_UPDATES, max_accepted: int = MAX_ACCEPTED_UPDATES) -> None:
        super().__init__(max_accepted)
        self._running = asyncio.BoundedSemaphore(max_running)
        self._handling = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        # The last accepted update of each chat and user, until it finishes: at most one entry per update in hand.
        self._last: dict[tuple[str, int], asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        keys = _keys(update)
        earlier = {self._last[key] for key in keys if key in self._last}
        finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for key in keys:
            self._last[key] = finished
        started = False
        try:
            if earlier:
                # asyncio.wait, unlike gather, leaves the awaited futures alone when this task is cancelled.
                await asyncio.wait(earlier)
            async with self._running:
                started = True
                self._handling += 1
                self._quiet.clear()
                try:
                    await coroutine
                finally:
                    self._handling -= 1
                    if not self._handling:
                        self._quiet.set()
        finally:
            if not started and isinstance(coroutine, Coroutine):
                coroutine.close()  # cancelled while waiting: the update is dropped, as PTB drops queued ones
            for key in keys:
                if self._last.get(key) is finished:
                    del self._last[key]
            _finish_after(finished, earlier)

    async def until_quiet(self, limit: float) -> None:
        """Return once no update is being handled, or after `limit` seconds at most.

        Work that can wait (the outbox) calls this before each step, so that in one process a customer's
        answer does not queue on the event loop behind a broadcast.
        """
        if self._quiet.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), limit)

    @property
    def chats_and_users_in_hand(self) -> int:
        """How many chats and users have an update running or waiting."""
        return len(self._last)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free: PTB waits for the updates in hand before it shuts down."""


def _keys(update: object) -> frozenset[tuple[str, int]]:
    """The chat and the user whose earlier updates this one must wait for; none for other kinds of update."""
    if not isinstance(update, Update):
        return frozenset()
    keys = set()
    if update.effective_chat is not None:
        keys.add(("chat", update.effective_chat.id))
    if update.effective_user is not None:
        keys.add(("user", update.effective_user.id))
    return frozenset(keys)


def _finish_after(finished: asyncio.Future[None], earlier: Iterable[asyncio.Future[None]]) -> None:
    """Mark this update finished, but never before the updates it waited for (it may have been cancelled)."""
    pending = [future for future in earlier if not future.done()]
    if not pending:
        finished.set_result(None)
        return
    waiting = asyncio.ensure_future(asyncio.wait(pending))
    waiting.add_done_callback(lambda _: finished.set_result(None))
