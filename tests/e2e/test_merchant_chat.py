"""The shop's people in the chat: /backorders and a /broadcast from audience to progress, surviving a restart;
and nobody else learns these commands exist.

The shop: four customers wait for the headset HS-200 (purchase order PO-2026-118 due 3 December); Anna
(English) and the first early bird (German) are linked to a chat, the others are not.
"""

from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.broadcast_progress import update_broadcast_progress_messages
from bot.clock import ManualClock
from bot.i18n import translator
from bot.sandbox import ChatMessage, FakeBotApi
from bot.services.unit_of_work import UnitOfWork
from db.models import AuditEntry, Broadcast, BroadcastStatus, Customer, OutboxMessage, OutboxStatus
from tests.e2e.chat_driver import CustomerChat, read_all, read_scalar
from tests.e2e.chat_shop import HEADSET, annas_backorder
from tests.e2e.harness import RunningBot
from tests.shop import add_customer, add_order, add_product

MERCHANT_ID = 424242
EN = translator("en")
ENGLISH_TEXT = "Good news: the headsets ship next week."
GERMAN_TEXT = "Gute Nachricht: Die Kopfhörer kommen nächste Woche."


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {"merchant_user_ids": [MERCHANT_ID]}


@pytest.fixture
def mia(fake: FakeBotApi, bot: RunningBot) -> CustomerChat:
    """The shop's merchant, whose Telegram speaks English."""
    return CustomerChat(fake, bot, fake.add_user("Mia", user_id=MERCHANT_ID, language_code="en"))


@pytest.fixture
def stranger(fake: FakeBotApi, bot: RunningBot) -> CustomerChat:
    return CustomerChat(fake, bot, fake.add_user("Sam", language_code="en"))


async def waiting_shop(session: AsyncSession, uow: UnitOfWork) -> dict[str, Customer]:
    shop = await annas_backorder(session, uow, ahead=2, behind=1)
    early = await session.scalar(select(Customer).where(Customer.name == "Early Bird0"))
    await session.execute(update(Customer).where(Customer.id == shop.anna.id).values(telegram_user_id=7001, language="en"))
    await session.execute(update(Customer).where(Customer.id == early.id).values(telegram_user_id=7002, language="de"))
    await session.commit()
    return {"anna": shop.anna, "early": early}


async def outbox_texts(sessions: async_sessionmaker[AsyncSession]) -> dict[int, tuple[str, str]]:
    rows = await read_all(sessions, select(OutboxMessage.chat_id, OutboxMessage.language, OutboxMessage.params))
    return {chat_id: (language, params["text"]) for chat_id, language, params in rows}


async def write_to_preview(mia: CustomerChat, *, german: str | None = GERMAN_TEXT) -> ChatMessage:
    """/broadcast → SKUs → HS-200 → the English text → the German one (or skip): the preview."""
    [kind] = await mia.command("broadcast")
    asked = await mia.press(kind, EN.gettext("SKUs"))
    [text_question] = await mia.send("HS-200")
    [translation_question] = await mia.send(ENGLISH_TEXT)
    if german is None:
        return (await mia.press(translation_question, EN.gettext("Skip"))).message
    [preview] = await mia.send(german)
    assert asked.message.text == EN.gettext("Send the SKUs, separated by spaces (e.g. HS-200 HS-120).")
    assert text_question.text.split("\n") == [
        EN.ngettext("{n} customer is waiting on {audience}.", "{n} customers are waiting on {audience}.", 2).format(
            n=2, audience="SKUs HS-200"
        ),
        EN.gettext("Now send the text of the broadcast in {language}.").format(language="English"),
    ]
    assert translation_question.button_labels == [EN.gettext("Skip"), EN.gettext("Discard")]
    return preview


async def test_backorders_summarises_the_backlog_by_sku(
    mia: CustomerChat, session: AsyncSession, uow: UnitOfWork
) -> None:
    await waiting_shop(session, uow)

    [summary] = await mia.command("backorders")

    lines = summary.text.split("\n")
    assert lines[0] == EN.ngettext("<b>{n} SKU has waiting orders</b>", "<b>{n} SKUs have waiting orders</b>", 1).format(
        n=1
    ).removeprefix("<b>").removesuffix("</b>")
    assert f"HS-200 {HEADSET}" in lines
    assert EN.ngettext(
        "{lines} line, {units} pcs, oldest waiting {days} d", "{lines} lines, {units} pcs, oldest waiting {days} d", 4
    ).format(lines=4, units=4, days=26) in lines
    assert EN.gettext("next: {reference} due {date} ({quantity} pcs)").format(
        reference="PO\u20112026\u2011118", date="3\xa0Dec", quantity=4  # one line: non-breaking hyphens
    ) in lines


async def test_a_broadcast_goes_from_audience_to_progress_with_each_customer_s_language(
    mia: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await waiting_shop(session, uow)

    preview = await write_to_preview(mia)
    send = preview.callback_data(EN.ngettext("Send to {n} customer", "Send to {n} customers", 2).format(n=2))
    sent = await mia.press_data(preview, send, forged=False)
    again = await mia.press_data(preview, send)  # pressed twice, before the message changed on screen

    assert "English\n" + ENGLISH_TEXT in preview.text
    assert "German\n" + GERMAN_TEXT in preview.text
    assert preview.button_labels == [EN.ngettext("Send to {n} customer", "Send to {n} customers", 2).format(n=2), EN.gettext("Discard")]
    broadcast = await read_all(session_factory, select(Broadcast.id, Broadcast.progress_chat_id, Broadcast.progress_message_id))
    [(broadcast_id, chat_id, message_id)] = broadcast
    assert (chat_id, message_id) == (MERCHANT_ID, preview.message_id)
    assert sent.message.message_id == preview.message_id and sent.new == []
    assert sent.message.text == EN.gettext(
        "<b>Broadcast #{id} sending</b> — of {total}: {sent} sent, {failed} failed, {blocked} blocked the bot,"
        " {pending} to go."
    ).format(id=broadcast_id, total=2, sent=0, failed=0, blocked=0, pending=2).replace("<b>", "").replace("</b>", "")
    assert await outbox_texts(session_factory) == {7001: ("en", ENGLISH_TEXT), 7002: ("de", GERMAN_TEXT)}
    assert [message.text for message in again.new] == [
        EN.gettext("That broadcast is no longer being written. Send /broadcast to start a new one.")
    ]
    assert again.message.text == sent.message.text  # the progress message stays


LATE_EVENING = datetime(2026, 11, 27, 21, 30, tzinfo=timezone.utc)  # 22:30 in Berlin: quiet hours until 08:00
SEND_TO_TWO = EN.ngettext("Send to {n} customer", "Send to {n} customers", 2).format(n=2)


async def test_at_night_the_progress_says_how_many_wait_for_quiet_hours_to_end_and_until_when(
    mia: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    await waiting_shop(session, uow)
    clock.current = LATE_EVENING

    preview = await write_to_preview(mia)
    sent = await mia.press(preview, SEND_TO_TWO)

    assert preview.text.endswith(
        "\nIt is the shop's quiet hours: customers get it at 08:00, unless you send it as urgent."
    )
    assert preview.button_labels == [SEND_TO_TWO, "Send now (urgent)", EN.gettext("Discard")]
    assert sent.message.text.split("\n")[1:] == ["2 messages wait for the shop's quiet hours to end at 08:00."]
    assert "0 sent" in sent.message.text and "2 to go" in sent.message.text
    assert await read_scalar(session_factory, select(Broadcast.urgent)) is False


async def test_an_urgent_broadcast_goes_out_through_quiet_hours_and_is_audited_as_urgent(
    mia: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    await waiting_shop(session, uow)
    clock.current = LATE_EVENING

    preview = await write_to_preview(mia)
    sent = await mia.press(preview, "Send now (urgent)")

    assert sent.message.text.split("\n")[1:] == ["Urgent: delivered through the shop's quiet hours."]
    assert await read_all(session_factory, select(OutboxMessage.optional)) == [(False,), (False,)]
    [details] = await read_all(session_factory, select(AuditEntry.details).where(AuditEntry.action == "broadcast.created"))
    assert details[0]["urgent"] is True and details[0]["recipients"] == 2


async def test_skipping_the_german_text_sends_everyone_the_english_one(
    mia: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await waiting_shop(session, uow)

    preview = await write_to_preview(mia, german=None)
    await mia.press(preview, preview.button_labels[0])

    assert "German" not in preview.text
    assert await outbox_texts(session_factory) == {7001: ("en", ENGLISH_TEXT), 7002: ("en", ENGLISH_TEXT)}


async def test_a_restart_in_the_middle_of_writing_carries_on(
    mia: CustomerChat, session: AsyncSession, uow: UnitOfWork, bot: RunningBot
) -> None:
    await waiting_shop(session, uow)
    [kind] = await mia.command("broadcast")
    await mia.press(kind, EN.gettext("A category"))
    await mia.send("AUDIO")

    await bot.restart()
    [translation_question] = await mia.send(ENGLISH_TEXT)

    assert translation_question.text == EN.gettext(
        "Send a {language} version of the text, or skip: customers who read {language} then get the {default} text."
    ).format(language="German", default="English")


async def test_an_unknown_sku_is_named_and_asked_again(mia: CustomerChat, session: AsyncSession, uow: UnitOfWork) -> None:
    await waiting_shop(session, uow)
    [kind] = await mia.command("broadcast")
    await mia.press(kind, EN.gettext("SKUs"))

    [refused] = await mia.send("HS-200, NOPE-9")
    [accepted] = await mia.send("HS-200")

    assert refused.text == "Not found: no product with SKU NOPE-9. Please send them again."
    assert accepted.text.startswith("2 customers are waiting on SKUs HS-200.")


async def test_discarding_sends_nothing_and_old_buttons_do_nothing(
    mia: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await waiting_shop(session, uow)
    preview = await write_to_preview(mia)

    discarded = await mia.press(preview, EN.gettext("Discard"))
    late = await mia.press_data(preview, preview.callback_data(preview.button_labels[0]))

    assert discarded.message.text == EN.gettext("Broadcast discarded; nothing was sent.")
    assert [message.text for message in late.new] == [
        EN.gettext("That broadcast is no longer being written. Send /broadcast to start a new one.")
    ]
    assert await outbox_texts(session_factory) == {}


async def test_the_progress_message_follows_the_delivery_to_the_final_tally(
    mia: CustomerChat,
    session: AsyncSession,
    uow: UnitOfWork,
    session_factory: async_sessionmaker[AsyncSession],
    bot: RunningBot,
    fake: FakeBotApi,
) -> None:
    await waiting_shop(session, uow)
    preview = await write_to_preview(mia)
    await mia.press(preview, preview.button_labels[0])
    shown: dict[int, str] = {}

    async with session_factory() as delivery:  # what the outbox workers would have done
        await delivery.execute(update(OutboxMessage).where(OutboxMessage.chat_id == 7001).values(status=OutboxStatus.SENT))
        await delivery.commit()
    midway = await update_broadcast_progress_messages(bot.application.bot, uow, shown=shown)
    unchanged = await update_broadcast_progress_messages(bot.application.bot, uow, shown=shown)
    halfway_text = fake.message(MERCHANT_ID, preview.message_id).text
    async with session_factory() as delivery:
        await delivery.execute(update(OutboxMessage).where(OutboxMessage.chat_id == 7002).values(status=OutboxStatus.BLOCKED))
        await delivery.commit()
    final = await update_broadcast_progress_messages(bot.application.bot, uow, shown=shown)
    after = await update_broadcast_progress_messages(bot.application.bot, uow, shown=shown)

    broadcast_id = await read_scalar(session_factory, select(Broadcast.id))
    assert (midway, unchanged, final, after) == (1, 0, 1, 0)
    assert "1 sent" in halfway_text and "1 to go" in halfway_text
    assert fake.message(MERCHANT_ID, preview.message_id).text == (
        f"Broadcast #{broadcast_id} done — of 2: 1 sent, 0 failed, 1 blocked the bot."
    )
    assert await read_scalar(session_factory, select(Broadcast.status)) == BroadcastStatus.DONE


async def test_reorder_lists_what_to_order_and_why(mia: CustomerChat, session: AsyncSession, uow: UnitOfWork) -> None:
    await waiting_shop(session, uow)  # 4 headsets ordered and waiting, 4 coming on PO-2026-118, lead time 21 days

    [answer] = await mia.command("reorder")

    # 4 waiting + ceil(4 / 30 × (21 + 28)) = 11, less the 4 coming; nothing spare once they ship: order now.
    assert answer.text.split("\n") == [
        "1 SKU to reorder",
        "",
        f"HS-200 {HEADSET}",
        "4 ordered in the last 30 days, 4 waiting, 4 incoming; order 7 by 27\xa0Nov to cover the next 4 weeks.",
    ]


async def test_someone_else_gets_the_normal_help_and_cannot_press_broadcast_buttons(
    stranger: CustomerChat, mia: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await waiting_shop(session, uow)
    [help_answer] = await stranger.command("help")
    preview = await write_to_preview(mia)

    [from_backorders] = await stranger.command("backorders")
    [from_broadcast] = await stranger.command("broadcast")
    [from_reorder] = await stranger.command("reorder")
    [own] = await stranger.command("help")
    forged = await stranger.press_data(own, preview.callback_data(preview.button_labels[0]))

    assert from_backorders.text == from_broadcast.text == from_reorder.text == help_answer.text
    assert [message.text for message in forged.new] == [help_answer.text]
    assert await outbox_texts(session_factory) == {}
    # The merchant's draft is untouched by the stranger's press.
    sent = await mia.press(preview, preview.button_labels[0])
    assert sent.message.text.startswith("Broadcast #")


async def test_a_merchant_s_ordinary_message_is_answered_as_anyone_s(
    mia: CustomerChat, stranger: CustomerChat
) -> None:
    [to_merchant] = await mia.send("hello")
    [to_stranger] = await stranger.send("hello")

    assert to_merchant.text == to_stranger.text


async def test_a_category_is_picked_from_buttons(mia: CustomerChat, session: AsyncSession, uow: UnitOfWork) -> None:
    await waiting_shop(session, uow)
    [kind] = await mia.command("broadcast")

    asked = (await mia.press(kind, EN.gettext("A category"))).message
    chosen = (await mia.press(asked, "audio")).message

    assert asked.text == EN.gettext("Which category? Tap one, or send its name.")
    assert asked.button_labels == ["audio", EN.gettext("Discard")]
    assert chosen.text.startswith("2 customers are waiting on category audio.")


async def test_text_sent_at_the_wrong_step_is_not_echoed_back_whole(
    mia: CustomerChat, session: AsyncSession, uow: UnitOfWork
) -> None:
    await waiting_shop(session, uow)
    [kind] = await mia.command("broadcast")
    await mia.press(kind, EN.gettext("SKUs"))
    meant_as_text = " ".join([ENGLISH_TEXT] * 30)  # the broadcast's text, sent when the SKUs were asked for

    [refused] = await mia.send(meant_as_text)

    assert refused.text.startswith("Not found: no product with SKU ") and refused.text.endswith("Please send them again.")
    assert "Good news: the headsets ship next week." not in refused.text
    assert len(refused.text) < 300 and "(+" in refused.text


async def test_a_category_whose_waiting_customers_have_not_linked_their_chat_says_why(
    mia: CustomerChat, session: AsyncSession, uow: UnitOfWork
) -> None:
    await waiting_shop(session, uow)
    mixer = await add_product(session, "MX-500", name="ProMix Stand Mixer", category="kitchen", tags=["mixer"])
    await add_order(session, await add_customer(session, "Clara Schmidt"), [(mixer, 1)])
    await session.commit()
    [kind] = await mia.command("broadcast")
    asked = (await mia.press(kind, EN.gettext("A category"))).message

    refused = (await mia.press(asked, "kitchen")).message

    assert refused.text.split("\n") == [
        "1 customer is waiting on that, but cannot get a broadcast: it reaches only customers who have linked"
        " their chat with the bot and not turned updates off.",
        "Send another audience, or discard the broadcast.",
    ]
    assert refused.button_labels == [EN.gettext("Discard")]


async def test_backorders_pages_a_long_backlog_in_place(mia: CustomerChat, session: AsyncSession, uow: UnitOfWork) -> None:
    buyer = await add_customer(session, "Olga Office")
    for index in range(30):
        product = await add_product(session, f"SKU-{index:02d}", name=f"Lamp model {index:02d}")
        await add_order(session, buyer, [(product, 1)])
    await session.commit()

    [first] = await mia.command("backorders")
    pressed = await mia.press(first, EN.gettext("Next ›"))
    back = await mia.press(pressed.message, EN.gettext("‹ Previous"))

    assert first.text.split("\n")[:2] == ["30 SKUs have waiting orders", "Items 1–25 of 30"]
    assert first.button_labels == [EN.gettext("Next ›")]
    assert pressed.message.message_id == first.message_id and pressed.new == []
    assert pressed.message.text.split("\n")[1] == "Items 26–30 of 30"
    assert "SKU-29 Lamp model 29" in pressed.message.text.split("\n")
    assert back.message.text == first.text


async def test_someone_else_cannot_turn_the_backorders_pages(
    mia: CustomerChat, stranger: CustomerChat, session: AsyncSession, uow: UnitOfWork
) -> None:
    await waiting_shop(session, uow)

    [help_message] = await stranger.command("help")

    pressed = await stranger.press_data(help_message, "c1:bp:2")

    shown = [pressed.message.text, *(message.text for message in pressed.new)]
    assert not any("waiting orders" in text for text in shown)
