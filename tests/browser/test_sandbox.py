"""The sandbox page in headless Chromium, against the running demo: what someone trying the bot does first.

Every click here becomes a Telegram update in the sandbox server that the real bot fetches and answers over
the Bot API; the tests read what the page shows, and the database for what the bot did.
"""

import re
from datetime import date, timedelta
from pathlib import Path

from playwright.async_api import Locator, Page, expect
from sqlalchemy import select

from bot.demo_stack import DemoStack, Persona
from bot.i18n import Translator, translator, unbroken
from bot.services.intake.demo_store import CATALOG, DemoProduct
from db.models import Customer, LineStatus, Order, OrderLine, Product, Ticket
from tests.e2e.chat_driver import read_all, read_scalar

EN = translator("en")
EARBUDS = "AUD-EB-300"  # Ben's AirBeat ANC Earbuds, one of two waiting on a purchase order
LITE_EARBUDS = "AUD-EB-150"


def product(sku: str) -> DemoProduct:
    return next(item for item in CATALOG if item.sku == sku)


def customer_chat(page: Page) -> Locator:
    return page.locator("#customer-messages")


def bot_message(page: Page, pane: str, text: str) -> Locator:
    """The bot's message in a pane's chat that contains `text` (the newest, if several do)."""
    return page.locator(f"#{pane}-messages > li[data-from=bot]", has_text=text).last


async def open_sandbox(page: Page, demo: DemoStack) -> None:
    await page.goto(demo.sandbox_url)
    await expect(page.locator("body[data-ready=true]")).to_be_visible()


async def say(page: Page, who: str, text: str) -> None:
    box = page.get_by_label(f"Message as the {who}")
    await box.fill(text)
    await box.press("Enter")


async def act_as(page: Page, persona: Persona) -> None:
    await page.get_by_label("Act as customer").select_option(persona.key)
    await expect(page.locator("#persona-hint")).to_contain_text(persona.name)


def connected(t: Translator, first_name: str) -> str:
    return t.gettext("Thanks, {name} — you're connected. Here are your orders:").format(name=first_name)


async def link_by_phone(page: Page, persona: Persona, t: Translator) -> None:
    """Start the chat and press the keyboard's "share my phone number", as a Telegram user would."""
    await act_as(page, persona)
    await page.get_by_role("button", name="Start", exact=True).click()
    await page.locator("#customer-keyboard").get_by_role("button", name=t.gettext("📱 Share my phone number")).click()
    await expect(bot_message(page, "customer", connected(t, persona.user.first_name))).to_be_visible()


async def test_a_new_user_links_a_demo_order_by_number_and_email_and_swaps_a_waiting_item_for_an_alternative(
    demo: DemoStack, page: Page, artifacts_dir: Path
) -> None:
    today = demo.clock.today()
    earbuds, lite = product(EARBUDS), product(LITE_EARBUDS)
    [(_, due_in_days, _)] = earbuds.supply
    await open_sandbox(page, demo)

    await page.get_by_role("button", name="New user").click()
    await expect(page.locator("#persona-hint")).to_contain_text("does not know yet")
    await say(page, "customer", "1043 ben@example.com")
    await expect(bot_message(page, "customer", connected(EN, "Ben"))).to_be_visible()
    await bot_message(page, "customer", EN.gettext("Tap an item to see details, cancel it or pick an alternative.")).get_by_role(
        "button", name=f"{earbuds.name} × 2"
    ).click()

    card = bot_message(page, "customer", EN.gettext("Alternatives"))
    # Their supplier, Nordic Audio, has lately been up to 4 days late: the card keeps its date and allows for that.
    arrival = today + timedelta(days=due_in_days)
    shipping = arrival + timedelta(days=4 + demo.deps.policy.handling_days)
    await expect(card).to_contain_text(
        f"Supplier shipment due {EN.date(arrival)}; this supplier has recently been about 4 days late, so we expect to"
        f" ship by {EN.date(shipping)}"
    )
    card_id = await card.get_attribute("data-message-id")
    await card.get_by_role("button", name=EN.gettext("Alternatives")).click()

    same_message = customer_chat(page).locator(f"li[data-message-id='{card_id}']")
    await expect(same_message).to_contain_text(EN.gettext("These can ship now instead:"))
    await expect(same_message).to_contain_text(f"{lite.name} — €79.00")
    await same_message.get_by_role("button", name=lite.name, exact=True).click()
    await expect(same_message).to_contain_text(f"Swap your item for {lite.name}?")
    await same_message.get_by_role("button", name=EN.gettext("Yes, swap it")).click()
    await expect(same_message).to_contain_text(f"Done: you now get 1 × {lite.name} on order 1043. It is ready to ship.")
    await expect(same_message).to_contain_text("edited")

    await page.screenshot(path=str(artifacts_dir / "sandbox.png"))
    # The waiting earbud is swapped for the Lite pair, which is allocated; the other earbud still ships.
    assert await lines_of_order(demo, "1043", EARBUDS, LITE_EARBUDS) == [
        (EARBUDS, LineStatus.ALLOCATED, 2, 1, 1, False),
        (LITE_EARBUDS, LineStatus.ALLOCATED, 1, 1, 0, True),
    ]
    assert await read_scalar(
        demo.deps.session_factory, select(Customer.telegram_user_id).where(Customer.email == "ben@example.com")
    ) == demo.cast.customers[-1].user.id


async def test_a_german_customer_sees_telegrams_own_words_in_german(demo: DemoStack, page: Page) -> None:
    anna, german = demo.cast.persona("anna"), translator("de")
    headset = product("AUD-HS-200")
    await open_sandbox(page, demo)
    await link_by_phone(page, anna, german)
    orders = bot_message(page, "customer", german.gettext("Tap an item to see details, cancel it or pick an alternative."))
    await orders.get_by_role("button", name=re.compile(headset.name)).click()

    card = bot_message(page, "customer", german.gettext("Alternatives"))
    card_id = await card.get_attribute("data-message-id")
    await card.get_by_role("button", name=german.gettext("Alternatives")).click()

    same_message = customer_chat(page).locator(f"li[data-message-id='{card_id}']")
    await expect(same_message.locator(".edited")).to_have_text("bearbeitet")


async def lines_of_order(demo: DemoStack, order_number: str, *skus: str) -> list[tuple[str, LineStatus, int, int, int, bool]]:
    """The order's lines of these products: SKU, status, quantity, allocated, substituted, whether it stands in for another."""
    rows = await read_all(
        demo.deps.session_factory,
        select(
            Product.sku, OrderLine.status, OrderLine.quantity, OrderLine.allocated_quantity,
            OrderLine.substituted_quantity, OrderLine.substitute_for_line_id,
        )
        .join(Product, Product.id == OrderLine.product_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.number == order_number, Product.sku.in_(skus))
        .order_by(OrderLine.id),
    )
    return [(*row[:5], row[5] is not None) for row in rows]


async def open_topic(topic: Locator) -> None:
    """Click a topic tab until it is the selected one: the tabs are redrawn as messages arrive, and a click
    that lands while they are being replaced selects nothing, as it would for a person."""
    for _ in range(5):
        await topic.click()
        if await topic.get_attribute("aria-selected") == "true":
            return
    await expect(topic).to_have_attribute("aria-selected", "true")


async def test_a_customer_asks_for_a_person_and_the_agent_answers_in_the_tickets_topic(
    demo: DemoStack, page: Page, artifacts_dir: Path
) -> None:
    ben = demo.cast.persona("ben")
    await open_sandbox(page, demo)
    await link_by_phone(page, ben, EN)
    await expect(page.locator("#customer-keyboard button")).to_have_count(0)  # the share-phone keyboard is gone

    await page.locator("#customer-composer").get_by_role("button", name="Commands").click()
    await page.locator("#customer-pane .command-menu").get_by_role("button", name="/support").click()
    await expect(bot_message(page, "customer", "ticket #")).to_contain_text(EN.gettext("Just write here: everything you send goes straight to them."))
    await say(page, "customer", "Can the earbuds come any sooner?")

    [ticket] = await read_all(demo.deps.session_factory, select(Ticket.id, Ticket.topic_thread_id))
    topic = page.locator(f"#topics .topic[data-thread='{ticket.topic_thread_id}']")
    await expect(topic).to_contain_text(f"#{ticket.id} · Ben C. · order 1043")
    await open_topic(topic)
    support = page.locator("#support-messages")
    await expect(support).to_contain_text("Ben Carter")  # the context card
    relayed = support.locator("li", has_text="Can the earbuds come any sooner?")  # relayed into the topic
    await expect(relayed.locator(".forwarded")).to_have_text("Forwarded from Ben Carter")  # whose words, not just the bot's
    await say(page, "agent", "Hi Ben, I have asked the supplier and will let you know tomorrow.")

    await expect(customer_chat(page)).to_contain_text("Hi Ben, I have asked the supplier and will let you know tomorrow.")
    await page.screenshot(path=str(artifacts_dir / "sandbox-support.png"))
    assert await read_scalar(
        demo.deps.session_factory, select(Customer.telegram_user_id).where(Customer.email == "ben@example.com")
    ) == ben.user.id


async def test_a_day_later_the_daily_jobs_run_and_a_linked_customer_gets_a_delay_notice_on_a_phone(
    demo: DemoStack, phone_page: Page, artifacts_dir: Path
) -> None:
    page = phone_page
    clara = demo.cast.persona("clara")
    german = translator("de")
    started = demo.clock.today()
    await open_sandbox(page, demo)
    await act_as(page, clara)
    await say(page, "customer", f"{clara.order_number} {clara.email}")
    await expect(bot_message(page, "customer", connected(german, "Clara"))).to_be_visible()

    await page.get_by_role("button", name="+1 day").click()

    await expect(page.locator("#toast")).to_contain_text("A day later: the daily jobs ran")
    await expect(page.locator("#demo-now")).to_contain_text(day_label(started + timedelta(days=1)))
    assert demo.clock.today() == started + timedelta(days=1)
    notice = bot_message(page, "customer", german.gettext("Shipping delay — order {order}").format(order=clara.order_number))
    await expect(notice.get_by_role("button")).to_have_count(2)
    await page.screenshot(path=str(artifacts_dir / "sandbox-phone.png"))
    await notice.get_by_role("button", name=german.gettext("Yes, I'll wait")).click()
    thanks = german.gettext("Thank you for waiting. We now expect to ship it on {date}.").split(".")[0]
    await expect(bot_message(page, "customer", thanks)).to_be_visible()

    await page.get_by_role("button", name="Support team").click()
    await expect(page.locator("#support-pane")).to_be_visible()
    await expect(page.locator("#customer-pane")).to_be_hidden()


def day_label(day: date) -> str:
    """How the page's clock names a day, e.g. "Sat, 28 Nov 2026"."""
    return f"{day:%a}, {day.day} {day:%b %Y}"


async def test_the_merchant_asks_for_the_backorders_in_the_merchants_chat(demo: DemoStack, page: Page) -> None:
    headset = product("AUD-HS-200")
    [(reference, due_in_days, units)] = headset.supply
    await open_sandbox(page, demo)

    await say(page, "merchant", "/backorders")

    overview = bot_message(page, "merchant", f"{headset.sku} {headset.name}")
    due = EN.date(demo.clock.today() + timedelta(days=due_in_days))
    await expect(overview).to_contain_text(f"next: {unbroken(reference)} due {due} ({units} pcs)")


async def test_a_new_tickets_topic_opens_by_itself_and_once_closed_shows_no_unread_badge_after_a_reload(
    demo: DemoStack, page: Page
) -> None:
    ben = demo.cast.persona("ben")
    await open_sandbox(page, demo)
    await link_by_phone(page, ben, EN)
    await say(page, "customer", "/support")
    await expect(bot_message(page, "customer", "ticket #")).to_be_visible()
    await say(page, "customer", "Can the earbuds come any sooner?")

    [ticket] = await read_all(demo.deps.session_factory, select(Ticket.id, Ticket.topic_thread_id))
    topic = page.locator(f"#topics .topic[data-thread='{ticket.topic_thread_id}']")
    await expect(topic).to_have_attribute("aria-selected", "true")  # nobody clicked it
    await expect(page.locator("#support-messages")).to_contain_text("Can the earbuds come any sooner?")
    await say(page, "agent", "/close")
    await expect(page.locator("#support-messages")).to_contain_text("Topic closed")

    await page.reload()
    await expect(page.locator("body[data-ready=true]")).to_be_visible()
    await expect(topic).to_be_visible()
    await expect(topic.locator(".badge")).to_have_count(0)




async def test_the_console_button_opens_the_merchant_console_signed_in_with_one_click(demo: DemoStack, page: Page) -> None:
    await open_sandbox(page, demo)
    async with page.context.expect_page() as opened:
        await page.get_by_role("button", name="Console ↗").click()
    console = await opened.value
    await console.get_by_role("button", name="Sign in to the console").click()
    await expect(console.get_by_role("heading", name="Backorders", exact=True)).to_be_visible()

    await console.go_back()  # the same link again
    await console.reload()
    await expect(console.get_by_role("heading", name="This sign-in link no longer works")).to_be_visible()
