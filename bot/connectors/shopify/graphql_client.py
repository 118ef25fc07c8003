"""Shopify's GraphQL Admin API over aiohttp: the access token in X-Shopify-Access-Token, and its cost-based rate
limit kept to (every answer's extensions.cost.throttleStatus says how many points are left and how fast they come
back; a THROTTLED error waits until the query's cost is back). 429 and 5xx answers and timeouts are retried with
backoff, then reported as StoreUnavailable; a refused token or a missing scope is StoreRefused, said plainly.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.services.connectors.store_records import StoreRefused, StoreUnavailable

log = logging.getLogger(__name__)

API_VERSION = "2026-01"
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0)  # seconds after a 429, 5xx or timeout, before giving up for now
TIMEOUT_SECONDS = 30.0
MAX_THROTTLED_WAITS = 20


@dataclass
class ThrottleStatus:
    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 50.0  # points a second


class ShopifyGraphQL:
    """One shop's GraphQL Admin API; `execute` returns the `data` of an answer without errors."""

    def __init__(
        self,
        shop: str,
        access_token: str,
        *,
        base_url: str | None = None,
        api_version: str = API_VERSION,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.shop = shop
        self._token = access_token
        self.endpoint = f"{(base_url or f'https://{shop}').rstrip('/')}/admin/api/{api_version}/graphql.json"
        self._retry_delays = retry_delays
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self.throttle = ThrottleStatus()

    def __repr__(self) -> str:
        return f"ShopifyGraphQL(shop={self.shop!r})"

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS))
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def execute(self, query: str, variables: dict[str, Any] | None = None, *, cost: float = 10) -> dict[str, Any]:
        """Run a query or mutation; waits for `cost` points to be there first, and again whenever Shopify throttles."""
        throttled = 0
        while True:
            await self._wait_for_points(cost)
            answer = await self._post({"query": query, "variables": variables or {}})
            self._note_cost(answer)
            errors = answer.get("errors")
            if not errors:
                return answer.get("data") or {}
            if _code_of(errors) == "THROTTLED" and throttled < MAX_THROTTLED_WAITS:
                throttled += 1
                requested = (answer.get("extensions", {}).get("cost") or {}).get("requestedQueryCost", cost)
                cost = max(cost, float(requested))
                continue
            if _code_of(errors) == "THROTTLED":
                raise StoreUnavailable("Shopify kept throttling the requests")
            raise StoreRefused("Shopify refused the request: " + _messages(errors))

    async def _wait_for_points(self, cost: float) -> None:
        status = self.throttle
        if status.available >= cost or status.restore_rate <= 0:
            return
        wait = (min(cost, status.maximum) - status.available) / status.restore_rate
        log.debug("waiting %.2f s for Shopify's rate limit", wait)
        await self._sleep(wait)
        status.available = min(status.maximum, cost)

    def _note_cost(self, answer: dict[str, Any]) -> None:
        status = ((answer.get("extensions") or {}).get("cost") or {}).get("throttleStatus")
        if status:
            self.throttle = ThrottleStatus(
                float(status["maximumAvailable"]), float(status["currentlyAvailable"]), float(status["restoreRate"])
            )

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"X-Shopify-Access-Token": self._token, "Content-Type": "application/json", "Accept": "application/json"}
        problem = ""
        for attempt in range(len(self._retry_delays) + 1):
            if attempt:
                await self._sleep(self._retry_delays[attempt - 1])
            try:
                async with self.session.post(self.endpoint, data=json.dumps(body), headers=headers) as response:
                    text = await response.text()
                    if response.status == 200:
                        return _json_object(text)
                    if response.status == 429:
                        problem = "Shopify answered 429 Too Many Requests"
                        retry_after = _seconds(response.headers.get("Retry-After"))
                        if retry_after:
                            await self._sleep(retry_after)
                        continue
                    if response.status >= 500:
                        problem = f"Shopify answered {response.status}"
                        continue
                    raise StoreRefused(_refusal(response.status, text, self.shop))
            except (aiohttp.ClientError, TimeoutError) as failed:
                problem = f"Shopify could not be reached ({type(failed).__name__}: {failed})"
        raise StoreUnavailable(problem)


def _json_object(text: str) -> dict[str, Any]:
    try:
        answer = json.loads(text)
    except ValueError:
        raise StoreUnavailable("Shopify answered something that is not JSON") from None
    if not isinstance(answer, dict):
        raise StoreUnavailable("Shopify answered something that is not a JSON object")
    return answer


def _refusal(status: int, text: str, shop: str) -> str:
    try:
        detail = json.loads(text).get("errors", text)
    except (ValueError, AttributeError):
        detail = text
    detail = detail if isinstance(detail, str) else json.dumps(detail)
    if status == 401:
        return f"Shopify did not accept the access token for {shop} (401: {detail[:200]}). Check --token."
    if status == 403:
        return f"Shopify refused the access token the scope it needs (403: {detail[:200]})."
    if status == 404:
        return f"There is no Shopify store at {shop} (404). Check --shop (NAME.myshopify.com)."
    return f"Shopify answered {status}: {detail[:300]}"


def _code_of(errors: Any) -> str | None:
    if isinstance(errors, list):
        for error in errors:
            code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
            if code:
                return str(code)
    return None


def _messages(errors: Any) -> str:
    if isinstance(errors, list):
        return "; ".join(str(error.get("message", error)) if isinstance(error, dict) else str(error) for error in errors)
    return str(errors)


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0


def user_errors(payload: dict[str, Any]) -> str | None:
    """A mutation's userErrors as one message, or None when there are none."""
    errors = payload.get("userErrors") or []
    return "; ".join(error.get("message", "") for error in errors) or None
