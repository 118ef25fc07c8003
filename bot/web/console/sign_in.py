"""Signing in to the console with an API token, and out again."""

import logging

from aiohttp import web

from bot.i18n import N_

from bot.services.merchant_access.api_tokens import authenticate
from bot.console_button import CONSOLE_MINI_APP_PATH as TELEGRAM_PATH
from bot.web.console.auth import (
    CONSOLE_PREFIX,
    console_session,
    SIGN_IN_PATH,
    end_session,
    keep_sign_in_nonce,
    open_without_session,
    safe_next,
    see_other,
    sign_in_form_is_ours,
    sign_in_nonce,
    signer_of,
    start_session,
)
from bot.web.console.page import deps_of, text
from bot.web.console.render import render

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
SIGN_IN_REASONS = {
    "expired": N_("Your session has ended, or the token it was opened with has been revoked. Sign in again."),
    "signed_out": N_("You have signed out."),
}


@routes.get("/sign-in", allow_head=False)
@open_without_session
async def sign_in_page(request: web.Request) -> web.StreamResponse:
    """The form asking for an API token."""
    return _sign_in_form(
        request, 200, message=SIGN_IN_REASONS.get(request.query.get("reason", "")), next_path=request.query.get("next")
    )


@routes.post("/sign-in")
@open_without_session
async def sign_in(request: web.Request) -> web.StreamResponse:
    """Check the token; a valid one opens a session, anything else is answered 401 with the form again."""
    signer = signer_of(request)
    form = await request.post()
    next_path = text(form, "next")
    if signer is None:
        return _sign_in_form(request, 503, next_path=next_path)
    if not sign_in_form_is_ours(request, signer, text(form, "csrf")):
        return _sign_in_form(
            request, 403, error=N_("The sign-in form had expired. Paste the token again."), next_path=next_path
        )
    token = await authenticate(deps_of(request).uow(), text(form, "token").strip())
    if token is None:
        return _sign_in_form(
            request, 401, error=N_("This API token is not valid: it is unknown or has been revoked."), next_path=next_path
        )
    response = see_other(safe_next(next_path))
    start_session(response, request, signer, token)
    log.info("console: signed in with API token %d", token.id)  # its name may be a person's
    return response


@routes.post("/sign-out")
async def sign_out(request: web.Request) -> web.StreamResponse:
    """End the session; a Mini App goes back to its own page, which Telegram Web may show in its frame."""
    in_telegram = console_session(request).in_telegram
    response = see_other(TELEGRAM_PATH if in_telegram else f"{SIGN_IN_PATH}?reason=signed_out")
    end_session(response, request, in_telegram=in_telegram)
    return response


def _sign_in_form(
    request: web.Request, status: int, *, error: str | None = None, message: str | None = None, next_path: str | None
) -> web.StreamResponse:
    signer = signer_of(request)
    if signer is None:
        return render(
            "sign_in", 503, session=None, error=N_("The console needs SECRET_KEY to be set on the server."),
            message=None, csrf="", next_path=CONSOLE_PREFIX,
        )
    nonce = sign_in_nonce(request)
    response = render(
        "sign_in",
        status,
        session=None,
        error=error,
        message=message,
        csrf=signer.form_token("sign-in", nonce),
        next_path=safe_next(next_path),
    )
    keep_sign_in_nonce(response, request, nonce)
    return response
