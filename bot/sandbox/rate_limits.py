"""Telegram's published sending limits, enforced with sliding windows so a sender that breaks them gets 429."""

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RateLimits:
    """Messages allowed: per private chat per second, per group per minute, and across all chats per second."""

    per_chat_per_second: int = 1
    per_group_per_minute: int = 20
    global_per_second: int = 30


@dataclass(frozen=True)
class RateLimitViolation:
    """A message refused because a limit was exceeded; `scope` is "chat", "group" or "global"."""

    chat_id: int
    method: str
    scope: str
    retry_after: int
    at: float


@dataclass
class RateLimiter:
    """Admits or refuses each outgoing message; refused ones are not counted against later windows."""

    limits: RateLimits
    monotonic: Callable[[], float] = time.monotonic
    violations: list[RateLimitViolation] = field(default_factory=list)
    _per_chat: defaultdict[int, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _global: deque[float] = field(default_factory=deque)

    def admit(self, chat_id: int, is_group: bool, method: str) -> int | None:
        """None if the message may go out now, else the seconds to wait (and the violation is recorded)."""
        now = self.monotonic()
        chat_window, chat_limit = (60.0, self.limits.per_group_per_minute) if is_group else (1.0, self.limits.per_chat_per_second)
        checks = (
            ("global", self._global, 1.0, self.limits.global_per_second),
            ("group" if is_group else "chat", self._per_chat[chat_id], chat_window, chat_limit),
        )
        for scope, sent, window, limit in checks:
            while sent and sent[0] <= now - window:
                sent.popleft()
            if len(sent) >= limit:
                retry_after = max(1, math.ceil(sent[len(sent) - limit] + window - now))
                self.violations.append(RateLimitViolation(chat_id, method, scope, retry_after, now))
                return retry_after
        self._global.append(now)
        self._per_chat[chat_id].append(now)
        return None
