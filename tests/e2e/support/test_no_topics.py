"""A support group without topics: one message per ticket, customer messages copied as replies to it, and an
agent's reply to one of them relayed to that customer."""

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.i18n import Translator
from bot.sandbox import FakeBotApi, FakeUser
from bot.services.unit_of_work import UnitOfWork
from db.models import RelayDirection, RelayStatus, TicketStatus
from tests.e2e.chat_driver import CustomerChat
from tests.e2e.chat_shop import annas_linked_backorder
from tests.e2e.support_driver import SupportGroup, deliver_outbox, relays, tickets

Sessions = async_sessionmaker[AsyncSession]
pytestmark = [pytest.mark.parametrize("forum", [False]), pytest.mark.parametrize("language", ["en"])]


async def test_without_topics_each_ticket_is_one_message_and_replies_to_it_reach_the_customer(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, fake: FakeBotApi, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions, t: Translator, clock: ManualClock,
) -> None:
    await annas_linked_backorder(session, uow, chat)
    await chat.command("support")
    [ticket] = await tickets(session_factory)
    mark = chat.last_bot_message().message_id

    await chat.send("Can you check my order 1042?")
    card, copied = desk.messages()
    await desk.write(agent, "Of course, one moment.", reply_to=copied)
    await desk.write(agent, "Lunch at 12?")  # not a reply: stays in the group
    await desk.write(agent, "It is due on 4 Dec.", reply_to=card)
    await desk.do(lambda: fake.send_text(agent, "/close", chat=desk.chat, reply_to=card))
    await deliver_outbox(chat.bot, session_factory, clock)

    assert desk.topics() == []
    assert (ticket.topic_thread_id, ticket.context_message_id) == (None, card.message_id)
    assert card.text.startswith(f"#{ticket.id} · Anna Klein")
    assert copied.text == "Can you check my order 1042?"
    assert copied.raw["reply_to_message"]["message_id"] == card.message_id  # the card's first line heads it
    assert "forward_origin" not in copied.raw  # a copy: only a copy can reply to the card
    to_customer = [m.text for m in chat.fake.bot_messages(chat.chat_id, after_message_id=mark)]
    assert to_customer == [
        "Of course, one moment.",
        "It is due on 4 Dec.",
        t.gettext("Your conversation with our team is closed. How would you rate the help you got?"),
    ]
    assert [(r.direction, r.status) for r in await relays(session_factory)] == [
        (RelayDirection.TO_AGENTS, RelayStatus.DELIVERED),
        (RelayDirection.TO_CUSTOMER, RelayStatus.DELIVERED),
        (RelayDirection.TO_CUSTOMER, RelayStatus.DELIVERED),
    ]
    [closed] = await tickets(session_factory)
    assert closed.status is TicketStatus.CLOSED
