"""The demo's one-click console sign-in: one-time links that open a merchant console session.

`backorder-bot demo` prints one, and the sandbox page's "Console" button asks for a fresh one. A link holds a
random code of which this process keeps only the SHA-256 and expiry: it works once, for LINK_LIFETIME on the
demo's clock, and only through the POST of the page it opens, so a link preview fetching it does not use it
up. The session is that of the API token the demo keeps for its console (CONSOLE_TOKEN_NAME), whose secret
is never shown. Only the demo mounts these routes: anyone who can open its sandbox page can already act as
the shop's merchant there.
"""

from urllib.parse import urlsplit

from aiohttp import web

from bot.demo_sign_in_links import LINK_LIFETIME, LINK_PATH, SignInLinks, link_path
from bot.services.audit import Actor
from bot.services.merchant_access.api_tokens import named_token
from bot.web.app_keys import DEPS
from bot.web.console.auth import CONSOLE_PREFIX, SessionSigner, see_other, start_session
from bot.web.console.render import environment

NEW_LINK_PATH = "/sandbox/api/console-link"
CONSOLE_TOKEN_NAME = "demo console (one-click sign-in)"
_ACTOR = Actor.system()


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
