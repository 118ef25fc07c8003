"""A merchant's webhook receiver for the tests: verifies every delivery with the `standardwebhooks` library, as a
merchant would, and answers as scripted (fail, then recover; 410 Gone; too slow)."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


HANGING_LIMIT = 8.0  # seconds: less than the 10 s a delivery may take, so "not held up by a hanging endpoint"


async def arrival(condition: Callable[[], bool], timeout: float = 30.0, what: str = "the condition") -> float:
    """When `condition` first held (time.monotonic, as `Received.arrived_at`), checked every 20 ms."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        await asyncio.sleep(0.02)
    return time.monotonic()


@dataclass
class Received:
    message_id: str
    type: str
    data: dict[str, Any]
    headers: dict[str, str]
    arrived_at: float = field(default_factory=time.monotonic)


@dataclass
class Receiver:
    """Answers with `script` in turn (a status, "slow" for no answer in time, "redirect" for a 307 to itself), then
    with `then`."""

    secret: str = ""
    script: list[int | str] = field(default_factory=list)
    then: int | str = 204
    received: list[Received] = field(default_factory=list)  # verified deliveries, answered 2xx or not
    refused: int = 0  # deliveries whose signature did not verify
    url: str = ""  # where it listens, once running

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.refused += 1
            return web.Response(status=401)
        self.received.append(Received(request.headers["webhook-id"], payload["type"], payload["data"], dict(request.headers)))
        answer = self.script.pop(0) if self.script else self.then
        if answer == "slow":
            await asyncio.sleep(30)
            answer = 204
        if answer == "redirect":  # to itself, keeping the method: a sender that follows it posts again
            return web.Response(status=307, headers={"Location": str(request.url)})
        return web.Response(status=int(answer), text="" if int(answer) < 300 else "receiver says no")


async def running_receiver(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post("/hooks", receiver._hook)
    async with TestServer(app) as server:
        receiver.url = str(server.make_url("/hooks"))
        yield receiver


@contextmanager
def receiver_in_thread(receiver: Receiver) -> Iterator[Receiver]:
    """The receiver on a loop of its own, for tests that call the command (which runs its own loop)."""
    with serving_in_thread(running_receiver(receiver)) as running:
        yield running


@contextmanager
def serving_in_thread(serving: AsyncIterator[Any]) -> Iterator[Any]:
    """What an async generator fixture yields, kept running on a loop of its own in another thread."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    yielded: list[Any] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        yielded.append(loop.run_until_complete(anext(serving)))
        started.set()
        loop.run_forever()
        loop.run_until_complete(serving.aclose())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield yielded[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
