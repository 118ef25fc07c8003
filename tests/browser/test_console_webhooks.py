"""The console's Webhooks page in headless Chromium, against the running demo and a merchant's receiver that verifies
every message with the `standardwebhooks` library: the merchant adds an endpoint (its secret shown once), sends a
test message, pays a refund on the To do page and sees the receiver get `refund.paid` from the demo's own webhook
workers, rotates the secret and removes the endpoint.

Screenshots: console-webhooks-added.png, console-webhooks.png, console-de-webhooks.png, console-phone-webhooks.png.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from bot.demo_stack import DemoStack
from tests.browser.test_console import new_token, no_sideways_scrolling, sign_in
from tests.browser.test_console_to_do import sign_in_in_german
from tests.webhook_receiver import Receiver, running_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async for running in running_receiver(Receiver()):
        yield running


async def test_a_merchant_adds_tests_rotates_and_removes_an_endpoint_that_receives_the_shops_events(
    demo: DemoStack, page: Page, receiver: Receiver, artifacts_dir: Path
) -> None:
    await sign_in(page, demo, await new_token(demo))
    await page.get_by_role("link", name="Webhooks").click()
    await expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    await expect(page.get_by_text("No endpoints yet.")).to_be_visible()

    await page.get_by_label("Your receiver's address").fill(receiver.url)
    await page.get_by_label("line.*").check()
    await page.get_by_label("refund.*").check()
    await page.get_by_role("button", name="Add endpoint").click()
    secret = await page.locator("#secret").inner_text()
    assert secret.startswith("whsec_")
    receiver.secret = secret
    row = page.locator("#endpoints tr[data-endpoint]")
    await expect(row).to_contain_text("line.*, refund.*")
    await expect(row).to_contain_text("active")
    await page.screenshot(path=str(artifacts_dir / "console-webhooks-added.png"), full_page=True)

    await row.get_by_role("button", name="Send a test message").click()
    await expect(page.locator("#tested")).to_have_text(f"{receiver.url} answered 204 to the test message: the endpoint works.")
    await expect(page.locator("#secret")).to_have_count(0)  # shown once

    # Paying Emma's refund on the To do page: the demo's webhook workers send refund.paid, signed.
    await page.get_by_role("link", name="To do").click()
    refund = page.locator("#refunds tr", has_text="1046")
    await refund.get_by_label("Payment reference").fill("SEPA-2026-0042")
    await refund.get_by_role("button", name="Mark paid").click()
    await expect(page.locator("#done")).to_be_visible()
    await demo.fake.wait_until(lambda: any(m.type == "refund.paid" for m in receiver.received), 15, what="refund.paid at the receiver")
    [paid] = [m for m in receiver.received if m.type == "refund.paid"]
    assert paid.data["order_number"] == "1046" and paid.data["payment_reference"] == "SEPA-2026-0042"
    assert receiver.refused == 0

    await page.get_by_role("link", name="Webhooks").click()
    await expect(row.locator("td").nth(3)).not_to_have_text("not yet")  # last delivered
    await row.get_by_label("Old secret signs for").select_option(label="1 hour")
    await row.get_by_role("button", name="Rotate secret").click()
    new_secret = await page.locator("#secret").inner_text()
    assert new_secret.startswith("whsec_") and new_secret != secret
    await expect(row).to_contain_text("The previous secret signs too until")
    await page.screenshot(path=str(artifacts_dir / "console-webhooks.png"), full_page=True)

    await row.get_by_text("Remove…").click()
    await row.get_by_role("button", name="Remove endpoint").click()
    await expect(page.locator("#done")).to_contain_text("removed; nothing more is sent to it.")
    await expect(page.get_by_text("No endpoints yet.")).to_be_visible()


async def test_the_webhooks_page_in_german_and_on_a_phone(
    demo: DemoStack, german_page: Page, phone_page: Page, receiver: Receiver, artifacts_dir: Path
) -> None:
    await sign_in(phone_page, demo, await new_token(demo))
    await phone_page.goto(f"{demo.url}/console/webhooks")
    await phone_page.get_by_label("Your receiver's address").fill(receiver.url)
    await phone_page.get_by_role("button", name="Add endpoint").click()
    await expect(phone_page.locator("#secret")).to_be_visible()
    await no_sideways_scrolling(phone_page)
    await phone_page.screenshot(path=str(artifacts_dir / "console-phone-webhooks.png"), full_page=True)

    await sign_in_in_german(german_page, demo)
    await german_page.get_by_role("link", name="Webhooks").click()
    await expect(german_page.locator("#endpoints")).to_contain_text("jedes Ereignis")
    await expect(german_page.get_by_role("button", name="Testnachricht senden")).to_be_visible()
    await expect(german_page.get_by_role("button", name="Endpunkt hinzufügen")).to_be_visible()
    await german_page.screenshot(path=str(artifacts_dir / "console-de-webhooks.png"), full_page=True)
