"""Bearer-token authentication for the merchant API: `Authorization: Bearer bd_...` on every request."""

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.services.audit import Actor
from bot.services.merchant_access.api_tokens import TokenInfo, authenticate
from bot.web.app_keys import DEPS
from bot.web.json_errors import error_response

API_TOKEN = web.RequestKey("api_token", TokenInfo)  # the token that authenticated the request
_OPEN = "_open_without_token"


def open_without_token(handler: Handler) -> Handler:
    """Mark a handler anyone may call, such as the API's own description."""
    setattr(handler, _OPEN, True)
    return handler


def request_token(request: web.Request) -> TokenInfo:
    return request[API_TOKEN]


def request_actor(request: web.Request) -> Actor:
    """Who the audit log names for changes made through this request: the token, by id."""
    return Actor.merchant(f"api-token:{request_token(request).id}")


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if getattr(request.match_info.handler, _OPEN, False):
        return await handler(request)
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return _unauthorized(
            "missing_token",
            "Send an API token as `Authorization: Bearer <token>`; `backorder-bot token create --name NAME` makes one.",
            "Bearer",
        )
    token = await authenticate(request.config_dict[DEPS].uow(), credentials.strip())
    if token is None:
        return _unauthorized(
            "invalid_token", "This API token is not valid: it is unknown or has been revoked.", 'Bearer error="invalid_token"'
        )
    request[API_TOKEN] = token
    return await handler(request)


def _unauthorized(code: str, message: str, challenge: str) -> web.Response:
    return error_response(401, code, message, **{"WWW-Authenticate": challenge})
