"""The agents' tools on a real database: nothing works on a closed ticket, and what an agent sends the customer
(alternatives, the request to rate the help) is queued in the outbox in the transaction that records it."""

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.business_hours import parse_business_hours
from bot.i18n import translator
from bot.render.proactive import render_outgoing
from bot.services.audit import Actor
from bot.services.errors import TicketClosed
from bot.services.event_log import read_events
from bot.services.support.ticket_tools import cancel_for_customer, offer_alternatives, ticket_for_tools
from bot.services.support.tickets import Escalation, EscalationKind, TicketPolicy, close_ticket, open_ticket
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.models import Customer, LineStatus, OrderLine
from tests import readback
from tests.outbox_queue import outbox_rows
from tests.shop import add_customer, add_order, add_product, add_substitute

Sessions = async_sessionmaker[AsyncSession]
AGENT = 7001
POLICY = TicketPolicy(-1001234, parse_business_hours(""), response_target_minutes=30)


async def _anna_waits(session: AsyncSession, *, with_alternative: bool = False) -> tuple[int, int]:
    """Anna (German, chat 5001) waits for a headset on order 1042: (customer id, line id)."""
    headset = await add_product(session, "HS-200", price=14900, name="Studio Pro Wireless Headset", tags=["headset"])
    if with_alternative:
        wired = await add_product(session, "HS-120", price=8900, name="Studio Wired Headset", tags=["headset"], available=5)
        await add_substitute(session, headset, wired)
    anna = await add_customer(session, "Anna Klein")
    anna.telegram_user_id, anna.language = 5001, "de"
    order = await add_order(session, anna, [(headset, 1)], number="1042")
    await session.commit()
    return anna.id, order.lines[0].id


async def _open(uow: UnitOfWork, customer_id: int) -> int:
    return (await open_ticket(uow, customer_id, 5001, Escalation(EscalationKind.ASKED), POLICY)).ticket.id


async def test_an_agent_closing_queues_the_request_to_rate_once_in_the_customers_language(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, _ = await _anna_waits(session)
    ticket_id = await _open(uow, customer_id)

    await close_ticket(uow, ticket_id, Actor.agent(AGENT))
    await close_ticket(uow, ticket_id, Actor.agent(AGENT))

    [row] = await outbox_rows(session_factory)
    assert (row.chat_id, row.template, row.language, row.params, row.optional) == (5001, "rate_request", "de", {"ticket_id": ticket_id}, False)
    screen = render_outgoing(row.template, row.params, translator(row.language))
    assert screen.text == "Dein Gespräch mit unserem Team ist abgeschlossen. Wie bewertest du die Hilfe, die du bekommen hast?"
    assert [button.callback_data for button in screen.keyboard.inline_keyboard[0]] == [f"c1:rt:{ticket_id}:{n}" for n in range(1, 6)]


async def test_a_customer_whose_language_nobody_knows_is_asked_in_the_shops_default_language(
    session: AsyncSession, session_factory: Sessions, clock
) -> None:
    customer_id, _ = await _anna_waits(session)
    await session.execute(update(Customer).where(Customer.id == customer_id).values(language=None))
    await session.commit()
    german_shop = UnitOfWork(session_factory, clock, ShopPolicy(default_language="de"))
    ticket_id = await _open(german_shop, customer_id)

    await close_ticket(german_shop, ticket_id, Actor.agent(AGENT))

    assert [row.language for row in await outbox_rows(session_factory)] == ["de"]


async def test_a_customer_who_closes_the_ticket_is_asked_in_the_chat_not_through_the_outbox(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, _ = await _anna_waits(session)
    ticket_id = await _open(uow, customer_id)

    await close_ticket(uow, ticket_id, Actor.customer(customer_id), customer_id=customer_id)

    assert await outbox_rows(session_factory) == []


async def test_no_tool_works_on_a_closed_ticket_and_nothing_changes(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, line_id = await _anna_waits(session, with_alternative=True)
    ticket_id = await _open(uow, customer_id)
    await close_ticket(uow, ticket_id, Actor.agent(AGENT))

    for tool in (
        ticket_for_tools(uow, ticket_id),
        cancel_for_customer(uow, ticket_id, line_id, AGENT),
        offer_alternatives(uow, ticket_id, line_id, AGENT),
    ):
        with pytest.raises(TicketClosed):
            await tool

    assert [row.template for row in await outbox_rows(session_factory)] == ["rate_request"]
    assert await readback.audit_entries(session_factory, "line.cancelled") == []
    async with session_factory() as reader:
        assert await reader.scalar(select(OrderLine.status).where(OrderLine.id == line_id)) is LineStatus.BACKORDERED


async def test_an_agent_s_cancel_tells_the_shop_s_systems_who_did_it_once(uow: UnitOfWork, session: AsyncSession) -> None:
    customer_id, line_id = await _anna_waits(session)
    ticket_id = await _open(uow, customer_id)

    await cancel_for_customer(uow, ticket_id, line_id, AGENT)
    await cancel_for_customer(uow, ticket_id, line_id, AGENT)  # a second press changes nothing

    events = (await read_events(uow, None, ["line.cancelled", "refund.owed"])).events
    assert [(event.type, event.data["by"], event.data["by_id"]) for event in events] == [
        ("line.cancelled", "agent", str(AGENT)), ("refund.owed", "agent", str(AGENT)),
    ]  # fmt: skip
    assert events[1].data["amount"] == {"amount_minor": 14900, "currency": "EUR"}


async def test_offered_alternatives_are_queued_with_the_customers_own_buttons_and_recorded_as_the_agents(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, line_id = await _anna_waits(session, with_alternative=True)
    ticket_id = await _open(uow, customer_id)

    offered = await offer_alternatives(uow, ticket_id, line_id, AGENT)

    assert offered.queued and offered.ticket.first_response_at is not None
    [row] = await outbox_rows(session_factory)
    assert (row.chat_id, row.template, row.language, row.optional) == (5001, "alternatives_offered", "de", False)
    screen = render_outgoing(row.template, row.params, translator(row.language))
    assert screen.text.split("\n")[0] == "Diese können stattdessen sofort versendet werden:"
    [pick], [back] = screen.keyboard.inline_keyboard
    assert (pick.text, back.callback_data) == ("Studio Wired Headset", f"c1:ln:{line_id}")
    [entry] = await readback.audit_entries(session_factory, "ticket.alternatives_sent")
    assert (entry.actor_id, entry.details) == (str(AGENT), {"line_id": line_id, "skus": ["HS-120"]})


async def test_alternatives_for_a_customer_who_blocked_the_bot_are_not_queued_nor_recorded(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer_id, line_id = await _anna_waits(session, with_alternative=True)
    ticket_id = await _open(uow, customer_id)
    await session.execute(update(Customer).where(Customer.id == customer_id).values(bot_blocked=True))
    await session.commit()

    offered = await offer_alternatives(uow, ticket_id, line_id, AGENT)

    assert not offered.queued and len(offered.result.alternatives) == 1
    assert await outbox_rows(session_factory) == []
    assert await readback.audit_entries(session_factory, "ticket.alternatives_sent") == []
