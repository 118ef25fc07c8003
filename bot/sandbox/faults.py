"""Failures the fake Bot API can be told to answer with, as Telegram's servers answer them."""

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """One planned failure: an error answer, a pause before answering, or a dropped connection.

    A delay alone (no status) only slows the answer: the request is then carried out as usual, which is
    how a client time-out looks when Telegram did deliver the message.
    """

    status: int | None = None
    description: str = ""
    retry_after: int | None = None
    delay: float = 0.0
    drop_connection: bool = False

    @classmethod
    def flood(cls, retry_after: int) -> "Fault":
        """429 Too Many Requests with `parameters.retry_after`."""
        return cls(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> "Fault":
        descriptions = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
        return cls(status, descriptions.get(status, "Internal Server Error"))

    @classmethod
    def blocked(cls) -> "Fault":
        """403 as answered to a bot the user has blocked."""
        return cls(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def slow(cls, seconds: float) -> "Fault":
        """Answer only after `seconds`, then carry the request out; long enough for a client time-out."""
        return cls(delay=seconds)

    @classmethod
    def lost_connection(cls) -> "Fault":
        """Close the connection without answering or carrying the request out."""
        return cls(drop_connection=True)

    def error_body(self) -> dict[str, object]:
        body: dict[str, object] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class _Planned:
    fault: Fault
    method: str
    chat_id: int | str | None


class FaultPlan:
    """Faults waiting for the next matching requests, first planned first served."""

    def __init__(self) -> None:
        self._planned: deque[_Planned] = deque()

    def add(self, method: str, fault: Fault, chat_id: int | str | None = None, times: int = 1) -> None:
        for _ in range(times):
            self._planned.append(_Planned(fault, method.lower(), chat_id))

    def take(self, method: str, chat_id: int | str | None) -> Fault | None:
        """The first fault planned for this method (and this chat, where one was named), removed from the plan."""
        for planned in self._planned:
            if planned.method == method.lower() and (planned.chat_id is None or str(planned.chat_id) == str(chat_id)):
                self._planned.remove(planned)
                return planned.fault
        return None

    def clear(self) -> None:
        self._planned.clear()

    def __len__(self) -> int:
        return len(self._planned)
