"""Linking a Telegram chat to a customer, end to end: deep link, own phone, order number + e-mail, limits, logout."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.i18n import Translator, translator
from bot.sandbox import ChatMessage
from bot.services.conversations.link_tokens import create_link_token
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer
from tests.e2e.chat_bot import SECRET_KEY
from tests.e2e.chat_driver import CustomerChat, read_scalar
from tests.e2e.chat_shop import ANNA_EMAIL, ANNA_ORDER, HEADSET, AnnasShop, annas_backorder


def neutral_failure(t: Translator) -> str:
    return t.gettext("Sorry, I couldn't match those details to an order. Please check them and try again.")


def try_again_in(minutes: int, t: Translator) -> str:
    return t.ngettext(
        "Too many attempts. Please try again in {n} minute.", "Too many attempts. Please try again in {n} minutes.", minutes
    ).format(n=minutes)


async def linked_user(session_factory: async_sessionmaker[AsyncSession], shop: AnnasShop) -> int | None:
    return await read_scalar(session_factory, select(Customer.telegram_user_id).where(Customer.id == shop.anna.id))


def assert_linked_and_listed(replies: list[ChatMessage], t: Translator) -> None:
    """The greeting by first name, then the order list with Anna's headset as a button."""
    greeting, order_list = replies[-2:]
    assert greeting.text == t.gettext("Thanks, {name} — you're connected. Here are your orders:").format(name="Anna")
    assert f"{HEADSET} × 1" in order_list.text
    assert order_list.button_labels == [f"{HEADSET} × 1"]


async def test_the_deep_link_from_the_confirmation_email_links_the_chat(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, clock: ManualClock, session_factory, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)
    token = create_link_token(SECRET_KEY, shop.anna.id, shop.order.id, clock.now() + timedelta(days=30))

    replies = await chat.command("start", token)

    assert_linked_and_listed(replies, t)
    assert await linked_user(session_factory, shop) == chat.user.id
    assert chat.fake.reply_keyboard(chat.chat_id) is None  # the share-phone keyboard is gone


@pytest.mark.parametrize("spoiled", ["expired", "tampered"])
async def test_an_expired_or_tampered_deep_link_gets_the_neutral_answer(
    chat: CustomerChat,
    session: AsyncSession,
    uow: UnitOfWork,
    clock: ManualClock,
    session_factory,
    t: Translator,
    spoiled: str,
) -> None:
    shop = await annas_backorder(session, uow)
    if spoiled == "expired":
        token = create_link_token(SECRET_KEY, shop.anna.id, shop.order.id, clock.now() - timedelta(minutes=1))
    else:
        genuine = create_link_token(SECRET_KEY, shop.anna.id, shop.order.id, clock.now() + timedelta(days=30))
        middle = len(genuine) // 2
        token = genuine[:middle] + ("A" if genuine[middle] != "A" else "B") + genuine[middle + 1 :]

    [reply] = await chat.command("start", token)

    assert reply.text == neutral_failure(t)
    assert await linked_user(session_factory, shop) is None


# Written out, not built with the bot's own gettext calls, so a wrong or missing translation shows here.
LINK_WAYS = {
    "en": "To find your order, tap “Share my phone number” or send me your order number.",
    "de": "Um deine Bestellung zu finden, tippe auf „Meine Telefonnummer teilen“ oder schick mir deine Bestellnummer.",
}


async def test_an_unlinked_chat_is_welcomed_once_then_told_only_the_two_ways_to_link(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator, language: str
) -> None:
    shop = await annas_backorder(session, uow)

    [welcome] = await chat.send("hello?")
    [again] = await chat.send("what can you do")
    [still] = await chat.send("hm")
    keyboard = chat.fake.reply_keyboard(chat.chat_id)
    linked = await chat.send(f"#{ANNA_ORDER} {ANNA_EMAIL}")

    assert "Gadget Garage" in welcome.text
    assert again.text == still.text == LINK_WAYS[language]
    assert keyboard is not None and keyboard["keyboard"] == [[{"text": t.gettext("📱 Share my phone number"), "request_contact": True}]]
    assert_linked_and_listed(linked, t)
    assert await linked_user(session_factory, shop) == chat.user.id


async def test_sharing_my_own_phone_with_the_keyboard_button_links_the_chat(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    # The number the fake Telegram client shares for this user (see FakeBotApi.press_keyboard_button).
    phone = f"+49151{chat.user.id % 10**8:08d}"
    shop = await annas_backorder(session, uow, phone=phone)
    [welcome] = await chat.command("start")
    assert "Gadget Garage" in welcome.text
    label = t.gettext("📱 Share my phone number")
    assert chat.fake.reply_keyboard(chat.chat_id)["keyboard"][0][0] == {"text": label, "request_contact": True}

    replies = await chat.do(lambda: chat.fake.press_keyboard_button(chat.user, label))

    shared = [message for message in chat.fake.transcript(chat.chat_id) if "contact" in message.raw]
    assert shared[-1].raw["contact"]["phone_number"] == phone
    assert_linked_and_listed(replies, t)
    assert await linked_user(session_factory, shop) == chat.user.id


async def test_someone_elses_contact_card_is_refused(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    shop = await annas_backorder(session, uow, phone="+4915123456789")
    stranger = chat.fake.add_user("Ben")

    [reply] = await chat.do(
        lambda: chat.fake.share_contact(chat.user, "+4915123456789", user_id=stranger.id, first_name="Anna")
    )

    assert reply.text == t.gettext("Please share your own phone number with the button below.")
    assert await linked_user(session_factory, shop) is None


async def test_order_number_then_email_in_two_messages_links_the_chat(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)

    [ask] = await chat.send(f"hi, my order is {ANNA_ORDER}")
    replies = await chat.send(ANNA_EMAIL)

    assert ask.text == t.gettext("Thanks! Now the e-mail address you used for order {order}, please.").format(order=ANNA_ORDER)
    assert_linked_and_listed(replies, t)
    assert await linked_user(session_factory, shop) == chat.user.id


async def test_order_number_and_email_in_one_message_link_the_chat(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)

    replies = await chat.send(f"#{ANNA_ORDER} {ANNA_EMAIL.upper()}")

    assert_linked_and_listed(replies, t)
    assert await linked_user(session_factory, shop) == chat.user.id


async def test_a_wrong_email_and_an_unknown_order_get_the_identical_answer(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)

    [wrong_email] = await chat.send(f"{ANNA_ORDER} ben@example.com")
    [ask] = await chat.send("9999")
    [unknown_order] = await chat.send(ANNA_EMAIL)

    assert wrong_email.text == unknown_order.text == neutral_failure(t)
    assert wrong_email.raw.get("reply_markup") == unknown_order.raw.get("reply_markup")
    assert ask.text == t.gettext("Thanks! Now the e-mail address you used for order {order}, please.").format(order="9999")
    assert await linked_user(session_factory, shop) is None


async def test_after_five_failures_even_the_right_details_wait_an_hour_and_a_restart_changes_nothing(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, clock: ManualClock, session_factory, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)
    for attempt in range(5):
        [failed] = await chat.send(f"{ANNA_ORDER} wrong{attempt}@example.com")
        assert failed.text == neutral_failure(t)
    [refused] = await chat.send(f"{ANNA_ORDER} {ANNA_EMAIL}")
    await chat.bot.restart()
    [refused_after_restart] = await chat.send(f"{ANNA_ORDER} {ANNA_EMAIL}")

    assert refused.text == refused_after_restart.text == try_again_in(60, t)
    assert await linked_user(session_factory, shop) is None
    clock.advance(minutes=61)
    assert_linked_and_listed(await chat.send(f"{ANNA_ORDER} {ANNA_EMAIL}"), t)


@pytest.mark.parametrize("bot_settings", [{"link_attempts_per_hour": 2}])
async def test_the_attempt_limit_follows_the_link_attempts_per_hour_setting(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)
    for attempt in range(2):
        await chat.send(f"{ANNA_ORDER} wrong{attempt}@example.com")

    [refused] = await chat.send(f"{ANNA_ORDER} {ANNA_EMAIL}")

    assert refused.text == try_again_in(60, t)
    assert await linked_user(session_factory, shop) is None


async def test_a_restart_between_order_number_and_email_still_links(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)
    await chat.send(ANNA_ORDER)

    await chat.bot.restart()
    replies = await chat.send(ANNA_EMAIL)

    assert_linked_and_listed(replies, t)
    assert await linked_user(session_factory, shop) == chat.user.id


async def test_after_logout_the_orders_are_not_shown(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    shop = await annas_backorder(session, uow)
    await chat.send(f"{ANNA_ORDER} {ANNA_EMAIL}")

    [bye] = await chat.command("logout")
    [orders] = await chat.command("orders")

    assert bye.text == t.gettext("You're logged out. Your orders are safe — send /start to connect again.")
    assert orders.text == t.gettext("I don't know your orders yet. Send /start to connect them.")
    assert HEADSET not in orders.text
    assert await linked_user(session_factory, shop) is None


async def test_once_linked_the_chat_speaks_the_customers_language_from_the_first_reply(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, language: str
) -> None:
    shop = await annas_backorder(session, uow)
    customers_language = "de" if language == "en" else "en"
    await session.execute(update(Customer).where(Customer.id == shop.anna.id).values(language=customers_language))
    await session.commit()

    replies = await chat.send(f"{ANNA_ORDER} {ANNA_EMAIL}")
    [later] = await chat.command("orders")

    assert_linked_and_listed(replies, translator(customers_language))
    assert later.text == replies[-1].text


async def test_a_language_chosen_in_the_chat_wins_over_the_customers(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, language: str
) -> None:
    shop = await annas_backorder(session, uow)
    other = "de" if language == "en" else "en"
    await session.execute(update(Customer).where(Customer.id == shop.anna.id).values(language=other))
    await session.commit()
    [choice] = await chat.command("language")
    await chat.press(choice, {"en": "English", "de": "Deutsch"}[language])

    replies = await chat.send(f"{ANNA_ORDER} {ANNA_EMAIL}")

    assert_linked_and_listed(replies, translator(language))
