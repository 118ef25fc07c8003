"""The event log: each change emits its events once, in its own transaction, and the feed pages through them
without skipping or repeating one, also while other transactions are still writing."""

import asyncio
import random
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.business_hours import parse_business_hours
from bot.clock import ManualClock
from bot.services.audit import Actor
from bot.services.backorders.alternatives import pick_alternative
from bot.services.backorders.cancel import cancel_line, cancel_order
from bot.services.backorders.delay_notices import DelayNoticePolicy, agree_to_wait, process_delay_notices
from bot.services.errors import InvalidFeedQuery, LineNotCancellable
from bot.services.event_log import EventType, FeedCursor, emit, emit_together, read_events
from bot.services.purchasing.purchase_orders import add_purchase_order, receive_purchase_order
from bot.services.support.tickets import (
    Escalation,
    EscalationKind,
    TicketPolicy,
    close_ticket,
    open_ticket,
    rate_ticket,
)
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, Event, Order
from tests.shop import add_customer, add_order, add_product, add_substitute

Sessions = async_sessionmaker[AsyncSession]
SHOP = Actor.merchant("shop")


async def _events(uow: UnitOfWork, *types: str) -> list[tuple[str, dict]]:
    page = await read_events(uow, None, types, limit=500)
    return [(event.type, event.data) for event in page.events]


async def _headset_order(session: AsyncSession, quantity: int = 2, allocated: int = 0, number: str = "1042") -> Order:
    headset = await add_product(session, "HS-200", price=14900, name="Studio Pro Wireless Headset")
    anna = await add_customer(session)
    order = await add_order(session, anna, [(headset, quantity)], allocated=[allocated], number=number)
    await session.commit()
    return order


async def test_a_customer_cancel_emits_line_cancelled_and_refund_owed_once_with_everything_a_shop_needs(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    order = await _headset_order(session, quantity=3, allocated=1)
    line_id, customer_id = order.lines[0].id, order.customer_id

    await cancel_line(uow, customer_id, line_id, Actor.customer(customer_id))
    await cancel_line(uow, customer_id, line_id, Actor.customer(customer_id))  # a repeat changes nothing

    [(cancelled_type, cancelled), (owed_type, owed)] = await _events(uow)
    assert (cancelled_type, owed_type) == ("line.cancelled", "refund.owed")
    assert cancelled["order_number"] == "1042" and cancelled["sku"] == "HS-200"
    assert (cancelled["cancelled_quantity"], cancelled["still_shipping_quantity"]) == (2, 1)
    assert cancelled["unit_price"] == {"amount_minor": 14900, "currency": "EUR"}
    assert (cancelled["by"], cancelled["by_id"]) == ("customer", str(customer_id))
    assert owed["amount"] == {"amount_minor": 29800, "currency": "EUR"}
    assert owed["reason"] == "cancelled" and owed["refund_id"] == cancelled["refund"]["refund_id"]


async def test_a_refused_change_emits_nothing(uow: UnitOfWork, session: AsyncSession) -> None:
    order = await _headset_order(session, quantity=1, allocated=1)

    with pytest.raises(LineNotCancellable):
        await cancel_line(uow, order.customer_id, order.lines[0].id, Actor.customer(order.customer_id))

    assert await _events(uow) == []


async def test_an_event_of_a_transaction_that_rolls_back_is_never_seen(uow: UnitOfWork, clock: ManualClock) -> None:
    async with uow:
        emit(uow.session, EventType.TICKET_OPENED, clock.now(), {"ticket_id": 1})
        await uow.session.flush()
    # Left without commit: rolled back.

    assert await _events(uow) == []


async def test_an_order_cancelled_by_the_shop_says_so(uow: UnitOfWork, session: AsyncSession) -> None:
    order = await _headset_order(session)

    await cancel_order(uow, order.customer_id, "1042", SHOP)

    assert [(kind, data["by"]) for kind, data in await _events(uow)] == [("line.cancelled", "shop"), ("refund.owed", "shop")]


async def test_cancelling_a_whole_order_logs_each_line_then_its_refund_in_the_order_they_happened(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    headset = await add_product(session, "HS-200", price=14900, name="Studio Pro Wireless Headset")
    cable = await add_product(session, "CB-010", price=990, name="Cable")
    anna = await add_customer(session)
    order = await add_order(session, anna, [(headset, 1), (cable, 2)], number="1042")
    await session.commit()

    await cancel_order(uow, anna.id, "1042", Actor.customer(anna.id))

    page = await read_events(uow, None, limit=500)
    assert [(event.type, event.data["line_id"]) for event in page.events] == [
        ("line.cancelled", order.lines[0].id), ("refund.owed", order.lines[0].id),
        ("line.cancelled", order.lines[1].id), ("refund.owed", order.lines[1].id),
    ]  # fmt: skip
    assert [event.cursor for event in page.events] == sorted({event.cursor for event in page.events})


async def test_events_written_together_come_after_those_emitted_before_them_in_the_transaction(
    uow: UnitOfWork, clock: ManualClock
) -> None:
    async with uow:
        emit(uow.session, EventType.TICKET_OPENED, clock.now(), {"n": 1})
        together = [(EventType.LINE_CANCELLED, {"n": 2}, "1042"), (EventType.REFUND_OWED, {"n": 3}, "1042")]
        await emit_together(uow.session, clock.now(), together)
        emit(uow.session, EventType.TICKET_CLOSED, clock.now(), {"n": 4})
        await uow.commit()

    page = await read_events(uow, None, limit=500)
    assert [event.data["n"] for event in page.events] == [1, 2, 3, 4]
    assert len({event.id for event in page.events}) == 4


async def test_picking_a_cheaper_alternative_emits_the_swap_with_what_to_ship_and_the_refund(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    headset = await add_product(session, "HS-200", price=14900, name="Studio Pro Wireless Headset", category="audio")
    other = await add_product(session, "HS-150", price=12900, name="Studio Headset", category="audio", available=5)
    await add_substitute(session, headset, other)
    anna = await add_customer(session)
    order = await add_order(session, anna, [(headset, 2)], number="1042")
    await session.commit()

    await pick_alternative(uow, anna.id, order.lines[0].id, other.id, Actor.customer(anna.id))

    [(swap_type, swap), (owed_type, owed)] = await _events(uow)
    assert (swap_type, owed_type) == ("line.substituted", "refund.owed")
    assert swap["sku"] == "HS-200" and swap["quantity"] == 2
    assert swap["ship_instead"]["sku"] == "HS-150" and swap["ship_instead"]["quantity"] == 2
    assert swap["price_difference"] == {"amount_minor": -4000, "currency": "EUR"}
    assert swap["difference_paid_by"] == "customer_refunded"
    assert owed["amount"] == {"amount_minor": 4000, "currency": "EUR"} and owed["reason"] == "substitute_cheaper"


async def test_receiving_stock_emits_the_receipt_and_each_line_it_makes_ready_to_ship(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    await _headset_order(session, quantity=2)
    await add_purchase_order(uow, "PO-1", "HS-200", 3, date(2026, 12, 10), SHOP)

    await receive_purchase_order(uow, "PO-1", SHOP, quantity=2)

    [(ready_type, ready), (received_type, received)] = await _events(uow)
    assert received_type == "purchase_order.received"
    assert (received["reference"], received["sku"], received["received_quantity"], received["outstanding_quantity"]) == (
        "PO-1", "HS-200", 2, 1,
    )  # fmt: skip
    assert ready_type == "line.ready_to_ship"
    assert ready["order_number"] == "1042"
    assert ready["pick"] == {"sku": "HS-200", "product_name": "Studio Pro Wireless Headset", "quantity": 2}
    assert received["lines_ready_to_ship"] == [ready["line_id"]]


async def test_a_delay_notice_and_its_answer_are_events(uow: UnitOfWork, session: AsyncSession) -> None:
    order = await _headset_order(session, quantity=1)
    customer = await session.get_one(Customer, order.customer_id)
    customer.telegram_user_id, customer.language = 5001, "en"
    await session.commit()
    await add_purchase_order(uow, "PO-1", "HS-200", 1, date(2026, 12, 10), SHOP)

    await process_delay_notices(uow, DelayNoticePolicy())
    [(sent_type, sent)] = await _events(uow)
    await agree_to_wait(uow, order.customer_id, sent["notice_id"])

    assert sent_type == "delay_notice.sent"
    assert (sent["order_number"], sent["sku"], sent["promised_ship_by"]) == ("1042", "HS-200", "2026-12-01")
    assert sent["refund_if_cancelled"] == {"amount_minor": 14900, "currency": "EUR"}
    [(answered_type, answered)] = await _events(uow, "delay_notice.answered")
    assert (answered_type, answered["answer"], answered["by"]) == ("delay_notice.answered", "agreed", "customer")


async def test_a_ticket_opened_closed_and_rated_is_three_events(uow: UnitOfWork, session: AsyncSession) -> None:
    order = await _headset_order(session, quantity=1)
    policy = TicketPolicy(-100123, parse_business_hours(""), response_target_minutes=30)

    opened = await open_ticket(uow, order.customer_id, 5001, Escalation(EscalationKind.ASKED), policy)
    await close_ticket(uow, opened.ticket.id, Actor.agent(7001))
    await rate_ticket(uow, order.customer_id, opened.ticket.id, 5)

    events = await _events(uow, "ticket.*")
    assert [(kind, data["status"], data["rating"]) for kind, data in events] == [
        ("ticket.opened", "open", None), ("ticket.closed", "closed", None), ("ticket.rated", "closed", 5),
    ]  # fmt: skip
    assert events[1][1]["by"] == "agent"


async def test_the_feed_pages_by_cursor_and_filters_by_type(uow: UnitOfWork, clock: ManualClock) -> None:
    async with uow:
        for number in range(5):
            emit(uow.session, EventType.LINE_SHIPPED, clock.now(), {"n": number}, f"{number}")
            emit(uow.session, EventType.REFUND_PAID, clock.now(), {"n": number}, f"{number}")
        await uow.commit()

    first = await read_events(uow, None, ["line.*"], limit=3)
    second = await read_events(uow, first.next_cursor, ["line.*"], limit=3)
    empty = await read_events(uow, second.next_cursor, ["line.*"], limit=3)

    assert [event.data["n"] for event in first.events + second.events] == [0, 1, 2, 3, 4]
    assert {event.type for event in first.events + second.events} == {"line.shipped"}
    assert empty.events == [] and empty.next_cursor == second.next_cursor
    assert FeedCursor.decode(second.next_cursor.encode()) == second.next_cursor
    assert len((await read_events(uow, None, ["refund.paid", "line.shipped"])).events) == 10


@pytest.mark.parametrize(
    ("query", "field"),
    [({"types": ["line.nothing"]}, "types"), ({"types": ["bogus"]}, "types"), ({"limit": 0}, "limit"),
     ({"limit": 501}, "limit")],
)  # fmt: skip
async def test_a_feed_query_that_cannot_be_answered_says_which_part(uow: UnitOfWork, query: dict, field: str) -> None:
    with pytest.raises(InvalidFeedQuery) as refused:
        await read_events(uow, None, **query)
    assert refused.value.field == field
    with pytest.raises(InvalidFeedQuery):
        FeedCursor.decode("12; DROP TABLE events")


async def test_an_event_committed_after_a_later_one_is_not_skipped(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock, is_postgres: bool
) -> None:
    """A transaction that inserts first but commits last must still be read after a cursor past the other."""
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time: its events commit in the order they are numbered")
    async with session_factory() as slow, session_factory() as quick:
        emit(slow, EventType.LINE_SHIPPED, clock.now(), {"who": "slow"})
        await slow.flush()  # numbered first
        emit(quick, EventType.LINE_SHIPPED, clock.now(), {"who": "quick"})
        await quick.commit()  # committed first

        page = await read_events(uow, None)
        assert page.events == []  # the quick one waits until the slow one has finished
        await slow.commit()

    page = await read_events(uow, page.next_cursor)
    assert [event.data["who"] for event in page.events] == ["slow", "quick"]


async def test_a_consumer_paging_while_many_writers_commit_sees_every_event_once(
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock
) -> None:
    writers, per_writer = 8, 25
    rng = random.Random(13)
    done = asyncio.Event()

    async def writer(number: int) -> None:
        for index in range(per_writer):
            async with session_factory() as session:
                emit(session, EventType.LINE_SHIPPED, clock.now(), {"key": f"{number}:{index}"})
                await session.flush()
                await asyncio.sleep(rng.random() / 200)  # commit out of the order the events were numbered
                await session.commit()

    async def consumer() -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            finished = done.is_set()
            page = await read_events(uow, cursor, limit=7)
            seen += [event.data["key"] for event in page.events]
            cursor = page.next_cursor
            if finished and not page.events:
                return seen
            await asyncio.sleep(0.001)

    reading = asyncio.create_task(consumer())
    await asyncio.gather(*(writer(number) for number in range(writers)))
    done.set()
    seen = await reading

    assert sorted(seen) == sorted(f"{w}:{i}" for w in range(writers) for i in range(per_writer))
    assert len(seen) == len(set(seen))
    async with session_factory() as session:
        assert len((await session.scalars(select(Event.id))).all()) == writers * per_writer
