"""The real web app on the test database, behind aiohttp's test server, and a merchant calling its API.

    async def test_something(api: MerchantClient) -> None:
        answer = await api.put("/stock/HS-200", {"available": 3})
        assert answer.status == 200
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.config import Settings
from bot.services.merchant_access.api_tokens import create_token
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from bot.web.app import build_web_app

_NO_TOKEN = object()


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: Any

    @property
    def problems(self) -> dict[str, str]:
        """A 422's problems, field → reason."""
        return {problem["field"]: problem["reason"] for problem in self.body["error"]["problems"]}


class MerchantClient:
    """Calls /api/v1 with a bearer token (by default the fixture's valid one)."""

    def __init__(self, client: TestClient, token: str, token_id: int) -> None:
        self.client = client
        self.token = token
        self.token_id = token_id

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: Any = _NO_TOKEN,
        key: str | None = None,
        data: bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        """`body` is sent as JSON (`data` as it is); `key` as the Idempotency-Key; `token=None` sends none."""
        headers = {}
        token = self.token if token is _NO_TOKEN else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        async with self.client.request(
            method, f"/api/v1{path}", json=body if data is None else None, data=data, headers=headers, params=params
        ) as response:
            payload = await response.json() if response.content_type == "application/json" else await response.text()
            return Answer(response.status, payload, response.headers)

    async def get(self, path: str, **options: Any) -> Answer:
        return await self.call("GET", path, **options)

    async def post(self, path: str, body: Any = None, **options: Any) -> Answer:
        return await self.call("POST", path, body, **options)

    async def put(self, path: str, body: Any = None, **options: Any) -> Answer:
        return await self.call("PUT", path, body, **options)

    async def patch(self, path: str, body: Any = None, **options: Any) -> Answer:
        return await self.call("PATCH", path, body, **options)


def web_settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


@pytest.fixture
def web_deps(
    session_factory: async_sessionmaker[AsyncSession], clock: ManualClock, policy: ShopPolicy
) -> ChatDeps:
    """What the server shares, on the test database and the test's clock."""
    return ChatDeps(web_settings(), session_factory, clock, policy)


@pytest.fixture
async def web_client(web_deps: ChatDeps) -> AsyncIterator[TestClient]:
    """The real app (without the Telegram side) behind aiohttp's test server."""
    async with TestClient(TestServer(build_web_app(web_deps))) as client:
        yield client


@pytest.fixture
async def api(web_client: TestClient, uow: UnitOfWork) -> MerchantClient:
    plaintext, token = await create_token(uow, "test shop")
    return MerchantClient(web_client, plaintext, token.id)
