"""Talking to the bot: a person to write to, free-text requests in English and German, the language, the menu."""

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator, translator
from bot.render import conversation
from bot.sandbox import ChatMessage, FakeBotApi
from bot.services.unit_of_work import UnitOfWork
from bot.telegram_app import command_menu
from tests.e2e.chat_driver import CustomerChat, link_chat
from tests.e2e.chat_shop import ANNA_ORDER, HEADSET, annas_backorder, annas_linked_backorder
from tests.e2e.harness import RunningBot
from tests.shop import add_order, add_product

ITEM = f"{HEADSET} × 1"
SUPPORT = "help@gadget-garage.example"  # SUPPORT_CONTACT in tests/e2e/chat_bot.py


def reach_a_person(t: Translator) -> str:
    return t.gettext("A person will gladly help: please write to {contact} and mention your order number.").format(
        contact=SUPPORT
    )


def is_order_list(message: ChatMessage) -> bool:
    return message.button_labels == [ITEM] and ITEM in message.text


async def test_support_tells_how_to_reach_a_person(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    await annas_linked_backorder(session, uow, chat)

    [reply] = await chat.command("support")
    [order_list] = await chat.command("orders")
    card = await chat.press(order_list, ITEM)
    from_card = await chat.press(card.message, t.gettext("Talk to a person"))

    assert reply.text == from_card.message.text == reach_a_person(t)
    assert from_card.message.button_labels == [t.gettext("« My orders")]


async def test_someone_not_linked_yet_can_still_ask_for_a_person(chat: CustomerChat, t: Translator) -> None:
    [reply] = await chat.send("I want to talk to a human")

    assert reply.text == reach_a_person(t)


@pytest.mark.parametrize(
    "text", ["where is my order", "When will my stuff arrive?", "wann kommt meine Bestellung", "Wo ist meine Lieferung?"]
)
async def test_asking_where_the_order_is_shows_the_list(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, text: str
) -> None:
    await annas_linked_backorder(session, uow, chat)

    [reply] = await chat.send(text)

    assert is_order_list(reply)


@pytest.mark.parametrize("text", ["cancel", "Please cancel it", "stornieren", "Ich möchte das stornieren"])
async def test_asking_to_cancel_the_only_waiting_item_asks_to_confirm_its_cancellation(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator, text: str
) -> None:
    await annas_linked_backorder(session, uow, chat)

    [reply] = await chat.send(text)

    assert reply.text.startswith(
        t.gettext("Cancel {quantity} × {product} from order {order}?").format(quantity=1, product=HEADSET, order=ANNA_ORDER)
    )
    done = await chat.press(reply, t.gettext("Yes, cancel"))
    assert done.message.text.startswith(
        t.gettext("Done:") + " " + t.ngettext("{quantity} × {product} is cancelled.", "{quantity} × {product} are cancelled.", 1).format(
            quantity=1, product=HEADSET
        )
    )


@pytest.mark.parametrize("text", ["alternative", "something else instead?", "Gibt es Ersatz?"])
async def test_asking_for_an_alternative_offers_them_for_the_only_waiting_item(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator, text: str
) -> None:
    shop = await annas_backorder(session, uow)
    await add_product(session, "HS-120", name="Studio Wired Headset", price=8900, tags=["headset"], available=5)
    await session.commit()
    await link_chat(session, shop.anna, chat)

    [reply] = await chat.send(text)

    assert reply.text.startswith(t.gettext("These can ship now instead:"))
    assert reply.button_labels == ["Studio Wired Headset", t.gettext("« Back")]


@pytest.mark.parametrize("text", ["cancel", "stornieren", "alternative"])
async def test_with_several_waiting_items_cancel_or_alternative_lists_them_to_pick_from(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator, text: str
) -> None:
    shop = await annas_backorder(session, uow)
    mixer = await add_product(session, "MX-500", name="ProMix Stand Mixer", category="kitchen")
    await add_order(session, shop.anna, [(mixer, 1)], number="1050")
    await session.commit()
    await link_chat(session, shop.anna, chat)

    [reply] = await chat.send(text)

    assert reply.button_labels == [ITEM, "ProMix Stand Mixer × 1"]


@pytest.mark.parametrize("text", ["talk to a human", "Kann ich mit einem Mitarbeiter sprechen?"])
async def test_asking_for_a_person_in_free_text(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator, text: str
) -> None:
    await annas_linked_backorder(session, uow, chat)

    [reply] = await chat.send(text)

    assert reply.text == reach_a_person(t)


async def test_gibberish_gets_a_short_help_with_the_menu(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    await annas_linked_backorder(session, uow, chat)

    [reply] = await chat.send("qwx zzyzx plumbus")
    orders = await chat.press(reply, t.gettext("My orders"))

    assert reply.text == conversation.help_menu(t).text
    assert "/orders" in reply.text and "/support" in reply.text
    assert is_order_list(orders.message)


async def test_language_switches_and_switches_back_and_is_kept_across_a_restart(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, language: str
) -> None:
    await annas_linked_backorder(session, uow, chat)
    other = "de" if language == "en" else "en"
    names = {"en": "English", "de": "Deutsch"}

    [choice] = await chat.command("language")
    switched = await chat.press(choice, names[other])
    await chat.bot.restart()
    [in_other] = await chat.command("support")
    [choice_again] = await chat.command("language")
    switched_back = await chat.press(choice_again, names[language])
    [in_own] = await chat.command("support")

    assert choice.button_labels == ["English", "Deutsch"]
    assert choice.text == translator(language).gettext("Which language would you like?")
    assert switched.message.text == translator(other).gettext("Done — I'll write in English from now on.")
    assert in_other.text == reach_a_person(translator(other))
    assert switched_back.message.text == translator(language).gettext("Done — I'll write in English from now on.")
    assert in_own.text == reach_a_person(translator(language))


async def test_the_command_menu_is_set_in_english_by_default_and_in_german(fake: FakeBotApi, bot: RunningBot) -> None:
    english = [{"command": c.command, "description": c.description} for c in command_menu("en")]
    german = [{"command": c.command, "description": c.description} for c in command_menu("de")]

    assert fake.commands() == english
    assert fake.commands(language_code="de") == german
    assert {c["command"] for c in german} == {"orders", "notifications", "support", "language", "help", "logout", "privacy"}
    assert german[0]["description"] == "Meine wartenden Artikel und ihre Versandtermine"
    assert english[0]["description"] == "My waiting items and their ship dates"
    assert fake.visible_commands(fake.add_user("Jonas", language_code="de")) == german
    assert fake.visible_commands(fake.add_user("Mia", language_code="fr")) == english
