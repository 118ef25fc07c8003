"""The one web server: Telegram's webhook, connected stores' webhooks, the merchant API, the merchant console,
the customers' Mini App, /healthz and /metrics."""

from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from telegram.ext import Application

from bot.composition import ChatDeps
from bot.metrics import BotMetrics
from bot.web.app_keys import DEPS, METRICS, TELEGRAM, WEBHOOK_INBOX
from bot.web.console.app import build_console
from bot.web.console.auth import CONSOLE_PREFIX
from bot.web.console.render import STATIC_DIR
from bot.web.failed_tokens import FAILED_TOKENS, FailedTokens, limit_failed_tokens
from bot.web.health import add_health_routes
from bot.web.json_errors import json_errors
from bot.web.merchant_api import build_merchant_api
from bot.web.mini_app.page import add_mini_app
from bot.web.openapi import API_PREFIX
from bot.web.proxies import behind_proxies, trusted_networks
from bot.web.store_webhooks import add_store_webhook_routes
from bot.web.telegram_webhook import add_webhook_route
from bot.web.url_text import refuse_nul_characters
from bot.webhook_inbox import WebhookInbox

MAX_BODY_BYTES = 1024 * 1024  # larger bodies are refused with 413 before they are read in full
MERCHANT_API = web.AppKey("merchant_api", web.Application)
FAVICON = STATIC_DIR / "favicon.svg"


def build_web_app(
    deps: ChatDeps,
    telegram: Application | None = None,  # type: ignore[type-arg]
    metrics: BotMetrics | None = None,
) -> web.Application:
    """The server's routes on `deps`' database; with `telegram`, the webhook feeding it, and its metrics."""
    metrics = metrics or BotMetrics()
    proxies = behind_proxies(trusted_networks(deps.settings.trusted_proxies))
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[proxies, _count_requests, json_errors, refuse_nul_characters, limit_failed_tokens],
    )
    app[DEPS] = deps
    app[FAILED_TOKENS] = FailedTokens(deps.settings.failed_tokens_per_hour)
    app[METRICS] = metrics
    add_health_routes(app, deps, metrics)
    if telegram is not None:
        app[TELEGRAM] = telegram
        metrics.instrument(telegram)
        inbox = None
        if deps.session_factory.kw["bind"].dialect.name == "postgresql":  # where several instances may serve
            inbox = app[WEBHOOK_INBOX] = WebhookInbox(telegram, deps)
            app.cleanup_ctx.append(lambda _: inbox.running())
        add_webhook_route(app, telegram, deps.settings.webhook_secret, inbox)
    add_store_webhook_routes(app, deps)
    api = build_merchant_api(default_language=deps.policy.default_language)
    app[MERCHANT_API] = api
    app.add_subapp(API_PREFIX, api)
    app.add_subapp(CONSOLE_PREFIX, build_console(deps))
    add_mini_app(app)
    app.router.add_get("/favicon.ico", favicon)
    return app


async def favicon(request: web.Request) -> web.Response:
    """The icon browsers ask every site for, so their tab shows one and the log no 404."""
    return web.Response(
        body=FAVICON.read_bytes(), content_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


@web.middleware
async def _count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every answer by method, route (its pattern, not the concrete path) and status."""
    response = await handler(request)
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    metrics = request.config_dict[METRICS]
    metrics.http_requests.labels(method=request.method, route=route, status=str(response.status)).inc()
    return response


def web_runner(app: web.Application, **options: Any) -> web.AppRunner:
    """The runner every serving command uses: without aiohttp's access log, whose request lines would carry
    the e-mail address of `GET /api/v1/customers/export?email=…` into the logs."""
    return web.AppRunner(app, access_log=None, **options)
