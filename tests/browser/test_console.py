"""The merchant console in headless Chromium, against the running demo: a merchant signs in with an API token,
moves a purchase order after seeing whose ETAs move, and sends a broadcast whose progress bar follows the
outbox workers delivering to the sandbox Telegram until every message is handled.

Screenshots are kept in the artefacts directory: console.png, console-move-preview.png, console-broadcast.png
(desktop) and console-phone-*.png (a 390×844 phone).
"""

import asyncio
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, Response, expect
from sqlalchemy import func, select

from bot.demo_stack import DemoStack, Persona
from bot.sandbox.faults import Fault
from bot.services.conversations.linking import linked_customer
from bot.services.intake.demo_store import CATALOG
from bot.services.merchant_access.api_tokens import create_token, revoke_token
from bot.services.outreach.broadcasts import Audience, preview_broadcast
from db.models import OutboxMessage, OutboxStatus, PurchaseOrder
from tests.browser.conftest import WAIT_MS
from tests.e2e.chat_driver import read_scalar

HEADSET_ORDER = "PO-2026-118"  # Anna's Studio Pro Wireless Headset waits on it
WAITING_DEMO_ORDERS = "1042, 1043, 1044, 1046"  # Anna, Ben, Clara and Emma still wait on these
SLOW_SECONDS = 3.0  # long enough for the page to show the broadcast still sending


async def sign_in(page: Page, demo: DemoStack, token: str) -> None:
    await page.goto(f"{demo.url}/console")
    await expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()


async def new_token(demo: DemoStack, name: str = "browser test") -> str:
    plaintext, _ = await create_token(demo.deps.uow(), name)
    return plaintext


async def link_in_the_chat(demo: DemoStack, customers: list[Persona]) -> None:
    """Each customer starts the bot and shares their phone number in the sandbox Telegram, as on a phone."""
    for persona in customers:
        assert persona.phone
        demo.fake.send_command(persona.user, "start")
        demo.fake.share_contact(persona.user, persona.phone)
    deadline = asyncio.get_running_loop().time() + WAIT_MS / 1000
    for persona in customers:
        while await linked_customer(demo.deps.uow(), persona.user.id) is None:
            assert asyncio.get_running_loop().time() < deadline, f"{persona.name} was not linked in the chat"
            await asyncio.sleep(0.05)


async def references_on_one_line(page: Page) -> None:
    """Every purchase-order reference on the page is on one line, however narrow its column."""
    lines = await page.evaluate("[...document.querySelectorAll('.reference')].map((e) => e.getClientRects().length)")
    assert lines and set(lines) == {1}, f"references broken across lines: {lines}"


async def no_sideways_scrolling(page: Page) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


# ---- the merchant's afternoon --------------------------------------------------------------------------


async def test_a_merchant_moves_a_purchase_order_then_broadcasts_and_watches_the_delivery_finish(
    demo: DemoStack, page: Page, artifacts_dir: Path
) -> None:
    await link_in_the_chat(demo, demo.cast.customers)
    await sign_in(page, demo, await new_token(demo))

    # Backorders by SKU, with the aging chart.
    await expect(page.get_by_role("heading", name="Backorders", exact=True)).to_be_visible()
    headset = next(product for product in CATALOG if product.supply and product.supply[0][0] == HEADSET_ORDER)
    row = page.locator(f'tr[data-sku="{headset.sku}"]')
    await expect(row).to_contain_text(HEADSET_ORDER)
    await expect(page.locator("#aging-chart svg")).to_be_visible()
    await page.screenshot(path=str(artifacts_dir / "console.png"), full_page=True)

    # Move the headsets' purchase order a week later: the preview says whose ETAs move before anything does.
    await page.get_by_role("link", name="Purchase orders").click()
    po_row = page.locator(f'tr[data-reference="{HEADSET_ORDER}"]')
    await references_on_one_line(page)  # the narrow Reference column would break them at their hyphens
    _, due_in_days, _ = headset.supply[0]
    new_date = demo.clock.today() + timedelta(days=due_in_days + 7)
    await po_row.get_by_label("New date").fill(new_date.isoformat())
    await po_row.get_by_role("button", name="Preview move").click()
    await expect(page.get_by_role("heading", name=f"Move {HEADSET_ORDER}")).to_be_visible()
    told = int(await page.locator("#customers-affected").inner_text())
    moving = int(await page.locator("#lines-moving").inner_text())
    assert told >= 1 and moving >= told
    await expect(page.locator("#preview-lines")).to_contain_text("Anna Klein")
    await page.screenshot(path=str(artifacts_dir / "console-move-preview.png"), full_page=True)
    await page.get_by_role("button", name=re.compile(r"^Move to ")).click()
    await expect(page.locator("#done")).to_contain_text(
        f"{moving} waiting line{'s' if moving != 1 else ''} of {told} customer{'s' if told != 1 else ''} got a new ETA"
    )
    moved_to = await read_scalar(
        demo.deps.session_factory, select(PurchaseOrder.expected_on).where(PurchaseOrder.reference == HEADSET_ORDER)
    )
    assert moved_to == new_date

    # A broadcast to the customers still waiting on the demo orders: the count follows the audience.
    await page.get_by_role("link", name="Broadcasts").click()
    reachable = await preview_broadcast(demo.deps.uow(), Audience(order_numbers=WAITING_DEMO_ORDERS.split(", ")))
    await page.get_by_label("…or these orders").fill(WAITING_DEMO_ORDERS)
    await expect(page.locator("#recipient-count")).to_have_text(str(reachable))
    await page.get_by_label("English (required").fill("Good news: new stock is on its way. Thank you for waiting!")
    await page.get_by_label("German (optional)").fill("Gute Nachricht: Neue Ware ist unterwegs. Danke fürs Warten!")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.locator("#preview-recipients")).to_have_text(f"{reachable} customers")
    # Telegram answers for Emma's chat that she blocked the bot, and is slow to answer for Clara's.
    emma, clara = demo.cast.persona("emma"), demo.cast.persona("clara")
    demo.fake.inject_fault("sendMessage", Fault.blocked(), chat_id=emma.user.id)
    demo.fake.inject_fault("sendMessage", Fault.slow(SLOW_SECONDS), chat_id=clara.user.id)
    await page.get_by_role("button", name=f"Send to {reachable} customers").click()

    # The progress bar follows the outbox workers until nothing is left to send.
    box = page.locator("#broadcast")
    await expect(box).to_have_attribute("data-status", "sending")
    await page.screenshot(path=str(artifacts_dir / "console-broadcast-sending.png"), full_page=True)
    await expect(box).to_have_attribute("data-status", "done")
    await expect(page.locator("#progress-status")).to_have_text(f"Done: all {reachable} handled.")
    await expect(page.locator("#count-blocked")).to_have_text("1")
    await expect(page.locator("#count-sent")).to_have_text(str(reachable - 1))
    await expect(page.locator("#count-failed")).to_have_text("0")
    await expect(page.locator("#count-pending")).to_have_text("0")
    widths = {name: float(await page.locator(f"#progress-{name}").get_attribute("width") or 0) for name in ("sent", "failed", "blocked")}
    assert widths == pytest.approx({"sent": 100 * (reachable - 1) / reachable, "failed": 0, "blocked": 100 / reachable}, abs=0.01)
    delivered = await read_scalar(
        demo.deps.session_factory,
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.broadcast_id.is_not(None), OutboxMessage.status == OutboxStatus.SENT
        ),
    )
    assert delivered == reachable - 1
    # Each in their language: Clara German, Ben English.
    assert [m.text for m in demo.fake.bot_messages(clara.user.id) if "Warten" in m.text or "waiting" in m.text][-1:] == [
        "Gute Nachricht: Neue Ware ist unterwegs. Danke fürs Warten!"
    ]
    ben = demo.cast.persona("ben")
    assert [m.text for m in demo.fake.bot_messages(ben.user.id) if "Warten" in m.text or "waiting" in m.text][-1:] == [
        "Good news: new stock is on its way. Thank you for waiting!"
    ]
    await page.screenshot(path=str(artifacts_dir / "console-broadcast.png"), full_page=True)


async def test_at_night_a_broadcast_waits_for_the_morning_and_its_page_says_so_until_it_goes(
    demo: DemoStack, page: Page, artifacts_dir: Path
) -> None:
    await link_in_the_chat(demo, demo.cast.customers)
    # 21:30 in the shop: its quiet hours (21:00-08:00) hold optional messages until 08:00.
    evening = datetime.combine(demo.clock.today(), time(21, 30), tzinfo=demo.clock.tz)
    demo.clock.offset += evening - demo.clock.now()
    await sign_in(page, demo, await new_token(demo))
    reachable = await preview_broadcast(demo.deps.uow(), Audience(order_numbers=WAITING_DEMO_ORDERS.split(", ")))

    await page.get_by_role("link", name="Broadcasts").click()
    await page.get_by_label("…or these orders").fill(WAITING_DEMO_ORDERS)
    await page.get_by_label("English (required").fill("We restock on Monday.")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.locator("#quiet-hours")).to_have_text(
        "It is the shop's quiet hours: customers get it at 08:00, unless you send it as urgent."
    )
    await page.get_by_role("button", name=f"Send to {reachable} customers").click()

    await expect(page.locator("#broadcast")).to_have_attribute("data-status", "sending")
    await expect(page.locator("#quiet-hours")).to_have_text(
        f"{reachable} messages wait for the shop's quiet hours to end at 08:00."
    )
    await page.screenshot(path=str(artifacts_dir / "console-broadcast-quiet-hours.png"), full_page=True)

    morning = datetime.combine(demo.clock.today() + timedelta(days=1), time(8, 0), tzinfo=demo.clock.tz)
    demo.clock.offset += morning - demo.clock.now()
    await expect(page.locator("#broadcast")).to_have_attribute("data-status", "done")
    await expect(page.locator("#quiet-hours")).to_be_hidden()
    await expect(page.locator("#count-sent")).to_have_text(str(reachable))

# ---- in German ----------------------------------------------------------------------------------------


async def test_a_german_merchant_works_in_german_and_can_switch_to_english(
    demo: DemoStack, german_page: Page, artifacts_dir: Path
) -> None:
    page = german_page
    await link_in_the_chat(demo, demo.cast.customers)
    await page.goto(f"{demo.url}/console")
    await expect(page.get_by_role("heading", name="Bei der Konsole anmelden")).to_be_visible()
    await page.get_by_label("API-Token").fill(await new_token(demo))
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page.get_by_role("heading", name="Rückstände", exact=True)).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.locator("#backorders")).to_contain_text("Längste Wartezeit")

    # Dates, plurals and the answer after a move, in German.
    await page.get_by_role("link", name="Lieferantenbestellungen").click()
    headset = next(product for product in CATALOG if product.supply and product.supply[0][0] == HEADSET_ORDER)
    _, due_in_days, _ = headset.supply[0]
    new_date = demo.clock.today() + timedelta(days=due_in_days + 7)
    po_row = page.locator(f'tr[data-reference="{HEADSET_ORDER}"]')
    await po_row.get_by_label("Neues Datum").fill(new_date.isoformat())
    await po_row.get_by_role("button", name="Verschieben prüfen").click()
    await expect(page.get_by_role("heading", name=f"{HEADSET_ORDER} verschieben")).to_be_visible()
    await page.get_by_role("button", name=re.compile(r"^Auf .* verschieben$")).click()
    await expect(page.locator("#done")).to_contain_text(re.compile(rf"{HEADSET_ORDER} wird jetzt am \w+\., \d+\. \w+\.? 2026 erwartet"))
    await expect(page.locator("#done")).to_contain_text("einen neuen Termin; sie werden benachrichtigt.")
    await page.screenshot(path=str(artifacts_dir / "console-de-purchase-orders.png"), full_page=True)

    # A broadcast: the script's status line speaks German too.
    await page.get_by_role("link", name="Rundnachrichten").click()
    reachable = await preview_broadcast(demo.deps.uow(), Audience(order_numbers=WAITING_DEMO_ORDERS.split(", ")))
    await page.get_by_label("… oder diese Bestellungen").fill(WAITING_DEMO_ORDERS)
    await expect(page.locator("#recipient-count")).to_have_text(str(reachable))
    await page.get_by_label("Englisch (Pflicht").fill("Good news: new stock is on its way.")
    await page.get_by_role("button", name="Vorschau").click()
    await expect(page.locator("#preview-recipients")).to_have_text(f"{reachable} Kunden")
    await page.get_by_role("button", name=f"An {reachable} Kunden senden").click()
    await expect(page.locator("#broadcast")).to_have_attribute("data-status", "done")
    await expect(page.locator("#progress-status")).to_have_text(f"Fertig: alle {reachable} bearbeitet.")
    await expect(page.get_by_text("Bot blockiert")).to_be_visible()
    await page.screenshot(path=str(artifacts_dir / "console-de-broadcast.png"), full_page=True)

    await page.get_by_role("link", name="Verzögerungsmitteilungen").click()
    await expect(page.get_by_role("heading", name="Verzögerungsmitteilungen")).to_be_visible()

    # The switch to English holds for the next pages.
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Delay notices")).to_be_visible()
    await page.get_by_role("link", name="Backorders").click()
    await expect(page.get_by_role("heading", name="Backorders", exact=True)).to_be_visible()


# ---- signing in ----------------------------------------------------------------------------------------


async def test_the_console_refuses_a_wrong_or_revoked_token_and_signs_out_a_revoked_session(
    demo: DemoStack, page: Page, artifacts_dir: Path
) -> None:
    answers: list[int] = []

    def note_sign_in_answer(response: Response) -> None:
        if response.request.method == "POST" and response.url.endswith("/console/sign-in"):
            answers.append(response.status)

    page.on("response", note_sign_in_answer)

    await sign_in(page, demo, "bd_this-is-not-a-token")
    await expect(page.locator("#sign-in-error")).to_have_text("This API token is not valid: it is unknown or has been revoked.")

    plaintext, info = await create_token(demo.deps.uow(), "old laptop")
    await revoke_token(demo.deps.uow(), info.id)
    await page.get_by_label("API token").fill(plaintext)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#sign-in-error")).to_have_text("This API token is not valid: it is unknown or has been revoked.")
    assert answers == [401, 401]
    await page.screenshot(path=str(artifacts_dir / "console-sign-in-refused.png"))

    plaintext, info = await create_token(demo.deps.uow(), "shop laptop")
    await page.get_by_label("API token").fill(plaintext)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Backorders", exact=True)).to_be_visible()
    await revoke_token(demo.deps.uow(), info.id)
    await page.get_by_role("link", name="Tickets").click()
    await expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("has been revoked")


# ---- on a phone ----------------------------------------------------------------------------------------


async def test_the_console_fits_a_phone_screen(demo: DemoStack, phone_page: Page, artifacts_dir: Path) -> None:
    page = phone_page
    await sign_in(page, demo, await new_token(demo))
    await expect(page.get_by_role("heading", name="Backorders", exact=True)).to_be_visible()
    await no_sideways_scrolling(page)
    await references_on_one_line(page)
    await page.screenshot(path=str(artifacts_dir / "console-phone-backorders.png"))
    await page.locator("#backorders").scroll_into_view_if_needed()
    await page.screenshot(path=str(artifacts_dir / "console-phone-backorders-table.png"))

    for link, heading, shot in (
        ("Purchase orders", "Purchase orders", "console-phone-purchase-orders.png"),
        ("Broadcasts", "Broadcasts", "console-phone-broadcasts.png"),
        ("Delay notices", "Delay notices", "console-phone-delay-notices.png"),
        ("Tickets", "Tickets", "console-phone-tickets.png"),
    ):
        await page.get_by_role("link", name=link).click()
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        await no_sideways_scrolling(page)
        if heading in ("Backorders", "Purchase orders"):
            await references_on_one_line(page)
        await page.screenshot(path=str(artifacts_dir / shot))

    await page.get_by_role("link", name="Purchase orders").click()
    first_date = page.get_by_label("New date").first
    due = date.fromisoformat(await first_date.input_value())
    await first_date.fill((due + timedelta(days=7)).isoformat())
    await page.get_by_role("button", name="Preview move").first.click()
    await expect(page.get_by_role("heading", name=re.compile("^Move "))).to_be_visible()
    await no_sideways_scrolling(page)
    await references_on_one_line(page)
    await page.screenshot(path=str(artifacts_dir / "console-phone-move-preview.png"))
