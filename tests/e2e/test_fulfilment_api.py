"""The shop's side of an order through the real API: shipments in (the customer's "on its way" with a Track
button seen at the fake Bot API), shop-side cancels, refunds paid, and the lists of what to pay and ship.

Anna is linked to her chat and ordered two headsets and a case; both headsets are in stock for her.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, time

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.clock import ManualClock
from bot.delivery import DeliveryPolicy, FloodControl, OutboxWorker, outbox_bot
from bot.services.quiet_hours import QuietHours
from bot.i18n import translator
from bot.sandbox import FakeBotApi
from bot.services.backorders.eta import recompute_all_etas
from bot.services.audit import Actor
from bot.services.errors import ImportRejected
from bot.services.event_log import read_events
from bot.services.intake.csv_import import import_shipments
from bot.services.unit_of_work import UnitOfWork
from db.models import EtaBasis, LineStatus, OrderLine, OutboxMessage, Product, RefundStatus
from tests import readback
from tests.e2e.chat_bot import chat_settings
from tests.e2e.web_client import MerchantClient
from tests.shop import T0, add_customer, add_order, add_product, add_purchase_order, minutes_after

Sessions = async_sessionmaker[AsyncSession]
TRACK = "https://www.dhl.de/track?piececode=00340434161094042557"


@dataclass(frozen=True)
class Anna:
    customer_id: int
    chat_id: int
    headset_line: int
    case_line: int


@pytest.fixture
async def telegram_bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with outbox_bot(chat_settings(fake), workers=2) as bot:
        yield bot


@pytest.fixture
async def anna(session: AsyncSession, fake: FakeBotApi) -> Anna:
    user = fake.add_user("Anna", language_code="de")
    fake.send_command(user, "start")  # a bot cannot write first
    headset = await add_product(session, "HS-200", price=14900, name="Studio Pro Wireless Headset")
    case = await add_product(session, "CASE-1", price=1900, name="Headset case")
    customer = await add_customer(session, "Anna Klein", email="anna.klein@example.com")
    customer.telegram_user_id, customer.language = user.id, "de"
    order = await add_order(session, customer, [(headset, 2), (case, 1)], allocated=[2, 0], number="1042")
    await session.commit()
    return Anna(customer.id, user.id, order.lines[0].id, order.lines[1].id)


async def deliver(bot: Bot, sessions: Sessions, clock: ManualClock) -> int:
    worker = OutboxWorker(bot, sessions, clock, FloodControl(1000), DeliveryPolicy(QuietHours(time(21), time(8))))
    return await worker.deliver_due()


async def test_a_shipment_ships_the_line_and_the_customer_gets_a_track_button_in_their_language(
    api: MerchantClient, anna: Anna, fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions,
    clock: ManualClock, uow: UnitOfWork,
) -> None:
    answer = await api.post("/shipments", {
        "order_number": "1042", "lines": [{"sku": "HS-200", "quantity": 2}],
        "carrier": "DHL", "tracking_number": "00340434161094042557", "tracking_url": TRACK,
    }, key="ship-1")

    assert answer.status == 201, answer.body
    assert [(line["sku"], line["quantity"], line["status"]) for line in answer.body["lines"]] == [("HS-200", 2, "shipped")]
    line = await readback.line(session_factory, anna.headset_line)
    assert (line.status, line.shipped_quantity) == (LineStatus.SHIPPED, 2)
    assert await deliver(telegram_bot, session_factory, clock) == 1
    [message] = fake.bot_messages(anna.chat_id)
    t = translator("de")
    assert message.text == t.gettext("Order {order} is on its way: {items} shipped on {day} with {carrier}.").format(
        order="1042", items="2 × Studio Pro Wireless Headset", day=t.date(clock.now().date()), carrier="DHL"
    ) + "\n" + t.gettext("Tracking number: {number}").format(number="00340434161094042557")
    [[track], [orders]] = message.inline_keyboard
    assert (track["text"], track["url"]) == ("Sendung verfolgen", TRACK)
    assert orders["text"] == t.gettext("My orders")
    [event] = (await read_events(uow, None, ["line.shipped"])).events
    assert (event.data["sku"], event.data["shipped_quantity"], event.data["still_to_ship"], event.data["carrier"]) == (
        "HS-200", 2, 0, "DHL",
    )  # fmt: skip


async def test_a_shipments_file_ships_the_line_and_the_customer_gets_the_same_track_button(
    anna: Anna, fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions, clock: ManualClock, uow: UnitOfWork
) -> None:
    text = f"order_number,sku,quantity,carrier,tracking_number,tracking_url\n1042,HS-200,2,DHL,00340434161094042557,{TRACK}\n"

    result = await import_shipments(uow, text, Actor.merchant("import"))

    assert [shipment.order_number for shipment in result.recorded] == ["1042"]
    assert (await readback.line(session_factory, anna.headset_line)).status == LineStatus.SHIPPED
    assert await deliver(telegram_bot, session_factory, clock) == 1
    [message] = fake.bot_messages(anna.chat_id)
    assert "1042" in (message.text or "") and "DHL" in (message.text or "")
    assert message.inline_keyboard[0] == [{"text": "Sendung verfolgen", "url": TRACK}]


async def test_the_same_tracking_number_again_changes_nothing_and_tells_nobody_twice(
    api: MerchantClient, anna: Anna, session_factory: Sessions
) -> None:
    shipment = {"order_number": "1042", "lines": [{"sku": "HS-200", "quantity": 1}], "tracking_number": "T-1"}

    first = await api.post("/shipments", shipment)
    again = await api.post("/shipments", shipment)
    other = await api.post("/shipments", {**shipment, "lines": [{"sku": "HS-200", "quantity": 2}]})

    assert (first.status, again.status, again.body["replayed"]) == (201, 200, True)
    assert again.body["shipment_id"] == first.body["shipment_id"]
    assert other.status == 409 and other.body["error"]["code"] == "shipment_conflict"
    line = await readback.line(session_factory, anna.headset_line)
    assert (line.status, line.shipped_quantity) == (LineStatus.ALLOCATED, 1)  # a partial shipment: one still to ship
    async with session_factory() as session:
        assert len((await session.scalars(select(OutboxMessage.id))).all()) == 1


async def test_a_retried_shipment_without_a_tracking_number_ships_once_with_its_idempotency_key(
    api: MerchantClient, anna: Anna, session_factory: Sessions
) -> None:
    shipment = {"order_number": "1042", "lines": [{"sku": "HS-200", "quantity": 1}]}

    first = await api.post("/shipments", shipment, key="parcel-7")
    retry = await api.post("/shipments", shipment, key="parcel-7")

    assert (first.status, retry.status) == (201, 201) and retry.body == first.body
    line = await readback.line(session_factory, anna.headset_line)
    assert (line.status, line.shipped_quantity) == (LineStatus.ALLOCATED, 1)  # the second unit still to ship
    async with session_factory() as session:
        assert len((await session.scalars(select(OutboxMessage.id))).all()) == 1


async def test_shipping_more_than_is_allocated_is_refused_with_the_reason_and_changes_nothing(
    api: MerchantClient, anna: Anna, session_factory: Sessions
) -> None:
    answer = await api.post("/shipments", {"order_number": "1042", "lines": [{"sku": "CASE-1", "quantity": 1}]})

    assert answer.status == 409
    assert answer.body["error"]["message"] == (
        "Only 0 of SKU CASE-1 can ship: that is what is allocated and not yet shipped; 1 still wait for stock."
    )
    assert (await readback.line(session_factory, anna.case_line)).shipped_quantity == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"order_number": "1042", "lines": [{"sku": "HS-200", "quantity": 1}], "tracking_url": "javascript:alert(1)"},
         "tracking_url"),
        ({"order_number": "1042", "lines": []}, "lines"),
        ({"order_number": "1042", "lines": [{"sku": "HS-200", "quantity": 0}]}, "lines[0].quantity"),
    ],
)  # fmt: skip
async def test_a_bad_shipment_is_a_422_naming_the_field(
    api: MerchantClient, anna: Anna, body: dict, field: str
) -> None:
    answer = await api.post("/shipments", body)

    assert answer.status == 422 and field in answer.problems


@pytest.mark.parametrize(
    ("shipped_at", "reason"),
    [
        ("2026-11-27T12:00:00+01:00", "2026-11-27T12:00:00+01:00 is in the future"),
        ("2025-11-01T10:00:00+01:00",
         "2025-11-01T10:00:00+01:00 is more than a year ago; parcels shipped before 2025-11-27 are refused"),
        ("9999-12-31T23:59:59-12:00", "lies outside the calendar (years 1 to 9999) in UTC"),
    ],
    ids=["in the future", "over a year ago", "past the calendar in UTC"],
)  # fmt: skip
async def test_a_parcel_said_to_leave_outside_reason_is_a_422_naming_the_window_and_ships_nothing(
    api: MerchantClient, anna: Anna, session_factory: Sessions, shipped_at: str, reason: str
) -> None:
    shipment = {"order_number": "1042", "lines": [{"sku": "HS-200", "quantity": 1}], "shipped_at": shipped_at}

    answer = await api.post("/shipments", shipment)

    assert (answer.status, answer.problems) == (422, {"shipped_at": reason})
    assert (await readback.line(session_factory, anna.headset_line)).shipped_quantity == 0


async def test_a_shipments_file_with_a_parcel_leaving_tomorrow_is_refused_by_row(anna: Anna, uow: UnitOfWork) -> None:
    text = "order_number,sku,quantity,shipped_at\n1042,HS-200,1,2026-11-28\n"

    with pytest.raises(ImportRejected) as refused:
        await import_shipments(uow, text, Actor.merchant("import"))

    assert [(problem.row, problem.field, problem.reason) for problem in refused.value.problems] == [
        (2, "shipped_at", "2026-11-28 is in the future")
    ]


async def test_a_shipment_for_an_unknown_order_is_a_404(api: MerchantClient, anna: Anna) -> None:
    answer = await api.post("/shipments", {"order_number": "9999", "lines": [{"sku": "HS-200", "quantity": 1}]})

    assert answer.status == 404


async def test_the_shop_cancels_a_waiting_line_the_customer_is_told_and_the_refund_is_owed(
    api: MerchantClient, anna: Anna, fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions,
    clock: ManualClock, uow: UnitOfWork,
) -> None:
    answer = await api.post("/orders/1042/cancel", {"skus": ["CASE-1"]})

    assert answer.status == 200, answer.body
    assert [(line["sku"], line["refund_minor"]) for line in answer.body["cancelled"]] == [("CASE-1", 1900)]
    assert (await readback.line(session_factory, anna.case_line)).status == LineStatus.CANCELLED
    assert (await readback.line(session_factory, anna.headset_line)).status == LineStatus.ALLOCATED
    assert await deliver(telegram_bot, session_factory, clock) == 1
    [message] = fake.bot_messages(anna.chat_id)
    assert "Headset case" in message.text and "19,00" in message.text
    events = (await read_events(uow, None)).events
    assert [(event.type, event.data["by"]) for event in events] == [("line.cancelled", "shop"), ("refund.owed", "shop")]
    [entry] = await readback.audit_entries(session_factory, "line.cancelled")
    assert entry.actor_id == f"api-token:{api.token_id}"


async def test_a_shop_cancel_moves_the_lines_behind_up_and_tells_those_customers(
    api: MerchantClient, anna: Anna, fake: FakeBotApi, session: AsyncSession, session_factory: Sessions, uow: UnitOfWork
) -> None:
    # Anna's case is first in line for the one case PO-C brings on 4 Dec; Ben's waits on the lead time behind her.
    user = fake.add_user("Ben")
    fake.send_command(user, "start")
    case = await session.scalar(select(Product).where(Product.sku == "CASE-1"))
    assert case is not None
    ben = await add_customer(session, "Ben Carter")
    ben.telegram_user_id, ben.language = user.id, "en"
    bens = await add_order(session, ben, [(case, 1)], number="1043", placed_at=minutes_after(T0, 5))
    await add_purchase_order(session, case, 1, date(2026, 12, 4), reference="PO-C")
    await session.commit()
    await recompute_all_etas(uow)
    before = await readback.line(session_factory, bens.lines[0].id)
    assert before.eta_basis is EtaBasis.LEAD_TIME

    answer = await api.post("/orders/1042/cancel", {"skus": ["CASE-1"]})

    assert answer.status == 200, answer.body
    after = await readback.line(session_factory, bens.lines[0].id)
    assert (after.eta, after.eta_basis) == (date(2026, 12, 5), EtaBasis.PURCHASE_ORDER)  # PO-C's unit is his now
    async with session_factory() as check:
        told = (await check.scalars(select(OutboxMessage).where(OutboxMessage.template == "eta_moved"))).all()
    assert [message.chat_id for message in told] == [user.id]


async def test_cancelling_a_sku_the_order_does_not_have_is_a_404_and_changes_nothing(
    api: MerchantClient, anna: Anna, session_factory: Sessions
) -> None:
    answer = await api.post("/orders/1042/cancel", {"skus": ["CASE-1", "NOPE"]})

    assert answer.status == 404
    assert (await readback.line(session_factory, anna.case_line)).status == LineStatus.BACKORDERED


async def test_a_refund_paid_by_the_shop_is_recorded_once_and_the_customer_hears_the_money_is_on_its_way(
    api: MerchantClient, anna: Anna, fake: FakeBotApi, telegram_bot: Bot, session_factory: Sessions,
    clock: ManualClock, uow: UnitOfWork,
) -> None:
    await api.post("/orders/1042/cancel")
    await deliver(telegram_bot, session_factory, clock)
    [owed] = (await api.get("/refunds", params={"status": "owed"})).body["refunds"]

    paid = await api.post(f"/refunds/{owed['id']}/paid", {"payment_reference": "PAY-77"})
    again = await api.post(f"/refunds/{owed['id']}/paid", {"payment_reference": "PAY-77"})
    other = await api.post(f"/refunds/{owed['id']}/paid", {"payment_reference": "PAY-78"})

    assert (owed["sku"], owed["amount_minor"], owed["customer_email"]) == ("CASE-1", 1900, "anna.klein@example.com")
    assert (paid.status, paid.body["status"], paid.body["payment_reference"]) == (200, "paid", "PAY-77")
    assert again.status == 200 and other.status == 409
    assert (await api.get("/refunds", params={"status": "owed"})).body["refunds"] == []
    assert [refund["id"] for refund in (await api.get("/refunds", params={"status": "paid"})).body["refunds"]] == [owed["id"]]
    assert await deliver(telegram_bot, session_factory, clock) == 1
    message = fake.bot_messages(anna.chat_id)[-1]
    t = translator("de")
    assert message.text == t.gettext(
        "Order {order}: we have paid your refund of {amount} for {product}. It is on its way to you."
    ).format(order="1042", amount=t.money(1900, "EUR"), product="Headset case")
    [event] = (await read_events(uow, None, ["refund.paid"])).events
    assert (event.data["payment_reference"], event.data["amount"]["amount_minor"]) == ("PAY-77", 1900)
    [refund] = await readback.refunds(session_factory, anna.case_line)
    assert (refund.status, refund.payment_reference, refund.paid_at) == (RefundStatus.PAID, "PAY-77", clock.now())


async def test_an_unknown_refund_is_a_404(api: MerchantClient) -> None:
    assert (await api.post("/refunds/999/paid", {"payment_reference": "X"})).status == 404


async def test_the_fulfilment_list_has_what_is_ready_and_drops_it_once_shipped(
    api: MerchantClient, anna: Anna, session_factory: Sessions
) -> None:
    before = (await api.get("/fulfilment")).body["lines"]
    await api.post("/shipments", {"order_number": "1042", "lines": [{"sku": "HS-200", "quantity": 2}]})
    after = (await api.get("/fulfilment")).body["lines"]

    assert [(line["order_number"], line["sku"], line["quantity"], line["instead_of_sku"]) for line in before] == [
        ("1042", "HS-200", 2, None)
    ]
    assert after == []
    async with session_factory() as session:
        assert (await session.get_one(OrderLine, anna.headset_line)).status == LineStatus.SHIPPED
