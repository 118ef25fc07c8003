"""A customer talking to our real bot through the fake Telegram server, and the fixtures the chat tests share.

    async def test_something(chat: CustomerChat, t: Translator) -> None:
        [reply] = await chat.command("orders")
        card = await chat.press(reply, reply.button_labels[0])

Every step sends what a Telegram client would send, waits until the bot has handled it (no fixed sleeps)
and returns what the customer then sees. The fake server dates messages by the test's ManualClock, so
"a week-old button" is a matter of `clock.advance(days=8)`, whatever the wall clock says.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.i18n import Translator, translator
from bot.sandbox import CallbackAnswer, ChatMessage, FakeBotApi, FakeUser
from bot.sandbox.chat_objects import JSON
from bot.services.unit_of_work import ShopPolicy
from db.models import Customer
from tests.e2e.chat_bot import our_bot
from tests.e2e.harness import RunningBot, fake_bot_api


@dataclass(frozen=True)
class Pressed:
    """What a button press led to: the pressed message as it is now, the toast or alert, new messages."""

    message: ChatMessage
    answer: CallbackAnswer | None
    new: list[ChatMessage]


class CustomerChat:
    """One Telegram user's private chat with the bot."""

    def __init__(self, fake: FakeBotApi, bot: RunningBot, user: FakeUser) -> None:
        self.fake = fake
        self.bot = bot
        self.user = user

    @property
    def chat_id(self) -> int:
        return self.user.id

    async def send(self, text: str) -> list[ChatMessage]:
        """The customer writes `text`; the bot's answers."""
        return await self.do(lambda: self.fake.send_text(self.user, text))

    async def command(self, command: str, args: str = "") -> list[ChatMessage]:
        return await self.do(lambda: self.fake.send_command(self.user, command, args))

    async def do(self, action: Callable[[], JSON | None], chat_id: int | None = None) -> list[ChatMessage]:
        """Anything the customer does through the fake server (a sticker, a shared contact...); the bot's answers."""
        chat = chat_id or self.chat_id
        mark = self._last_message_id(chat)
        update_sent = action()
        await self.bot.settle(update_sent)
        return self.fake.bot_messages(chat, after_message_id=mark)

    async def press(self, message: ChatMessage, label: str) -> Pressed:
        """The customer taps the inline button labelled `label` under `message`."""
        return await self.press_data(message, message.callback_data(label), forged=False)

    async def press_data(self, message: ChatMessage, data: str, *, forged: bool = True) -> Pressed:
        """A press carrying `data`; forged (the default) means the message need not show such a button."""
        mark = self._last_message_id(self.chat_id)
        pressed = self.fake.press_button(self.user, message, data, require_button=not forged)
        await self.bot.settle(pressed)
        current = self.fake.message(message.chat_id, message.message_id)
        assert current is not None
        return Pressed(current, self.fake.callback_answer(pressed), self.fake.bot_messages(self.chat_id, after_message_id=mark))

    def last_bot_message(self) -> ChatMessage:
        return self.fake.bot_messages(self.chat_id)[-1]

    def _last_message_id(self, chat_id: int) -> int:
        transcript = self.fake.transcript(chat_id)
        return transcript[-1].message_id if transcript else 0


@pytest.fixture(params=["en", "de"])
def language(request: pytest.FixtureRequest) -> str:
    """The Telegram client's language; the bot answers in it for a customer who chose none."""
    return str(request.param)


@pytest.fixture
def t(language: str) -> Translator:
    """The words the customer should read, from the same catalog the bot uses."""
    return translator(language)


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeBotApi]:
    """The fake Telegram server, dating messages by the test clock the bot reads."""
    async with fake_bot_api(now=clock.now) as server:
        yield server


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    """Settings the bot runs with besides chat_bot's; a test overrides it with `parametrize("bot_settings", ...)`."""
    return {}


@pytest.fixture
async def bot(
    fake: FakeBotApi,
    session_factory: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    policy: ShopPolicy,
    bot_settings: dict[str, Any],
) -> AsyncIterator[RunningBot]:
    async with our_bot(fake, session_factory, clock, policy, **bot_settings) as running:
        yield running


@pytest.fixture
def chat(fake: FakeBotApi, bot: RunningBot, language: str) -> CustomerChat:
    """A new Telegram user whose client speaks `language`."""
    return CustomerChat(fake, bot, fake.add_user("Anna", last_name="Klein", language_code=language))


async def link_chat(session: AsyncSession, customer: Customer, chat: CustomerChat) -> None:
    """Link the chat to the customer as a finished linking would, and commit."""
    await session.execute(update(Customer).where(Customer.id == customer.id).values(telegram_user_id=chat.user.id))
    await session.commit()


async def read_scalar(session_factory: async_sessionmaker[AsyncSession], statement: Any) -> Any:
    """One value as the database holds it now, read in a short transaction of its own.

    A test's long-lived session would hold SQLite's write lock from its first statement on, and the bot
    would wait for it; a session per read does not.
    """
    async with session_factory() as session:
        return await session.scalar(statement)


async def read_all(session_factory: async_sessionmaker[AsyncSession], statement: Any) -> list[Any]:
    async with session_factory() as session:
        return list((await session.execute(statement)).all())


def button_rows(message: ChatMessage) -> list[list[str]]:
    return [[button["text"] for button in row] for row in message.inline_keyboard]
