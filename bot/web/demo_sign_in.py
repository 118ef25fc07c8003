"""The demo's one-click console sign-in: one-time links that open a merchant console session.

`backorder-bot demo` prints one, and the sandbox page's "Console" button asks for a fresh one. A link holds a
random code of which this process keeps only the SHA-256 and expiry: it works once, for LINK_LIFETIME on the
demo's clock, and only through the POST of the page it opens, so a link preview fetching it does not use it
up. The session is that of the API token the demo keeps for its console (CONSOLE_TOKEN_NAME), whose secret
is never shown. Only the demo mounts these routes: anyone who can open its sandbox page can already act as
the shop's merchant there.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from bot.clock import Clock
from bot.services.audit import Actor
from bot.services.merchant_access.api_tokens import named_token
from bot.web.app_keys import DEPS
from bot.web.console.auth import CONSOLE_PREFIX, SessionSigner, see_other, start_session
from bot.web.console.render import environment

LINK_PATH = "/sandbox/console-sign-in"
NEW_LINK_PATH = "/sandbox/api/console-link"
LINK_LIFETIME = timedelta(minutes=30)
CONSOLE_TOKEN_NAME = "demo console (one-click sign-in)"
_ACTOR = Actor.system()


class SignInLinks:
    """The one-time codes handed out and not yet used, by their SHA-256, with when each expires."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._expiries: dict[str, datetime] = {}

    def issue(self) -> str:
        now = self._clock.now()
        self._expiries = {digest: expires for digest, expires in self._expiries.items() if expires > now}
        code = secrets.token_urlsafe(24)
        self._expiries[_digest(code)] = now + LINK_LIFETIME
        return code

    def usable(self, code: str) -> bool:
        expires = self._expiries.get(_digest(code))
        return expires is not None and expires > self._clock.now()

    def redeem(self, code: str) -> bool:
        """Use the code up: True once for a code issued here and not expired, False ever after."""
        expires = self._expiries.pop(_digest(code), None)
        return expires is not None and expires > self._clock.now()


def link_path(code: str) -> str:
    return f"{LINK_PATH}?{urlencode({'code': code})}"


SIGN_IN_LINKS = web.AppKey("demo_sign_in_links", SignInLinks)


def add_sign_in_links(app: web.Application, links: SignInLinks) -> None:
    """Mount the link's page, its sign-in and the sandbox page's request for a fresh link."""
    app[SIGN_IN_LINKS] = links
    app.router.add_get(LINK_PATH, sign_in_page)
    app.router.add_post(LINK_PATH, sign_in)
    app.router.add_post(NEW_LINK_PATH, new_link)


async def sign_in_page(request: web.Request) -> web.Response:
    """What the link opens: a button that signs in, or why the link no longer works."""
    code = request.query.get("code", "")
    return _page(code if request.app[SIGN_IN_LINKS].usable(code) else None)


async def sign_in(request: web.Request) -> web.StreamResponse:
    """Use the link's code up and open a console session for the demo's console token."""
    form = await request.post()
    code = form.get("code")
    if not isinstance(code, str) or not request.app[SIGN_IN_LINKS].redeem(code):
        return _page(None)
    deps = request.app[DEPS]
    token = await named_token(deps.uow(), CONSOLE_TOKEN_NAME, _ACTOR)
    response = see_other(CONSOLE_PREFIX)
    start_session(response, request, SessionSigner(deps.settings.secret_key), token)
    return response


async def new_link(request: web.Request) -> web.Response:
    """A fresh one-time link, for the sandbox page's script only (JSON, same origin)."""
    origin = request.headers.get("Origin")
    if request.content_type != "application/json" or (origin is not None and urlsplit(origin).netloc != request.host):
        raise web.HTTPForbidden(text="ask from the sandbox page")
    return web.json_response({"url": link_path(request.app[SIGN_IN_LINKS].issue())}, status=201)


def _page(code: str | None) -> web.Response:
    html = environment().get_template("sandbox_sign_in.html").render(code=code, lifetime_minutes=int(LINK_LIFETIME.total_seconds() // 60))
    return web.Response(
        text=html, status=200 if code else 410, content_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"},
    )


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()
