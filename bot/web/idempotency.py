"""`Idempotency-Key` on POST, PUT and PATCH: the first answer is kept and given again to every retry.

The key belongs to the token that sent it. A retry must be the same request (method, path and body; the
JSON's spacing and key order do not matter); the same key with another request is refused with 422. A
server error (5xx) is not kept, so the request may be retried with the same key. While the first request
with a key is still running, a second one waits for its answer.
"""

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.services.merchant_access.idempotent_requests import (
    Answered,
    ClaimOutcome,
    KeyReused,
    RequestKey,
    StillRunning,
    claim_request,
    release_claim,
    store_answer,
)
from bot.services.unit_of_work import UnitOfWork
from bot.web.api_auth import request_token
from bot.web.app_keys import DEPS
from bot.web.json_errors import Problem, error_response, invalid_request_response

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200
METHODS = frozenset({"POST", "PUT", "PATCH"})
# How long a retry waits for the first request with its key to answer before it is told to try later.
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05
# A claim this old without an answer belongs to a request that died; a retry may run the request again.
STALE_AFTER = timedelta(minutes=2)
_STORED_PATH_LENGTH = 300  # the column's size; the fingerprint covers the whole path


@web.middleware
async def idempotency(request: web.Request, handler: Handler) -> web.StreamResponse:
    key = request.headers.get(HEADER)
    # A request no route takes (unknown path, method not allowed) is refused as such, whatever its key.
    if key is None or request.method not in METHODS or request.match_info.http_exception is not None:
        return await handler(request)
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        return invalid_request_response(
            [Problem(field=f"header {HEADER}", reason=f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")]
        )
    deps = request.config_dict[DEPS]
    fingerprint = request_fingerprint(request.method, request.path_qs, await request.read())
    key_of_request = RequestKey(request_token(request).id, key, request.method, request.path_qs[:_STORED_PATH_LENGTH], fingerprint)
    outcome = await claim_when_free(deps.uow, key_of_request)
    if isinstance(outcome, Answered):
        return web.json_response(outcome.body, status=outcome.status_code, headers={REPLAYED_HEADER: "true"})
    if isinstance(outcome, KeyReused):
        return error_response(422, "idempotency_key_reused", f"{HEADER} reused with a different request.")
    if isinstance(outcome, StillRunning):
        return error_response(
            409, "idempotency_key_in_use", f"A request with this {HEADER} is still running; retry it in a moment."
        )

    try:
        response = await handler(request)
    except BaseException:
        await asyncio.shield(release_claim(deps.uow(), outcome.claim_id))
        raise
    if response.status >= 500 or not isinstance(response, web.Response) or response.text is None:
        await release_claim(deps.uow(), outcome.claim_id)
        return response
    await store_answer(deps.uow(), outcome.claim_id, response.status, json.loads(response.text))
    return response


async def claim_when_free(new_uow: Callable[[], UnitOfWork], request_key: RequestKey) -> ClaimOutcome:
    """Claim the key, or wait up to WAIT_SECONDS for the request holding it to answer; StillRunning after that."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        outcome = await claim_request(
            new_uow(), request_key.token_id, request_key.key, request_key.method, request_key.path,
            request_key.fingerprint, STALE_AFTER,
        )
        if not isinstance(outcome, StillRunning) or asyncio.get_running_loop().time() >= deadline:
            return outcome
        await asyncio.sleep(POLL_SECONDS)


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of what makes two requests the same one."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode("utf-8")
    except (ValueError, RecursionError):
        canonical = body  # not JSON (or empty, or nested too deeply to parse): compared byte for byte
    return hashlib.sha256(method.encode() + b"\n" + path.encode() + b"\n" + canonical).hexdigest()
