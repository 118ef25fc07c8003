"""Updates received by webhook, handled once and in order per chat by whichever instance holds the chat.

Behind a load balancer a chat's consecutive updates can land on different instances. Each instance stores what
it receives before answering 200 (bot/services/conversations/update_inbox.py), then tries to take the chat's lease:
the holder handles the chat's stored updates oldest first, one at a time, and lets go once none are left; an
instance that finds the lease taken leaves its update to the holder, which looks again after letting go. A sweep
picks up the chats of an instance that died, once its lease has run out.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.composition import ChatDeps
from bot.services.conversations.update_inbox import (
    begin_handling,
    chat_lease,
    chats_with_updates_waiting,
    finish_handling,
    store_update,
    waiting_updates,
)
from bot.services.job_leases import drop_lease, hold_lease
from bot.services.outbox import new_worker_id

log = logging.getLogger(__name__)

# How long a chat stays with an instance that stopped renewing; renewed with every update it handles.
CHAT_LEASE = timedelta(seconds=10)
SWEEP_EVERY_SECONDS = 2.0
_BATCH = 20
STOP_SECONDS = 5.0


def chat_key(update: Update) -> int:
    """Which updates must be handled one after another: a chat's; else a user's; else all others together."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return 0


class WebhookInbox:
    """This instance's part in handling the bot's webhook updates; `running()` while the web server serves."""

    def __init__(self, application: Application, deps: ChatDeps, *, lease: timedelta = CHAT_LEASE) -> None:  # type: ignore[type-arg]
        self._application = application
        self._deps = deps
        self._lease = lease
        self.holder = new_worker_id("updates")
        self._draining: dict[int, asyncio.Task[None]] = {}
        self._look_again: set[int] = set()

    async def receive(self, update: Update, payload: dict[str, Any]) -> None:
        """Store the update (then Telegram may be told 200) and handle its chat's updates if no instance does."""
        key = chat_key(update)
        await store_update(self._deps.uow(), update.update_id, key, payload)
        self._drain(key)

    async def settled(self) -> None:
        """Return once this instance handles no chat (for tests and a clean stop)."""
        while self._draining:
            await asyncio.gather(*self._draining.values(), return_exceptions=True)

    async def running(self) -> AsyncIterator[None]:
        """An aiohttp cleanup context: the sweep runs while the server does; chats in hand finish on stop."""
        sweeping = asyncio.create_task(self._sweep(), name="webhook-inbox-sweep")
        yield
        sweeping.cancel()
        with suppress(asyncio.CancelledError):
            await sweeping
        with suppress(TimeoutError):
            await asyncio.wait_for(self.settled(), STOP_SECONDS)
        for task in list(self._draining.values()):
            task.cancel()  # what was begun is handled again by another instance (begin_handling)
        await asyncio.gather(*self._draining.values(), return_exceptions=True)

    def _drain(self, key: int) -> None:
        if key in self._draining:
            self._look_again.add(key)  # the running drain looks once more before it lets go
            return
        task = asyncio.create_task(self._drain_chat(key), name=f"updates-of-chat-{key}")
        self._draining[key] = task
        task.add_done_callback(lambda _: self._draining.pop(key, None))

    async def _drain_chat(self, key: int) -> None:
        uow = self._deps.uow
        try:
            while True:
                if await hold_lease(uow(), chat_lease(key), self.holder, self._lease) is None:
                    return  # another instance handles the chat and will find this update too
                try:
                    await self._handle_waiting(key)
                finally:
                    await drop_lease(uow(), chat_lease(key), self.holder)
                # An update stored while the lease was held here, by an instance that then found it taken, is
                # this instance's to handle: look once more now that the lease is free.
                more = await waiting_updates(uow(), key, 1)
                if not more and key not in self._look_again:
                    return
                self._look_again.discard(key)
        except Exception:  # noqa: BLE001 - the sweep tries the chat again
            log.exception("handling the updates of chat %s failed; trying again shortly", key)

    async def _handle_waiting(self, key: int) -> None:
        uow, application = self._deps.uow, self._application
        while batch := await waiting_updates(uow(), key, _BATCH):
            self._look_again.discard(key)
            for waiting in batch:
                await begin_handling(uow(), waiting, self.holder)
                update = Update.de_json(waiting.payload, application.bot)
                # Through the update processor, so this instance's limit on updates at once and its outbox's
                # giving way to them hold as for any update.
                await application.update_processor.process_update(update, application.process_update(update))
                await finish_handling(uow(), waiting.update_id)
                if await hold_lease(uow(), chat_lease(key), self.holder, self._lease) is None:
                    log.warning("chat %s was taken over while this instance handled it", key)
                    return

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_SECONDS)
            try:
                stale = self._deps.clock.now() - timedelta(seconds=SWEEP_EVERY_SECONDS)
                for key in await chats_with_updates_waiting(self._deps.uow(), stale):
                    self._drain(key)
            except Exception:  # noqa: BLE001 - the next sweep tries again
                log.exception("looking for chats whose updates wait failed")
