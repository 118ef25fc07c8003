"""The webhook workers: one loop per active endpoint, so a slow or dead endpoint only ever waits for itself.

Each loop copies new events into the endpoint's deliveries, leases a batch of due ones, posts them side by side
and books the outcomes. State lives in the database, so a restart or a second process carries on.
"""

import asyncio
import logging
from collections.abc import Callable

from bot.services.unit_of_work import UnitOfWork
from bot.services.webhooks.deliveries import EndpointTarget, active_endpoints, claim, fan_out, record_outcomes
from bot.webhook_delivery.sender import WebhookSender

log = logging.getLogger(__name__)

BATCH = 100
LOOPS_PER_ENDPOINT = 4  # batches in flight per endpoint; claims lease disjoint deliveries, an order's one at a time
IDLE_SECONDS = 1.0  # how often an endpoint with nothing due looks again, and the endpoint list is read


class WebhookWorker:
    def __init__(
        self, uow: Callable[[], UnitOfWork], sender: WebhookSender, batch: int = BATCH, loops: int = LOOPS_PER_ENDPOINT
    ) -> None:
        self._uow = uow
        self._sender = sender
        self._batch = batch
        self._loops = loops

    async def deliver_due(self, target: EndpointTarget) -> int:
        """One round for one endpoint: copy new events, send what is due; how many were attempted."""
        await fan_out(self._uow(), target.id)
        jobs = await claim(self._uow(), target.id, self._batch)
        if not jobs:
            return 0
        outcomes = await asyncio.gather(*(self._sender.send(target, job) for job in jobs))
        await record_outcomes(self._uow(), target.id, outcomes)
        return len(jobs)

    async def serve_endpoint(self, target: EndpointTarget, idle_seconds: float = IDLE_SECONDS) -> None:
        """Deliver to one endpoint until cancelled, a few batches at a time."""
        await asyncio.gather(*(self._serve(target, idle_seconds) for _ in range(self._loops)))

    async def _serve(self, target: EndpointTarget, idle_seconds: float) -> None:
        while True:
            try:
                attempted = await self.deliver_due(target)
            except Exception:  # noqa: BLE001 - logged; the leases expire and the next round retries
                log.exception("webhook delivery to endpoint %d failed", target.id)
                attempted = 0
            if not attempted:
                await asyncio.sleep(idle_seconds)

    async def run(self, idle_seconds: float = IDLE_SECONDS) -> None:
        """Keep one loop per active endpoint (started, restarted on a new secret, stopped when disabled) until cancelled."""
        loops: dict[EndpointTarget, asyncio.Task[None]] = {}
        try:
            while True:
                try:
                    targets = set(await active_endpoints(self._uow()))
                except Exception:  # noqa: BLE001 - the database may be briefly away; look again shortly
                    log.exception("could not read the webhook endpoints")
                    targets = set(loops)
                for gone in set(loops) - targets:
                    loops.pop(gone).cancel()
                for target in targets - set(loops):
                    loops[target] = asyncio.create_task(self.serve_endpoint(target, idle_seconds), name=f"webhook-{target.id}")
                await asyncio.sleep(idle_seconds)
        finally:
            for loop in loops.values():
                loop.cancel()
            await asyncio.gather(*loops.values(), return_exceptions=True)


async def run_webhook_delivery(uow: Callable[[], UnitOfWork]) -> None:
    """Deliver merchant webhooks until cancelled (a chore beside the bot; see bot/background.py)."""
    async with WebhookSender() as sender:
        await WebhookWorker(uow, sender).run()
