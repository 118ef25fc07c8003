"""The console's Suppliers and Reorder pages in headless Chromium, against the running demo: the demo's suppliers
with their records, a late one's page with its lateness chart; a merchant adds a supplier, reads its track record
once shipments have come in, and sees what to reorder; on a phone as well. Screenshots: console-suppliers.png,
console-supplier.png, console-demo-supplier.png, console-reorder.png and console-phone-supplier.png,
console-phone-reorder.png."""

from datetime import timedelta
from pathlib import Path

from playwright.async_api import Page, expect

from bot.demo_stack import DemoStack
from bot.services.audit import Actor
from bot.services.purchasing.purchase_orders import add_purchase_order, receive_purchase_order
from bot.services.purchasing.suppliers import SupplierView, assign_products, list_suppliers
from bot.services.intake.demo_store import CATALOG
from tests.browser.test_console import new_token, no_sideways_scrolling, sign_in

MERCHANT = Actor.merchant("browser test")


async def a_late_record(demo: DemoStack, supplier_id: int) -> None:
    """The supplier supplies the first demo product; five of its shipments came 2 to 4 days late."""
    sku = CATALOG[0].sku
    await assign_products(demo.deps.uow(), supplier_id, [sku], MERCHANT)
    today = demo.clock.today()
    for index, late in enumerate([2, 3, 3, 4, 3]):
        await add_purchase_order(demo.deps.uow(), f"HIST-{index}", sku, 1, today - timedelta(days=late), MERCHANT)
        await receive_purchase_order(demo.deps.uow(), f"HIST-{index}", MERCHANT)


async def named(demo: DemoStack, name: str) -> SupplierView:
    return next(supplier for supplier in await list_suppliers(demo.deps.uow()) if supplier.name == name)


async def test_the_demo_suppliers_show_their_records_and_a_late_ones_chart(
    demo: DemoStack, page: Page, artifacts_dir: Path
) -> None:
    await sign_in(page, demo, await new_token(demo))
    await page.get_by_role("link", name="Suppliers").click()
    rows = page.locator("#suppliers tbody tr")
    await expect(rows).to_have_count(4)
    await expect(page.locator("#suppliers tr", has_text="Casa Cucina")).to_contain_text("record too short")

    await page.locator("#suppliers tr", has_text="Nordic Audio AB").get_by_role("link", name="Nordic Audio AB").click()
    await expect(page.get_by_role("heading", name="Nordic Audio AB")).to_be_visible()
    await expect(page.locator("#record")).to_contain_text("6 shipments received")
    await expect(page.locator("#record")).to_contain_text("getting later")
    await expect(page.locator("#adjustment")).to_contain_text("allow for 4 days of lateness")
    await expect(page.locator("svg.lateness .late rect")).to_have_count(6)
    await expect(page.locator("#shipments tbody tr").first).to_contain_text("PO-2026-093")  # the newest first
    await page.screenshot(path=str(artifacts_dir / "console-demo-supplier.png"), full_page=True)


async def test_a_merchant_adds_a_supplier_reads_its_record_and_sees_what_to_reorder(
    demo: DemoStack, page: Page, artifacts_dir: Path
) -> None:
    await sign_in(page, demo, await new_token(demo))
    await page.get_by_role("link", name="Suppliers").click()
    await expect(page.get_by_role("heading", name="Suppliers", exact=True)).to_be_visible()
    await page.get_by_label("Name").fill("Baltic Sound")
    await page.get_by_label("Contact").fill("orders@baltic.example")
    await page.get_by_label("Lead time (days)").fill("21")
    await page.get_by_role("button", name="Add").click()
    await expect(page.locator("#done")).to_have_text("Supplier added.")
    row = page.locator("#suppliers tr", has_text="Baltic Sound")
    await expect(row).to_contain_text("record too short")
    supplier = await named(demo, "Baltic Sound")
    await a_late_record(demo, supplier.id)
    await page.reload()
    await expect(row).to_contain_text("4 days late")
    await page.screenshot(path=str(artifacts_dir / "console-suppliers.png"), full_page=True)

    await row.get_by_role("link", name="Baltic Sound").click()
    await expect(page.get_by_role("heading", name="Baltic Sound")).to_be_visible()
    await expect(page.locator("#record")).to_contain_text("5 shipments received")
    await expect(page.locator("#adjustment")).to_contain_text("allow for 4 days of lateness")
    await expect(page.locator("svg.lateness .late rect")).to_have_count(5)
    await expect(page.locator("#shipments tbody tr")).to_have_count(5)
    await page.screenshot(path=str(artifacts_dir / "console-supplier.png"), full_page=True)

    await page.get_by_role("link", name="Reorder").click()
    await expect(page.get_by_role("heading", name="Reorder", exact=True)).to_be_visible()
    first = page.locator("#reorder tbody tr").first
    await expect(first).to_contain_text("now")
    await expect(first).to_contain_text("ordered in the last 30 days")
    await page.screenshot(path=str(artifacts_dir / "console-reorder.png"), full_page=True)


async def test_the_supplier_and_reorder_pages_fit_a_phone(demo: DemoStack, phone_page: Page, artifacts_dir: Path) -> None:
    page = phone_page
    await sign_in(page, demo, await new_token(demo))
    await page.goto(f"{demo.url}/console/suppliers")
    await page.get_by_label("Name").fill("Baltic Sound")
    await page.get_by_role("button", name="Add").click()
    supplier = await named(demo, "Baltic Sound")
    await a_late_record(demo, supplier.id)

    for path, heading, shot in (
        (f"/console/suppliers/{supplier.id}", "Baltic Sound", "console-phone-supplier.png"),
        ("/console/reorder", "Reorder", "console-phone-reorder.png"),
    ):
        await page.goto(f"{demo.url}{path}")
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        await no_sideways_scrolling(page)
        await page.screenshot(path=str(artifacts_dir / shot))
