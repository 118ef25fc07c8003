"""The sandbox opening the Mini App as a Telegram client does: from the order list's web_app button and the chat's
menu button, in a phone-sized pane beside the chat, with its back button, haptics and theme."""

from playwright.async_api import Page, expect

from bot.demo_stack import DemoStack
from bot.i18n import translator
from tests.browser.test_sandbox import bot_message, link_by_phone, open_sandbox

EN = translator("en")


async def test_the_order_lists_button_opens_the_customers_timeline_in_a_pane_beside_the_chat(demo: DemoStack, page: Page) -> None:
    ben = demo.cast.persona("ben")
    await open_sandbox(page, demo)
    await link_by_phone(page, ben, EN)

    orders = bot_message(page, "customer", EN.gettext("Tap an item to see details, cancel it or pick an alternative."))
    await orders.get_by_role("button", name=EN.gettext("Track my items")).click()

    pane = page.locator("#mini-app-pane")
    await expect(pane).to_be_visible()
    await expect(pane).to_have_attribute("data-ready", "true")
    box = await pane.bounding_box()
    assert box is not None and box["width"] <= 400 and box["x"] > 500  # phone-sized, beside the chats
    app = page.frame_locator("#mini-app-pane iframe")
    await expect(app.locator("h1")).to_have_text("Your items")
    await expect(app.locator("article.item.waiting")).to_have_count(1)
    await expect(app.locator(".step.waiting .queue .you")).to_have_text("1")

    await app.get_by_role("button", name="Cancel").first.click()
    await expect(app.get_by_role("dialog")).to_contain_text("Cancel 1 × AirBeat ANC Earbuds from order 1043?")
    back = pane.get_by_role("button", name="‹ Back")
    await expect(back).to_be_visible()  # the Mini App showed Telegram's back button
    assert int(await pane.get_attribute("data-haptics") or 0) >= 1
    await back.click()
    await expect(app.get_by_role("dialog")).to_be_hidden()
    await expect(back).to_be_hidden()

    await pane.get_by_role("button", name="☾").click()
    await expect(app.locator("html[data-scheme=dark]")).to_be_attached()
    await pane.get_by_role("button", name="Close the Mini App").click()
    await expect(pane).to_be_hidden()


async def test_the_chats_menu_button_opens_the_mini_app_and_a_new_user_is_told_how_to_link(demo: DemoStack, page: Page) -> None:
    await open_sandbox(page, demo)
    await page.get_by_role("button", name="New user").click()
    await expect(page.locator("#persona-hint")).to_contain_text("does not know yet")

    await page.locator("#customer-composer").get_by_role("button", name=EN.gettext("Track my items")).click()

    app = page.frame_locator("#mini-app-pane iframe")
    await expect(app.locator(".notice")).to_have_text("I don't know your orders yet. Send /start to connect them.")
    await app.get_by_role("button", name="Back to the chat").click()
    await expect(page.locator("#mini-app-pane")).to_be_hidden()
