"""What customers and Telegram throw at the bot: media, long and edited messages, groups, duplicates, API errors."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.error import Forbidden

from bot.clock import ManualClock
from bot.i18n import Translator
from bot.sandbox import FakeBotApi, Fault, RateLimits
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.models import Customer, LineStatus, OrderLine, ProcessedUpdate
from tests.e2e.chat_bot import our_bot
from tests.e2e.chat_driver import CustomerChat, read_scalar
from tests.e2e.chat_shop import ANNA_ORDER, HEADSET, AnnasShop, annas_linked_backorder

ITEM = f"{HEADSET} × 1"


async def bot_blocked(session_factory: async_sessionmaker[AsyncSession], shop: AnnasShop) -> bool:
    return bool(await read_scalar(session_factory, select(Customer.bot_blocked).where(Customer.id == shop.anna.id)))


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "document"])
async def test_anything_but_text_gets_one_short_polite_answer(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator, kind: str
) -> None:
    await annas_linked_backorder(session, uow, chat)
    sends = {
        "sticker": lambda: chat.fake.send_sticker(chat.user),
        "photo": lambda: chat.fake.send_photo(chat.user, caption="this arrived broken"),
        "voice": lambda: chat.fake.send_voice(chat.user),
        "document": lambda: chat.fake.send_document(chat.user, file_name="invoice.pdf"),
    }

    replies = await chat.do(sends[kind])

    assert [reply.text for reply in replies] == [t.gettext("Thanks! I can only read text, though. Try /orders or /help.")]
    assert chat.bot.take_errors() == []


async def test_a_very_long_message_is_answered_politely_and_not_parsed(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    await annas_linked_backorder(session, uow, chat)

    replies = await chat.send(("please cancel order 1042 " * 200)[:5000])

    assert [reply.text for reply in replies] == [
        t.gettext("That's a long message! Please keep it short, or use /support to reach a person.")
    ]


async def test_an_edited_message_is_acknowledged_and_not_acted_on(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    shop = await annas_linked_backorder(session, uow, chat)
    await chat.send("thanks")
    sent = [message for message in chat.fake.transcript(chat.chat_id) if not message.from_bot][-1]

    replies = await chat.do(lambda: chat.fake.edit_message(chat.user, sent, "cancel"))

    assert [reply.text for reply in replies] == [
        t.gettext("I only read new messages — please send your change as a new message.")
    ]
    status = await read_scalar(session_factory, select(OrderLine.status).where(OrderLine.id == shop.line_id))
    assert status == LineStatus.BACKORDERED


async def test_in_a_group_the_bot_is_silent_unless_addressed_and_then_points_to_the_private_chat(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    await annas_linked_backorder(session, uow, chat)
    group = chat.fake.add_group("Gadget fans")

    unaddressed = await chat.do(lambda: chat.fake.send_text(chat.user, f"where is my order {ANNA_ORDER}", chat=group), group.id)
    command = await chat.do(lambda: chat.fake.send_command(chat.user, "orders", chat=group), group.id)
    [mentioned] = await chat.do(
        lambda: chat.fake.send_text(chat.user, f"where is my order {ANNA_ORDER}?", chat=group, mention_bot=True), group.id
    )
    [replied_to] = await chat.do(lambda: chat.fake.send_text(chat.user, "and my headset?", chat=group, reply_to=mentioned), group.id)

    assert unaddressed == command == []
    private_chat = t.gettext("Happy to help — but orders are private, so please write to me directly: {link}").format(
        link="https://t.me/backorder_desk_bot"
    )
    assert mentioned.text == replied_to.text == private_chat
    assert HEADSET not in mentioned.text and mentioned.button_labels == []
    assert chat.fake.bot_messages(chat.chat_id) == []  # nothing was sent to the private chat either


async def test_in_a_forum_topic_the_bot_answers_in_that_topic(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, t: Translator
) -> None:
    await annas_linked_backorder(session, uow, chat)
    forum = chat.fake.add_group("Gadget fans", forum=True)
    topic = chat.fake.open_topic(forum, "Deliveries", by=chat.user)
    await chat.do(lambda: None, forum.id)  # the topic's opening message, which the bot passes over

    [answer] = await chat.do(
        lambda: chat.fake.send_text(chat.user, "where is my order?", chat=forum, thread_id=topic, mention_bot=True), forum.id
    )

    assert answer.thread_id == topic
    assert answer.text == t.gettext("Happy to help — but orders are private, so please write to me directly: {link}").format(
        link="https://t.me/backorder_desk_bot"
    )


async def test_an_update_delivered_twice_is_answered_once(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    await annas_linked_backorder(session, uow, chat)
    first = chat.fake.send_command(chat.user, "orders")
    await chat.bot.settle(first)

    again = await chat.do(lambda: chat.fake.deliver_duplicate(first))

    assert again == []
    assert chat.fake.delivery_count(first["update_id"]) == 2
    assert len(chat.fake.bot_messages(chat.chat_id)) == 1
    assert await read_scalar(session_factory, select(func.count()).select_from(ProcessedUpdate)) == 1


async def test_a_double_tap_gets_both_answers_and_no_429_from_telegrams_one_message_a_second_per_chat(
    fake: FakeBotApi, session_factory: async_sessionmaker[AsyncSession], clock: ManualClock, policy: ShopPolicy
) -> None:
    fake.enforce_rate_limits(RateLimits(per_chat_per_second=1, global_per_second=30))
    async with our_bot(fake, session_factory, clock, policy, flood_limited=True) as bot:  # as `run` and `serve` are
        chat = CustomerChat(fake, bot, fake.add_user("Anna"))
        fake.send_command(chat.user, "help")

        answers = await chat.command("help")  # the second tap, at once

        assert [m.text for m in fake.bot_messages(chat.chat_id)] == [answers[0].text] * 2
        assert fake.rate_limit_violations == []


async def test_flood_control_on_send_message_is_waited_out_and_the_reply_arrives(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork
) -> None:
    await annas_linked_backorder(session, uow, chat)
    chat.fake.inject_fault("sendMessage", Fault.flood(retry_after=1))

    [order_list] = await chat.command("orders")

    assert ITEM in order_list.text
    assert [request.status for request in chat.fake.requests("sendMessage", chat_id=chat.chat_id)] == [429, 200]


@pytest.mark.parametrize("status", [500, 502])
async def test_a_telegram_server_error_is_retried_and_the_reply_arrives(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, status: int
) -> None:
    await annas_linked_backorder(session, uow, chat)
    chat.fake.inject_fault("sendMessage", Fault.server_error(status))

    [order_list] = await chat.command("orders")

    assert ITEM in order_list.text
    assert [request.status for request in chat.fake.requests("sendMessage", chat_id=chat.chat_id)] == [status, 200]


async def test_a_customer_who_blocked_the_bot_is_marked_blocked_and_the_bot_carries_on(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory, t: Translator
) -> None:
    shop = await annas_linked_backorder(session, uow, chat)
    chat.fake.inject_fault("sendMessage", Fault.blocked(), chat_id=chat.chat_id)

    assert await chat.command("orders") == []

    [refused] = chat.bot.take_errors()  # handled by the bot's error handler, which the harness also sees
    assert isinstance(refused, Forbidden)
    assert await bot_blocked(session_factory, shop)
    [order_list] = await chat.command("orders")  # writing again proves the chat works again
    assert ITEM in order_list.text
    assert not await bot_blocked(session_factory, shop)


async def test_blocking_the_bot_in_telegram_marks_the_customer_blocked_until_they_unblock(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory
) -> None:
    shop = await annas_linked_backorder(session, uow, chat)
    await chat.send("hello")

    await chat.do(lambda: chat.fake.block_bot(chat.user))
    blocked = await bot_blocked(session_factory, shop)
    await chat.do(lambda: chat.fake.unblock_bot(chat.user))

    assert blocked
    assert not await bot_blocked(session_factory, shop)
