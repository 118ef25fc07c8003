"""POST /telegram/webhook: Telegram delivers updates here; each is checked, parsed and stored or queued for the bot.

Telegram sends the secret given to setWebhook in `X-Telegram-Bot-Api-Secret-Token`; a request without it, or
with another, is refused before its body is read, so nobody else can feed the bot updates.
"""

import hmac
import logging

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.json_input import loads_json
from bot.web.json_errors import error_response
from bot.webhook_inbox import WebhookInbox

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def add_webhook_route(
    app: web.Application, telegram: Application, secret: str, inbox: WebhookInbox | None = None  # type: ignore[type-arg]
) -> None:
    """Accept updates for `telegram` on WEBHOOK_PATH; with an empty `secret` every request is refused.

    With an `inbox` (PostgreSQL, where several instances may serve) an update is stored before the 200 and handled
    by whichever instance holds its chat; without one (SQLite: one instance) it is queued for this bot.
    """
    expected = secret.encode("utf-8")

    async def receive_update(request: web.Request) -> web.Response:
        """Queue one update for the bot; 200 tells Telegram not to deliver it again."""
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return error_response(401, "missing_secret", f"The {SECRET_HEADER} header is missing.")
        # Compared in constant time, so the secret cannot be guessed from how fast a wrong one is refused.
        if not expected or not hmac.compare_digest(given.encode("utf-8"), expected):
            return error_response(403, "wrong_secret", f"The {SECRET_HEADER} header is wrong.")
        try:
            payload = loads_json(await request.read())
            update = Update.de_json(payload, telegram.bot) if _looks_like_update(payload) else None
        except (ValueError, TypeError, KeyError, AttributeError) as malformed:
            log.warning("refused a malformed webhook update: %s", type(malformed).__name__)  # its text may quote the body
            update = None
        if update is None:
            return error_response(400, "malformed_update", "The body is not a Telegram update.")
        if inbox is not None:
            await inbox.receive(update, payload)
        else:
            await telegram.update_queue.put(update)
        return web.json_response({"ok": True})

    app.router.add_post(WEBHOOK_PATH, receive_update)


def _looks_like_update(payload: object) -> bool:
    return isinstance(payload, dict) and type(payload.get("update_id")) is int
