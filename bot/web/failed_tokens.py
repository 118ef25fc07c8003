"""Limits failed tokens per client address, for the merchant API and the console's sign-in.

An address that sent FAILED_TOKENS_PER_HOUR wrong or revoked tokens within the last hour is answered 429 with
`Retry-After` until its oldest failure is an hour old, before its token is even looked at.

The count is kept in memory, per process, in a bounded structure: the most recently failing addresses, at
most MAX_ADDRESSES of them, so a flood from many addresses cannot grow it. Nothing is written to the database
for a failure, so failing costs an attacker more than it costs us. With several instances behind a load
balancer each counts on its own, so an address gets that many tries per instance; API tokens carry 256 random
bits, so the limit is there to stop noise and make guessing visibly pointless, not to be the lock.
"""

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.web.console.auth import SIGN_IN_PATH
from bot.web.console.render import render
from bot.web.json_errors import error_response
from bot.web.openapi import API_PREFIX

WINDOW_SECONDS = 3600.0
MAX_ADDRESSES = 10_000


class FailedTokens:
    """Failures per address in a sliding window of WINDOW_SECONDS; the least recently failing forgotten first."""

    def __init__(
        self, per_window: int, *, max_addresses: int = MAX_ADDRESSES, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_window = per_window
        self.max_addresses = max_addresses
        self._now = now
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try again; None if it may now."""
        failures = self._recent(address)
        if failures is None or len(failures) < self.per_window:
            return None
        return max(1, math.ceil(failures[0] + WINDOW_SECONDS - self._now()))

    def failed(self, address: str) -> None:
        failures = self._recent(address)
        if failures is None:
            failures = self._failures[address] = deque()
        failures.append(self._now())
        self._failures.move_to_end(address)
        while len(self._failures) > self.max_addresses:
            self._failures.popitem(last=False)

    def __len__(self) -> int:
        return len(self._failures)

    def _recent(self, address: str) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        cutoff = self._now() - WINDOW_SECONDS
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures


FAILED_TOKENS = web.AppKey("failed_tokens", FailedTokens)


@web.middleware
async def limit_failed_tokens(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse an address over its limit before its token is looked at; count each token that was refused."""
    is_api = request.path.startswith(API_PREFIX + "/")
    is_sign_in = request.path == SIGN_IN_PATH and request.method == "POST"
    # Only a request that brings a token can be guessing one; one without is answered as it would be.
    if not (is_sign_in or (is_api and "Authorization" in request.headers)):
        return await handler(request)
    failed_tokens = request.config_dict[FAILED_TOKENS]
    address = request.remote or "unknown"
    wait = failed_tokens.retry_after(address)
    if wait is not None:
        return _too_many(is_api, wait)
    response = await handler(request)
    if response.status == 401:
        failed_tokens.failed(address)
    return response


def _too_many(is_api: bool, wait: int) -> web.StreamResponse:
    minutes = max(1, math.ceil(wait / 60))
    message = f"Too many wrong tokens from your address. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    response: web.StreamResponse
    if is_api:
        response = error_response(429, "too_many_failed_tokens", message)
    else:
        response = render("error", 429, session=None, title="Too many attempts", message=message)
    response.headers["Retry-After"] = str(wait)
    return response
