"""The support group as agents see it, next to the customer's chat: the fixtures the support tests share.

    async def test_something(chat: CustomerChat, desk: SupportGroup, agent: FakeUser) -> None:
        await chat.command("support")
        topic = desk.ticket_topic()
        new = await desk.write(agent, "Hello Anna!", thread_id=topic)

The bot runs with SUPPORT_CHAT_ID pointing at a forum supergroup in the fake server (a group without topics
with `@pytest.mark.parametrize("forum", [False])`), business hours "always" unless a test says otherwise.
"""

import asyncio
from collections.abc import Callable
from datetime import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.delivery import DeliveryPolicy, FloodControl, OutboxWorker
from bot.i18n import Translator, translator
from bot.sandbox import ChatMessage, FakeBotApi, FakeChat, FakeUser
from bot.sandbox.chat_objects import JSON
from bot.services.quiet_hours import QuietHours
from bot.services.unit_of_work import UnitOfWork
from db.models import Ticket, TicketMessage
from tests.e2e.chat_driver import CustomerChat, Pressed, read_all
from tests.e2e.chat_shop import annas_linked_backorder
from tests.e2e.harness import RunningBot


class SupportGroup:
    """The support supergroup: its topics, what the bot posts there, and agents writing and pressing buttons."""

    def __init__(self, fake: FakeBotApi, bot: RunningBot, chat: FakeChat) -> None:
        self.fake = fake
        self.bot = bot
        self.chat = chat

    @property
    def id(self) -> int:
        return self.chat.id

    def topics(self) -> list[JSON]:
        return self.fake.topics(self.chat.id)

    def add_member(
        self, first_name: str, status: str = "member", *, language_code: str = "en", user_id: int | None = None
    ) -> FakeUser:
        """Someone the group's member list shows with `status`: member, administrator, left or kicked."""
        user = self.fake.add_user(first_name, language_code=language_code, user_id=user_id)
        self.fake.set_member_status(self.chat, user, status)
        return user

    def ticket_topic(self) -> int:
        """The thread id of the one ticket topic there is."""
        [topic] = self.topics()
        return int(topic["message_thread_id"])

    def messages(self, thread_id: int | None = None, *, after: int = 0) -> list[ChatMessage]:
        """Everything written in the group (or one topic) that is not a service notice, oldest first."""
        return [
            m for m in self.fake.transcript(self.chat.id, thread_id=thread_id) if not m.is_service and m.message_id > after
        ]

    def bot_messages(self, thread_id: int | None = None, *, after: int = 0) -> list[ChatMessage]:
        return self.fake.bot_messages(self.chat.id, thread_id=thread_id, after_message_id=after)

    def general(self, *, after: int = 0) -> list[ChatMessage]:
        """What the bot wrote outside any topic."""
        return [m for m in self.bot_messages(after=after) if m.thread_id is None]

    def last_id(self) -> int:
        transcript = self.fake.transcript(self.chat.id)
        return transcript[-1].message_id if transcript else 0

    async def write(self, user: FakeUser, text: str, *, thread_id: int | None = None, reply_to: ChatMessage | None = None) -> list[ChatMessage]:
        """`user` writes in the group; what the bot wrote in the group in answer."""
        return await self.do(lambda: self.fake.send_text(user, text, chat=self.chat, thread_id=thread_id, reply_to=reply_to))

    async def do(self, action: Callable[[], JSON | None]) -> list[ChatMessage]:
        mark = self.last_id()
        update = action()
        await self.bot.settle(update)
        return self.bot_messages(after=mark)

    async def press(self, user: FakeUser, message: ChatMessage, label: str) -> Pressed:
        """`user` taps the inline button labelled `label` under `message` in the group."""
        mark = self.last_id()
        pressed = self.fake.press_button(user, message, message.callback_data(label))
        await self.bot.settle(pressed)
        current = self.fake.message(message.chat_id, message.message_id)
        assert current is not None
        return Pressed(current, self.fake.callback_answer(pressed), self.bot_messages(after=mark))

    async def wait_for(self, count: int, *, thread_id: int | None = None, after: int = 0) -> list[ChatMessage]:
        """Wait until the group (or the topic) has `count` messages from anyone after `after`."""
        def enough() -> list[ChatMessage] | None:
            found = self.messages(thread_id, after=after)
            return found if len(found) >= count else None

        return await self.fake.wait_until(enough, what=f"{count} message(s) in the support group")


async def deliver_outbox(bot: RunningBot, sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> int:
    """Send what the outbox holds through the running bot, as its outbox workers would; how many were sent."""
    never_quiet = QuietHours(time(0), time(0))
    worker = OutboxWorker(bot.application.bot, sessions, clock, FloodControl(1000), DeliveryPolicy(never_quiet))
    return await worker.deliver_due()


@pytest.fixture
def forum() -> bool:
    """Whether the support group has topics; a test overrides it with `parametrize("forum", [False])`."""
    return True


@pytest.fixture
def support_chat(fake: FakeBotApi, forum: bool) -> FakeChat:
    return fake.add_group("Gadget Garage support", forum=forum)


@pytest.fixture
def business_hours() -> str:
    """Always open, so answers are promised within the response target; a test may override it."""
    return ""


@pytest.fixture
def agent_user_ids() -> list[int]:
    """AGENT_USER_IDS; empty: every member of the support group is an agent."""
    return []


@pytest.fixture
def support_bot_settings(support_chat: FakeChat, business_hours: str, agent_user_ids: list[int]) -> dict[str, Any]:
    """The bot's settings with a support group; a support test module uses them as its `bot_settings`."""
    return {
        "support_chat_id": support_chat.id,
        "business_hours": business_hours,
        "response_target_minutes": 30,
        "agent_user_ids": agent_user_ids,
    }


@pytest.fixture
def desk(fake: FakeBotApi, bot: RunningBot, support_chat: FakeChat) -> SupportGroup:
    return SupportGroup(fake, bot, support_chat)


AGENT_ID = 6_000_001


@pytest.fixture
def agent(fake: FakeBotApi, support_chat: FakeChat) -> FakeUser:
    """Maria, a member of the support group."""
    user = fake.add_user("Maria", last_name="Lopez", language_code="en", user_id=AGENT_ID)
    fake.set_member_status(support_chat, user, "member")
    return user


async def open_annas_ticket(
    chat: CustomerChat, session: AsyncSession, uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> int:
    """Anna links her chat and asks for a person; the ticket's topic."""
    await annas_linked_backorder(session, uow, chat)
    await chat.command("support")
    [ticket] = await tickets(session_factory)
    return int(ticket.topic_thread_id)


async def tickets(session_factory: async_sessionmaker[AsyncSession]) -> list[Ticket]:
    async with session_factory() as session:
        return list(await session.scalars(select(Ticket).order_by(Ticket.id)))


async def relays(session_factory: async_sessionmaker[AsyncSession]) -> list[Any]:
    return await read_all(
        session_factory,
        select(
            TicketMessage.direction, TicketMessage.status, TicketMessage.source_message_id, TicketMessage.target_message_id,
            TicketMessage.attempts, TicketMessage.last_error,
        ).order_by(TicketMessage.id),
    )


GROUP = translator("en")  # the support group reads the shop's default language


def ticket_opened(t: Translator, ticket_id: int, minutes: int = 30) -> list[str]:
    """The lines of "a person will answer" as the customer reads them while the team is at work."""
    return [
        t.gettext("I've asked our team to help you (ticket #{ticket}).").format(ticket=ticket_id),
        t.gettext("A person will answer here, usually within {duration}.").format(
            duration=t.ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)
        ),
        t.gettext("Just write here: everything you send goes straight to them."),
    ]


def card_line(card: ChatMessage, label: str) -> str:
    """The line of a context card that starts with `label` (e.g. GROUP.gettext("Why: {reason}") up to its field)."""
    prefix = label.split("{")[0]
    return next(line for line in card.text.split("\n") if line.startswith(prefix))


async def relays_when(session_factory: async_sessionmaker[AsyncSession], done: Callable[[list[Any]], bool], timeout: float = 5.0) -> list[Any]:
    """The relays once `done(relays)` holds: for work the relay worker finishes in the background.

    The database says nothing when it changes, so this looks again every few milliseconds until the deadline.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await relays(session_factory)
        if done(rows):
            return rows
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"relays never got there: {rows}")
        await asyncio.sleep(0.02)
