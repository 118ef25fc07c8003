"""A fake Telegram Bot API server: real HTTP, Telegram's object shapes and errors, and simulated users.

The bot under test talks to it exactly as to api.telegram.org (point `TELEGRAM_API_BASE_URL` at `url`).
`FakeBotApi` puts the sandbox's parts together on one web server: the Bot API (bot_api_server.py), the
users a test or the demo acts as (simulated_users.py), the transcript they read (transcript.py), all over
one state (sandbox_state.py), and the JSON API under /sandbox-api/ for the browser demo (sandbox_http.py).
"""

from typing import Unpack

from aiohttp import web

from bot.sandbox.bot_api_server import BotApiServer
from bot.sandbox.sandbox_http import add_sandbox_routes
from bot.sandbox.sandbox_state import DEFAULT_TOKEN, SandboxOptions
from bot.sandbox.simulated_users import SimulatedUsers


class FakeBotApi(SimulatedUsers):
    """The fake server. `await start()` (or `async with`) binds it to 127.0.0.1 on a free port."""

    def __init__(
        self, token: str = DEFAULT_TOKEN, *, host: str = "127.0.0.1", port: int = 0, **options: Unpack[SandboxOptions]
    ) -> None:
        super().__init__(token, **options)
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self.app = web.Application(client_max_size=50 * 1024 * 1024)
        BotApiServer(self).add_routes(self.app)
        add_sandbox_routes(self.app, self)

    # ---- lifecycle and addresses ------------------------------------------------------------------

    async def start(self) -> "FakeBotApi":
        self.closing = False
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Answer any waiting long poll and close the server."""
        self.closing = True
        self.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeBotApi":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The server root, the value for TELEGRAM_API_BASE_URL."""
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        """For PTB's `ApplicationBuilder().base_url(...)`."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For PTB's `ApplicationBuilder().base_file_url(...)`."""
        return f"{self.url}/file/bot"

