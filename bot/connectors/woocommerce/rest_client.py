"""WooCommerce's REST API v3 (`/wp-json/wc/v3`) over HTTP: key and secret, pages, errors, retries with backoff.

Reads are retried on a timeout, a lost connection, 429 and 5xx, waiting longer each time (or as long as
`Retry-After` asks). Writes are retried only where the store said it did nothing (429, 503): after any other
failure a write may have happened, so the caller looks before it writes again.
"""

import asyncio
import base64
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientResponse, ClientSession, ClientTimeout

API_PATH = "/wp-json/wc/v3"
MAX_PER_PAGE = 100  # WordPress refuses a larger per_page
_RETRY_AFTER_CAP = 120.0  # seconds; a store asking for longer is treated as down, and the job retries later
_NOT_DONE = frozenset({429, 503})  # answers that say the request was not carried out


class WooApiError(Exception):
    """The store answered with an error: its HTTP status, WooCommerce's error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def temporary(self) -> bool:
        return self.status == 429 or self.status >= 500


class WooUnreachable(Exception):
    """No answer from the store: connection refused, DNS, TLS or a timeout."""


@dataclass(frozen=True)
class WooPage:
    items: list[dict[str, Any]]
    total: int | None  # X-WP-Total
    total_pages: int | None  # X-WP-TotalPages


Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_wait: float = 0.5  # seconds, doubled after each attempt, ±25 % jitter


class WooRestClient:
    """One store's REST API. `query_string_auth` sends the key and secret as query parameters instead of Basic
    auth, for servers that drop the Authorization header (WooCommerce's documented workaround)."""

    def __init__(
        self,
        url: str,
        key: str,
        secret: str,
        *,
        session: ClientSession | None = None,
        timeout: float = 20.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        query_string_auth: bool = False,
    ) -> None:
        self.store_url = url.rstrip("/")
        self._key, self._secret = key, secret
        self._own_session = session is None
        self._session = session or ClientSession(timeout=ClientTimeout(total=timeout))
        self._retry = retry
        self._sleep = sleep
        self._query_string_auth = query_string_auth

    async def aclose(self) -> None:
        if self._own_session:
            await self._session.close()

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        body, _ = await self._request("GET", path, params=params)
        return body

    async def page(
        self, path: str, page: int, per_page: int = MAX_PER_PAGE, params: Mapping[str, str | int] | None = None
    ) -> WooPage:
        """One page of a list; WooCommerce numbers pages from 1 and says the totals in headers."""
        query = {**(params or {}), "page": page, "per_page": min(per_page, MAX_PER_PAGE)}
        body, headers = await self._request("GET", path, params=query)
        if not isinstance(body, list):
            raise WooApiError(200, "unexpected_body", f"{path} did not answer with a list")
        return WooPage(body, _header_int(headers, "X-WP-Total"), _header_int(headers, "X-WP-TotalPages"))

    async def post(self, path: str, body: Mapping[str, Any]) -> Any:
        answer, _ = await self._request("POST", path, json=body)
        return answer

    async def put(self, path: str, body: Mapping[str, Any]) -> Any:
        answer, _ = await self._request("PUT", path, json=body)
        return answer

    async def _request(
        self, method: str, path: str, *, params: Mapping[str, str | int] | None = None, json: Any = None
    ) -> tuple[Any, Mapping[str, str]]:
        url = f"{self.store_url}{API_PATH}/{path.lstrip('/')}"
        query = {key: str(value) for key, value in (params or {}).items()}
        headers = {}
        if self._query_string_auth:
            query |= {"consumer_key": self._key, "consumer_secret": self._secret}
        else:
            headers["Authorization"] = _basic_auth(self._key, self._secret)
        wait = self._retry.first_wait
        for attempt in range(1, self._retry.attempts + 1):
            last = attempt == self._retry.attempts
            try:
                async with self._session.request(method, url, params=query, json=json, headers=headers) as response:
                    if response.status < 400:
                        return await _json(response, path), response.headers
                    error = await _error(response, path)
                    retry_after = _retry_after(response.headers)
            except (ClientError, TimeoutError) as failure:
                if last or method != "GET":
                    raise WooUnreachable(_unreachable(self.store_url, failure)) from failure
                await self._sleep(_jittered(wait))
                wait *= 2
                continue
            if last or not _retryable(method, error.status) or (retry_after or 0) > _RETRY_AFTER_CAP:
                raise error
            await self._sleep(retry_after if retry_after is not None else _jittered(wait))
            wait *= 2
        raise AssertionError("unreachable: the loop returns or raises")


def _basic_auth(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def _retryable(method: str, status: int) -> bool:
    if method == "GET":
        return status == 429 or status >= 500
    return status in _NOT_DONE


def _jittered(seconds: float) -> float:
    return seconds * random.uniform(0.75, 1.25)


async def _json(response: ClientResponse, path: str) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        raise WooApiError(response.status, "not_json", f"{path} answered with something that is not JSON") from None


async def _error(response: ClientResponse, path: str) -> WooApiError:
    """WooCommerce's `{"code", "message", "data": {"status"}}`, or what a server in front of it said."""
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        return WooApiError(response.status, body["code"], str(body.get("message", "")))
    return WooApiError(response.status, "http_error", f"{path} answered HTTP {response.status} {response.reason or ''}".strip())


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name, "")
    return int(value) if value.isdigit() else None


def _unreachable(store_url: str, failure: BaseException) -> str:
    host = urlsplit(store_url).netloc or store_url
    if isinstance(failure, TimeoutError):
        return f"{host} did not answer in time"
    return f"cannot reach {host}: {failure.__class__.__name__} {failure}".strip()
