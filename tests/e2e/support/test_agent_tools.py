"""What agents can do from a ticket's topic: cancel for the customer, send alternatives and the ETA, assign,
canned replies, the queue and closing; how the customer rates the help; and that nobody else can."""

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.i18n import Translator
from bot.business_hours import parse_business_hours
from bot.sandbox import ChatMessage, FakeBotApi, FakeChat, FakeUser, Fault
from bot.services.support.canned_replies import save_canned_reply
from bot.services.support.tickets import Escalation, EscalationKind, TicketPolicy, open_ticket
from bot.services.unit_of_work import UnitOfWork
from db.models import ActorType, AuditEntry, LineStatus, OrderLine, Refund, TicketStatus
from tests.e2e.chat_driver import CustomerChat, link_chat, read_all
from tests.e2e.chat_shop import ANNA_ORDER, HEADSET, SHIPMENT_DUE, AnnasShop, annas_linked_backorder
from tests.e2e.harness import RunningBot
from tests.e2e.support_driver import AGENT_ID, SupportGroup, deliver_outbox, tickets
from tests.shop import add_customer, add_order, add_product, add_substitute

Sessions = async_sessionmaker[AsyncSession]
ITEM = f"{HEADSET} × 1"
AGENT_NAME = "Maria Lopez"


async def _anna_asks(chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions) -> tuple[AnnasShop, int, ChatMessage]:
    """Anna asks for a person: her shop, the ticket's topic and its context card."""
    shop = await annas_linked_backorder(session, uow, chat)
    await chat.command("support")
    [ticket] = await tickets(session_factory)
    [card] = chat.fake.bot_messages(ticket.support_chat_id, thread_id=ticket.topic_thread_id)
    return shop, int(ticket.topic_thread_id), card


async def _agent_actions(session_factory: Sessions, action: str) -> list[tuple[ActorType, str | None]]:
    rows = await read_all(session_factory, select(AuditEntry.actor_type, AuditEntry.actor_id).where(AuditEntry.action == action))
    return [tuple(row) for row in rows]


@pytest.mark.parametrize("language", ["de"])
async def test_an_agent_cancels_a_line_for_the_customer_with_the_same_refund_recorded_as_the_agents(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions, clock: ManualClock,
) -> None:
    shop, topic, card = await _anna_asks(chat, session, uow, session_factory)
    mark = chat.last_bot_message().message_id

    asked = await desk.press(agent, card, f"Cancel {shop.line_id}")
    [confirm] = asked.new
    done = await desk.press(agent, confirm, "Yes, cancel it for the customer")

    assert confirm.text == f"Cancel 1 × {HEADSET} (order {ANNA_ORDER}) for the customer? They will be refunded €149.00."
    assert done.message.text == f"{AGENT_NAME} cancelled 1 × {HEADSET} (order {ANNA_ORDER}) for the customer; a refund of €149.00 is owed."
    assert chat.fake.bot_messages(chat.chat_id, after_message_id=mark) == []  # told by the outbox, once
    assert await deliver_outbox(chat.bot, session_factory, clock) == 1
    [told] = chat.fake.bot_messages(chat.chat_id, after_message_id=mark)
    assert told.text == (
        f"Es tut uns leid: Unser Team musste 1 × {HEADSET} aus Bestellung {ANNA_ORDER} stornieren, weil wir den Artikel"
        " nicht wie geplant liefern können.\nWir erstatten dir 149,00\xa0€ auf dem ursprünglichen Zahlungsweg, in der"
        " Regel innerhalb von 14 Tagen.\nFragen? Schick /support."
    )
    [line] = await read_all(session_factory, select(OrderLine.status).where(OrderLine.id == shop.line_id))
    assert line.status is LineStatus.CANCELLED
    assert [tuple(r) for r in await read_all(session_factory, select(Refund.line_id, Refund.amount_minor))] == [(shop.line_id, 14900)]
    assert await _agent_actions(session_factory, "line.cancelled") == [(ActorType.AGENT, str(AGENT_ID))]


@pytest.mark.parametrize("language", ["en"])
async def test_an_agents_confirmed_cancel_holds_when_telegram_refuses_to_answer_the_press(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, fake: FakeBotApi, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions,
) -> None:
    shop, _, card = await _anna_asks(chat, session, uow, session_factory)
    [confirm] = (await desk.press(agent, card, f"Cancel {shop.line_id}")).new
    fake.inject_fault("answerCallbackQuery", Fault(400, "Bad Request: query is too old and response timeout expired or query ID is invalid"))

    done = await desk.press(agent, confirm, "Yes, cancel it for the customer")

    assert done.message.text.startswith(f"{AGENT_NAME} cancelled 1 × {HEADSET}")
    [line] = await read_all(session_factory, select(OrderLine.status).where(OrderLine.id == shop.line_id))
    assert line.status is LineStatus.CANCELLED


@pytest.mark.parametrize("language", ["en"])
async def test_cancel_by_command_follows_the_customers_rules(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions
) -> None:
    shop, topic, _ = await _anna_asks(chat, session, uow, session_factory)
    shipped = await add_product(session, "PZ-1", name="Puzzle")
    order = await add_order(session, shop.anna, [(shipped, 1)], number="1043")
    order.lines[0].status = LineStatus.SHIPPED
    await session.commit()

    [refused] = await desk.write(agent, f"/cancel {order.lines[0].id}", thread_id=topic)
    [unknown] = await desk.write(agent, "/cancel 999999", thread_id=topic)
    [usage] = await desk.write(agent, "/cancel", thread_id=topic)

    assert refused.text == "This item has already shipped, so it can't be cancelled here."
    assert unknown.text == "There is no item 999999 on this customer's orders."
    assert usage.text == "Usage: /cancel N, where N is the item's number on the ticket's first post."
    assert await read_all(session_factory, select(Refund.id)) == []


@pytest.mark.parametrize("language", ["en"])
async def test_the_customer_gets_the_ordinary_alternatives_screen_from_an_agent_and_can_swap(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions, t: Translator, clock: ManualClock,
) -> None:
    shop, topic, card = await _anna_asks(chat, session, uow, session_factory)
    wired = await add_product(session, "HS-120", name="Studio Wired Headset", price=8900, tags=["headset"], available=5)
    await add_substitute(session, shop.headset, wired)
    await session.commit()
    mark = chat.last_bot_message().message_id

    sent = await desk.press(agent, card, f"Alternatives {shop.line_id}")
    await deliver_outbox(chat.bot, session_factory, clock)
    [offer] = chat.fake.bot_messages(chat.chat_id, after_message_id=mark)
    picked = await chat.press(offer, "Studio Wired Headset")
    swapped = await chat.press(picked.message, t.gettext("Yes, swap it"))

    assert [m.text for m in sent.new] == [f"{AGENT_NAME} sent the customer 1 alternative for {HEADSET}: Studio Wired Headset."]
    assert offer.text.split("\n")[0] == t.gettext("These can ship now instead:")
    assert swapped.message.text.startswith("Done: you now get 1 × Studio Wired Headset on order 1042.")
    [line] = await read_all(session_factory, select(OrderLine.status).where(OrderLine.id == shop.line_id))
    assert line.status is LineStatus.SUBSTITUTED
    assert await _agent_actions(session_factory, "ticket.alternatives_sent") == [(ActorType.AGENT, str(AGENT_ID))]


async def test_the_agent_posts_the_current_eta_and_the_customer_reads_it_in_their_language(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions, t: Translator,
) -> None:
    shop, topic, _ = await _anna_asks(chat, session, uow, session_factory)
    mark = chat.last_bot_message().message_id

    [posted] = await desk.write(agent, f"/eta {shop.line_id}", thread_id=topic)

    expected = "\n".join(
        [
            f"{ITEM} — " + t.gettext("order {order}").format(order=ANNA_ORDER),
            t.gettext(
                "Supplier delivery due {arrival} — {place}. Expected to ship on {eta} (supplier date confirmed)."
            ).format(
                arrival=t.date(SHIPMENT_DUE),
                place=t.gettext("you are number {n} of {size} in the queue").format(n=1, size=1),
                eta=t.date(date(2026, 12, 4)),
            ),
        ]
    )
    assert posted.text == expected and posted.thread_id == topic  # the team sees what the customer got
    [told] = chat.fake.bot_messages(chat.chat_id, after_message_id=mark)
    assert told.text == expected
    assert await _agent_actions(session_factory, "ticket.eta_sent") == [(ActorType.AGENT, str(AGENT_ID))]
    [ticket] = await tickets(session_factory)
    assert ticket.first_response_at is not None


async def test_canned_replies_are_saved_listed_and_sent_in_the_customers_language(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions, language: str,
) -> None:
    _, topic, _ = await _anna_asks(chat, session, uow, session_factory)
    mark = chat.last_bot_message().message_id

    [saved] = await desk.write(agent, "/canned add delay Sorry for the wait — it is on its way to us.")
    [saved_de] = await desk.write(agent, "/canned add delay de Entschuldige die Wartezeit — er ist unterwegs.")
    [listed] = await desk.write(agent, "/canned list")
    await desk.write(agent, "/reply delay", thread_id=topic)
    [missing] = await desk.write(agent, "/reply refund", thread_id=topic)

    assert (saved.text, saved_de.text) == ("Saved canned reply delay (en).", "Saved canned reply delay (de).")
    assert listed.text.split("\n")[1:3] == [
        "• delay (de): Entschuldige die Wartezeit — er ist unterwegs.",
        "• delay (en): Sorry for the wait — it is on its way to us.",
    ]
    expected = {
        "en": "Sorry for the wait — it is on its way to us.",
        "de": "Entschuldige die Wartezeit — er ist unterwegs.",
    }[language]
    assert [m.text for m in chat.fake.bot_messages(chat.chat_id, after_message_id=mark)] == [expected]
    assert missing.text == f"There is no canned reply refund in the customer's language or the default one ({language}, en)."


@pytest.mark.parametrize("language", ["en"])
async def test_the_queue_shows_every_open_ticket_its_age_assignee_and_those_waiting_past_the_target(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, fake: FakeBotApi, bot: RunningBot, session: AsyncSession,
    uow: UnitOfWork, session_factory: Sessions, clock: ManualClock,
) -> None:
    _, anna_topic, anna_card = await _anna_asks(chat, session, uow, session_factory)
    await desk.press(agent, anna_card, "Assign to me")
    clock.advance(minutes=20)
    ben = await add_customer(session, "Ben Carter")
    await session.commit()
    bens_chat = CustomerChat(fake, bot, fake.add_user("Ben", last_name="Carter", language_code="en"))
    await link_chat(session, ben, bens_chat)
    await bens_chat.command("support")
    [annas, bens] = await tickets(session_factory)
    await desk.write(agent, "Hi Ben, how can I help?", thread_id=bens.topic_thread_id)
    clock.advance(minutes=25)

    [queue] = await desk.write(agent, "/queue")

    assert queue.thread_id is None
    assert queue.text.split("\n") == [
        "2 open tickets",
        f"• #{annas.id} Anna K. · open for 45 min · {AGENT_NAME} · ⚠️ no answer yet, over 30 minutes",
        f"• #{bens.id} Ben C. · open for 25 min · unassigned · answered",
    ]
    assert await _agent_actions(session_factory, "ticket.assigned") == [(ActorType.AGENT, str(AGENT_ID))]


async def test_an_agent_closes_the_ticket_and_topic_and_the_customer_rates_the_help_once(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions, t: Translator, clock: ManualClock,
) -> None:
    _, topic, _ = await _anna_asks(chat, session, uow, session_factory)
    opened = chat.last_bot_message()

    [closed_notice] = await desk.write(agent, "/close", thread_id=topic)
    await deliver_outbox(chat.bot, session_factory, clock)
    [rate] = chat.fake.bot_messages(chat.chat_id, after_message_id=opened.message_id)
    rated = await chat.press(rate, "4 ⭐")
    again = await chat.press_data(rated.message, rate.callback_data("5 ⭐"))

    [ticket] = await tickets(session_factory)
    assert closed_notice.text == f"Ticket #{ticket.id} was closed by {AGENT_NAME}. The customer was asked to rate the help."
    assert desk.topics()[0]["closed"]
    # The ✅ Resolved button under "I've asked our team to help you" is gone: there is nothing left to resolve.
    assert opened.button_labels == [t.gettext("✅ Resolved")]
    assert chat.fake.message(chat.chat_id, opened.message_id).button_labels == []
    assert rate.text == t.gettext("Your conversation with our team is closed. How would you rate the help you got?")
    assert rate.button_labels == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
    assert rated.message.text == t.gettext("Thank you for your rating ({stars} of 5)!").format(stars=4)
    assert again.message.text == t.gettext("You've already rated this conversation ({stars} of 5). Thank you!").format(stars=4)
    assert (ticket.status, ticket.rating, ticket.closed_by) == (TicketStatus.CLOSED, 4, f"agent:{AGENT_ID}")
    assert desk.bot_messages(topic)[-1].text == "The customer rated the help 4 of 5. ⭐⭐⭐⭐"


@pytest.mark.parametrize("language", ["en"])
async def test_resolved_closes_the_ticket_for_the_customer_and_a_new_question_opens_a_new_ticket(
    chat: CustomerChat, desk: SupportGroup, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions, t: Translator
) -> None:
    _, topic, _ = await _anna_asks(chat, session, uow, session_factory)
    opened = chat.last_bot_message()

    resolved = await chat.press(opened, t.gettext("✅ Resolved"))
    await chat.command("support")

    first, second = await tickets(session_factory)
    assert resolved.message.text == t.gettext("Your conversation with our team is closed. How would you rate the help you got?")
    assert (first.status, first.closed_by) == (TicketStatus.CLOSED, f"customer:{first.customer_id}")
    assert desk.bot_messages(topic)[-1].text == f"The customer marked ticket #{first.id} as resolved; it is closed."
    assert second.status is TicketStatus.OPEN and second.topic_thread_id != topic
    assert [topic["closed"] for topic in desk.topics()] == [True, False]


@pytest.mark.parametrize("language", ["en"])
async def test_someone_outside_the_support_group_can_do_nothing_to_a_ticket(
    chat: CustomerChat, desk: SupportGroup, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions,
    t: Translator,
) -> None:
    shop, topic, card = await _anna_asks(chat, session, uow, session_factory)
    outsider = desk.add_member("Eve", "left")

    pressed = await desk.press(outsider, card, f"Cancel {shop.line_id}")
    closed = await desk.press(outsider, card, "Close ticket")
    [refused] = await desk.write(outsider, "/close", thread_id=topic)
    forged = await chat.press_data(chat.last_bot_message(), card.callback_data("Close ticket"))

    assert pressed.answer is not None and pressed.answer.text == "Only the shop's support agents can do that."
    assert pressed.answer.show_alert and pressed.new == [] and closed.new == []
    assert refused.text == "Only the shop's support agents can do that."
    assert forged.answer is not None and forged.answer.text == t.gettext("Sorry, that button doesn't work any more.")
    [ticket] = await tickets(session_factory)
    assert ticket.status is TicketStatus.OPEN
    [line] = await read_all(session_factory, select(OrderLine.status).where(OrderLine.id == shop.line_id))
    assert line.status is LineStatus.BACKORDERED
    assert not desk.topics()[0]["closed"]


async def test_agents_find_their_commands_in_the_support_groups_menu_and_customers_do_not(
    fake: FakeBotApi, bot: RunningBot, support_chat: FakeChat, agent: FakeUser
) -> None:
    customer = fake.add_user("Anna", language_code="en")

    in_the_group = [command["command"] for command in fake.visible_commands(agent, support_chat)]
    in_private = [command["command"] for command in fake.visible_commands(customer)]

    assert in_the_group == ["queue", "assign", "eta", "alternatives", "cancel", "reply", "canned", "close"]
    assert fake.commands(scope={"type": "chat", "chat_id": support_chat.id})[0]["description"] == (
        "Open tickets and how long they have waited"
    )
    assert "queue" not in in_private and "orders" in in_private


async def test_a_long_queue_pages_in_place(
    desk: SupportGroup, agent: FakeUser, support_chat: FakeChat, session: AsyncSession, uow: UnitOfWork
) -> None:
    for index in range(30):
        customer = await add_customer(session, f"Customer{index:02d} Waiting")
        await session.commit()
        policy = TicketPolicy(support_chat.id, parse_business_hours(""), response_target_minutes=30)
        await open_ticket(uow, customer.id, 9000 + index, Escalation(EscalationKind.ASKED), policy)

    # The tickets' own topic messages may still be on their way; the queue is the answer outside any topic.
    [first] = [m for m in await desk.write(agent, "/queue") if m.thread_id is None]
    pressed = await desk.press(agent, first, "Next ›")

    assert first.text.split("\n")[:2] == ["30 open tickets", "Items 1–25 of 30"]
    assert first.button_labels == ["Next ›"]
    assert pressed.message.message_id == first.message_id
    assert pressed.message.text.split("\n")[1] == "Items 26–30 of 30"
    assert "Customer29 W." in pressed.message.text
    assert pressed.message.button_labels == ["‹ Previous"]


async def test_a_long_list_of_canned_replies_pages_in_place(desk: SupportGroup, agent: FakeUser, uow: UnitOfWork) -> None:
    for index in range(30):
        await save_canned_reply(uow, f"reply-{index:02d}", "en", f"Canned answer number {index}.", AGENT_ID)

    [first] = await desk.write(agent, "/canned list")
    pressed = await desk.press(agent, first, "Next ›")

    assert first.text.split("\n")[:2] == ["Canned replies", "Items 1–25 of 30"]
    assert first.text.split("\n")[-1] == "Send one with /reply KEY in a ticket's topic."
    assert pressed.message.message_id == first.message_id
    assert pressed.message.text.split("\n")[1:3] == ["Items 26–30 of 30", "• reply-25 (en): Canned answer number 25."]
    assert pressed.message.button_labels == ["‹ Previous"]
