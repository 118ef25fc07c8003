"""The customers' Mini App API, signed in with initData the sandbox's Telegram signs: timelines, and cancel,
alternatives and a person with the chat's outcomes, for the linked customer's own items only."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.composition import ChatDeps
from bot.i18n import Translator
from bot.sandbox import FakeBotApi
from bot.sandbox.chat_objects import FakeUser
from bot.services.backorders.eta import recompute_all_etas
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from bot.telegram_init_data import WebAppUser, init_data_for
from bot.web.app import build_web_app
from db.models import AuditEntry, Customer, LineStatus, OrderLine, Refund, Shipment, ShipmentLine, Ticket
from tests.e2e.chat_bot import chat_settings
from tests.e2e.chat_driver import CustomerChat, link_chat, read_all, read_scalar
from tests.e2e.chat_shop import ANNA_ORDER, HEADSET, PURCHASE_ORDER, SHIPMENT_DUE, annas_backorder
from tests.e2e.test_chat_cancel import DONE, open_cancel
from tests.shop import T0, add_customer, add_order, add_product, add_substitute


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


class MiniApp:
    """A Telegram user's Mini App calling the API with the initData the sandbox signed when they opened it."""

    def __init__(self, client: TestClient, fake: FakeBotApi, user: FakeUser) -> None:
        self.client, self.fake, self.user = client, fake, user

    async def call(self, method: str, path: str, *, init_data: str | None = None) -> Answer:
        signed = self.fake.web_app_init_data(self.user) if init_data is None else init_data
        headers = {"Authorization": f"tma {signed}"} if signed else {}
        async with self.client.request(method, f"/mini-app/api{path}", headers=headers) as response:
            return Answer(response.status, await response.json())


@pytest.fixture
async def web(
    fake: FakeBotApi, session_factory: async_sessionmaker[AsyncSession], clock: ManualClock, policy: ShopPolicy
) -> AsyncIterator[TestClient]:
    """The web server with the bot's token and settings, on the test database."""
    deps = ChatDeps(chat_settings(fake, support_chat_id=-100777), session_factory, clock, policy)
    async with TestClient(TestServer(build_web_app(deps))) as client:
        yield client


@pytest.fixture
def anna_user(fake: FakeBotApi, language: str) -> FakeUser:
    return fake.add_user("Anna", last_name="Klein", language_code=language)


@pytest.fixture
def anna_app(web: TestClient, fake: FakeBotApi, anna_user: FakeUser) -> MiniApp:
    return MiniApp(web, fake, anna_user)


async def link(session: AsyncSession, customer: Customer, user: FakeUser) -> None:
    """Link `user`'s chat to the customer, as a finished linking would."""
    await session.execute(update(Customer).where(Customer.id == customer.id).values(telegram_user_id=user.id))
    await session.commit()


@pytest.mark.parametrize("language", ["en"])
async def test_a_waiting_items_timeline_shows_its_place_the_shipment_that_covers_it_and_a_confirmed_date(
    session: AsyncSession, uow: UnitOfWork, anna_app: MiniApp, anna_user: FakeUser, t: Translator
) -> None:
    shop = await annas_backorder(session, uow, ahead=2, behind=11)
    await link(session, shop.anna, anna_user)

    answer = await anna_app.call("GET", "/items")

    assert answer.status == 200 and answer.body["linked"] is True
    [item] = answer.body["waiting"]
    steps = {step["kind"]: step for step in item["steps"]}
    assert [step["kind"] for step in item["steps"]] == ["ordered", "waiting", "shipment", "eta"]
    assert (item["line_id"], item["order"], item["title"]) == (shop.line_id, ANNA_ORDER, f"{HEADSET} × 1")
    assert steps["waiting"]["queue"] == {"position": 3, "size": 14}
    assert "3rd of 14 waiting" in steps["waiting"]["detail"]
    assert steps["shipment"]["covers"] is True and steps["shipment"]["due"] == t.date(SHIPMENT_DUE)
    assert "bringing 14 units" in steps["shipment"]["detail"] and "Yours are among them." in steps["shipment"]["detail"]
    assert steps["eta"]["confirmed"] is True and steps["eta"]["badge"] == "confirmed"
    assert steps["eta"]["date"] == t.date(SHIPMENT_DUE + timedelta(days=1))
    assert item["changes"] == [] and answer.body["resolved"] == []
    assert answer.body["words"]["cancel"] == "Cancel"


@pytest.mark.parametrize("language", ["de"])
async def test_an_estimated_and_moved_item_says_why_in_german(
    session: AsyncSession, uow: UnitOfWork, anna_app: MiniApp, anna_user: FakeUser, clock: ManualClock
) -> None:
    shop = await annas_backorder(session, uow, ahead=1)
    # The shipment now brings one unit only: the customer ahead takes it, and Anna's date becomes an estimate.
    shop.purchase_order.quantity = 1
    await session.commit()
    await recompute_all_etas(uow)
    await link(session, shop.anna, anna_user)

    answer = await anna_app.call("GET", "/items")

    [item] = answer.body["waiting"]
    steps = {step["kind"]: step for step in item["steps"]}
    assert answer.body["language"] == "de" and answer.body["words"]["cancel"] == "Stornieren"
    assert steps["shipment"]["covers"] is False
    assert steps["eta"]["confirmed"] is False and steps["eta"]["badge"] == "geschätzt"
    [change] = item["changes"]
    assert change["later"] is True and "→" in change["text"]


@pytest.mark.parametrize("language", ["en"])
async def test_a_shipped_item_shows_its_parcel_with_tracking(
    session: AsyncSession, uow: UnitOfWork, anna_app: MiniApp, anna_user: FakeUser, clock: ManualClock
) -> None:
    shop = await annas_backorder(session, uow)
    await link(session, shop.anna, anna_user)
    await session.execute(
        update(OrderLine).where(OrderLine.id == shop.line_id).values(status=LineStatus.SHIPPED, resolved_at=clock.now())
    )
    parcel = Shipment(
        order_id=shop.order.id, carrier="DHL", tracking_number="00340434",
        tracking_url="https://track.example/00340434", shipped_at=clock.now(), created_at=clock.now(),
    )
    session.add(parcel)
    await session.flush()
    session.add(ShipmentLine(shipment_id=parcel.id, line_id=shop.line_id, quantity=1))
    await session.commit()

    answer = await anna_app.call("GET", "/items")

    assert answer.body["waiting"] == []
    [item] = answer.body["resolved"]
    shipped = item["steps"][-1]
    assert shipped["kind"] == "shipped" and shipped["tracking_url"] == "https://track.example/00340434"
    assert "DHL" in shipped["detail"]


@pytest.mark.parametrize("language", ["en"])
async def test_another_customers_line_is_never_shown_nor_acted_on(
    session: AsyncSession, uow: UnitOfWork, anna_app: MiniApp, anna_user: FakeUser, session_factory: Any
) -> None:
    shop = await annas_backorder(session, uow, behind=1)
    await link(session, shop.anna, anna_user)
    bens_line = shop.others[0].lines[0].id

    listed = await anna_app.call("GET", "/items")
    refused = [
        await anna_app.call(method, path)
        for method, path in [
            ("GET", f"/lines/{bens_line}/cancel"), ("POST", f"/lines/{bens_line}/cancel"),
            ("GET", f"/lines/{bens_line}/alternatives"), ("POST", f"/lines/{bens_line}/person"),
            ("POST", f"/lines/{bens_line}/alternatives/{shop.headset.id}"), ("POST", "/lines/999999999/cancel"),
        ]
    ]

    assert [item["line_id"] for item in listed.body["waiting"]] == [shop.line_id]
    assert {answer.status for answer in refused} == {404}
    assert await read_scalar(session_factory, select(OrderLine.status).where(OrderLine.id == bens_line)) == LineStatus.BACKORDERED
    assert await read_scalar(session_factory, select(func.count()).select_from(Ticket)) == 0


@pytest.mark.parametrize("language", ["en"])
async def test_requests_telegram_did_not_sign_for_this_bot_lately_are_refused(
    session: AsyncSession, uow: UnitOfWork, anna_app: MiniApp, anna_user: FakeUser, fake: FakeBotApi, clock: ManualClock
) -> None:
    shop = await annas_backorder(session, uow)
    await link(session, shop.anna, anna_user)
    person = WebAppUser(anna_user.id, "Anna")
    signed = fake.web_app_init_data(anna_user)

    unsigned = await anna_app.call("GET", "/items", init_data="")
    tampered = await anna_app.call("GET", "/items", init_data=signed.replace("Anna", "Anne"))
    other_bot = await anna_app.call("GET", "/items", init_data=init_data_for(person, "42:another-bot", clock.now()))
    stale = await anna_app.call("GET", "/items", init_data=init_data_for(person, fake.token, clock.now() - timedelta(days=2)))

    assert [answer.status for answer in (unsigned, tampered, other_bot, stale)] == [401, 401, 401, 401]
    assert stale.body["error"]["code"] == "expired"
    assert "waiting" not in tampered.body


@pytest.mark.parametrize("language", ["en", "de"])
async def test_an_unlinked_user_sees_how_to_link_and_can_do_nothing(
    web: TestClient, fake: FakeBotApi, language: str, t: Translator
) -> None:
    stranger = MiniApp(web, fake, fake.add_user("Sam", language_code=language))

    listed = await stranger.call("GET", "/items")
    cancel = await stranger.call("POST", "/lines/1/cancel")

    assert listed.status == 200 and listed.body["linked"] is False
    assert listed.body["how_to_link"] == t.gettext("I don't know your orders yet. Send /start to connect them.")
    assert cancel.status == 403


async def _cancel_outcome(session_factory: Any, line_id: int) -> tuple[Any, ...]:
    status, cancelled = (await read_all(session_factory, select(OrderLine.status, OrderLine.cancelled_quantity).where(OrderLine.id == line_id)))[0]
    refunds = [row.amount_minor for row in await read_all(session_factory, select(Refund.amount_minor).where(Refund.line_id == line_id))]
    actions = [row.action for row in await read_all(session_factory, select(AuditEntry.action).where(AuditEntry.entity_type == "order_line", AuditEntry.entity_id == str(line_id)))]
    return status, cancelled, refunds, sorted(actions)


async def test_cancel_from_the_mini_app_ends_as_a_cancel_in_the_chat(
    session: AsyncSession, uow: UnitOfWork, chat: CustomerChat, web: TestClient, fake: FakeBotApi,
    session_factory: Any, t: Translator, language: str,
) -> None:
    in_chat = await annas_backorder(session, uow)
    await link_chat(session, in_chat.anna, chat)
    asked = await open_cancel(chat, t)
    await chat.press(asked.message, t.gettext("Yes, cancel"))
    ben = await add_customer(session, "Ben Meyer")
    bens_order = await add_order(session, ben, [(in_chat.headset, 1)], placed_at=T0, number="1043")
    await session.commit()
    ben_user = fake.add_user("Ben", language_code=language)
    await link(session, ben, ben_user)
    mini_app = MiniApp(web, fake, ben_user)
    line = bens_order.lines[0].id

    question = await mini_app.call("GET", f"/lines/{line}/cancel")
    done = await mini_app.call("POST", f"/lines/{line}/cancel")
    again = await mini_app.call("POST", f"/lines/{line}/cancel")

    assert question.body["question"].split("\n")[0] == asked.message.text.split("\n")[0].replace(ANNA_ORDER, "1043")
    assert done.status == 200 and done.body["done"] == DONE[language]
    assert again.status == 200 and again.body["done"].endswith(DONE[language])  # idempotent: nothing cancelled twice
    chat_outcome = await _cancel_outcome(session_factory, in_chat.line_id)
    app_outcome = await _cancel_outcome(session_factory, line)
    assert app_outcome == chat_outcome == (LineStatus.CANCELLED, 1, [14900], chat_outcome[3])


@pytest.mark.parametrize("language", ["en"])
async def test_swapping_from_the_mini_app_takes_stock_and_asks_first(
    session: AsyncSession, uow: UnitOfWork, anna_app: MiniApp, anna_user: FakeUser, session_factory: Any
) -> None:
    shop = await annas_backorder(session, uow)
    wired = await add_product(session, "HS-120", price=8900, tags=["headset", "wired"], name="Studio Wired Headset", available=5)
    await add_substitute(session, shop.headset, wired)
    await session.commit()
    await link(session, shop.anna, anna_user)

    offers = await anna_app.call("GET", f"/lines/{shop.line_id}/alternatives")
    [offer] = offers.body["alternatives"]
    question = await anna_app.call("GET", f"/lines/{shop.line_id}/alternatives/{offer['product_id']}")
    unchanged = await read_scalar(session_factory, select(OrderLine.status).where(OrderLine.id == shop.line_id))
    done = await anna_app.call("POST", f"/lines/{shop.line_id}/alternatives/{offer['product_id']}")

    assert offer["name"] == "Studio Wired Headset" and "cheaper" in offer["note"]
    assert question.body["question"].startswith("Swap your item for Studio Wired Headset?")
    assert unchanged == LineStatus.BACKORDERED
    assert done.status == 200 and done.body["done"].startswith("Done: you now get 1 × Studio Wired Headset on order 1042.")
    assert await read_scalar(session_factory, select(OrderLine.status).where(OrderLine.id == shop.line_id)) == LineStatus.SUBSTITUTED


@pytest.mark.parametrize("language", ["en"])
async def test_talk_to_a_person_opens_a_ticket_about_the_item(
    session: AsyncSession, uow: UnitOfWork, anna_app: MiniApp, anna_user: FakeUser, session_factory: Any
) -> None:
    shop = await annas_backorder(session, uow)
    await link(session, shop.anna, anna_user)

    done = await anna_app.call("POST", f"/lines/{shop.line_id}/person")
    again = await anna_app.call("POST", f"/lines/{shop.line_id}/person")

    assert done.status == 200 and "I've asked our team to help you (ticket #" in done.body["done"]
    assert "still open" in again.body["done"]
    [(reason, chat_id)] = await read_all(session_factory, select(Ticket.reason, Ticket.customer_chat_id))
    assert reason == f"item:{shop.line_id}" and chat_id == anna_user.id
