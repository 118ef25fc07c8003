"""The merchant console through the real aiohttp app on the test database: signing in and out, every page,
the purchase-order and broadcast forms, and the refusals (wrong or revoked token, forged forms).

Today is Friday 27 November 2026 in Berlin and handling takes a day: a shipment due on 4 December makes an
ETA of 5 December.
"""

import os
import re
import shlex
import shutil
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from html import unescape
from typing import Any

import pytest
from aiohttp import ClientSession, DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import build_parser
from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.services.backorders.eta import recompute_all_etas
from bot.services.merchant_access.api_tokens import create_token, list_tokens, revoke_token
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from bot.web.app import build_web_app
from db.models import (
    Broadcast,
    DelayNotice,
    DelayResponse,
    OrderLine,
    OutboxMessage,
    PurchaseOrder,
    StockLevel,
    Ticket,
    TicketStatus,
)
from tests.e2e.web_client import web_settings
from tests.shop import T0, add_customer, add_order, add_product, add_purchase_order, minutes_after

Sessions = async_sessionmaker[AsyncSession]
DEC_4 = date(2026, 12, 4)
BROADCAST_FIELDS = ("csrf", "form_key", "sku", "category", "orders", "text_en", "text_de", "new_eta")


class Page:
    """An answer from the console: status, where it redirects, and its HTML read as text."""

    def __init__(self, status: int, html: str, headers: Any) -> None:
        self.status = status
        self.html = html
        self.headers = headers

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    @property
    def text(self) -> str:
        """What a person reads: the HTML without tags, whitespace squeezed."""
        body = re.sub(r"<(script|style|title)[^>]*>.*?</\1>", " ", self.html, flags=re.S)
        return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body))).strip()

    def field(self, name: str) -> str:
        """The value of the first hidden or text field called `name`."""
        values = self.fields(name)
        assert values, f"no field {name}"
        return values[0]

    def fields(self, name: str) -> list[str]:
        """The values of every hidden or text field called `name`, in page order."""
        return [unescape(value) for value in re.findall(rf'name="{re.escape(name)}" value="([^"]*)"', self.html)]


class Console:
    """A browser on /console: keeps the cookies, follows nothing by itself."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def get(self, path: str, **params: Any) -> Page:
        async with self.client.get(path, params=params or None, allow_redirects=False) as response:
            return Page(response.status, await response.text(), response.headers)

    async def post(self, path: str, form: dict[str, Any] | list[tuple[str, str]], **headers: str) -> Page:
        async with self.client.post(path, data=form, headers=headers or None, allow_redirects=False) as response:
            return Page(response.status, await response.text(), response.headers)

    async def json(self, path: str, **params: Any) -> tuple[int, Any]:
        async with self.client.get(path, params=params or None, headers={"Accept": "application/json"}, allow_redirects=False) as response:
            return response.status, await response.json()

    async def sign_in(self, token: str) -> Page:
        form = await self.get("/console/sign-in")
        return await self.post("/console/sign-in", {"csrf": form.field("csrf"), "token": token, "next": form.field("next")})

    async def csrf(self) -> str:
        return (await self.get("/console")).field("csrf")

    def session_cookie(self) -> str | None:
        for cookie in self.client.session.cookie_jar:
            if cookie.key == "bd_console":
                return cookie.value
        return None


@pytest.fixture
def console_deps(session_factory: Sessions, clock: ManualClock, policy: ShopPolicy) -> ChatDeps:
    return ChatDeps(web_settings(secret_key="console test secret"), session_factory, clock, policy)


@pytest.fixture
async def console(console_deps: ChatDeps) -> AsyncIterator[Console]:
    async with TestClient(TestServer(build_web_app(console_deps))) as client:
        yield Console(client)


@pytest.fixture
async def token(uow: UnitOfWork) -> str:
    plaintext, _ = await create_token(uow, "shop owner")
    return plaintext


@pytest.fixture
async def signed_in(console: Console, token: str) -> Console:
    assert (await console.sign_in(token)).status == 303
    return console


async def count(sessions: Sessions, model: type, *where: object) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def headset_queue(session: AsyncSession, uow: UnitOfWork) -> list[int]:
    """HS-200: Anna, Ben and Clara wait (linked to the chat), Dora too (not linked); PO-A brings 2 on 4 Dec."""
    headset = await add_product(session, "HS-200", lead_time_days=28, name="Studio Pro Wireless Headset")
    await add_product(session, "MX-500", category="kitchen", name="Stand Mixer")
    line_ids = []
    for index, name in enumerate(("Anna Klein", "Ben Carter", "Clara Schmidt", "Dora Linked-Not")):
        customer = await add_customer(session, name)
        if index < 3:
            customer.telegram_user_id, customer.language = 7001 + index, ("de" if index == 1 else "en")
        order = await add_order(session, customer, [(headset, 1)], placed_at=minutes_after(T0, index), number=f"50{index}")
        line_ids.append(order.lines[0].id)
    await add_purchase_order(session, headset, 2, DEC_4, reference="PO-A")
    await session.commit()
    await recompute_all_etas(uow)
    return line_ids


# ---- signing in ----------------------------------------------------------------------------------------


async def test_a_valid_token_signs_in_with_a_cookie_that_does_not_hold_the_token(console: Console, token: str) -> None:
    signed = await console.sign_in(token)

    assert (signed.status, signed.location) == (303, "/console")
    cookie = signed.headers.getall("Set-Cookie")
    session_cookie = next(value for value in cookie if value.startswith("bd_console="))
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie and "Path=/console" in session_cookie
    assert token not in session_cookie and token[3:] not in session_cookie
    home = await console.get("/console")
    assert home.status == 200
    assert "Backorders" in home.text and "shop owner" in home.text


async def test_the_sign_in_page_names_a_token_command_that_runs_as_written_in_the_bots_folder(console: Console) -> None:
    page = await console.get("/console/sign-in")
    [command] = [unescape(code) for code in re.findall(r"<code>([^<]*)</code>", page.html) if "token create" in code]
    program, *arguments = shlex.split(command)
    runs = (Path.cwd() / program).is_file() and os.access(Path.cwd() / program, os.X_OK) if "/" in program else shutil.which(program) is not None
    assert runs, f"{program!r} is not a command in {Path.cwd()}"
    assert not Path(program).is_absolute()  # an open page shows no path of the server's machine
    assert build_parser().parse_args(arguments).token_command == "create"  # the CLI accepts it


@pytest.mark.parametrize("wrong", ["bd_not-a-real-token", "hello", ""])
async def test_a_wrong_token_gets_the_sign_in_page_again_with_401(console: Console, wrong: str) -> None:
    answer = await console.sign_in(wrong)

    assert answer.status == 401
    assert "This API token is not valid: it is unknown or has been revoked." in answer.text
    assert console.session_cookie() is None
    assert (await console.get("/console")).status == 303


async def test_a_revoked_token_cannot_sign_in(console: Console, uow: UnitOfWork) -> None:
    plaintext, info = await create_token(uow, "old laptop")
    await revoke_token(uow, info.id)

    answer = await console.sign_in(plaintext)

    assert answer.status == 401
    assert "revoked" in answer.text
    assert console.session_cookie() is None


async def test_revoking_the_token_signs_its_sessions_out_at_the_next_request(signed_in: Console, uow: UnitOfWork) -> None:
    tokens = await list_tokens(uow)
    assert (await signed_in.get("/console/tickets")).status == 200

    await revoke_token(uow, tokens[0].id)
    page = await signed_in.get("/console/tickets")
    script = await signed_in.json("/console/broadcasts/recipients", sku="HS-200")

    assert page.status == 303
    assert page.location.startswith("/console/sign-in?") and "reason=expired" in page.location
    assert script[0] == 401
    assert signed_in.session_cookie() in (None, "")
    again = await signed_in.get(page.location)
    assert "has been revoked" in again.text


async def test_without_a_session_pages_send_to_sign_in_and_come_back_after(console: Console, token: str) -> None:
    page = await console.get("/console/purchase-orders")

    assert (page.status, page.location) == (303, "/console/sign-in?next=%2Fconsole%2Fpurchase-orders")
    form = await console.get(page.location)
    signed = await console.post("/console/sign-in", {"csrf": form.field("csrf"), "token": token, "next": form.field("next")})
    assert (signed.status, signed.location) == (303, "/console/purchase-orders")


async def test_sign_in_goes_nowhere_but_the_console(console: Console, token: str) -> None:
    for target in ("https://evil.example/", "//evil.example/console", "/api/v1/backorders", "/console/sign-in"):
        form = await console.get("/console/sign-in", next=target)
        signed = await console.post("/console/sign-in", {"csrf": form.field("csrf"), "token": token, "next": target})
        assert signed.location == "/console", target


async def test_a_tampered_session_cookie_is_not_a_session(signed_in: Console) -> None:
    genuine = signed_in.session_cookie()
    assert genuine
    payload, signature = genuine.split(".")

    async def status_with(cookie: str) -> int:
        async with ClientSession(cookie_jar=DummyCookieJar()) as bare:
            url = signed_in.client.make_url("/console")
            async with bare.get(url, headers={"Cookie": f"bd_console={cookie}"}, allow_redirects=False) as response:
                return response.status

    assert await status_with(genuine) == 200
    for forged in (f"{payload}.{signature[:-2]}xx", f"{payload[:-2]}AA.{signature}", "garbage", f"{payload}."):
        assert await status_with(forged) == 303, forged


async def test_the_sign_in_form_only_works_in_the_browser_it_was_given_to(console: Console, token: str) -> None:
    answer = await console.post("/console/sign-in", {"csrf": "made-up", "token": token})

    assert answer.status == 403
    assert console.session_cookie() is None


async def test_signing_out_ends_the_session(signed_in: Console) -> None:
    out = await signed_in.post("/console/sign-out", {"csrf": await signed_in.csrf()})

    assert (out.status, out.location) == (303, "/console/sign-in?reason=signed_out")
    assert (await signed_in.get("/console")).status == 303
    assert "You have signed out." in (await signed_in.get(out.location)).text


async def test_without_secret_key_nobody_can_sign_in(session_factory: Sessions, clock: ManualClock, policy: ShopPolicy, token: str) -> None:
    deps = ChatDeps(web_settings(secret_key=""), session_factory, clock, policy)
    async with TestClient(TestServer(build_web_app(deps))) as client:
        console = Console(client)
        page = await console.get("/console/sign-in")
        answer = await console.post("/console/sign-in", {"token": token})

    assert page.status == answer.status == 503
    assert "SECRET_KEY" in page.text


# ---- forms are the console's own -----------------------------------------------------------------------


async def test_a_form_without_its_csrf_token_changes_nothing(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions
) -> None:
    await headset_queue(session, uow)
    form = {"reference": "PO-A", "expected_on": "2026-12-11"}

    missing = await signed_in.post("/console/purchase-orders/move", form)
    wrong = await signed_in.post("/console/purchase-orders/move", {**form, "csrf": "x" * 43})
    cross_site = await signed_in.post(
        "/console/purchase-orders/move", {**form, "csrf": await signed_in.csrf()}, Origin="https://evil.example"
    )

    assert missing.status == wrong.status == cross_site.status == 403
    assert "did not come from the console" in missing.text
    async with session_factory() as check:
        assert await check.scalar(select(PurchaseOrder.expected_on).where(PurchaseOrder.reference == "PO-A")) == DEC_4


async def test_another_session_s_form_token_is_refused(
    console_deps: ChatDeps, signed_in: Console, token: str, session: AsyncSession, uow: UnitOfWork
) -> None:
    await headset_queue(session, uow)
    async with TestClient(TestServer(build_web_app(console_deps))) as other_client:
        other = Console(other_client)
        await other.sign_in(token)
        their_csrf = await other.csrf()

    answer = await signed_in.post("/console/purchase-orders/move", {"csrf": their_csrf, "reference": "PO-A", "expected_on": "2026-12-11"})

    assert answer.status == 403


# ---- pages ---------------------------------------------------------------------------------------------


async def test_backorders_by_sku_show_lines_units_oldest_wait_next_shipment_and_confirmed_share(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork
) -> None:
    await headset_queue(session, uow)

    page = await signed_in.get("/console")

    row = re.search(r'<tr data-sku="HS-200">.*?</tr>', page.html, re.S)
    assert row
    cells = Page(200, row.group(0), {}).text
    # 4 lines of 1 unit, waiting since 1 Nov (26 days); PO-A's 2 units confirm 2 of the 4 ETAs.
    assert cells.startswith("HS-200 Studio Pro Wireless Headset 4 4 26 days since 1 Nov 2026, 13:00")
    assert '<span class="reference">PO-A</span>: 2 on Fri 4 Dec 2026' in row.group(0) and "2 short" in cells
    assert "50 %" in cells and "(2 of 4)" in cells
    assert "4 waiting lines" in page.text
    # The aging chart: all four lines in the 2–4 weeks bracket.
    assert re.search(r"<title>2–4 weeks: 4 waiting lines, 4 units</title>", page.html)
    assert re.search(r"<title>0–6 days: 0 waiting lines, 0 units</title>", page.html)


async def test_pages_come_with_security_headers_and_without_caching(signed_in: Console) -> None:
    page = await signed_in.get("/console")

    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"


async def test_an_unknown_console_page_is_an_html_404(signed_in: Console) -> None:
    page = await signed_in.get("/console/nothing-here")

    assert page.status == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "no such page" in page.text


async def test_the_console_s_script_and_styles_are_served_from_the_package(console: Console) -> None:
    page = await console.get("/console/sign-in")
    script = re.search(r'src="(/console/static/console\.js\?v=\w+)"', page.html)
    styles = re.search(r'href="(/console/static/console\.css\?v=\w+)"', page.html)

    assert script and styles
    assert (await console.get(script.group(1))).status == 200
    assert (await console.get(styles.group(1))).status == 200


async def test_browsers_asking_for_the_sites_icon_get_one(console: Console) -> None:
    icon = await console.get("/favicon.ico")
    assert icon.status == 200
    assert icon.headers["Content-Type"] == "image/svg+xml"
    assert icon.html.startswith("<svg")


async def test_delay_notices_show_what_customers_answered(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, clock: ManualClock
) -> None:
    lines = await headset_queue(session, uow)
    now = clock.now()
    session.add_all([
        DelayNotice(line_id=lines[0], sequence=1, promised_ship_by=date(2026, 11, 20), new_ship_by=date(2026, 12, 5),
                    respond_by=None, notified_at=now - timedelta(days=5), response=DelayResponse.AGREED, responded_at=now - timedelta(days=4)),
        DelayNotice(line_id=lines[1], sequence=2, promised_ship_by=date(2026, 11, 20), new_ship_by=None,
                    respond_by=date(2026, 12, 1), notified_at=now - timedelta(days=1)),
    ])
    await session.commit()

    page = await signed_in.get("/console/delay-notices")

    assert page.status == 200
    assert "1 agreed to wait" in page.text and "1 awaiting an answer" in page.text
    assert "awaiting, by Tue 1 Dec 2026" in page.text and "not yet known" in page.text
    assert page.text.index("Ben Carter") < page.text.index("Anna Klein")  # newest first


async def test_tickets_show_open_ones_with_their_wait_and_the_ratings(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, clock: ManualClock
) -> None:
    await headset_queue(session, uow)
    customer = await add_customer(session, "Erik Open")
    rater = await add_customer(session, "Fay Rater")
    now = clock.now()
    session.add_all([
        Ticket(customer_id=customer.id, customer_chat_id=1, reason="asked", opened_at=now - timedelta(minutes=95)),
        Ticket(customer_id=rater.id, customer_chat_id=2, reason="asked", status=TicketStatus.CLOSED, opened_at=now - timedelta(days=2),
               closed_at=now - timedelta(days=1), rating=4, rated_at=now - timedelta(days=1)),
        Ticket(customer_id=rater.id, customer_chat_id=2, reason="asked", status=TicketStatus.CLOSED, opened_at=now - timedelta(days=3),
               closed_at=now - timedelta(days=2), rating=2, rated_at=now - timedelta(days=2)),
    ])
    await session.commit()

    page = await signed_in.get("/console/tickets")

    assert page.status == 200
    assert "Erik Open" in page.text and "1 h 35 min" in page.text and "past target" in page.text
    assert "3.0 average rating (2 of 2 closed in 30 days rated)" in page.text
    assert "<title>4 stars: 1</title>" in page.html and "<title>2 stars: 1</title>" in page.html


# ---- purchase orders -------------------------------------------------------------------------------------


async def test_moving_a_purchase_order_is_previewed_then_confirmed(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions
) -> None:
    lines = await headset_queue(session, uow)
    listed = await signed_in.get("/console/purchase-orders")
    assert "PO-A" in listed.text and "2 lines, 2 customers" in listed.text

    preview = await signed_in.get("/console/purchase-orders/move", reference="PO-A", expected_on="2026-12-11")

    assert preview.status == 200
    assert "From Fri 4 Dec 2026 to Fri 11 Dec 2026" in preview.text
    assert "2 customers affected" in preview.text and "2 ETAs move" in preview.text and "2 / 0 later / earlier" in preview.text
    assert "Anna Klein Sat 5 Dec 2026 Sat 12 Dec 2026" in preview.text.replace("Order ", "").replace("Customer ", "").replace("ETA now ", "").replace("ETA after ", "")
    async with session_factory() as check:
        assert await check.scalar(select(OrderLine.eta).where(OrderLine.id == lines[0])) == date(2026, 12, 5)

    done = await signed_in.post(
        "/console/purchase-orders/move",
        {"csrf": preview.field("csrf"), "reference": "PO-A", "expected_on": preview.field("expected_on")},
    )

    assert done.status == 303
    after = await signed_in.get(done.location)
    assert "PO-A is now expected on Fri 11 Dec 2026: 2 waiting lines of 2 customers got a new ETA" in after.text
    async with session_factory() as check:
        assert await check.scalar(select(OrderLine.eta).where(OrderLine.id == lines[0])) == date(2026, 12, 12)
    assert await count(session_factory, OutboxMessage, OutboxMessage.template == "eta_moved") == 2


async def test_a_move_preview_without_a_date_or_of_an_unknown_order_says_so(signed_in: Console, session: AsyncSession, uow: UnitOfWork) -> None:
    await headset_queue(session, uow)

    undated = await signed_in.get("/console/purchase-orders/move", reference="PO-A", expected_on="soon")
    unknown = await signed_in.get("/console/purchase-orders/move", reference="PO-404", expected_on="2026-12-11")

    assert undated.status == 422 and "Choose the new expected date." in undated.text
    assert unknown.status == 404 and "PO-404" in unknown.text


async def test_receiving_is_previewed_then_booked_once_however_often_the_form_is_sent(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions
) -> None:
    lines = await headset_queue(session, uow)

    preview = await signed_in.get("/console/purchase-orders/receive", reference="PO-A", quantity="")

    assert "2 customers affected" in preview.text and "2 ready to ship" in preview.text
    form = {
        "csrf": preview.field("csrf"),
        "reference": "PO-A",
        "quantity": preview.field("quantity"),
        "receipt_key": preview.field("receipt_key"),
    }
    first = await signed_in.post("/console/purchase-orders/receive", form)
    second = await signed_in.post("/console/purchase-orders/receive", form)

    assert first.status == second.status == 303
    assert "2 units of PO-A booked into stock: 2 lines ready to ship" in (await signed_in.get(first.location)).text
    async with session_factory() as check:
        received = await check.scalar(select(PurchaseOrder.received_quantity).where(PurchaseOrder.reference == "PO-A"))
        ready = await check.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.id.in_(lines), OrderLine.allocated_quantity == 1))
        available = await check.scalar(select(func.sum(StockLevel.available)))
    assert (received, ready, available) == (2, 2, 0)


async def test_a_closed_purchase_order_cannot_be_moved(signed_in: Console, session: AsyncSession, uow: UnitOfWork) -> None:
    await headset_queue(session, uow)
    preview = await signed_in.get("/console/purchase-orders/receive", reference="PO-A")
    await signed_in.post("/console/purchase-orders/receive", {
        "csrf": preview.field("csrf"), "reference": "PO-A", "quantity": "2", "receipt_key": preview.field("receipt_key"),
    })

    moved = await signed_in.get("/console/purchase-orders/move", reference="PO-A", expected_on="2026-12-11")
    too_many = await signed_in.get("/console/purchase-orders/receive", reference="PO-A", quantity="abc")

    assert moved.status == 409 and "Purchase order PO-A is already received." in moved.text
    assert too_many.status == 422


# ---- broadcasts ----------------------------------------------------------------------------------------


async def test_the_recipient_count_follows_the_audience(signed_in: Console, session: AsyncSession, uow: UnitOfWork) -> None:
    await headset_queue(session, uow)

    by_sku = await signed_in.json("/console/broadcasts/recipients", sku="HS-200")
    by_order = await signed_in.json("/console/broadcasts/recipients", orders="500, 501 503")
    by_category = await signed_in.json("/console/broadcasts/recipients", category="kitchen")
    nothing = await signed_in.json("/console/broadcasts/recipients")
    unknown = await signed_in.json("/console/broadcasts/recipients", sku="NOPE")

    # Dora (order 503) waits too but never linked the chat: she cannot be written to.
    assert by_sku == (200, {"recipients": 3, "error": None})
    assert by_order == (200, {"recipients": 2, "error": None})
    assert by_category == (200, {"recipients": 0, "error": None})
    assert nothing == (200, {"recipients": None, "error": None})
    assert unknown == (422, {"recipients": None, "error": "Not found: no product with SKU NOPE."})


def preview_form(preview: Page, action: str) -> list[tuple[str, str]]:
    """The preview page's form as its `action` button sends it."""
    return [*((name, value) for name in BROADCAST_FIELDS for value in preview.fields(name)), ("action", action)]


async def test_a_broadcast_is_previewed_then_sent_once_and_its_progress_followed(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions
) -> None:
    await headset_queue(session, uow)
    composer = await signed_in.get("/console/broadcasts")
    assert "HS-200 Studio Pro Wireless Headset (4 lines)" in composer.text
    assert re.findall(r'<option value="(\w+)">', composer.html) == ["audio"]  # the categories with waiting lines

    preview = await signed_in.post("/console/broadcasts", {
        "csrf": composer.field("csrf"), "action": "preview", "sku": "HS-200", "category": "", "orders": "",
        "text_en": "Headsets ship next week <b>promise</b>", "text_de": "Kopfhörer kommen nächste Woche", "new_eta": "",
    })

    assert preview.status == 200
    assert "To 3 customers still waiting on SKU HS-200" in preview.text
    assert "Headsets ship next week <b>promise</b>" in preview.text  # shown as typed, not as markup
    assert "<b>promise</b>" not in preview.html
    assert await count(session_factory, Broadcast) == 0

    sent = await signed_in.post("/console/broadcasts", preview_form(preview, "send"))
    again = await signed_in.post("/console/broadcasts", preview_form(preview, "send"))

    assert sent.status == again.status == 303
    assert sent.location == again.location
    assert await count(session_factory, Broadcast) == 1
    broadcast_id = int(sent.location.rsplit("/", 1)[1])
    page = await signed_in.get(sent.location)
    assert "Sending: 0 of 3 done." in page.text
    status, progress = await signed_in.json(f"/console/broadcasts/{broadcast_id}/progress")
    assert (status, progress["status"], progress["recipients"], progress["pending"]) == (200, "sending", 3, 3)
    async with session_factory() as check:
        languages = sorted((await check.scalars(select(OutboxMessage.language).where(OutboxMessage.broadcast_id == broadcast_id))).all())
    assert languages == ["de", "en", "en"]


async def test_editing_a_previewed_broadcast_keeps_what_was_typed_and_sends_nothing(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions
) -> None:
    await headset_queue(session, uow)
    preview = await signed_in.post("/console/broadcasts", {
        "csrf": await signed_in.csrf(), "action": "preview", "orders": "500 501", "text_en": "Hello there", "new_eta": "2026-12-18",
    })
    assert "To 2 customers still waiting on orders 500, 501." in preview.text
    assert "Their waiting items get the new ETA Fri 18 Dec 2026" in preview.text

    composer = await signed_in.post("/console/broadcasts", preview_form(preview, "edit"))

    assert composer.status == 200
    assert 'name="orders" value="500 501"' in composer.html and "Hello there</textarea>" in composer.html
    assert 'value="2026-12-18"' in composer.html
    assert await count(session_factory, Broadcast) == 0


async def test_a_broadcast_without_the_default_language_text_is_sent_back_to_the_composer(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions
) -> None:
    await headset_queue(session, uow)

    answer = await signed_in.post("/console/broadcasts", {
        "csrf": await signed_in.csrf(), "action": "preview", "sku": "HS-200", "text_en": " ", "text_de": "Nur Deutsch",
    })

    assert answer.status == 422
    assert "A broadcast needs a text in the shop's default language (en)." in answer.text
    assert "Nur Deutsch" in answer.html  # what was typed is kept
    assert await count(session_factory, Broadcast) == 0


async def test_a_broadcast_cannot_be_sent_without_a_preview(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions
) -> None:
    await headset_queue(session, uow)

    answer = await signed_in.post("/console/broadcasts", {
        "csrf": await signed_in.csrf(), "action": "send", "sku": "HS-200", "text_en": "Hello",
    })

    assert answer.status == 422 and "Preview the broadcast before sending it." in answer.text
    assert await count(session_factory, Broadcast) == 0


async def test_a_broadcast_can_be_stopped_from_its_page(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions
) -> None:
    await headset_queue(session, uow)
    preview = await signed_in.post("/console/broadcasts", {
        "csrf": await signed_in.csrf(), "action": "preview", "sku": "HS-200", "text_en": "Hello",
    })
    sent = await signed_in.post("/console/broadcasts", preview_form(preview, "send"))
    page = await signed_in.get(sent.location)

    stopped = await signed_in.post(f"{sent.location}/cancel", {"csrf": page.field("csrf")})

    assert stopped.status == 303
    assert "Cancelled: 0 of 3" in (await signed_in.get(stopped.location)).text
    assert await count(session_factory, OutboxMessage, OutboxMessage.status == "cancelled") == 3


async def test_an_unknown_broadcast_is_a_404_page(signed_in: Console) -> None:
    assert (await signed_in.get("/console/broadcasts/999")).status == 404


# ---- quiet hours ---------------------------------------------------------------------------------------

LATE_EVENING = datetime(2026, 11, 27, 20, 30, tzinfo=timezone.utc)  # 21:30 in Berlin: quiet hours until 08:00


async def test_at_night_a_broadcast_says_how_many_wait_for_quiet_hours_to_end_and_until_when(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    await headset_queue(session, uow)
    clock.current = LATE_EVENING
    preview = await signed_in.post("/console/broadcasts", {
        "csrf": await signed_in.csrf(), "action": "preview", "sku": "HS-200", "text_en": "Hello",
    })

    sent = await signed_in.post("/console/broadcasts", preview_form(preview, "send"))
    page = await signed_in.get(sent.location)
    status, progress = await signed_in.json(f"{sent.location}/progress")
    composer = await signed_in.get("/console/broadcasts")

    assert "It is the shop's quiet hours: customers get it at 08:00, unless you send it as urgent." in preview.text
    assert "Sending: 0 of 3 done. 3 messages wait for the shop's quiet hours to end at 08:00." in page.text
    assert (status, progress["pending"], progress["held"], progress["urgent"]) == (200, 3, 3, False)
    assert progress["held_until"] == "2026-11-28T08:00:00+01:00"
    assert "started 27 Nov 2026, 21:30; 3 messages wait for the shop's quiet hours to end at 08:00." in composer.text

    clock.current = datetime(2026, 11, 28, 7, 0, tzinfo=timezone.utc)  # 08:00 in Berlin
    morning = await signed_in.get(sent.location)
    assert "quiet hours" not in morning.text


async def test_an_urgent_broadcast_is_not_held_by_quiet_hours(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    await headset_queue(session, uow)
    clock.current = LATE_EVENING
    preview = await signed_in.post("/console/broadcasts", {
        "csrf": await signed_in.csrf(), "action": "preview", "sku": "HS-200", "text_en": "The shop is closed tomorrow",
    })

    sent = await signed_in.post("/console/broadcasts", [*preview_form(preview, "send"), ("urgent", "yes")])
    page = await signed_in.get(sent.location)
    _, progress = await signed_in.json(f"{sent.location}/progress")

    assert "Urgent: delivered through the shop's quiet hours." in page.text
    assert "wait for the shop's quiet hours" not in page.text
    assert (progress["held"], progress["held_until"], progress["urgent"]) == (0, None, True)
    assert await count(session_factory, OutboxMessage, OutboxMessage.optional.is_(False)) == 3
    assert await count(session_factory, Broadcast, Broadcast.urgent.is_(True)) == 1


async def test_at_night_a_purchase_order_move_says_when_customers_will_be_told(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork, clock: ManualClock
) -> None:
    await headset_queue(session, uow)
    clock.current = LATE_EVENING
    preview = await signed_in.get("/console/purchase-orders/move", reference="PO-A", expected_on="2026-12-11")

    done = await signed_in.post(
        "/console/purchase-orders/move",
        {"csrf": preview.field("csrf"), "reference": "PO-A", "expected_on": preview.field("expected_on")},
    )

    after = await signed_in.get(done.location)
    assert (
        "2 waiting lines of 2 customers got a new ETA; they will be told at 08:00, when the shop's quiet hours end."
        in after.text
    )


# ---- suppliers -----------------------------------------------------------------------------------------


async def test_a_supplier_is_added_from_the_console_and_a_bad_one_is_refused(signed_in: Console) -> None:
    csrf = await signed_in.csrf()
    added = await signed_in.post(
        "/console/suppliers", {"csrf": csrf, "name": "Nordic Audio", "contact": "orders@nordic.example", "lead_time_days": "21"}
    )
    listed = await signed_in.get(added.location)
    no_name = await signed_in.post("/console/suppliers", {"csrf": csrf, "name": "  ", "contact": "", "lead_time_days": ""})
    taken = await signed_in.post("/console/suppliers", {"csrf": csrf, "name": "Nordic Audio", "contact": "", "lead_time_days": "3"})

    assert added.status == 303 and added.location == "/console/suppliers?added=1"
    assert "Supplier added." in listed.text
    assert "Nordic Audio orders@nordic.example 21 days" in listed.text and "record too short" in listed.text
    assert no_name.status == 422 and "Give the supplier a name" in no_name.text
    assert taken.status == 409 and "Another supplier is already called Nordic Audio." in taken.text


async def test_a_suppliers_page_shows_its_record_and_a_lateness_chart(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork
) -> None:
    from bot.services.audit import Actor
    from bot.services.purchasing.purchase_orders import add_purchase_order as add_po
    from bot.services.purchasing.purchase_orders import receive_purchase_order
    from bot.services.purchasing.suppliers import SupplierFields, add_supplier, assign_products

    await add_product(session, "HS-200")
    await session.commit()
    merchant = Actor.merchant("test")
    supplier = (await add_supplier(uow, SupplierFields("Slow Sounds"), merchant)).supplier
    await assign_products(uow, supplier.id, ["HS-200"], merchant)
    for index, late in enumerate([1, 3, 3, 3, 3]):
        await add_po(uow, f"PO-{index}", "HS-200", 1, date(2026, 11, 27) - timedelta(days=late), merchant)
        await receive_purchase_order(uow, f"PO-{index}", merchant)

    page = await signed_in.get(f"/console/suppliers/{supplier.id}")
    missing = await signed_in.get("/console/suppliers/999999")

    assert page.status == 200
    assert "5 shipments received 0 % on time" in page.text
    assert "+3 days late, median" in page.text and "+3 days late, 80th percentile" in page.text
    assert "allow for 3 days of lateness" in page.text
    assert page.html.count('<g class="late">') == 5
    assert missing.status == 404


async def test_a_suppliers_contact_and_lead_time_are_changed_from_its_page(signed_in: Console, uow: UnitOfWork) -> None:
    from bot.services.audit import Actor
    from bot.services.purchasing.suppliers import SupplierFields, add_supplier

    merchant = Actor.merchant("test")
    supplier = (await add_supplier(uow, SupplierFields("Nordic Audio"), merchant)).supplier
    await add_supplier(uow, SupplierFields("Casa Cucina"), merchant)
    csrf = await signed_in.csrf()
    path = f"/console/suppliers/{supplier.id}"

    saved = await signed_in.post(path, {"csrf": csrf, "name": "Nordic Audio AB", "contact": "orders@nordic.example", "lead_time_days": "14"})
    shown = await signed_in.get(saved.location)
    taken = await signed_in.post(path, {"csrf": csrf, "name": "Casa Cucina", "contact": "", "lead_time_days": ""})
    bad = await signed_in.post(path, {"csrf": csrf, "name": "Nordic Audio AB", "contact": "", "lead_time_days": "999"})
    missing = await signed_in.post("/console/suppliers/999999", {"csrf": csrf, "name": "X", "contact": "", "lead_time_days": ""})

    assert saved.status == 303 and saved.location == f"{path}?saved=1"
    assert "Supplier saved." in shown.text and 'value="orders@nordic.example"' in shown.html and 'value="14"' in shown.html
    assert shown.html.count("<h1>Nordic Audio AB</h1>") == 1
    assert taken.status == 409 and "Another supplier is already called Casa Cucina." in taken.text
    assert bad.status == 422 and "The lead time is a whole number of days, 0 to 730." in bad.text
    assert missing.status == 404


async def test_a_supplier_is_given_products_from_its_page_all_of_them_or_none(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork
) -> None:
    from bot.services.audit import Actor
    from bot.services.purchasing.purchase_orders import add_purchase_order
    from bot.services.purchasing.suppliers import SupplierFields, add_supplier

    for sku in ("HS-200", "HS-120"):
        await add_product(session, sku)
    await session.commit()
    supplier = (await add_supplier(uow, SupplierFields("Nordic Audio"), Actor.merchant("test"))).supplier
    csrf = await signed_in.csrf()
    path = f"/console/suppliers/{supplier.id}/products"

    unknown = await signed_in.post(path, {"csrf": csrf, "skus": "HS-200, NOPE-1"})
    empty = await signed_in.post(path, {"csrf": csrf, "skus": " , "})
    given = await signed_in.post(path, {"csrf": csrf, "skus": "HS-200, HS-120"})
    shown = await signed_in.get(given.location)

    assert unknown.status == 422 and "There is no product with SKU NOPE-1." in unknown.text
    assert "None yet." in unknown.text  # HS-200 was not given either
    assert empty.status == 422 and "Give the SKUs it supplies" in empty.text
    assert given.status == 303 and given.location == f"/console/suppliers/{supplier.id}?assigned=1"
    assert "Products given to this supplier." in shown.text and "HS-120, HS-200" in shown.text
    await add_purchase_order(uow, "PO-N1", "HS-120", 4, date(2026, 12, 4), Actor.merchant("test"))
    listed = await signed_in.get("/console/purchase-orders")
    assert '<span class="muted supplier">Nordic Audio</span>' in listed.html  # its purchase orders are its


async def test_the_reorder_page_lists_what_to_order_most_urgent_first(
    signed_in: Console, session: AsyncSession, uow: UnitOfWork
) -> None:
    await headset_queue(session, uow)  # 4 headsets waiting, 2 coming on PO-A, lead time 28 days

    page = await signed_in.get("/console/reorder")
    german = await signed_in.get("/console/reorder", lang="de")

    # 4 waiting + ceil(4 / 30 × (28 + 28)) = 12, less the 2 coming: 10, now.
    assert page.status == 200
    assert "Fri 27 Nov 2026 now HS-200 Studio Pro Wireless Headset – 10" in page.text
    assert "4 ordered in the last 30 days, 4 waiting, 2 incoming; order 10 by 27 Nov to cover the next 4 weeks." in page.text
    assert "4 in den letzten 30 Tagen bestellt, 4 wartend, 2 unterwegs; bis 27. Nov. 10 bestellen" in german.text
