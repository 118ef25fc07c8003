"""The impact summary on the console's home page in headless Chromium, on the demo shop: the table and its two
charts drawn inline, on a phone without sideways scrolling, and in German.

Screenshots: console-impact-phone.png, console-impact-de.png.
"""

from pathlib import Path

from playwright.async_api import Page, expect

from bot.demo_stack import DemoStack
from tests.browser.test_console import new_token, no_sideways_scrolling, sign_in


async def test_a_merchant_sees_the_impact_of_the_last_7_and_30_days_on_a_phone(
    demo: DemoStack, phone_page: Page, artifacts_dir: Path
) -> None:
    await sign_in(phone_page, demo, await new_token(demo))

    impact = phone_page.locator("#impact")
    await expect(impact.get_by_role("heading", name="Impact")).to_be_visible()
    await expect(impact.get_by_role("columnheader", name="Last 7 days")).to_be_visible()
    await expect(impact.get_by_role("columnheader", name="Last 30 days")).to_be_visible()
    # Emma cancelled her office chair yesterday, and the demo's older cancels owed refunds within the month.
    cancelled = await impact.locator("#impact-cancellations td").all_inner_texts()
    assert int(cancelled[0]) >= 1 and int(cancelled[1]) >= int(cancelled[0])
    for chart in ("Customers who kept waiting after a delay notice", "ETAs met"):
        drawn = impact.get_by_role("img", name=chart)
        await expect(drawn).to_be_visible()
        box = await drawn.bounding_box()
        assert box and box["width"] > 200, f"{chart} is drawn {box}"
    await no_sideways_scrolling(phone_page)
    await phone_page.screenshot(path=str(artifacts_dir / "console-impact-phone.png"), full_page=True)


async def test_the_impact_summary_in_german(demo: DemoStack, page: Page, artifacts_dir: Path) -> None:
    await sign_in(page, demo, await new_token(demo))
    await page.goto(f"{demo.url}/console?lang=de")

    impact = page.locator("#impact")
    await expect(impact.get_by_role("heading", name="Wirkung")).to_be_visible()
    await expect(impact.get_by_role("columnheader", name="Letzte 30 Tage")).to_be_visible()
    await expect(impact.get_by_role("img", name="Eingehaltene Liefertermine")).to_be_visible()
    await expect(impact.get_by_role("rowheader", name="Stornierte Artikel")).to_be_visible()
    await impact.screenshot(path=str(artifacts_dir / "console-impact-de.png"))
