"""The impact summary on the console's home page in headless Chromium, on the demo shop: the table and its two
charts drawn inline, on a phone without sideways scrolling, and in German; and the console opened as a Telegram
Mini App, signed in by the initData in its address.

Screenshots: console-impact-phone.png, console-impact-de.png, console-mini-app-phone.png.
"""

from pathlib import Path
from urllib.parse import urlencode

from playwright.async_api import Page, expect

from bot.demo_stack import DemoStack
from bot.telegram_init_data import WebAppUser, init_data_for
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


async def test_the_console_opened_as_a_mini_app_signs_in_with_telegrams_init_data(
    demo: DemoStack, phone_page: Page, artifacts_dir: Path
) -> None:
    merchant = demo.cast.merchant.user
    init_data = init_data_for(
        WebAppUser(merchant.id, merchant.first_name, language_code="de"), demo.deps.settings.bot_token, demo.deps.clock.now()
    )

    # As Telegram opens a Mini App: the signed initData in the address's fragment, which no server sees.
    await phone_page.goto(f"{demo.url}/console/telegram#{urlencode({'tgWebAppData': init_data, 'tgWebAppVersion': '8.0'})}")

    await expect(phone_page).to_have_url(f"{demo.url}/console")
    await expect(phone_page.locator("#impact").get_by_role("heading", name="Wirkung")).to_be_visible()
    await expect(phone_page.get_by_text("Über Telegram als Händler angemeldet")).to_be_visible()
    await no_sideways_scrolling(phone_page)
    await phone_page.screenshot(path=str(artifacts_dir / "console-mini-app-phone.png"), full_page=True)


async def test_the_mini_app_page_opened_outside_telegram_says_where_to_open_it(demo: DemoStack, page: Page) -> None:
    await page.goto(f"{demo.url}/console/telegram")

    await expect(page.get_by_role("status")).to_have_text(
        "Open the console from the bot's menu button in Telegram, or sign in with an API token."
    )
