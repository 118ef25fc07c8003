"""POST /connectors/{platform}/webhooks: a connected store's webhooks, verified before they are parsed, queued,
and answered at once (stores give a webhook a few seconds); the connector worker applies them later.

Answers: 200 queued or a repeat (so the store stops retrying it); 401 unsigned or badly signed; 404 no store of
that platform is connected; 413 a body over the server's limit.
"""

import logging
import time
from collections.abc import Callable

from aiohttp import web

from bot.composition import ChatDeps
from bot.connectors.registry import Platform, platforms
from bot.services.connectors import ConnectionConfig, WebhookVerifier, connection_config, queue_webhook
from bot.services.connectors.store_records import WebhookRefused
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


def add_store_webhook_routes(app: web.Application, deps: ChatDeps) -> None:
    connections = _Connections(deps)
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
        queued = await queue_webhook(deps.uow(), config.id, received)
        return web.json_response({"ok": True, "queued": queued})

    app.router.add_post(WEBHOOK_PATH, receive_store_webhook)
