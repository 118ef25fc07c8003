"""The console's To do page through the real aiohttp app: refunds to pay, swaps to ship and lines ready to ship,
"Mark paid" and "Mark shipped" (the customer told through the outbox), the refusals, and each list as CSV."""

import asyncio
import csv
import io
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.audit import Actor
from bot.services.backorders.alternatives import pick_alternative
from bot.services.backorders.cancel import cancel_line
from bot.services.unit_of_work import UnitOfWork
from db.models import LineStatus, OrderLine, OutboxMessage, Refund, RefundStatus
from tests.e2e.test_console_http import Console, Page, console, console_deps, count, signed_in, token  # noqa: F401 - fixtures
from tests.shop import T0, add_customer, add_order, add_product, add_substitute, minutes_after

Sessions = async_sessionmaker[AsyncSession]
TRACK = "https://www.dhl.de/track?piececode=00340434161094042557"


@dataclass
class ToDo:
    anna_line: int  # ready to ship: HS-200 of order 1042, allocated since 1 Nov
    dora_line: int  # ready to ship: HS-120 of order 1045, allocated since 2 Nov
    ben_swap: int  # HS-150 to ship instead of HS-200, order 1043
    clara_refund: int  # 149.00 owed for the cancelled HS-200 of order 1044
    ben_refund: int  # 20.00 owed: the swap was cheaper


@pytest.fixture
async def to_do(session: AsyncSession, uow: UnitOfWork, session_factory: Sessions) -> ToDo:
    headset = await add_product(session, "HS-200", price=14900, name="Studio Pro Wireless Headset")
    cheaper = await add_product(session, "HS-150", price=12900, name="Studio Headset", available=3)
    wired = await add_product(session, "HS-120", price=8900, name="Studio Wired Headset")
    await add_substitute(session, headset, cheaper)
    people = []
    for index, (name, language) in enumerate((("Anna Klein", "de"), ("Ben Carter", "en"), ("Clara Schmidt", "en"), ("=HYPERLINK(\"x\") Dora", "en"))):
        customer = await add_customer(session, name)
        customer.telegram_user_id, customer.language = 7001 + index, language
        people.append(customer)
    anna = await add_order(session, people[0], [(headset, 1)], allocated=[1], number="1042", placed_at=T0)
    ben = await add_order(session, people[1], [(headset, 1)], number="1043", placed_at=minutes_after(T0, 1))
    clara = await add_order(session, people[2], [(headset, 1)], number="1044", placed_at=minutes_after(T0, 2))
    dora = await add_order(session, people[3], [(wired, 2)], allocated=[2], number="1045", placed_at=minutes_after(T0, 24 * 60))
    await session.commit()
    swap = await pick_alternative(uow, people[1].id, ben.lines[0].id, cheaper.id, Actor.customer(people[1].id))
    await cancel_line(uow, people[2].id, clara.lines[0].id, Actor.customer(people[2].id))
    async with session_factory() as check:
        refunds = dict((await check.execute(select(Refund.line_id, Refund.id))).all())
        [swapped] = (await check.scalars(select(OrderLine.id).where(OrderLine.substitute_for_line_id == ben.lines[0].id))).all()
    assert swap is not None
    return ToDo(anna.lines[0].id, dora.lines[0].id, swapped, refunds[clara.lines[0].id], refunds[ben.lines[0].id])


def _section(html: str, section: str) -> str:
    start = html.index(f'<section class="card" id="{section}">')
    return html[start : html.index("</section>", start)]


async def test_the_page_lists_refunds_to_pay_swaps_to_ship_and_lines_ready_to_ship(signed_in: Console, to_do: ToDo) -> None:
    page = await signed_in.get("/console/to-do")

    assert page.status == 200
    assert "2 refunds to pay 1 swaps to ship 2 lines ready to ship" in page.text
    refunds = _section(page.html, "refunds")
    assert f'data-refund="{to_do.clara_refund}"' in refunds and "€149.00" in refunds and "Clara Schmidt" in refunds
    assert f'data-refund="{to_do.ben_refund}"' in refunds and "€20.00" in refunds and "swapped for a cheaper one" in refunds
    swaps = _section(page.html, "swaps")
    assert f'data-line="{to_do.ben_swap}"' in swaps and "1 × HS-150" in swaps and "<s>HS-200</s>" in swaps
    ready = _section(page.html, "ready")
    assert ready.index(f'data-line="{to_do.anna_line}"') < ready.index(f'data-line="{to_do.dora_line}"')  # oldest first
    assert "2 × HS-120" in ready and "HS-150" not in ready  # the swap is listed once, with the swaps


async def test_mark_paid_records_the_refund_once_and_the_customer_is_told(
    signed_in: Console, to_do: ToDo, session_factory: Sessions
) -> None:
    page = await signed_in.get("/console/to-do")
    form = {"csrf": page.field("csrf"), "payment_reference": "SEPA-2026-118"}

    paid = await signed_in.post(f"/console/to-do/refunds/{to_do.clara_refund}/paid", form)
    again = await signed_in.post(f"/console/to-do/refunds/{to_do.clara_refund}/paid", form)
    other = await signed_in.post(f"/console/to-do/refunds/{to_do.clara_refund}/paid", {**form, "payment_reference": "PAY-9"})

    assert paid.status == again.status == 303
    after = await signed_in.get(paid.location)
    assert "The refund for HS-200 of order 1044 is recorded as paid; the customer is told the money is on its way." in after.text
    assert f'data-refund="{to_do.clara_refund}"' not in after.html and f'data-refund="{to_do.ben_refund}"' in after.html
    assert other.status == 409 and "PAY-9" not in other.text and "SEPA-2026-118" in other.text
    async with session_factory() as check:
        refund = await check.get(Refund, to_do.clara_refund)
        assert refund is not None and (refund.status, refund.payment_reference) == (RefundStatus.PAID, "SEPA-2026-118")
    assert await count(session_factory, OutboxMessage, OutboxMessage.template == "refund_paid") == 1


@pytest.mark.parametrize("reference", ["", "   ", "x" * 101, "nul\x00"])
async def test_mark_paid_without_a_usable_reference_changes_nothing(
    signed_in: Console, to_do: ToDo, session_factory: Sessions, reference: str
) -> None:
    answer = await signed_in.post(
        f"/console/to-do/refunds/{to_do.clara_refund}/paid", {"csrf": await signed_in.csrf(), "payment_reference": reference}
    )

    assert answer.status == 422
    assert "Enter the payment reference, up to 100 characters." in answer.text
    assert await count(session_factory, Refund, Refund.status == RefundStatus.PAID) == 0


async def test_an_unknown_refund_is_a_404(signed_in: Console, to_do: ToDo) -> None:
    for refund_id in ("999999", "999999999999"):
        answer = await signed_in.post(
            f"/console/to-do/refunds/{refund_id}/paid", {"csrf": await signed_in.csrf(), "payment_reference": "P-1"}
        )
        assert answer.status == 404 and f"There is no refund {refund_id}." in answer.text


async def test_mark_shipped_ships_the_line_once_and_the_customer_gets_the_tracking_link(
    signed_in: Console, to_do: ToDo, session_factory: Sessions
) -> None:
    page = await signed_in.get("/console/to-do")
    form = {
        "csrf": page.field("csrf"), "order_number": "1042", "sku": "HS-200", "quantity": "1",
        "carrier": "DHL", "tracking_number": "00340434161094042557", "tracking_url": TRACK,
    }

    shipped = await signed_in.post("/console/to-do/shipments", form)
    again = await signed_in.post("/console/to-do/shipments", form)

    assert shipped.status == again.status == 303
    after = await signed_in.get(shipped.location)
    assert "1 unit of HS-200 of order 1042 recorded as shipped; the customer is told it is on its way." in after.text
    assert f'data-line="{to_do.anna_line}"' not in after.html and "1 lines ready to ship" in after.text
    async with session_factory() as check:
        line = await check.get(OrderLine, to_do.anna_line)
        assert line is not None and (line.status, line.shipped_quantity) == (LineStatus.SHIPPED, 1)
        [message] = (await check.scalars(select(OutboxMessage).where(OutboxMessage.template == "line_shipped"))).all()
    assert (message.language, message.params["carrier"], message.params["tracking_url"]) == ("de", "DHL", TRACK)


async def test_a_swap_ships_from_its_list_in_part(signed_in: Console, to_do: ToDo, session_factory: Sessions) -> None:
    form = {"csrf": await signed_in.csrf(), "order_number": "1045", "sku": "HS-120", "quantity": "1"}

    shipped = await signed_in.post("/console/to-do/shipments", form)

    assert shipped.status == 303
    page = await signed_in.get("/console/to-do")
    ready = _section(page.html, "ready")
    assert f'data-line="{to_do.dora_line}"' in ready and "1 × HS-120" in ready  # one of two units left to ship
    swap = await signed_in.post("/console/to-do/shipments", {**form, "order_number": "1043", "sku": "HS-150"})
    assert swap.status == 303
    assert "No swaps to ship." in (await signed_in.get(swap.location)).text


async def test_a_double_clicked_mark_shipped_without_tracking_number_ships_once(
    signed_in: Console, to_do: ToDo, session_factory: Sessions
) -> None:
    page = await signed_in.get("/console/to-do")
    row = page.html[page.html.index(f'data-line="{to_do.dora_line}"'):]
    form = {"csrf": page.field("csrf"), "form_id": Page(200, row, {}).field("form_id"), "order_number": "1045",
            "sku": "HS-120", "quantity": "1"}

    first, second = await asyncio.gather(*(signed_in.post("/console/to-do/shipments", form) for _ in range(2)))
    reloaded = await signed_in.post("/console/to-do/shipments", form)

    assert first.status == second.status == reloaded.status == 303
    assert first.location == second.location == reloaded.location
    async with session_factory() as check:
        line = await check.get(OrderLine, to_do.dora_line)
        assert line is not None and line.shipped_quantity == 1  # one of the two allocated units, not both
    assert "1 × HS-120" in _section((await signed_in.get("/console/to-do")).html, "ready")


async def test_a_refused_form_can_be_sent_again_once_corrected(signed_in: Console, to_do: ToDo, session_factory: Sessions) -> None:
    page = await signed_in.get("/console/to-do")
    form = {"csrf": page.field("csrf"), "form_id": page.field("form_id"), "order_number": "1045", "sku": "HS-120"}

    refused = await signed_in.post("/console/to-do/shipments", {**form, "quantity": "3"})
    corrected = await signed_in.post("/console/to-do/shipments", {**form, "quantity": "2"})

    assert (refused.status, corrected.status) == (409, 303)
    async with session_factory() as check:
        line = await check.get(OrderLine, to_do.dora_line)
        assert line is not None and line.shipped_quantity == 2


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"quantity": "3"}, 409, "Only 2 of SKU HS-120 can ship: that is what is allocated and not yet shipped."),
        ({"quantity": "0"}, 422, "The quantity shipped must be a whole number of at least 1."),
        ({"quantity": "two"}, 422, "The quantity shipped must be a whole number of at least 1."),
        ({"tracking_url": "javascript:alert(1)"}, 422, "The tracking link must be a web address starting with https://"),
        ({"carrier": "D" * 61}, 422, "The carrier's name can be up to 60 characters."),
        ({"sku": ""}, 422, "The form was incomplete; reload the page and try again."),
        ({"order_number": "9999"}, 404, "I couldn't find that order"),
    ],
)
async def test_a_shipment_that_cannot_be_recorded_says_why_and_changes_nothing(
    signed_in: Console, to_do: ToDo, session_factory: Sessions, change: dict, status: int, says: str
) -> None:
    form = {"csrf": await signed_in.csrf(), "order_number": "1045", "sku": "HS-120", "quantity": "2", **change}

    answer = await signed_in.post("/console/to-do/shipments", form)

    assert answer.status == status
    assert says in answer.text
    assert await count(session_factory, OrderLine, OrderLine.shipped_quantity > 0) == 0
    assert await count(session_factory, OutboxMessage, OutboxMessage.template == "line_shipped") == 0


async def test_the_actions_need_the_console_s_form_token(signed_in: Console, to_do: ToDo, session_factory: Sessions) -> None:
    paid = await signed_in.post(f"/console/to-do/refunds/{to_do.clara_refund}/paid", {"payment_reference": "P-1"})
    shipped = await signed_in.post(
        "/console/to-do/shipments",
        {"csrf": await signed_in.csrf(), "order_number": "1042", "sku": "HS-200", "quantity": "1"},
        Origin="https://evil.example",
    )

    assert paid.status == shipped.status == 403
    assert await count(session_factory, Refund, Refund.status == RefundStatus.PAID) == 0
    assert await count(session_factory, OrderLine, OrderLine.shipped_quantity > 0) == 0


async def _csv(console: Console, name: str) -> tuple[str, list[dict[str, str]]]:
    async with console.client.get(f"/console/to-do/{name}", allow_redirects=False) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        body = (await response.read()).decode("utf-8")
        disposition = response.headers["Content-Disposition"]
    assert body.startswith("\ufeff")  # so Excel reads umlauts
    return disposition, list(csv.DictReader(io.StringIO(body[1:])))


async def test_each_list_downloads_as_csv(signed_in: Console, to_do: ToDo) -> None:
    refunds_file, refunds = await _csv(signed_in, "refunds.csv")
    swaps_file, swaps = await _csv(signed_in, "swaps.csv")
    ready_file, ready = await _csv(signed_in, "ready.csv")

    assert refunds_file == 'attachment; filename="refunds-to-pay.csv"'
    assert [(r["order_number"], r["sku"], r["amount"], r["currency"], r["reason"]) for r in refunds] == [
        ("1043", "HS-200", "20.00", "EUR", "substitute_cheaper"),
        ("1044", "HS-200", "149.00", "EUR", "cancelled"),
    ]
    assert refunds[1]["refund_id"] == str(to_do.clara_refund) and refunds[1]["customer_name"] == "Clara Schmidt"
    assert swaps_file == 'attachment; filename="swaps-to-ship.csv"'
    assert [(s["order_number"], s["sku"], s["quantity"], s["instead_of_sku"]) for s in swaps] == [("1043", "HS-150", "1", "HS-200")]
    assert ready_file == 'attachment; filename="ready-to-ship.csv"'
    assert [(r["order_number"], r["sku"], r["quantity"], r["ready_since"][:10]) for r in ready] == [
        ("1042", "HS-200", "1", "2026-11-01"),
        ("1045", "HS-120", "2", "2026-11-02"),
    ]
    # A name a spreadsheet would run as a formula stays text.
    assert ready[1]["customer_name"] == "'=HYPERLINK(\"x\") Dora"


async def test_the_downloads_need_a_session(console: Console, to_do: ToDo) -> None:
    for name in ("refunds.csv", "swaps.csv", "ready.csv"):
        answer = await console.get(f"/console/to-do/{name}")
        assert answer.status == 303 and answer.location.startswith("/console/sign-in")


async def test_the_page_speaks_german(signed_in: Console, to_do: ToDo) -> None:
    page = await signed_in.get("/console/to-do", lang="de")

    assert "Zu erledigen" in page.text
    assert "Zu zahlende Erstattungen" in page.text and "Als bezahlt markieren" in page.text
    assert "Als versandt markieren" in page.text and "149,00 €" in page.text
