"""The console as an aiohttp application: its sections in navigation order, the session check, and error pages.

A new section is a module beside these with its `routes` and `SECTION`, listed in SECTIONS below.
"""

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.composition import ChatDeps
from bot.i18n import N_
from bot.web.console import (
    backorders,
    broadcasts,
    delay_notices,
    purchase_orders,
    reorder,
    sign_in,
    stores,
    suppliers,
    telegram,
    tickets,
    to_do,
    webhooks,
)
from bot.web.console.auth import CONSOLE_SESSION, SIGNER, SessionSigner, require_session
from bot.web.console.form_once import once_per_form
from bot.web.console.page import NAVIGATION, Section
from bot.web.console.render import STATIC_DIR, console_language, render

log = logging.getLogger(__name__)

SECTIONS: tuple[Section, ...] = (
    backorders.SECTION,
    to_do.SECTION,
    purchase_orders.SECTION,
    suppliers.SECTION,
    reorder.SECTION,
    broadcasts.SECTION,
    delay_notices.SECTION,
    tickets.SECTION,
    stores.SECTION,
    webhooks.SECTION,
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self';"
        " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
# Telegram Web shows a Mini App in an iframe of its own page, and the sandbox in one of this origin's.
FRAMED_BY_TELEGRAM = {
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"].replace(
        "frame-ancestors 'none'", "frame-ancestors 'self' https://web.telegram.org"
    ),
}


def build_console(deps: ChatDeps) -> web.Application:
    """The console as an aiohttp application, to be mounted at CONSOLE_PREFIX."""
    console = web.Application(middlewares=[console_language, html_pages, require_session, once_per_form])
    if deps.settings.secret_key.strip():
        console[SIGNER] = SessionSigner(deps.settings.secret_key)
    else:
        log.warning("console: SECRET_KEY is not set, so nobody can sign in to /console")
    console[NAVIGATION] = SECTIONS
    console.add_routes(sign_in.routes)
    console.add_routes(telegram.routes)
    for section in SECTIONS:
        console.add_routes(section.routes)
    console.router.add_static("/static", STATIC_DIR)
    return console


@web.middleware
async def html_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals and failures as console pages rather than JSON, and the security headers on every answer."""
    try:
        response = await handler(request)
    except web.HTTPException as refused:
        if refused.status < 400:
            raise
        response = render("error", refused.status, session=None, title=refused.reason, message=_refusal(refused))
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        response = render(
            "error", 500, session=None, title=N_("Something went wrong"),
            message=N_("Something went wrong on our side; nothing was changed by this page. Try again later."),
        )
    response.headers.update(SECURITY_HEADERS)
    if _in_telegram(request):
        response.headers.update(FRAMED_BY_TELEGRAM)
        del response.headers["X-Frame-Options"]
    return response


def _in_telegram(request: web.Request) -> bool:
    """The Mini App's own page, or a page of a session opened as a Mini App: the only ones Telegram may frame."""
    session = request.get(CONSOLE_SESSION)
    return request.path.startswith(telegram.TELEGRAM_PATH) or (session is not None and session.in_telegram)


def _refusal(refused: web.HTTPException) -> str:
    if refused.status == 404:
        return N_("There is no such page in the console.")
    if refused.status == 405:
        return N_("This page cannot be used that way.")
    return refused.text or refused.reason
