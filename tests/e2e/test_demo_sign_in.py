"""The demo's one-click console sign-in over HTTP: a one-time link signs a browser in once, expires, cannot be
guessed, and a fresh one is only handed to the sandbox page itself."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp import ClientSession, CookieJar

from bot.clock import SystemClock
from bot.config import Settings
from bot.demo import demo_stack
from bot.demo_sign_in_links import LINK_LIFETIME
from bot.demo_stack import DemoStack
from bot.services.merchant_access.api_tokens import list_tokens
from bot.web.demo_sign_in import CONSOLE_TOKEN_NAME
from tests.conftest import SHOP_TZ


@pytest.fixture
async def demo(engine: object, database_url: str) -> AsyncIterator[DemoStack]:
    clock = SystemClock(SHOP_TZ, offset=datetime(2026, 11, 27, 10, 0, tzinfo=SHOP_TZ) - datetime.now(timezone.utc))
    async with demo_stack(Settings(_env_file=None), database_url, clock=clock) as stack:  # type: ignore[call-arg]
        yield stack


async def sign_in_with(demo: DemoStack, link: str) -> tuple[int, str]:
    """Open the link and press its button, as a browser would: the answer's status and where it sends to."""
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as browser:  # unsafe: accept cookies from an IP address
        async with browser.get(link) as page:
            html = await page.text()
        code = link.split("code=", 1)[1]
        async with browser.post(f"{demo.url}/sandbox/console-sign-in", data={"code": code}, allow_redirects=False) as signed_in:
            location = signed_in.headers.get("Location", "")
        if signed_in.status == 303:
            async with browser.get(f"{demo.url}{location}", allow_redirects=False) as console:
                assert console.status == 200, "the session the link opened is not a console session"
        assert ('name="code"' in html) == (page.status == 200)  # a sign-in button only where the link still works
        return signed_in.status, location


async def test_a_sign_in_link_opens_the_console_once(demo: DemoStack) -> None:
    link = demo.console_sign_in_url()
    assert await sign_in_with(demo, link) == (303, "/console")
    assert (await sign_in_with(demo, link))[0] == 410  # used up

    tokens = await list_tokens(demo.deps.uow())
    assert [token.name for token in tokens] == [CONSOLE_TOKEN_NAME]
    assert tokens[0].created_at == pytest.approx(demo.clock.now(), abs=timedelta(minutes=1))  # on the demo's clock
    assert (await sign_in_with(demo, demo.console_sign_in_url()))[0] == 303
    assert len(await list_tokens(demo.deps.uow())) == 1  # every link signs in as the same console token


async def test_an_expired_or_made_up_link_signs_nobody_in(demo: DemoStack) -> None:
    link = demo.console_sign_in_url()
    demo.clock.offset += LINK_LIFETIME + timedelta(seconds=1)
    assert (await sign_in_with(demo, link))[0] == 410
    assert (await sign_in_with(demo, f"{demo.url}/sandbox/console-sign-in?code=made-up"))[0] == 410
    assert await list_tokens(demo.deps.uow()) == []


async def test_a_fresh_link_is_only_handed_to_the_sandbox_page_itself(demo: DemoStack) -> None:
    new_link = f"{demo.url}/sandbox/api/console-link"
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as browser:  # unsafe: accept cookies from an IP address
        async with browser.post(new_link, json={}) as mine:
            assert mine.status == 201
            link = (await mine.json())["url"]
        async with browser.post(new_link, json={}, headers={"Origin": "https://evil.example"}) as other_site:
            assert other_site.status == 403
        async with browser.post(new_link, data={"a": "form"}) as cross_site_form:  # no preflight needed for a form
            assert cross_site_form.status == 403
    assert await sign_in_with(demo, f"{demo.url}{link}") == (303, "/console")
