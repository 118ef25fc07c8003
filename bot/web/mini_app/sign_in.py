"""Mini App requests signed in by Telegram: `Authorization: tma <initData>`, checked with the bot token.

`tma` is the scheme the Telegram Mini Apps community uses for this header. A header rather than a cookie, so
no other site can make a signed-in request on the user's behalf (no CSRF), and the page needs no session.
"""

from datetime import timedelta

from aiohttp import web

from bot.config import Settings
from bot.telegram_init_data import InitData, InitDataRejected, validate_init_data
from bot.web.app_keys import DEPS
from bot.web.json_errors import error_response

SCHEME = "tma"


def max_age(settings: Settings) -> timedelta:
    """How long after Telegram signed it a Mini App's `initData` is believed (MINI_APP_MAX_AGE_MINUTES)."""
    return timedelta(minutes=settings.mini_app_max_age_minutes)


def init_data_of(request: web.Request) -> InitData:
    """The request's checked `initData`, or `InitDataRejected` (a missing header included)."""
    deps = request.config_dict[DEPS]
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != SCHEME or not credentials.strip():
        raise InitDataRejected("no initData")
    return validate_init_data(credentials.strip(), deps.settings.bot_token, now=deps.clock.now(), max_age=max_age(deps.settings))


def not_signed_in(rejected: InitDataRejected) -> web.Response:
    """401 for a request Telegram did not sign: the page then asks to be opened again from the chat."""
    code = "expired" if rejected.reason == "expired" else "not_signed_in"
    return error_response(
        401, code, "Open this page from the bot's chat in Telegram, which signs you in.", **{"WWW-Authenticate": SCHEME}
    )
