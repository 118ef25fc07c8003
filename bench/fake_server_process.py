"""The fake Bot API server in a process of its own, driven from the benchmark's process through a pipe.

Telegram's work does not run on the bot's CPU in production; with the fake server in the bot's process it
does, and at a thousand messages a second it would be half of what a benchmark measures. Only what the
benchmarks need crosses the pipe: users, their messages, rate limits, and the recorded sends.
"""

import asyncio
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bot.sandbox import FakeBotApi, FakeUser, RateLimits, RateLimitViolation, RecordedRequest


@dataclass(frozen=True)
class SentMessage:
    """A sendMessage the server recorded: to whom, when (the server's monotonic clock), and its status."""

    chat_id: int
    at: float
    status: int

    @property
    def ok(self) -> bool:
        return self.status == 200


class FakeServerProcess:
    """`async with FakeServerProcess() as fake:` a started FakeBotApi in a child process; `url`, `token` as its own."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no event loop or sockets inherited
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_end,), name="fake-bot-api", daemon=True)
        self._lock = asyncio.Lock()
        self.url = self.token = ""

    async def __aenter__(self) -> "FakeServerProcess":
        self._process.start()
        self.url, self.token = await self._call("address")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self._call("stop")
        finally:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()

    async def add_users(self, count: int, name: str) -> list[FakeUser]:
        """`count` users named "`name` i", each having opened the chat with /start."""
        users: list[FakeUser] = await self._call("add_users", count, name)
        return users

    async def send_command(self, user: FakeUser, command: str) -> None:
        await self._call("send_command", user, command)

    async def enforce_rate_limits(self, limits: RateLimits) -> None:
        await self._call("enforce_rate_limits", limits)

    async def checkpoint(self) -> int:
        mark: int = await self._call("checkpoint")
        return mark

    async def wait_for_message_to(self, chat_id: int, since: int, timeout: float) -> SentMessage:
        """The first sendMessage to `chat_id` the server accepted after `since`."""
        sent: SentMessage = await self._call("wait_for_message_to", chat_id, since, timeout)
        return sent

    async def sent_messages(self) -> list[SentMessage]:
        sent: list[SentMessage] = await self._call("sent_messages")
        return sent

    async def rate_limit_violations(self) -> list[RateLimitViolation]:
        violations: list[RateLimitViolation] = await self._call("rate_limit_violations")
        return violations

    async def _call(self, command: str, *args: Any) -> Any:
        async with self._lock:  # one exchange on the pipe at a time
            self._pipe.send((command, args))
            ok, value = await asyncio.get_running_loop().run_in_executor(None, self._pipe.recv)
        if not ok:
            raise RuntimeError(f"the fake server process failed on {command}: {value}")
        return value


def _serve(pipe: Connection) -> None:
    """The child process: run the server and answer the parent's commands until told to stop."""
    asyncio.run(_serve_async(pipe))


async def _serve_async(pipe: Connection) -> None:
    fake = await FakeBotApi().start()
    commands = _commands(fake)
    loop = asyncio.get_running_loop()
    try:
        while True:
            command, args = await loop.run_in_executor(None, pipe.recv)
            try:
                result = commands[command](*args)
                if asyncio.iscoroutine(result):
                    result = await result
            except Exception as problem:  # noqa: BLE001 - reported to the parent, which raises it there
                pipe.send((False, repr(problem)))
                continue
            pipe.send((True, result))
            if command == "stop":
                return
    finally:
        await fake.stop()


def _commands(fake: FakeBotApi) -> dict[str, Callable[..., Any]]:
    def add_users(count: int, name: str) -> list[FakeUser]:
        users = [fake.add_user(f"{name} {i}", username=f"{name.lower().replace(' ', '_')}_{i}") for i in range(count)]
        for user in users:
            fake.send_command(user, "start")  # a bot may only write to users who opened the chat
        return users

    def send_command(user: FakeUser, command: str) -> None:
        fake.send_command(user, command)

    async def wait_for_message_to(chat_id: int, since: int, timeout: float) -> SentMessage:
        request = await fake.wait_for_request("sendMessage", lambda r: r.ok and r.chat_id == chat_id, timeout, since=since)
        return _sent(request)

    return {
        "address": lambda: (fake.url, fake.token),
        "add_users": add_users,
        "send_command": send_command,
        "enforce_rate_limits": fake.enforce_rate_limits,
        "checkpoint": fake.checkpoint,
        "wait_for_message_to": wait_for_message_to,
        "sent_messages": lambda: [_sent(request) for request in fake.requests("sendMessage")],
        "rate_limit_violations": lambda: fake.rate_limit_violations,
        "stop": lambda: None,
    }


def _sent(request: RecordedRequest) -> SentMessage:
    return SentMessage(int(request.chat_id), request.at, request.status)
