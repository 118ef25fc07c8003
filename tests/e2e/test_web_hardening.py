"""The web server behind a TLS-terminating proxy and under attack: wrong tokens limited per client address,
the console's cookie `Secure` when the trusted proxy saw https, and /metrics behind its own token."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.services.merchant_access.api_tokens import create_token
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from bot.web.app import build_web_app
from bot.web.failed_tokens import WINDOW_SECONDS, FailedTokens
from tests.e2e.test_console_http import Console
from tests.e2e.web_client import web_settings

SECRET_KEY = "console-test-secret-key-0123456789abcdef"
LIMIT = 3


@pytest.fixture
async def server(request: pytest.FixtureRequest, session_factory, clock: ManualClock, policy: ShopPolicy) -> AsyncIterator[TestClient]:
    """The app with the settings the test's `settings` marker gives (on top of a small failure limit)."""
    marker = request.node.get_closest_marker("settings")
    overrides: dict[str, Any] = {"secret_key": SECRET_KEY, "failed_tokens_per_hour": LIMIT} | (marker.kwargs if marker else {})
    deps = ChatDeps(web_settings(**overrides), session_factory, clock, policy)
    async with TestClient(TestServer(build_web_app(deps))) as client:
        yield client


async def _get(client: TestClient, path: str, token: str | None = None, **headers: str) -> tuple[int, Any, Any]:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with client.get(path, headers=headers) as response:
        body = await response.json() if response.content_type == "application/json" else await response.text()
        return response.status, body, response.headers


async def test_an_address_that_sent_too_many_wrong_tokens_waits_even_with_the_right_one(
    server: TestClient, uow: UnitOfWork
) -> None:
    good, _ = await create_token(uow, "shop")
    statuses = [(await _get(server, "/api/v1/backorders", f"bd_wrong{i}"))[0] for i in range(LIMIT)]

    status, body, headers = await _get(server, "/api/v1/backorders", good)

    assert statuses == [401] * LIMIT
    assert (status, body["error"]["code"]) == (429, "too_many_failed_tokens")
    assert body["error"]["message"] == "Too many wrong tokens from your address. Try again in 60 minutes."
    assert 3590 <= int(headers["Retry-After"]) <= 3600


async def test_requests_without_a_token_are_never_counted(server: TestClient, uow: UnitOfWork) -> None:
    good, _ = await create_token(uow, "shop")
    for _ in range(LIMIT + 2):
        assert (await _get(server, "/api/v1/backorders"))[0] == 401

    assert (await _get(server, "/api/v1/backorders", good))[0] == 200


async def test_a_forged_forwarded_for_from_an_untrusted_peer_changes_nothing(server: TestClient) -> None:
    for i in range(LIMIT):
        await _get(server, "/api/v1/backorders", "bd_wrong", **{"X-Forwarded-For": f"198.51.100.{i}"})

    status, _, _ = await _get(server, "/api/v1/backorders", "bd_wrong", **{"X-Forwarded-For": "198.51.100.99"})

    assert status == 429


@pytest.mark.settings(trusted_proxies=["127.0.0.1"])
async def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(server: TestClient, uow: UnitOfWork) -> None:
    good, _ = await create_token(uow, "shop")
    for _ in range(LIMIT):
        await _get(server, "/api/v1/backorders", "bd_wrong", **{"X-Forwarded-For": "203.0.113.7"})

    locked = await _get(server, "/api/v1/backorders", good, **{"X-Forwarded-For": "203.0.113.7"})
    other = await _get(server, "/api/v1/backorders", good, **{"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
    rfc_7239 = await _get(server, "/api/v1/backorders", good, Forwarded='for="[2001:db8::1]:4711";proto=https')

    assert (locked[0], other[0], rfc_7239[0]) == (429, 200, 200)


async def test_the_console_sign_in_is_limited_too(server: TestClient, uow: UnitOfWork) -> None:
    good, _ = await create_token(uow, "shop")
    browser = Console(server)
    refused = [(await browser.sign_in("bd_wrong")).status for _ in range(LIMIT)]

    page = await browser.sign_in(good)

    assert refused == [401] * LIMIT
    assert page.status == 429 and "Too many wrong tokens from your address" in page.text
    assert int(page.headers["Retry-After"]) > 0
    assert browser.session_cookie() is None


async def _session_cookie_on_sign_in(server: TestClient, token: str, **headers: str) -> str:
    """The Set-Cookie line of the console session, signing in with `token` and `headers` (a proxy's, say)."""
    form = await Console(server).get("/console/sign-in")
    async with server.post(
        "/console/sign-in",
        data={"csrf": form.field("csrf"), "token": token, "next": "/console"},
        headers=headers,
        allow_redirects=False,
    ) as response:
        assert response.status == 303
        return next(cookie for cookie in response.headers.getall("Set-Cookie") if cookie.startswith("bd_console="))


@pytest.mark.settings(trusted_proxies=["127.0.0.0/8"])
async def test_the_session_cookie_is_secure_when_the_trusted_proxy_saw_https(server: TestClient, uow: UnitOfWork) -> None:
    good, _ = await create_token(uow, "shop")

    cookie = await _session_cookie_on_sign_in(server, good, **{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"})

    assert "Secure" in cookie and "HttpOnly" in cookie


@pytest.mark.settings(trusted_proxies=["127.0.0.0/8"])
async def test_a_trusted_proxy_speaking_the_standard_forwarded_header_makes_the_cookie_secure_too(
    server: TestClient, uow: UnitOfWork
) -> None:
    good, _ = await create_token(uow, "shop")

    cookie = await _session_cookie_on_sign_in(server, good, Forwarded='for="[2001:db8::7]:4711";proto=https')

    assert "Secure" in cookie and "HttpOnly" in cookie


async def test_an_untrusted_peer_cannot_make_the_cookie_secure_nor_claim_https(server: TestClient, uow: UnitOfWork) -> None:
    good, _ = await create_token(uow, "shop")

    cookie = await _session_cookie_on_sign_in(server, good, **{"X-Forwarded-Proto": "https", "Forwarded": "proto=https"})

    assert "Secure" not in cookie


@pytest.mark.settings(metrics_token="scrape-me-0123456789")
async def test_metrics_with_a_token_set_want_it(server: TestClient) -> None:
    missing = await _get(server, "/metrics")
    wrong = await _get(server, "/metrics", "scrape-me-wrong")
    right = await _get(server, "/metrics", "scrape-me-0123456789")

    assert (missing[0], wrong[0]) == (401, 401)
    assert missing[1]["error"]["message"] == "Send METRICS_TOKEN as `Authorization: Bearer <token>`."
    assert right[0] == 200 and "backorder_database_up" in right[1]


async def test_metrics_without_a_token_set_are_open(server: TestClient) -> None:
    status, body, _ = await _get(server, "/metrics")

    assert status == 200 and "backorder_database_up" in body


def test_failures_are_forgotten_after_an_hour_and_the_structure_stays_bounded() -> None:
    now = [1000.0]
    failed = FailedTokens(2, max_addresses=3, now=lambda: now[0])
    failed.failed("a")
    now[0] += 60
    failed.failed("a")
    assert failed.retry_after("a") == WINDOW_SECONDS - 60
    now[0] += WINDOW_SECONDS - 60
    assert failed.retry_after("a") is None  # the first failure is an hour old

    for address in ("b", "c", "d", "e"):
        failed.failed(address)

    assert len(failed) == 3  # the least recently failing address went first
