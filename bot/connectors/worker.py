"""The store connectors' work beside the bot: queued webhooks applied, changes written back to the store, and a
periodic reconcile of what the store changed (for webhooks a store never sent, or gave up on)."""

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from bot.connectors.registry import platform
from bot.services.connectors import (
    ConnectionConfig,
    StoreAdapter,
    WebhookOutcome,
    apply_store_changes,
    claim_webhooks,
    claim_write_backs,
    fan_out_write_backs,
    finish_webhooks,
    finish_write_back,
    forget_old_webhooks,
    live_connections,
    note_store_health,
    note_synced,
)
from bot.services.connectors.store_records import StoreError, StoreRefused, StoreUnavailable
from bot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

WEBHOOK_BATCH = 50
WRITE_BACK_BATCH = 10
IDLE_SECONDS = 1.0
RECONCILE_EVERY = timedelta(minutes=15)
_SKIPPED_ONLY = "older than the last skipped"


class ConnectorWorker:
    """One pass at a time over every live connection; `run` loops until cancelled."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        adapter_for: Callable[[ConnectionConfig], StoreAdapter] | None = None,
        *,
        reconcile_every: timedelta | None = RECONCILE_EVERY,
    ) -> None:
        self._uow = uow
        self._adapter_for = adapter_for or (lambda config: platform(config.platform).adapter(config))
        self._adapters: dict[int, tuple[ConnectionConfig, StoreAdapter]] = {}
        self._reconcile_every = reconcile_every

    async def run(self, idle_seconds: float = IDLE_SECONDS) -> None:
        try:
            while True:
                try:
                    busy = await self.run_once()
                except Exception:  # noqa: BLE001 - the loop outlives a bad pass; the next one tries again
                    log.exception("the store connector pass failed")
                    busy = 0
                if not busy:
                    await asyncio.sleep(idle_seconds)
        finally:
            await self.aclose()

    async def run_once(self) -> int:
        """Apply due webhooks and write back due changes of every connection; how many were handled."""
        handled = 0
        for config in await live_connections(self._uow()):
            adapter = await self._adapter(config)
            handled += await self.apply_webhooks(config, adapter)
            handled += await self.write_back(config, adapter)
            await self._reconcile_if_due(config, adapter)
        return handled

    async def apply_webhooks(self, config: ConnectionConfig, adapter: StoreAdapter) -> int:
        queued = await claim_webhooks(self._uow(), config.id, WEBHOOK_BATCH)
        outcomes = []
        for webhook in queued:
            try:
                changes = adapter.parse_webhook(webhook.topic, webhook.payload)
            except (ValueError, KeyError, TypeError) as unreadable:
                outcomes.append(WebhookOutcome(webhook.id, f"unreadable {webhook.topic} payload: {unreadable!r}", final=True))
                continue
            try:
                report = await apply_store_changes(self._uow(), config, changes)
            except Exception as failed:  # noqa: BLE001 - booked on the webhook and retried with backoff
                log.exception("applying a %s webhook failed", webhook.topic)
                outcomes.append(WebhookOutcome(webhook.id, f"{type(failed).__name__}: {failed}"))
                continue
            skipped = bool(report.counts) and all(_SKIPPED_ONLY in what for what in report.counts)
            outcomes.append(WebhookOutcome(webhook.id, skipped=skipped))
            for problem in report.problems:
                log.warning("store %s: %s", config.shop, problem)
        await finish_webhooks(self._uow(), outcomes)
        return len(queued)

    async def write_back(self, config: ConnectionConfig, adapter: StoreAdapter) -> int:
        await fan_out_write_backs(self._uow(), config.id)
        jobs = await claim_write_backs(self._uow(), config, WRITE_BACK_BATCH)
        for job in jobs:
            if job.request is None:  # an order the store does not have (imported from a file, say)
                await finish_write_back(self._uow(), config, job, error="not an order of the connected store", retry=False)
                continue
            try:
                result = await adapter.write_back(job.request)
            except StoreUnavailable as down:
                await finish_write_back(self._uow(), config, job, error=down.message, steps=down.steps)
                await note_store_health(self._uow(), config.id, down.message)
                continue
            except StoreRefused as refused:
                await finish_write_back(self._uow(), config, job, error=refused.message, retry=False, steps=refused.steps)
                await note_store_health(self._uow(), config.id, refused.message)
                continue
            await finish_write_back(self._uow(), config, job, result)
            await note_store_health(self._uow(), config.id, None)
        return len(jobs)

    async def _reconcile_if_due(self, config: ConnectionConfig, adapter: StoreAdapter) -> None:
        if self._reconcile_every is None:
            return
        now = self._uow().clock.now()
        if config.last_sync_at is not None and now - config.last_sync_at < self._reconcile_every:
            return
        try:
            changes = await adapter.changes_since(config.last_sync_at or now - self._reconcile_every)
            await apply_store_changes(self._uow(), config, changes)
        except StoreError as failed:
            await note_store_health(self._uow(), config.id, failed.message)
            return
        await note_synced(self._uow(), config.id, now)
        await forget_old_webhooks(self._uow())

    async def _adapter(self, config: ConnectionConfig) -> StoreAdapter:
        known = self._adapters.get(config.id)
        if known is not None and known[0].same_store(config):
            return known[1]
        if known is not None:
            await known[1].aclose()
        adapter = self._adapter_for(config)
        self._adapters[config.id] = (config, adapter)
        return adapter

    async def aclose(self) -> None:
        for _, adapter in self._adapters.values():
            await adapter.aclose()
        self._adapters.clear()


async def run_store_connectors(uow: Callable[[], UnitOfWork]) -> None:
    """The worker's loop, for `serve`: every live connection, until cancelled."""
    await ConnectorWorker(uow).run()
