"""Bot API calls over aiohttp's HTTP client, plugged into python-telegram-bot as its networking backend.

PTB lets an application bring its own networking (`telegram.request.BaseRequest`). We use aiohttp, which
the web server already depends on, because its client costs well under half the CPU of PTB's default
(httpx) per call (the README's benchmarks give the figures).
Everything above the HTTP exchange (parameters, Telegram's errors, retries) stays PTB's; only the body is
ours: JSON rather than PTB's url-encoded form (see _body).
"""

import asyncio
import json
import math
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from db.log_privacy import withhold_debug_arguments

# PTB's own defaults for HTTPXRequest, in seconds.
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


# python-telegram-bot's DEBUG lines of every call and update: the endpoint stays, its parameters and answer and
# the update (message texts, people's names) are withheld (db/log_privacy.py).
BOT_DEBUG_LINES = {
    "telegram.Bot": 1,
    "telegram.ext.ExtBot": 1,
    "telegram.ext.Application": 0,
    "telegram.ext.Updater": 0,
}


class AiohttpRequest(BaseRequest):
    """A connection pool of `connection_pool_size` keep-alive connections to the Bot API server."""

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = READ_TIMEOUT,
        write_timeout: float | None = WRITE_TIMEOUT,
        connect_timeout: float | None = CONNECT_TIMEOUT,
        pool_timeout: float | None = POOL_TIMEOUT,
        media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        withhold_debug_arguments(BOT_DEBUG_LINES)

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self._pool_size))

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        uploads = request_data is not None and request_data.contains_files
        timeout = self._timeout(
            _given(read_timeout, self._read_timeout),
            _given(write_timeout, self._media_write_timeout if uploads else self._write_timeout),
            _given(connect_timeout, self._connect_timeout),
            _given(pool_timeout, self._pool_timeout),
        )
        try:
            async with self._session.request(
                method, url, data=_body(request_data), headers={"User-Agent": self.USER_AGENT}, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except asyncio.TimeoutError as error:  # before ClientError: aiohttp's time-outs are both
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # The class name says what went wrong where the message is empty (a dropped connection, say).
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error

    @staticmethod
    def _timeout(read: float | None, write: float | None, connect: float | None, pool: float | None) -> aiohttp.ClientTimeout:
        """aiohttp has no write time-out of its own, so the whole exchange gets the sum of the parts as its limit."""
        parts = (read, write, connect, pool)
        total = None if any(part is None for part in parts) else math.fsum(parts)  # type: ignore[arg-type]
        waiting_for_connection = None if connect is None or pool is None else connect + pool
        return aiohttp.ClientTimeout(total=total, connect=waiting_for_connection, sock_connect=connect, sock_read=read)


def _given(value: ODVInput[float], default: float | None) -> float | None:
    """The caller's time-out, or ours where PTB passed its "not given" marker."""
    return default if isinstance(value, DefaultValue) else value  # type: ignore[return-value]


def _body(request_data: RequestData | None) -> Any:
    """The parameters as a JSON object; multipart, as PTB sends them, when files go along.

    JSON, which the Bot API takes for any call without files, rather than PTB's url-encoded form: the standard
    library encodes JSON in C, while url-encoding a reply's text and keyboard went through Python byte by byte.
    """
    if request_data is None:
        return None
    if not request_data.contains_files:
        return aiohttp.payload.BytesPayload(
            _JSON.encode(request_data.parameters).encode(), content_type="application/json"
        )
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form
