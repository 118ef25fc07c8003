"""Reaching a person: every way a customer's chat becomes a ticket with its own topic in the support group,
what the agents see first, and what the customer is told."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.i18n import Translator
from bot.render.conversation import help_menu
from bot.services.unit_of_work import UnitOfWork
from db.models import LineStatus, OrderLine
from tests.e2e.chat_driver import CustomerChat
from tests.e2e.chat_shop import ANNA_ORDER, HEADSET, annas_linked_backorder
from tests.e2e.support_driver import GROUP, SupportGroup, card_line, ticket_opened, tickets

ITEM = f"{HEADSET} × 1"
LANGUAGE_NAMES = {"en": "English", "de": "German"}
Sessions = async_sessionmaker[AsyncSession]


async def test_support_opens_a_ticket_in_a_topic_of_its_own_whose_first_post_is_the_context_card(
    chat: CustomerChat, desk: SupportGroup, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions,
    t: Translator, language: str,
) -> None:
    shop = await annas_linked_backorder(session, uow, chat, ahead=2)

    [answer] = await chat.command("support")

    [ticket] = await tickets(session_factory)
    assert answer.text.split("\n") == ticket_opened(t, ticket.id)
    assert answer.button_labels == [t.gettext("✅ Resolved")]
    [topic] = desk.topics()
    assert topic["name"] == f"#{ticket.id} · Anna K. · order {ANNA_ORDER}"
    assert ticket.topic_thread_id == topic["message_thread_id"]
    [card] = desk.bot_messages(ticket.topic_thread_id)
    assert card.message_id == ticket.context_message_id
    assert card.text.split("\n")[:4] == [
        f"#{ticket.id} · Anna Klein",
        GROUP.gettext("Language: {language} · {contact}").format(language=GROUP.gettext(LANGUAGE_NAMES[language]), contact="anna@example.com"),
        GROUP.gettext("Why: {reason}").format(reason=GROUP.gettext("asked for a person")),
        GROUP.gettext("Orders: {orders}").format(orders=f"{ANNA_ORDER} (1\xa0Nov)"),
    ]
    assert f"• [{shop.line_id}] {ITEM} · order {ANNA_ORDER} · waiting for stock · ETA 4\xa0Dec (PO\u20112026\u2011118) · 3rd of 3 in line" in card.text
    assert card.button_labels == [
        f"Cancel {shop.line_id}", f"Alternatives {shop.line_id}", f"ETA {shop.line_id}", "Assign to me", "Close ticket",
    ]


async def test_talk_to_a_person_on_an_items_card_opens_a_ticket_about_that_item(
    chat: CustomerChat, desk: SupportGroup, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions, t: Translator
) -> None:
    shop = await annas_linked_backorder(session, uow, chat)
    [order_list] = await chat.command("orders")
    card = await chat.press(order_list, ITEM)

    pressed = await chat.press(card.message, t.gettext("Talk to a person"))

    [ticket] = await tickets(session_factory)
    assert ticket.reason == f"item:{shop.line_id}"
    assert pressed.message.text.split("\n") == ticket_opened(t, ticket.id)
    [context_card] = desk.bot_messages(ticket.topic_thread_id)
    assert card_line(context_card, "Why: ") == GROUP.gettext("Why: {reason}").format(
        reason=GROUP.gettext("asked for a person about an item") + f" — {ITEM} (order {ANNA_ORDER})"
    )


async def test_two_messages_in_a_row_the_bot_does_not_understand_bring_a_person_who_sees_the_second(
    chat: CustomerChat, desk: SupportGroup, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions, t: Translator
) -> None:
    await annas_linked_backorder(session, uow, chat)

    [first] = await chat.send("purple monkey dishwasher")
    [second] = await chat.send("blorp fnord zyx")

    assert first.text == help_menu(t).text
    [ticket] = await tickets(session_factory)
    assert second.text.split("\n") == ticket_opened(t, ticket.id)
    card, relayed = desk.messages(ticket.topic_thread_id)
    assert card_line(card, "Why: ") == GROUP.gettext("Why: {reason}").format(
        reason=GROUP.gettext("the bot did not understand the customer twice in a row")
    )
    assert relayed.text == "blorp fnord zyx" and relayed.from_bot  # copied by the bot into the topic


async def test_an_understood_message_in_between_starts_the_count_again(
    chat: CustomerChat, desk: SupportGroup, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions, t: Translator
) -> None:
    await annas_linked_backorder(session, uow, chat)

    await chat.send("purple monkey dishwasher")
    await chat.send("hello")
    [answer] = await chat.send("blorp fnord zyx")

    assert answer.text == help_menu(t).text
    assert await tickets(session_factory) == []
    assert desk.topics() == []


async def test_a_cancel_that_is_not_allowed_offers_a_person_who_learns_what_was_refused(
    chat: CustomerChat, desk: SupportGroup, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions, t: Translator
) -> None:
    shop = await annas_linked_backorder(session, uow, chat)
    [order_list] = await chat.command("orders")
    card = await chat.press(order_list, ITEM)
    async with session_factory() as change:  # it shipped while the card was open
        await change.execute(update(OrderLine).where(OrderLine.id == shop.line_id).values(status=LineStatus.SHIPPED))
        await change.commit()

    refused = await chat.press(card.message, t.gettext("Cancel"))
    [refusal] = refused.new
    pressed = await chat.press(refusal, t.gettext("Talk to a person"))

    assert refusal.text.split("\n") == [
        t.gettext("This item has already shipped, so it can't be cancelled here."),
        t.gettext("A person from our team can look into it with you."),
    ]
    [ticket] = await tickets(session_factory)
    assert ticket.reason == f"refused:line_not_cancellable:{shop.line_id}"
    assert pressed.message.text.split("\n") == ticket_opened(t, ticket.id)
    [context_card] = desk.bot_messages(ticket.topic_thread_id)
    assert card_line(context_card, "Why: ") == GROUP.gettext("Why: {reason}").format(
        reason=GROUP.gettext("wanted to cancel an item that can no longer be cancelled") + f" — {ITEM} (order {ANNA_ORDER})"
    )


@pytest.mark.parametrize("business_hours", ["Mon-Fri 09:00-17:00"])
async def test_outside_business_hours_the_customer_is_told_when_the_team_is_back(
    chat: CustomerChat, desk: SupportGroup, session: AsyncSession, uow: UnitOfWork, clock: ManualClock, t: Translator,
    language: str,
) -> None:
    await annas_linked_backorder(session, uow, chat)
    clock.current = datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc)  # Saturday noon in Berlin

    [answer] = await chat.command("support")

    monday = {"en": "Monday", "de": "Montag"}[language]
    assert answer.text.split("\n")[1] == t.gettext(
        "Our team is back on {weekday} at {time} and will answer you here then."
    ).format(weekday=monday, time={"en": "09:00", "de": "9:00"}[language])
    assert len(desk.topics()) == 1  # the ticket is there for Monday


async def test_asking_again_while_a_ticket_is_open_continues_it(
    chat: CustomerChat, desk: SupportGroup, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions, t: Translator
) -> None:
    await annas_linked_backorder(session, uow, chat)
    await chat.command("support")

    [again] = await chat.command("support")

    [ticket] = await tickets(session_factory)
    assert again.text.split("\n")[0] == t.gettext("Your conversation with our team is still open (ticket #{ticket}).").format(
        ticket=ticket.id
    )
    assert len(desk.topics()) == 1
    assert len(desk.bot_messages(ticket.topic_thread_id)) == 1  # one context card


@pytest.mark.parametrize("language", ["en"])
@pytest.mark.parametrize("bot_settings", [{}])
async def test_without_a_support_group_support_says_how_to_reach_a_person(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions, t: Translator
) -> None:
    await annas_linked_backorder(session, uow, chat)

    [answer] = await chat.command("support")

    assert answer.text == t.gettext("A person will gladly help: please write to {contact} and mention your order number.").format(
        contact="help@gadget-garage.example"
    )
    assert await tickets(session_factory) == []


@pytest.mark.parametrize("language", ["en"])
async def test_before_linking_an_order_support_says_how_to_reach_a_person(
    chat: CustomerChat, desk: SupportGroup, session_factory: Sessions, t: Translator
) -> None:
    [answer] = await chat.command("support")

    assert answer.text == t.gettext("A person will gladly help: please write to {contact} and mention your order number.").format(
        contact="help@gadget-garage.example"
    )
    assert desk.topics() == [] and await tickets(session_factory) == []


@pytest.mark.parametrize("language", ["en"])
@pytest.mark.parametrize("bot_settings", [{"support_chat_id": -1009999999999}])
async def test_a_support_group_the_bot_cannot_reach_is_logged_and_the_customer_side_carries_on(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions, t: Translator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await annas_linked_backorder(session, uow, chat)

    [orders] = await chat.command("orders")
    [answer] = await chat.command("support")

    assert orders.button_labels == [ITEM]
    assert answer.text == t.gettext("A person will gladly help: please write to {contact} and mention your order number.").format(
        contact="help@gadget-garage.example"
    )
    assert await tickets(session_factory) == []
    started = caplog.get_records("setup")  # the bot checked the group as it started
    [logged] = [r for r in started if r.name == "bot.support.group" and r.levelname == "ERROR"]
    assert "SUPPORT_CHAT_ID=-1009999999999: the bot cannot reach the support group" in logged.getMessage()
