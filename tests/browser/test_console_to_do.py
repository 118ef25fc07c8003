"""The console's To do page in headless Chromium, against the running demo: the merchant pays Emma's refund and
ships Ben's charger with a tracking link, both customers hear of it in the sandbox Telegram, and each list
downloads as a CSV file.

Screenshots: console-to-do.png, console-to-do-done.png, console-de-to-do.png and console-phone-to-do.png.
"""

import csv
import io
from pathlib import Path

from playwright.async_api import Page, expect

from bot.demo_stack import DemoStack
from tests.browser.test_console import link_in_the_chat, new_token, no_sideways_scrolling, sign_in

async def sign_in_in_german(page: Page, demo: DemoStack) -> None:
    await page.goto(f"{demo.url}/console")
    await page.get_by_label("API-Token").fill(await new_token(demo))
    await page.get_by_role("button", name="Anmelden").click()


TRACK = "https://www.dhl.de/track?piececode=00340434161094042557"


async def test_a_merchant_pays_a_refund_and_ships_a_line_and_the_customers_hear_of_it(
    demo: DemoStack, page: Page, artifacts_dir: Path
) -> None:
    emma, ben = demo.cast.persona("emma"), demo.cast.persona("ben")
    await link_in_the_chat(demo, [emma, ben])
    await sign_in(page, demo, await new_token(demo))
    await page.get_by_role("link", name="To do").click()
    await expect(page.get_by_role("heading", name="To do", exact=True)).to_be_visible()
    await page.screenshot(path=str(artifacts_dir / "console-to-do.png"), full_page=True)

    # Emma cancelled her office chair: its refund is owed until the shop says it paid it.
    refund = page.locator("#refunds tr", has_text="1046")
    await expect(refund).to_contain_text("Emma Weber")
    await refund.get_by_label("Payment reference").fill("SEPA-2026-0042")
    await refund.get_by_role("button", name="Mark paid").click()
    await expect(page.locator("#done")).to_contain_text("of order 1046 is recorded as paid")
    await expect(page.locator("#refunds tr", has_text="1046")).to_have_count(0)

    # Ben's charger is allocated: it ships with a carrier and a tracking link.
    charger = page.locator("#ready tr", has_text="1043").filter(has_text="PHN-CH-65")
    await charger.get_by_label("Carrier").fill("DHL")
    await charger.get_by_label("Tracking number").fill("00340434161094042557")
    await charger.get_by_label("Tracking link").fill(TRACK)
    await charger.get_by_role("button", name="Mark shipped").click()
    await expect(page.locator("#done")).to_contain_text("1 unit of PHN-CH-65 of order 1043 recorded as shipped")
    await expect(page.locator("#ready tr", has_text="1043").filter(has_text="PHN-CH-65")).to_have_count(0)
    await page.screenshot(path=str(artifacts_dir / "console-to-do-done.png"), full_page=True)

    # Through the outbox to the sandbox Telegram: Emma in German, Ben with a Track button.
    def shipped_message() -> list[str]:
        return [m.inline_keyboard[0][0].get("url", "") for m in demo.fake.bot_messages(ben.user.id)
                if "1043 is on its way" in (m.text or "") and "with DHL" in (m.text or "") and m.button_labels[:1] == ["Track parcel"]]

    def refund_message() -> list[str]:
        return [m.text or "" for m in demo.fake.bot_messages(emma.user.id) if "Wir haben deine Erstattung" in (m.text or "")]

    await demo.fake.wait_until(lambda: bool(shipped_message()), what="Ben's shipped message with its Track button")
    assert shipped_message() == [TRACK]
    await demo.fake.wait_until(lambda: bool(refund_message()), what="Emma's refund message, in German")
    assert "Bestellung 1046" in refund_message()[0]


async def test_each_list_downloads_as_a_csv_file(demo: DemoStack, page: Page) -> None:
    await sign_in(page, demo, await new_token(demo))
    await page.get_by_role("link", name="To do").click()

    orders: dict[str, list[str]] = {}
    for section, name, first_column in (("refunds", "refunds-to-pay.csv", "refund_id"), ("swaps", "swaps-to-ship.csv", "order_number"), ("ready", "ready-to-ship.csv", "order_number")):
        async with page.expect_download() as waiting:
            await page.locator(f"#{section}").get_by_role("link", name="CSV").click()
        download = await waiting.value
        assert download.suggested_filename == name
        rows = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text(encoding="utf-8-sig"))))
        orders[section] = [row["order_number"] for row in rows]
        assert rows == [] or list(rows[0])[0] == first_column
    assert "1046" in orders["refunds"]  # Emma's cancelled chair
    assert "1043" in orders["ready"]  # Ben's charger


async def test_the_to_do_page_in_german_and_on_a_phone(demo: DemoStack, german_page: Page, phone_page: Page, artifacts_dir: Path) -> None:
    await sign_in(phone_page, demo, await new_token(demo))
    await phone_page.goto(f"{demo.url}/console/to-do")
    await expect(phone_page.get_by_role("heading", name="To do", exact=True)).to_be_visible()
    await no_sideways_scrolling(phone_page)
    await phone_page.screenshot(path=str(artifacts_dir / "console-phone-to-do.png"), full_page=True)

    await sign_in_in_german(german_page, demo)
    await german_page.get_by_role("link", name="Zu erledigen").click()
    await expect(german_page.get_by_role("heading", name="Zu erledigen", exact=True)).to_be_visible()
    await expect(german_page.locator("#refunds")).to_contain_text("Zu zahlende Erstattungen")
    await expect(german_page.get_by_role("button", name="Als bezahlt markieren").first).to_be_visible()
    await german_page.screenshot(path=str(artifacts_dir / "console-de-to-do.png"), full_page=True)
