"""Signing in to the merchant console with an API token, and staying signed in.

The session is a cookie (HttpOnly, SameSite=Strict, path /console) holding the token's id and prefix, a random
session id and an expiry, signed with HMAC-SHA256 under a key derived from SECRET_KEY. The token itself is
never in it. Every request checks the signature, the expiry and that the token still works, so revoking a
token signs out every console session opened with it.

Every form that changes something carries a per-session CSRF token (an HMAC of the session id) and is refused
without it; SameSite=Strict already keeps the cookie off other sites' requests, the form token makes sure.
The sign-in form itself is tied to the browser that loaded it the same way, through a short-lived cookie,
so another site cannot sign a merchant in with its own token.

Opened as a Telegram Mini App (bot/web/console/telegram.py), the session is the same kind: it stands for an API
token the server keeps for that Telegram user, whose secret nobody sees, and its claims add who signed in and
as what (`merchant`, or `agent`: the ticket pages only). Telegram Web shows Mini Apps in an iframe of
web.telegram.org, where a SameSite=Strict or Lax cookie is never sent; so over HTTPS those sessions' cookies are
SameSite=None; Secure. Such a cookie goes along with requests other sites' pages make, which is why every form
still carries its token and a foreign Origin is refused: SameSite no longer does that part of the work there.
(Partitioned, CHIPS, would keep the cookie to Telegram's frame; Python's http.cookies learns it in 3.14. A
browser that blocks third-party cookies outright, such as Safari, needs the Telegram app rather than Telegram
Web, whose own webviews open the console as a top-level page.) Over plain HTTP (the sandbox, which frames the
console from its own origin) they stay SameSite=Strict, as browsers refuse SameSite=None without Secure.
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.services.audit import Actor
from bot.services.merchant_access.api_tokens import TokenInfo, active_token
from bot.web.app_keys import DEPS
from bot.web.console.render import render

CONSOLE_PREFIX = "/console"
SIGN_IN_PATH = f"{CONSOLE_PREFIX}/sign-in"
SESSION_COOKIE = "bd_console"
SIGN_IN_COOKIE = "bd_console_sign_in"
SESSION_LIFETIME = timedelta(hours=12)
SIGN_IN_FORM_LIFETIME = timedelta(hours=1)
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
_KEY_CONTEXT = b"backorder-desk merchant console session v1"  # keeps these signatures apart from link tokens'
_OPEN = "_console_open_without_session"
_FOR_AGENTS = "_console_open_to_agents"
ROLE_MERCHANT = "merchant"
ROLE_AGENT = "agent"


@dataclass(frozen=True)
class SessionClaims:
    """What the session cookie says, once its signature has been checked."""

    token_id: int
    token_prefix: str
    session_id: str
    expires_at: datetime
    telegram_user_id: int | None = None  # signed in as a Mini App by this Telegram user
    role: str = ROLE_MERCHANT


@dataclass(frozen=True)
class ConsoleSession:
    """The signed-in merchant: the token they signed in with, and this session's form token."""

    token: TokenInfo
    claims: SessionClaims
    csrf: str

    @property
    def in_telegram(self) -> bool:
        """Opened as a Telegram Mini App rather than with a token typed into the sign-in form."""
        return self.claims.telegram_user_id is not None

    @property
    def is_agent(self) -> bool:
        return self.claims.role == ROLE_AGENT

    @property
    def actor(self) -> Actor:
        """Who the audit log names for changes made in the console."""
        return Actor.merchant(f"console:api-token:{self.token.id}")


CONSOLE_SESSION = web.RequestKey("console_session", ConsoleSession)


class SessionSigner:
    """Seals and opens session cookies and makes form tokens, all under one key derived from SECRET_KEY."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key.strip():
            raise ValueError("the console needs SECRET_KEY")
        self._key = hmac.new(secret_key.encode("utf-8"), _KEY_CONTEXT, hashlib.sha256).digest()

    def seal(self, claims: SessionClaims) -> str:
        fields: list[object] = [claims.token_id, claims.token_prefix, claims.session_id, int(claims.expires_at.timestamp())]
        if claims.telegram_user_id is not None:
            fields += [claims.telegram_user_id, claims.role]
        payload = _b64(json.dumps(fields).encode("utf-8"))
        return f"{payload}.{self._sign('session', payload)}"

    def open(self, value: str, now: datetime) -> SessionClaims | None:
        """The claims of a cookie this server sealed and that has not expired, else None."""
        payload, _, signature = value.partition(".")
        if not hmac.compare_digest(signature, self._sign("session", payload)):
            return None
        try:
            token_id, prefix, session_id, expires, *telegram = json.loads(_unb64(payload))
            claims = SessionClaims(int(token_id), str(prefix), str(session_id), datetime.fromtimestamp(int(expires), now.tzinfo))
            if telegram:
                user_id, role = telegram
                if role not in (ROLE_MERCHANT, ROLE_AGENT):
                    return None
                claims = replace(claims, telegram_user_id=int(user_id), role=role)
        except (ValueError, TypeError, binascii.Error):
            return None
        return claims if claims.expires_at > now else None

    def form_token(self, purpose: str, nonce: str) -> str:
        return self._sign(f"form:{purpose}", nonce)

    def form_token_matches(self, purpose: str, nonce: str, given: str) -> bool:
        return bool(nonce) and hmac.compare_digest(given, self.form_token(purpose, nonce))

    def _sign(self, purpose: str, text: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}\n{text}".encode("utf-8"), hashlib.sha256).digest())


SIGNER = web.AppKey("console_signer", SessionSigner)


def open_without_session(handler: Handler) -> Handler:
    """Mark a console handler a signed-out browser may reach, such as the sign-in page (static files are open too)."""
    setattr(handler, _OPEN, True)
    return handler


def open_to_agents(handler: Handler) -> Handler:
    """Mark a console handler an agent's session may use too (the ticket pages); every other one is merchants' only."""
    setattr(handler, _FOR_AGENTS, True)
    return handler


def console_session(request: web.Request) -> ConsoleSession:
    return request[CONSOLE_SESSION]


def signer_of(request: web.Request) -> SessionSigner | None:
    """The app's signer; None when SECRET_KEY is not set and the console cannot sign anyone in."""
    return request.config_dict.get(SIGNER)


def start_session(
    response: web.StreamResponse,
    request: web.Request,
    signer: SessionSigner,
    token: TokenInfo,
    *,
    telegram_user_id: int | None = None,
    role: str = ROLE_MERCHANT,
) -> None:
    """Sign the browser in as `token` (for a Mini App: as that Telegram user, in that role): set the session
    cookie and drop the sign-in form's cookie."""
    now = request.config_dict[DEPS].clock.now()
    claims = SessionClaims(token.id, token.prefix, secrets.token_urlsafe(18), now + SESSION_LIFETIME, telegram_user_id, role)
    set_session_cookie(response, request, SESSION_COOKIE, signer.seal(claims), SESSION_LIFETIME, in_telegram=telegram_user_id is not None)
    response.del_cookie(SIGN_IN_COOKIE, path=CONSOLE_PREFIX)


def end_session(response: web.StreamResponse, request: web.Request | None = None, *, in_telegram: bool = False) -> None:
    """Drop the session cookie; a Mini App's with the attributes it was set with, or Telegram Web's frame keeps it."""
    if in_telegram and request is not None:
        set_session_cookie(response, request, SESSION_COOKIE, "", timedelta(0), in_telegram=True)
    else:
        response.del_cookie(SESSION_COOKIE, path=CONSOLE_PREFIX)


def sign_in_nonce(request: web.Request) -> str:
    """The nonce that ties a sign-in form to this browser: the one its cookie already holds, or a new one."""
    nonce = request.cookies.get(SIGN_IN_COOKIE, "")
    return nonce if len(nonce) >= 16 else secrets.token_urlsafe(18)


def keep_sign_in_nonce(response: web.StreamResponse, request: web.Request, nonce: str) -> None:
    _set_cookie(response, request, SIGN_IN_COOKIE, nonce, SIGN_IN_FORM_LIFETIME)


def sign_in_form_is_ours(request: web.Request, signer: SessionSigner, given: str) -> bool:
    """The sign-in form was sent by the browser it was given to (login CSRF)."""
    return signer.form_token_matches("sign-in", request.cookies.get(SIGN_IN_COOKIE, ""), given)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path on this site, never anywhere else."""
    if not target:
        return CONSOLE_PREFIX
    parts = urlsplit(target)
    same_site = not parts.scheme and not parts.netloc and not target.startswith("//") and "\\" not in target
    in_console = parts.path == CONSOLE_PREFIX or parts.path.startswith(CONSOLE_PREFIX + "/")
    if same_site and in_console and not parts.path.startswith(SIGN_IN_PATH):
        return target
    return CONSOLE_PREFIX


@web.middleware
async def require_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Let a request through only with a valid session whose token still works, and forms only with their token."""
    if getattr(request.match_info.handler, _OPEN, False) or isinstance(request.match_info.route.resource, web.StaticResource):
        return await handler(request)
    signer = signer_of(request)
    deps = request.config_dict[DEPS]
    cookie = request.cookies.get(SESSION_COOKIE)
    claims = signer.open(cookie, deps.clock.now()) if signer is not None and cookie else None
    token = await active_token(deps.uow(), claims.token_id, claims.token_prefix) if claims is not None else None
    if signer is None or claims is None or token is None or not _still_allowed(request, claims):
        return _signed_out(request, "expired" if cookie else None)
    csrf = signer.form_token("csrf", claims.session_id)
    if request.method not in ("GET", "HEAD") and not await _form_is_ours(request, csrf):
        return render(
            "error",
            403,
            session=None,
            title="Form refused",
            message="This form has expired or did not come from the console. Go back, reload the page and try again.",
        )
    session = request[CONSOLE_SESSION] = ConsoleSession(token, claims, csrf)
    if session.is_agent and not getattr(request.match_info.handler, _FOR_AGENTS, False):
        return _merchants_only(request)
    return await handler(request)


def _still_allowed(request: web.Request, claims: SessionClaims) -> bool:
    """A Mini App merchant session ends as soon as MERCHANT_USER_IDS no longer lists its user; an agent's, when
    AGENT_USER_IDS is set and no longer lists them (group membership was checked when it began)."""
    settings = request.config_dict[DEPS].settings
    if claims.telegram_user_id is None:
        return True
    if claims.role == ROLE_MERCHANT:
        return claims.telegram_user_id in settings.merchant_user_ids
    return not settings.agent_user_ids or claims.telegram_user_id in settings.agent_user_ids


def _merchants_only(request: web.Request) -> web.StreamResponse:
    """An agent asked for a merchant's page: the console's home leads to the tickets, anything else is refused."""
    if request.method == "GET" and request.path in (CONSOLE_PREFIX, CONSOLE_PREFIX + "/"):
        return see_other(f"{CONSOLE_PREFIX}/tickets")
    return render(
        "error", 403, session=None, title="Merchants only",
        message="This page is for the shop's merchants; agents see the tickets.",
    )


async def _form_is_ours(request: web.Request, csrf: str) -> bool:
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null" and urlsplit(origin).netloc != request.host:
        return False
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        field = (await request.post()).get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    return given is not None and hmac.compare_digest(given, csrf)


def _signed_out(request: web.Request, reason: str | None) -> web.StreamResponse:
    """Not signed in (any more): scripts get 401, a page is sent to the sign-in form, which brings it back after."""
    response: web.StreamResponse
    if request.headers.get("Accept", "").startswith("application/json"):
        response = web.json_response({"error": "signed_out", "sign_in": SIGN_IN_PATH}, status=401)
    else:
        query = {"next": request.path_qs if request.method == "GET" else CONSOLE_PREFIX}
        if reason:
            query["reason"] = reason
        response = see_other(f"{SIGN_IN_PATH}?{urlencode(query)}")
    end_session(response)
    return response


def see_other(location: str) -> web.Response:
    """303: go and GET `location` (after a form, so reloading the page does not send the form again)."""
    return web.Response(status=303, headers={"Location": location})


def _set_cookie(
    response: web.StreamResponse, request: web.Request, name: str, value: str, lifetime: timedelta
) -> None:
    set_session_cookie(response, request, name, value, lifetime, in_telegram=False)


def set_session_cookie(
    response: web.StreamResponse, request: web.Request, name: str, value: str, lifetime: timedelta, *, in_telegram: bool
) -> None:
    """A console cookie: SameSite=Strict, or for a Mini App over HTTPS SameSite=None; Secure (see above)."""
    cross_site = in_telegram and request.secure
    response.set_cookie(
        name,
        value,
        max_age=int(lifetime.total_seconds()),
        path=CONSOLE_PREFIX,
        httponly=True,
        samesite="None" if cross_site else "Strict",
        secure=request.secure,
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
