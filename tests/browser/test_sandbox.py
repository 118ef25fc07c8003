"""The sandbox page in headless Chromium, against the running demo."""

from pathlib import Path

from playwright.async_api import Page, expect

from bot.demo import DemoStack


async def test_smoke(demo: DemoStack, page: Page, artifacts_dir: Path) -> None:
    await page.goto(demo.sandbox_url)
    await expect(page.locator("body[data-ready=true]")).to_be_visible()
    await page.get_by_role("button", name="Start").click()
    await expect(page.locator("#customer-messages .message.in")).to_have_count(1)
    await page.screenshot(path=str(artifacts_dir / "sandbox.png"))
