"""How the bot copes with Telegram refusing or failing a call: wait, retry, or give up and record."""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

# Calls that do the same thing when repeated; a timed-out send might have arrived, so it is not repeated.
_REPEATABLE_ON_TIMEOUT = {
    "answerCallbackQuery",
    "editMessageText",
    "editMessageReplyMarkup",
    "getMe",
    "setMyCommands",
    "deleteMyCommands",
    "getChat",
    "getChatMember",
    "deleteWebhook",
}


class RetryingRateLimiter(AIORateLimiter):
    """PTB's rate limiter (which keeps to Telegram's flood limits and honours 429 retry_after), plus
    retries with backoff for Telegram's 5xx answers and for timeouts of calls that are safe to repeat."""

    def __init__(self, *, server_error_retries: int = 3, backoff_seconds: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._server_error_retries = server_error_retries
        self._backoff_seconds = backoff_seconds

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        attempt = 0
        while True:
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except (BadRequest, Forbidden):
                raise  # the request itself is wrong or unwelcome; repeating it cannot help
            except TimedOut:
                if endpoint not in _REPEATABLE_ON_TIMEOUT or attempt >= self._server_error_retries:
                    raise
            except NetworkError:
                if attempt >= self._server_error_retries:
                    raise
            attempt += 1
            delay = self._backoff_seconds * 2 ** (attempt - 1)
            log.warning("Telegram call %s failed, retry %d in %.1fs", endpoint, attempt, delay)
            await asyncio.sleep(delay)
