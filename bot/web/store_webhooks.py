"""POST /connectors/{platform}/webhooks: a connected store's webhooks, verified before they are parsed, queued,
and answered at once (stores give a webhook a few seconds); the connector worker applies them later.

Answers: 200 queued or a repeat (so the store stops retrying it); 401 unsigned or badly signed; 404 no store of
that platform is connected; 413 a body over the server's limit.
"""

import asyncio
import logging
import time
from collections.abc import Callable

from aiohttp import web

from bot.composition import ChatDeps
from bot.connectors.registry import Platform, platforms
from bot.services.connectors import ConnectionConfig, WebhookVerifier, connection_config, queue_webhooks
from bot.services.connectors.store_records import ReceivedWebhook, WebhookRefused
from bot.web.json_errors import error_response

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/connectors/{platform}/webhooks"
CONNECTION_TTL_SECONDS = 30.0  # a changed secret or a new connection is seen within this long


class _Connections:
    """The connection (and its verifier) each platform and shop's webhooks are for, read again every few seconds:
    reading it per request would cost a query each, at hundreds of webhooks a second."""

    def __init__(self, deps: ChatDeps, clock: Callable[[], float] = time.monotonic) -> None:
        self._deps = deps
        self._clock = clock
        self._known: dict[tuple[str, str | None], tuple[float, ConnectionConfig | None, WebhookVerifier | None]] = {}

    async def find(self, found: Platform, shop: str | None) -> tuple[ConnectionConfig | None, WebhookVerifier | None]:
        key = (found.name, shop)
        cached = self._known.get(key)
        if cached is not None and self._clock() - cached[0] < CONNECTION_TTL_SECONDS:
            return cached[1], cached[2]
        config = await connection_config(self._deps.uow(), found.name, shop)
        verifier = found.verifier(config) if config is not None else None
        self._known[key] = (self._clock(), config, verifier)
        return config, verifier


class _Queue:
    """Webhooks queued in batches: what arrives while a commit is on its way goes in the next one, so a burst of
    deliveries costs a commit per batch instead of one each. Each is answered once its batch has committed."""

    MAX_BATCH = 500

    def __init__(self, deps: ChatDeps) -> None:
        self._deps = deps
        self._waiting: list[tuple[int, ReceivedWebhook, asyncio.Future[bool]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def put(self, connection_id: int, received: ReceivedWebhook) -> bool:
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((connection_id, received, answer))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="store-webhook-queue")
        return await answer

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.MAX_BATCH], self._waiting[self.MAX_BATCH :]
            try:
                queued = await queue_webhooks(self._deps.uow(), [(connection_id, received) for connection_id, received, _ in batch])
            except Exception as failed:  # noqa: BLE001 - every webhook of the batch gets the error (a 500: the store retries)
                for _, _, answer in batch:
                    if not answer.done():
                        answer.set_exception(failed)
                continue
            for (_, _, answer), new in zip(batch, queued, strict=True):
                if not answer.done():
                    answer.set_result(new)


def add_store_webhook_routes(app: web.Application, deps: ChatDeps) -> None:
    connections = _Connections(deps)
    queue = _Queue(deps)
    known = platforms()

    async def receive_store_webhook(request: web.Request) -> web.Response:
        """Verify, queue, answer; nothing else happens while the store waits."""
        found = known.get(request.match_info["platform"])
        if found is None:
            return error_response(404, "unknown_platform", "No such store platform.")
        config, verifier = await connections.find(found, found.shop_of(request.headers))
        if config is None or verifier is None:
            return error_response(404, "not_connected", f"No {found.name} store is connected.")
        body = await request.read()
        try:
            received = verifier.verify(request.headers, body)
        except WebhookRefused as refused:
            log.warning("refused a %s webhook: %s", found.name, refused.reason)
            return error_response(refused.status, "webhook_refused", refused.reason)
        if received.ping:
            return web.json_response({"ok": True})
        queued = await queue.put(config.id, received)
        return web.json_response({"ok": True, "queued": queued})

    app.router.add_post(WEBHOOK_PATH, receive_store_webhook)
