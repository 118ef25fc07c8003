"""Several bot processes as deployed, for the scale-out test and benchmark: `backorder-bot` processes started with
their settings, a round-robin load balancer in front of the serve instances (retrying on the next instance, as
one that is gone cannot answer), and Telegram pushing updates to the webhook until it gets a 200."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.sandbox import FakeBotApi
from bot.sandbox.chat_objects import JSON
from bot.web.telegram_webhook import SECRET_HEADER, WEBHOOK_PATH
from tests.e2e.chat_bot import SECRET_KEY

SECRET = "scale-out-webhook-secret"
BACKORDER_BOT = Path(sys.executable).with_name("backorder-bot")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class LoadBalancer:
    """Round-robin over the serve instances; a request an instance cannot take goes to the next one."""

    ports: list[int]
    turn: int = 0
    routed: Counter[int] = field(default_factory=Counter)

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name: value for name, value in request.headers.items() if name.lower() in {SECRET_HEADER.lower(), "content-type"}}
        for _ in range(len(self.ports)):
            port = self.ports[self.turn % len(self.ports)]
            self.turn += 1
            try:
                async with self.session.post(f"http://127.0.0.1:{port}{request.path}", data=body, headers=headers) as answer:
                    self.routed[port] += 1
                    return web.Response(status=answer.status, body=await answer.read(), content_type="application/json")
            except aiohttp.ClientError:
                continue  # that instance is gone: the next one
        return web.Response(status=502)

    session: aiohttp.ClientSession = field(init=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_environment(fake: FakeBotApi, database_url: str, **settings: str) -> dict[str, str]:
    values = {
        "DATABASE_URL": database_url,
        "BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url.removesuffix("/bot"),
        "SECRET_KEY": SECRET_KEY,
        "WEBHOOK_URL": "https://bot.example.com/telegram/webhook",
        "WEBHOOK_SECRET": SECRET,
        "QUIET_HOURS_START": "00:00",
        "QUIET_HOURS_END": "00:00",
        "OUTBOX_RATE_PER_SECOND": "30",
        # The daily jobs run (once); without delay notices, so each chat holds only the answers to its customer.
        "DELAY_NOTICE_POLICY": "off",
    }
    keep = {name: value for name, value in os.environ.items() if name in {"PATH", "HOME", "LANG", "LC_ALL"}}
    return keep | values | settings


@contextmanager
def started(processes: list[Process]) -> Iterator[list[Process]]:
    try:
        yield processes
    finally:
        for process in processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()


def launch(name: str, command: str, environment: dict[str, str], folder: Path) -> Process:
    log = folder / f"{name}.log"
    popen = subprocess.Popen(
        [str(BACKORDER_BOT), command], env=environment, cwd=folder, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    return Process(name, popen, log)


async def until_healthy(port: int, process: Process, timeout: float = 120.0) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(int(timeout / 0.05)):
            assert process.popen.poll() is None, f"{process.name} stopped:\n{process.output()}"
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{process.name} did not answer /healthz within {timeout} s:\n{process.output()}")


@asynccontextmanager
async def load_balancer(ports: list[int]) -> AsyncIterator[tuple[LoadBalancer, int]]:
    balancer = LoadBalancer(ports)
    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, balancer.forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with aiohttp.ClientSession() as session:
        balancer.session = session
        try:
            yield balancer, port
        finally:
            await runner.cleanup()


class Telegram:
    """Pushes a chat's updates to the webhook one at a time, each once it got a 200, and again until it does."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        self.pushed: list[int] = []
        self.retries = 0

    async def push(self, session: aiohttp.ClientSession, update: JSON) -> None:
        async with asyncio.timeout(60):
            while True:
                try:
                    async with session.post(self.url, json=update, headers={SECRET_HEADER: SECRET}) as answer:
                        if answer.status == 200:
                            self.pushed.append(update["update_id"])
                            return
                except aiohttp.ClientError:
                    pass
                self.retries += 1
                await asyncio.sleep(0.2)
