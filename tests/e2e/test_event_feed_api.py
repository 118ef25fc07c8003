"""GET /api/v1/events through the real app: what a shop's system reads, page by page, and what it is refused."""

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor
from bot.services.backorders.cancel import cancel_line
from bot.services.unit_of_work import UnitOfWork
from tests.e2e.web_client import MerchantClient
from tests.shop import add_customer, add_order, add_product


async def _cancelled_orders(session: AsyncSession, uow: UnitOfWork, count: int) -> None:
    headset = await add_product(session, "HS-200", price=14900, name="Studio Pro Wireless Headset")
    anna = await add_customer(session)
    orders = [await add_order(session, anna, [(headset, 1)], number=f"10{index}") for index in range(count)]
    await session.commit()
    for order in orders:
        await cancel_line(uow, anna.id, order.lines[0].id, Actor.customer(anna.id))


async def test_a_shop_reads_every_cancel_and_refund_once_page_by_page(
    api: MerchantClient, session: AsyncSession, uow: UnitOfWork
) -> None:
    await _cancelled_orders(session, uow, 3)

    seen, cursor = [], None
    for _ in range(5):
        answer = await api.get("/events", params={"limit": "2", **({"after": cursor} if cursor else {})})
        assert answer.status == 200
        seen += answer.body["events"]
        cursor = answer.body["next_cursor"]

    assert [(event["type"], event["order_number"]) for event in seen] == [
        ("line.cancelled", "100"), ("refund.owed", "100"), ("line.cancelled", "101"), ("refund.owed", "101"),
        ("line.cancelled", "102"), ("refund.owed", "102"),
    ]  # fmt: skip
    assert len({event["id"] for event in seen}) == 6 and all(event["id"].startswith("evt_") for event in seen)
    assert seen[1]["data"]["amount"] == {"amount_minor": 14900, "currency": "EUR"}
    assert cursor == seen[-1]["cursor"]


async def test_the_feed_filters_by_type_family(api: MerchantClient, session: AsyncSession, uow: UnitOfWork) -> None:
    await _cancelled_orders(session, uow, 2)

    answer = await api.get("/events", params={"types": "refund.*"})

    assert [event["type"] for event in answer.body["events"]] == ["refund.owed", "refund.owed"]


async def test_a_bad_cursor_type_or_limit_is_a_422_naming_the_parameter(api: MerchantClient) -> None:
    for params, field in (
        ({"after": "not-a-cursor"}, "after"),
        ({"types": "line.exploded"}, "types"),
        ({"types": "line.*,\trefund.owed"}, "types"),  # items are separated by commas and spaces only
        ({"limit": "0"}, "limit"),
        ({"colour": "red"}, "colour"),
    ):
        answer = await api.get("/events", params=params)
        assert answer.status == 422, params
        assert field in answer.problems


async def test_types_may_be_spaced_and_an_empty_list_is_every_type(api: MerchantClient) -> None:
    for types in (" line.* , refund.owed ", "", ","):
        assert (await api.get("/events", params={"types": types})).status == 200, types


async def test_the_feed_needs_a_token(api: MerchantClient) -> None:
    assert (await api.get("/events", token=None)).status == 401
