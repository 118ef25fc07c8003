"""The console opened as a Telegram Mini App, through the real aiohttp app: signed in by `initData` as Telegram
signs it, a merchant gets the whole console (in their Telegram language) and keeps its form protections, an
agent gets the tickets, and anyone else, or anything Telegram did not sign lately for this bot, is refused.
"""

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.services.merchant_access.api_tokens import list_tokens, revoke_token
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from bot.telegram_init_data import WebAppUser, init_data_for
from bot.web.app import build_web_app
from db.models import AuditEntry, Ticket, TicketStatus
from tests.e2e.test_console_http import Console, Page
from tests.e2e.web_client import web_settings
from tests.shop import add_customer

BOT_TOKEN = "123456:console-mini-app-test-token"
MERCHANT = WebAppUser(424242, "Mia", language_code="de")
AGENT = WebAppUser(515151, "Alex", language_code="en")
STRANGER = WebAppUser(999001, "Sam", language_code="en")


@pytest.fixture
def mini_app_deps(session_factory: async_sessionmaker[AsyncSession], clock: ManualClock, policy: ShopPolicy) -> ChatDeps:
    settings = web_settings(
        secret_key="console mini app test secret", bot_token=BOT_TOKEN, merchant_user_ids=[MERCHANT.id],
        agent_user_ids=[AGENT.id], trusted_proxies=["127.0.0.1"],
    )
    return ChatDeps(settings, session_factory, clock, policy)


@pytest.fixture
async def webview(mini_app_deps: ChatDeps) -> AsyncIterator[Console]:
    """Telegram's webview on the console: keeps cookies like a browser."""
    async with TestClient(TestServer(build_web_app(mini_app_deps))) as client:
        yield Console(client)


def signed(user: WebAppUser, clock: ManualClock, *, token: str = BOT_TOKEN, ago: timedelta = timedelta(seconds=5)) -> str:
    return init_data_for(user, token, clock.now() - ago, query_id="AAHdF6IQAAAAAN0XohDhrOrc")


async def open_mini_app(webview: Console, init_data: str, **headers: str) -> tuple[int, Any, Any]:
    """What the Mini App page's script does: post the initData, read the JSON answer."""
    async with webview.client.post(
        "/console/telegram/sign-in", data={"init_data": init_data}, headers={"Accept": "application/json", **headers}
    ) as response:
        return response.status, await response.json(), response.headers


# ---- merchants ------------------------------------------------------------------------------------------


async def test_the_mini_app_page_may_be_framed_by_telegram_web_and_needs_no_outside_script(webview: Console) -> None:
    page = await webview.get("/console/telegram")

    assert page.status == 200
    assert "frame-ancestors 'self' https://web.telegram.org" in page.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in page.headers
    scripts = re.findall(r'<script src="([^"]+)"', page.html)
    assert scripts and all(src.startswith("/console/static/") for src in scripts)  # nothing from telegram.org
    signed_out = await webview.get("/console/sign-in")
    assert signed_out.headers["X-Frame-Options"] == "DENY"  # the browser console stays unframeable


async def test_a_merchant_opens_the_whole_console_in_their_telegram_language(
    webview: Console, clock: ManualClock, uow: UnitOfWork
) -> None:
    status, body, _ = await open_mini_app(webview, signed(MERCHANT, clock))

    assert (status, body) == (200, {"next": "/console"})
    home = await webview.get("/console")
    assert home.status == 200
    assert "Wirkung" in home.text and "Letzte 7 Tage" in home.text  # MERCHANT's Telegram speaks German
    assert "Über Telegram als Händler angemeldet" in home.text
    assert "frame-ancestors 'self' https://web.telegram.org" in home.headers["Content-Security-Policy"]
    for path in ("/console/to-do", "/console/purchase-orders", "/console/broadcasts", "/console/webhooks", "/console/tickets"):
        assert (await webview.get(path)).status == 200, path
    # The session stands for a token the server keeps for this Telegram user, which `token list` shows.
    [token] = await list_tokens(uow)
    assert token.name == f"Telegram merchant {MERCHANT.id} (console Mini App)"


async def test_every_form_still_needs_its_token_and_a_change_is_audited_as_the_merchant(
    webview: Console, clock: ManualClock, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await open_mini_app(webview, signed(MERCHANT, clock))
    form = {"url": "https://hooks.example.com/backorders", "events": "line.cancelled"}

    forged = await webview.post("/console/webhooks", form)
    from_elsewhere = await webview.post("/console/webhooks", {**form, "csrf": await webview.csrf()}, Origin="https://evil.example")
    added = await webview.post("/console/webhooks", {**form, "csrf": await webview.csrf()})

    assert (forged.status, from_elsewhere.status) == (403, 403)
    assert added.status == 201, added.text
    async with session_factory() as session:
        actors = (await session.scalars(select(AuditEntry.actor_id).where(AuditEntry.action.like("webhook%")))).all()
    assert actors and set(actors) == {f"console:api-token:{(await webview_token_id(session_factory))}"}


async def webview_token_id(session_factory: async_sessionmaker[AsyncSession]) -> int:
    from db.models import ApiToken

    async with session_factory() as session:
        return (await session.scalars(select(ApiToken.id))).one()


async def test_over_https_the_session_cookie_is_sent_inside_telegram_webs_frame(webview: Console, clock: ManualClock) -> None:
    _, _, headers = await open_mini_app(webview, signed(MERCHANT, clock), **{"X-Forwarded-Proto": "https"})

    cookie = next(value for value in headers.getall("Set-Cookie") if value.startswith("bd_console="))
    assert "SameSite=None" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    language = next(value for value in headers.getall("Set-Cookie") if value.startswith("console_lang="))
    assert "console_lang=de" in language and "SameSite=None" in language


async def test_over_plain_http_the_sandbox_keeps_strict_cookies(webview: Console, clock: ManualClock) -> None:
    _, _, headers = await open_mini_app(webview, signed(MERCHANT, clock))

    cookie = next(value for value in headers.getall("Set-Cookie") if value.startswith("bd_console="))
    assert "SameSite=Strict" in cookie and "Secure" not in cookie


async def test_revoking_the_merchants_telegram_token_signs_the_mini_app_out(
    webview: Console, clock: ManualClock, uow: UnitOfWork
) -> None:
    await open_mini_app(webview, signed(MERCHANT, clock))
    [token] = await list_tokens(uow)

    await revoke_token(uow, token.id)

    assert (await webview.get("/console")).status == 303


# ---- refusals -------------------------------------------------------------------------------------------


async def test_someone_who_is_neither_merchant_nor_agent_is_refused_in_their_language(
    webview: Console, clock: ManualClock, uow: UnitOfWork
) -> None:
    german_stranger = WebAppUser(STRANGER.id, "Sam", language_code="de")

    status, body, headers = await open_mini_app(webview, signed(german_stranger, clock))

    assert status == 403 and body["error"] == "not_staff"
    assert body["message"] == "Die Konsole ist nur für die Händler und das Support-Team des Shops."
    assert not any(value.startswith("bd_console=") for value in headers.getall("Set-Cookie", []))
    assert (await webview.get("/console")).status == 303
    assert await list_tokens(uow) == []


def _tampered(init_data: str, **changes: str) -> str:
    fields = dict(parse_qsl(init_data))
    return urlencode({**fields, **changes})


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda clock: _tampered(signed(STRANGER, clock), user='{"id":424242,"first_name":"Mia"}'), id="user swapped"),
        pytest.param(lambda clock: _tampered(signed(MERCHANT, clock), auth_date=str(int(clock.now().timestamp()))), id="date changed"),
        pytest.param(lambda clock: signed(MERCHANT, clock, token="654321:another-bots-token"), id="another bot"),
        pytest.param(lambda clock: _tampered(signed(MERCHANT, clock), hash="0" * 64), id="hash replaced"),
        pytest.param(lambda clock: "", id="nothing"),
    ],
)
async def test_initdata_telegram_did_not_sign_for_this_bot_is_refused(webview: Console, clock: ManualClock, forge: Any) -> None:
    status, body, _ = await open_mini_app(webview, forge(clock))

    assert (status, body["error"]) == (401, "not_signed_in")
    assert (await webview.get("/console")).status == 303


async def test_initdata_signed_more_than_an_hour_ago_is_refused_as_expired(webview: Console, clock: ManualClock) -> None:
    fresh_enough = await open_mini_app(webview, signed(MERCHANT, clock, ago=timedelta(minutes=59)))
    status, body, _ = await open_mini_app(webview, signed(MERCHANT, clock, ago=timedelta(minutes=61)))

    assert fresh_enough[0] == 200
    assert (status, body["error"]) == (401, "expired")


async def test_a_sign_in_posted_from_another_site_is_refused(webview: Console, clock: ManualClock) -> None:
    status, _, _ = await open_mini_app(webview, signed(MERCHANT, clock), Origin="https://evil.example")

    assert status == 403


# ---- agents ---------------------------------------------------------------------------------------------


async def test_an_agent_gets_the_tickets_and_a_tickets_context_and_nothing_else(
    webview: Console, clock: ManualClock, session: AsyncSession
) -> None:
    customer = await add_customer(session, "Clara Schmidt", email="clara@example.com")
    ticket = Ticket(customer_id=customer.id, customer_chat_id=7003, reason="asked", status=TicketStatus.OPEN, opened_at=clock.now())
    session.add(ticket)
    await session.commit()

    status, body, _ = await open_mini_app(webview, signed(AGENT, clock))

    assert (status, body) == (200, {"next": "/console/tickets"})
    tickets = await webview.get("/console/tickets")
    assert tickets.status == 200 and "Clara Schmidt" in tickets.text
    assert re.findall(r'<nav aria-label="Console">(.*?)</nav>', tickets.html, re.S)[0].count("<a ") == 1  # Tickets only
    context = await webview.get(f"/console/tickets/{ticket.id}")
    assert context.status == 200 and "clara@example.com" in context.text and f"#{ticket.id}" in context.text
    assert (await webview.get("/console/tickets/99999")).status == 404
    home = await webview.get("/console")
    assert (home.status, home.location) == (303, "/console/tickets")
    for path in ("/console/to-do", "/console/broadcasts", "/console/webhooks", "/console/purchase-orders"):
        refused: Page = await webview.get(path)
        assert refused.status == 403, path
    posted = await webview.post("/console/webhooks", {"url": "https://x.example", "csrf": await agent_csrf(webview)})
    assert posted.status == 403


async def agent_csrf(webview: Console) -> str:
    return (await webview.get("/console/tickets")).field("csrf")


async def test_signing_out_in_telegram_drops_the_cookie_as_it_was_set_and_returns_to_the_mini_app_page(
    webview: Console, clock: ManualClock
) -> None:
    https = {"X-Forwarded-Proto": "https"}
    _, _, headers = await open_mini_app(webview, signed(MERCHANT, clock), **https)
    cookie = next(value for value in headers.getall("Set-Cookie") if value.startswith("bd_console=")).split(";")[0]
    async with webview.client.get("/console", headers={**https, "Cookie": cookie}) as home:
        csrf = Page(home.status, await home.text(), home.headers).field("csrf")

    async with webview.client.post(
        "/console/sign-out", data={"csrf": csrf}, headers={**https, "Cookie": cookie}, allow_redirects=False
    ) as response:
        assert (response.status, response.headers["Location"]) == (303, "/console/telegram")
        dropped = next(value for value in response.headers.getall("Set-Cookie") if value.startswith("bd_console="))
    assert "Max-Age=0" in dropped and "SameSite=None" in dropped and "Secure" in dropped
