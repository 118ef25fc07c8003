"""Browser tests: the demo running in this process, and headless Chromium driving its pages.

    async def test_something(demo: DemoStack, page: Page, artifacts_dir: Path) -> None:
        await page.goto(demo.sandbox_url)

`demo` is `backorder-bot demo` on the test database (seeded with the demo store) with its web server on a
free port: `demo.url` is its root, `demo.fake` the sandbox Telegram server, `demo.cast` its people,
`demo.deps.uow()` a unit of work for looking at the database. Its clock starts on Friday 27 November 2026,
10:00 in Berlin (within business hours, outside quiet hours) and runs on from there.

The browser is Debian's Chromium at /usr/bin/chromium, driven by Playwright (no browser download); the
tests are skipped when it is not installed (.ci/run installs it).
"""

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.clock import SystemClock
from bot.config import Settings
from bot.demo import demo_stack
from bot.demo_stack import DemoStack
from tests.conftest import SHOP_TZ

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DEMO_STARTS_AT = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
# The bot answers within milliseconds; the margin is for a loaded CI machine.
WAIT_MS = 15_000

expect.set_options(timeout=WAIT_MS)


@pytest.fixture
async def demo(engine: object, database_url: str) -> AsyncIterator[DemoStack]:
    """The demo (bot, outbox workers, web server, sandbox server) on the test database; emptied afterwards."""
    clock = SystemClock(SHOP_TZ, offset=DEMO_STARTS_AT - datetime.now(timezone.utc))
    async with demo_stack(Settings(_env_file=None), database_url, clock=clock) as stack:  # type: ignore[call-arg]
        yield stack


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (as .ci/run does) to run the browser tests")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path) -> AsyncIterator[Page]:
    """A fresh desktop-sized tab; fails the test if the page's JavaScript threw, and keeps a screenshot if it failed."""
    async for tab in _tab(browser, request, artifacts_dir, viewport=DESKTOP):
        yield tab


@pytest.fixture
async def phone_page(browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path) -> AsyncIterator[Page]:
    """The same on a phone-sized touch screen."""
    async for tab in _tab(browser, request, artifacts_dir, viewport=PHONE, is_mobile=True, has_touch=True):
        yield tab


@pytest.fixture
async def german_page(browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path) -> AsyncIterator[Page]:
    """A desktop tab of a browser set to German, which asks for German pages (Accept-Language: de-DE)."""
    async for tab in _tab(browser, request, artifacts_dir, viewport=DESKTOP, locale="de-DE"):
        yield tab


async def _tab(browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path, **options: object) -> AsyncIterator[Page]:
    options.setdefault("locale", "en-GB")
    context = await browser.new_context(**options)  # type: ignore[arg-type]
    tab = await context.new_page()
    tab.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    report = getattr(request.node, "call_report", None)
    if report is not None and report.failed:
        await tab.screenshot(path=str(artifacts_dir / f"failed-{request.node.name}.png"), full_page=True)
    await context.close()
    assert not errors, f"the page's JavaScript threw: {errors}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Keep the test's own outcome on the item, so the page fixture can tell a failed test when it ends."""
    report = yield
    if report.when == "call":  # type: ignore[attr-defined]
        item.call_report = report  # type: ignore[attr-defined]
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say at the end of the run, where nobody misses it, that the browser tests did not run and why."""
    if not CHROMIUM.exists():
        terminalreporter.write_line(
            f"Browser tests skipped: Debian's chromium is not installed at {CHROMIUM} (sudo apt-get install chromium).",
            yellow=True,
            bold=True,
        )
