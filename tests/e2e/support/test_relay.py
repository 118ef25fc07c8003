"""While a ticket is open, messages cross between the customer's chat and the ticket's topic both ways, with
nothing lost: notes stay in the group, strangers cannot answer, and failures are reported, retried where a
retry can help, survive a restart, and follow a deleted topic to its successor."""

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.i18n import Translator
from bot.render.conversation import help_menu
from bot.sandbox import FakeBotApi, FakeUser, Fault
from bot.services.support.ticket_relay import queue_customer_message
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, RelayDirection, RelayStatus
from tests.e2e.chat_driver import CustomerChat, read_scalar
from tests.e2e.harness import RunningBot
from tests.e2e.support_driver import AGENT_ID, GROUP, SupportGroup, open_annas_ticket, relays, relays_when, tickets

Sessions = async_sessionmaker[AsyncSession]
pytestmark = pytest.mark.parametrize("language", ["en"])


def _kinds(messages: list) -> list[str]:
    kinds = ("text", "photo", "document", "voice", "sticker")
    return [next(kind for kind in kinds if kind in m.raw) for m in messages]


async def test_everything_the_customer_sends_reaches_the_topic_and_every_agent_message_the_customer(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, fake: FakeBotApi, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions,
) -> None:
    topic = await open_annas_ticket(chat, session, uow, session_factory)
    mark = chat.last_bot_message().message_id
    user = chat.user

    answers = [
        await chat.send("Where is my headset? Is it still coming this week?"),
        await chat.do(lambda: fake.send_photo(user, caption="the box I got")),
        await chat.do(lambda: fake.send_document(user, file_name="invoice.pdf")),
        await chat.do(lambda: fake.send_voice(user)),
        await chat.do(lambda: fake.send_sticker(user, emoji="🙏")),
    ]
    await desk.write(agent, "Hi Anna, it ships on 4 Dec.", thread_id=topic)
    await desk.do(lambda: fake.send_photo(agent, caption="your parcel label", chat=desk.chat, thread_id=topic))

    assert answers == [[]] * 5  # the bot itself stays out of the conversation
    _card, *copied = desk.messages(topic)
    assert _kinds(copied) == ["text", "photo", "document", "voice", "sticker", "text", "photo"]
    assert copied[0].text == "Where is my headset? Is it still coming this week?" and copied[0].from_bot
    # Forwarded, so the agents see whose words they are (a copy would show only the bot's name).
    assert [m.raw.get("forward_origin", {}).get("sender_user", {}).get("id") for m in copied] == [user.id] * 5 + [None] * 2
    assert copied[1].text == "the box I got" and copied[4].raw["sticker"]["emoji"] == "🙏"
    to_customer = fake.bot_messages(chat.chat_id, after_message_id=mark)
    assert [(m.text, _kinds([m])) for m in to_customer] == [("Hi Anna, it ships on 4 Dec.", ["text"]), ("your parcel label", ["photo"])]
    rows = await relays(session_factory)
    assert [(r.direction, r.status, r.attempts) for r in rows] == (
        [(RelayDirection.TO_AGENTS, RelayStatus.DELIVERED, 1)] * 5 + [(RelayDirection.TO_CUSTOMER, RelayStatus.DELIVERED, 1)] * 2
    )
    assert [r.target_message_id for r in rows] == [m.message_id for m in copied[:5]] + [m.message_id for m in to_customer]


async def test_notes_commands_and_the_general_topic_stay_in_the_group(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions
) -> None:
    topic = await open_annas_ticket(chat, session, uow, session_factory)
    mark = chat.last_bot_message().message_id

    await desk.write(agent, "#note: she called yesterday too", thread_id=topic)
    await desk.write(agent, "/unknowncommand", thread_id=topic)
    await desk.write(agent, "Coffee anyone?")  # the General topic

    assert chat.fake.bot_messages(chat.chat_id, after_message_id=mark) == []
    assert await relays(session_factory) == []


async def test_someone_who_left_the_support_group_cannot_answer_a_ticket(
    chat: CustomerChat, desk: SupportGroup, session: AsyncSession, uow: UnitOfWork, session_factory: Sessions
) -> None:
    topic = await open_annas_ticket(chat, session, uow, session_factory)
    former = desk.add_member("Felix", "left")
    mark = chat.last_bot_message().message_id

    [refusal] = await desk.write(former, "Hi, I can help!", thread_id=topic)

    assert refusal.text == GROUP.gettext("Not sent to the customer: only the shop's support agents can answer tickets.")
    assert chat.fake.bot_messages(chat.chat_id, after_message_id=mark) == []
    assert await relays(session_factory) == []


@pytest.mark.parametrize("agent_user_ids", [[AGENT_ID]])
async def test_with_agent_user_ids_only_those_members_answer_tickets(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions,
) -> None:
    topic = await open_annas_ticket(chat, session, uow, session_factory)
    colleague = desk.add_member("Tom")
    mark = chat.last_bot_message().message_id

    [refusal] = await desk.write(colleague, "Let me take this one.", thread_id=topic)
    await desk.write(agent, "I'm on it, Anna.", thread_id=topic)

    assert refusal.text == GROUP.gettext("Not sent to the customer: only the shop's support agents can answer tickets.")
    assert [m.text for m in chat.fake.bot_messages(chat.chat_id, after_message_id=mark)] == ["I'm on it, Anna."]


async def test_a_customer_who_blocked_the_bot_is_reported_in_the_topic_and_nothing_is_retried(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, fake: FakeBotApi, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions,
) -> None:
    topic = await open_annas_ticket(chat, session, uow, session_factory)
    await chat.do(lambda: fake.block_bot(chat.user))

    [report] = await desk.write(agent, "Hi Anna, any news?", thread_id=topic)

    assert report.text == GROUP.gettext(
        "⚠️ Not delivered: the customer has blocked the bot. They get nothing from us until they write again."
    )
    assert report.thread_id == topic
    [row] = await relays(session_factory)
    assert (row.status, row.attempts, row.last_error) == (RelayStatus.FAILED, 1, "Forbidden: bot was blocked by the user")
    assert await read_scalar(session_factory, select(Customer.bot_blocked).where(Customer.telegram_user_id == chat.user.id))


async def test_a_deleted_topic_is_reported_and_the_ticket_goes_on_in_a_new_topic_with_nothing_lost(
    chat: CustomerChat, desk: SupportGroup, fake: FakeBotApi, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions,
) -> None:
    old_topic = await open_annas_ticket(chat, session, uow, session_factory)
    fake.delete_topic(desk.chat, old_topic)

    await chat.send("Hello? Is anyone there?")

    [ticket] = await tickets(session_factory)
    [notice] = desk.general()
    assert notice.text == GROUP.gettext("⚠️ The topic of ticket #{ticket} was deleted; the ticket goes on in a new topic.").format(
        ticket=ticket.id
    )
    [topic] = desk.topics()
    assert topic["message_thread_id"] == ticket.topic_thread_id != old_topic
    assert topic["name"] == f"#{ticket.id} · Anna K. · order 1042"
    card, continued, message = desk.messages(ticket.topic_thread_id)
    assert card.message_id == ticket.context_message_id and card.text.startswith(f"#{ticket.id} · Anna Klein")
    assert continued.text == GROUP.gettext("This ticket's previous topic was deleted; it goes on here.")
    assert message.text == "Hello? Is anyone there?"
    [row] = await relays(session_factory)
    assert (row.status, row.target_message_id) == (RelayStatus.DELIVERED, message.message_id)


async def test_a_message_left_pending_by_a_crashed_bot_is_delivered_once_after_the_restart(
    chat: CustomerChat, desk: SupportGroup, bot: RunningBot, fake: FakeBotApi, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions,
) -> None:
    topic = await open_annas_ticket(chat, session, uow, session_factory)
    await bot.stop()
    update = fake.send_text(chat.user, "Are you still there?")
    assert update is not None
    message_id = update["message"]["message_id"]
    # What the crashed bot got done: the update claimed and the relay queued, in one transaction; no copy yet.
    queued = await queue_customer_message(uow, update["update_id"], chat.user.id, chat.chat_id, message_id)
    assert queued is not None and not queued.duplicate

    await bot.start()
    await bot.settle(update)  # Telegram delivers the unconfirmed update again
    [copied] = await desk.wait_for(1, thread_id=topic, after=desk.messages(topic)[0].message_id)

    assert copied.text == "Are you still there?"
    [row] = await relays_when(session_factory, lambda rows: rows[0].status is not RelayStatus.PENDING)
    assert (row.status, row.target_message_id) == (RelayStatus.DELIVERED, copied.message_id)
    forwards = [r for r in fake.requests("forwardMessage") if r.params.get("message_id") == message_id]
    assert len(forwards) == 1


async def test_a_failure_telegram_may_mend_is_reported_and_delivered_by_a_later_attempt(
    chat: CustomerChat, desk: SupportGroup, bot: RunningBot, fake: FakeBotApi, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions, clock: ManualClock,
) -> None:
    topic = await open_annas_ticket(chat, session, uow, session_factory)
    card = desk.messages(topic)[0]
    # Enough 502s to outlast the client's own quick retries, so the relay worker has to come back to it.
    fake.inject_fault("forwardMessage", Fault.server_error(502), times=4)

    update = fake.send_text(chat.user, "My order number is 1042.")
    await bot.settle(update, timeout=20)
    [report] = await desk.wait_for(1, thread_id=topic, after=card.message_id)
    [row] = await relays(session_factory)
    assert (row.status, row.attempts) == (RelayStatus.PENDING, 1)  # the next attempt waits for its pause
    clock.advance(seconds=1)
    [_, copied] = await desk.wait_for(2, thread_id=topic, after=card.message_id)

    assert report.text == GROUP.gettext("{what} yet ({error}); I'll keep trying.").format(
        what=GROUP.gettext("⚠️ A message from the customer could not be posted here"), error="Bad Gateway"
    )
    assert copied.text == "My order number is 1042."
    [row] = await relays_when(session_factory, lambda rows: rows[0].status is not RelayStatus.PENDING)
    assert (row.status, row.attempts, row.target_message_id) == (RelayStatus.DELIVERED, 2, copied.message_id)


async def test_after_the_ticket_is_closed_the_bot_answers_the_customer_again(
    chat: CustomerChat, desk: SupportGroup, agent: FakeUser, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions, t: Translator,
) -> None:
    topic = await open_annas_ticket(chat, session, uow, session_factory)
    await desk.write(agent, "/close", thread_id=topic)
    copies_before = len(desk.messages(topic))

    [answer] = await chat.send("purple monkey dishwasher")

    assert answer.text == help_menu(t).text
    assert len(desk.messages(topic)) == copies_before
    assert [r.direction for r in await relays(session_factory)] == []
