"""GET /healthz for the load balancer or orchestrator, GET /metrics for Prometheus."""

import asyncio
import hmac
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.composition import ChatDeps
from bot.metrics import BotMetrics
from bot.services.monitoring import check_database, outbox_counts
from bot.web.json_errors import error_response
from db.models import OutboxStatus

log = logging.getLogger(__name__)

# A database that takes longer than this to say SELECT 1 is as good as down to whoever is asking.
DATABASE_TIMEOUT_SECONDS = 5.0


def add_health_routes(app: web.Application, deps: ChatDeps, metrics: BotMetrics) -> None:
    async def healthz(request: web.Request) -> web.Response:
        """200 when the database answers, else 503."""
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
                await check_database(deps.uow())
        except Exception:  # noqa: BLE001 - whatever the reason, the answer is "unavailable"; the log says why
            log.warning("health check: the database did not answer", exc_info=True)
            return web.json_response({"status": "unavailable", "database": "down"}, status=503)
        return web.json_response({"status": "ok"})

    async def prometheus_metrics(request: web.Request) -> web.Response:
        """Every metric in Prometheus' text format; outbox counts are read from the database now."""
        if not _may_scrape(request, deps.settings.metrics_token):
            return error_response(
                401, "unauthorized", "Send METRICS_TOKEN as `Authorization: Bearer <token>`.", **{"WWW-Authenticate": "Bearer"}
            )
        metrics.set_outbox_counts(await _outbox_counts_or_none(deps))
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz, allow_head=False)
    app.router.add_get("/metrics", prometheus_metrics, allow_head=False)


def _may_scrape(request: web.Request, token: str) -> bool:
    """Without METRICS_TOKEN anyone may; with it, only a request bearing it (compared in constant time)."""
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def _outbox_counts_or_none(deps: ChatDeps) -> dict[OutboxStatus, int] | None:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            return await outbox_counts(deps.uow())
    except Exception:  # noqa: BLE001 - a scrape must still answer; backorder_database_up says what happened
        log.warning("metrics: could not read the outbox from the database", exc_info=True)
        return None
