"""The console as a Telegram Mini App: opened from the menu button of a merchant's (or a listed agent's) chat,
signed in by the `initData` Telegram hands the Mini App, with no token to copy.

`GET /console/telegram` is the page the menu button opens. Its script reads `initData` where Telegram puts it
(the `tgWebAppData` of the address's fragment, which never reaches a server, or `Telegram.WebApp.initData` where
Telegram's own script is loaded) and posts it to `POST /console/telegram/sign-in`. That checks Telegram's
signature with the bot token (bot/telegram_init_data.py) and its age, then opens the same session the token
sign-in opens, for an API token the server keeps for that Telegram user (`token list` shows it; revoking it ends
those sessions): a merchant (MERCHANT_USER_IDS) gets the whole console, an agent (AGENT_USER_IDS, else a member
of the support group) the tickets, anyone else a refusal. The console then speaks the user's Telegram language.

A sign-in is believed for at most an hour after Telegram signed it (less if MINI_APP_MAX_AGE_MINUTES says so):
the page signs in the moment it opens, and an older `initData` is more likely a copied one than a slow phone.
"""

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from aiohttp import web

from bot.console_button import CONSOLE_MINI_APP_PATH
from bot.i18n import N_, SUPPORTED_LANGUAGES, translator
from bot.services.audit import Actor
from bot.services.merchant_access.api_tokens import named_token, telegram_console_token_name
from bot.support.desk import DESK_KEY
from bot.telegram_init_data import InitDataRejected, validate_init_data
from bot.web.app_keys import TELEGRAM
from bot.web.console.auth import (
    CONSOLE_PREFIX,
    ROLE_AGENT,
    ROLE_MERCHANT,
    SESSION_LIFETIME,
    open_without_session,
    set_session_cookie,
    signer_of,
    start_session,
)
from bot.web.console.page import deps_of, text
from bot.web.console.render import LANGUAGE_COOKIE, render
from bot.web.mini_app.sign_in import max_age

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
TELEGRAM_PATH = CONSOLE_MINI_APP_PATH
LONGEST_SIGN_IN_AGE = timedelta(hours=1)
REFUSALS = {
    "not_signed_in": N_("Telegram did not sign this request. Close the console and open it again from the bot's menu button."),
    "expired": N_("This sign-in is too old. Close the console and open it again from the bot's menu button."),
    "not_staff": N_("The console is for the shop's merchants and support agents only."),
}


@routes.get(TELEGRAM_PATH.removeprefix(CONSOLE_PREFIX), allow_head=False)
@open_without_session
async def mini_app_page(request: web.Request) -> web.StreamResponse:
    """The page the menu button opens: its script signs in with Telegram's `initData` and goes on."""
    return render("telegram", session=None)


@routes.post(TELEGRAM_PATH.removeprefix(CONSOLE_PREFIX) + "/sign-in")
@open_without_session
async def sign_in_with_telegram(request: web.Request) -> web.StreamResponse:
    """Check the Mini App's `initData` and open a merchant's or an agent's console session; JSON either way."""
    deps = deps_of(request)
    signer = signer_of(request)
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        return _refused(403, "not_signed_in", None)
    if signer is None:
        return _refused(503, "not_signed_in", None)
    form = await request.post()
    try:
        init_data = validate_init_data(
            text(form, "init_data"), deps.settings.bot_token, now=deps.clock.now(),
            max_age=min(max_age(deps.settings), LONGEST_SIGN_IN_AGE),
        )
    except InitDataRejected as rejected:
        log.info("console: a Mini App sign-in was refused: %s", rejected.reason)
        return _refused(401, "expired" if rejected.reason == "expired" else "not_signed_in", None)
    user = init_data.user
    if user is None:
        return _refused(401, "not_signed_in", None)
    language = _language_of(user.language_code)
    role = await _role_of(request, user.id)
    if role is None:
        log.info("console: Telegram user %d is neither a merchant nor an agent", user.id)
        return _refused(403, "not_staff", language)
    actor = Actor.merchant(f"telegram:{user.id}") if role == ROLE_MERCHANT else Actor.agent(user.id)
    token = await named_token(deps.uow(), telegram_console_token_name(role, user.id), actor)
    response = web.json_response({"next": CONSOLE_PREFIX if role == ROLE_MERCHANT else f"{CONSOLE_PREFIX}/tickets"})
    start_session(response, request, signer, token, telegram_user_id=user.id, role=role)
    if language is not None:
        set_session_cookie(response, request, LANGUAGE_COOKIE, language, SESSION_LIFETIME, in_telegram=True)
    log.info("console: Telegram user %d signed in as %s", user.id, role)
    return response


async def _role_of(request: web.Request, user_id: int) -> str | None:
    """Merchant if MERCHANT_USER_IDS lists the user; agent as the support desk decides (AGENT_USER_IDS, or
    membership of the support group, asked of Telegram); else None."""
    settings = deps_of(request).settings
    if user_id in settings.merchant_user_ids:
        return ROLE_MERCHANT
    application = request.config_dict.get(TELEGRAM)
    desk = application.bot_data.get(DESK_KEY) if application is not None else None
    if desk is not None:
        return ROLE_AGENT if await desk.agents.is_agent(application.bot, user_id) else None  # type: ignore[union-attr]
    return ROLE_AGENT if user_id in settings.agent_user_ids else None


def _language_of(language_code: str | None) -> str | None:
    """The console's language for Telegram's `language_code` (`de`, `de-AT`), if it speaks it."""
    base = (language_code or "").split("-")[0].lower()
    return base if base in SUPPORTED_LANGUAGES else None


def _refused(status: int, code: str, language: str | None) -> web.Response:
    message = translator(language or "en").gettext(REFUSALS[code])
    return web.json_response({"error": code, "message": message}, status=status)
