"""The bot's Prometheus metrics: Telegram updates and replies, handling time, the outbox and the HTTP server.

Counting happens around the PTB Application (see `instrument`), not in the handlers, so handlers stay as they are.
Each BotMetrics has a registry of its own, so two applications in one process (tests) never share counts.
"""

import time
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from telegram.ext import Application

from db.models import OutboxStatus

# Bot API methods that put a message into a chat; what counts as a reply when called while handling an update.
SENDING_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendSticker", "sendVoice", "sendAudio", "sendVideo",
    "sendAnimation", "sendLocation", "sendContact", "sendMediaGroup", "copyMessage", "forwardMessage",
})
# Handling an update is mostly database work and one or two Bot API calls: tens of milliseconds to seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_handling_update: ContextVar[bool] = ContextVar("handling_update", default=False)
_INSTRUMENTED = "metrics_instrumented"


class SendCounts(Protocol):
    """What the outbox workers count: sends by result since the process started."""

    def as_dict(self) -> dict[str, int]: ...


class BotMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates_handled = Counter(
            "backorder_telegram_updates_handled", "Telegram updates the bot has processed.", registry=self.registry
        )
        self.replies_sent = Counter(
            "backorder_telegram_replies_sent",
            "Messages the bot sent to a chat while handling an update.",
            registry=self.registry,
        )
        self.update_seconds = Histogram(
            "backorder_telegram_update_handling_seconds",
            "Time from taking an update off the queue to its last handler finishing.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "backorder_outbox_pending",
            "Outbox messages waiting to be sent (read from the database when scraped).",
            registry=self.registry,
        )
        self.outbox_messages = Gauge(
            "backorder_outbox_messages",
            "Outbox messages by status; sent, failed, blocked and cancelled are the results of sending"
            " (read from the database when scraped).",
            ["status"],
            registry=self.registry,
        )
        self.database_up = Gauge(
            "backorder_database_up", "1 if the database answered when last scraped, else 0.", registry=self.registry
        )
        self.http_requests = Counter(
            "backorder_http_requests",
            "HTTP requests answered, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )

    def set_outbox_counts(self, counts: dict[OutboxStatus, int] | None) -> None:
        """Record the outbox as read from the database; None when the database did not answer."""
        self.database_up.set(0 if counts is None else 1)
        if counts is None:
            return
        self.outbox_pending.set(counts.get(OutboxStatus.PENDING, 0))
        for status, count in counts.items():
            self.outbox_messages.labels(status=status.value).set(count)

    def count_sends(self, counts: SendCounts) -> None:
        """Expose the outbox workers' sends by result, read whenever Prometheus scrapes."""
        self.registry.register(_SendsCollector(counts))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def instrument(self, application: Application) -> None:  # type: ignore[type-arg]
        """Count and time every update the Application processes, and the messages it sends meanwhile.

        Works the same whether updates arrive by webhook or by polling; a second call changes nothing.
        """
        if application.bot_data.get(_INSTRUMENTED):
            return
        application.bot_data[_INSTRUMENTED] = True
        # PTB offers no hook around an update's handling; its update fetcher calls `process_update` on the
        # instance, so wrapping that attribute covers every update and every handler group.
        application.process_update = self._timed(application.process_update)  # type: ignore[method-assign]
        limiter = application.bot.rate_limiter
        if limiter is not None:
            # Every Bot API call except getUpdates passes the rate limiter, which knows the method's name.
            limiter.process_request = self._counting_replies(limiter.process_request)  # type: ignore[method-assign]

    def _timed(self, process_update: Callable[[object], Coroutine[Any, Any, None]]) -> Callable[[object], Coroutine[Any, Any, None]]:
        async def timed(update: object) -> None:
            started = time.perf_counter()
            marker = _handling_update.set(True)
            try:
                await process_update(update)
            finally:
                _handling_update.reset(marker)
                self.update_seconds.observe(time.perf_counter() - started)
                self.updates_handled.inc()

        return timed

    def _counting_replies(self, process_request: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def counting(callback: Any, args: Any, kwargs: Any, endpoint: str, data: Any, rate_limit_args: Any) -> Any:
            result = await process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            if endpoint in SENDING_METHODS and _handling_update.get():
                self.replies_sent.inc()
            return result

        return counting


class _SendsCollector:
    """backorder_outbox_sends_total{result}, from counts kept by the workers themselves."""

    def __init__(self, counts: SendCounts) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "backorder_outbox_sends", "Outbox send attempts by result since the process started.", labels=["result"]
        )
        for result, count in sorted(self._counts.as_dict().items()):
            family.add_metric([result], count)
        yield family
