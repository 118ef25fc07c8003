"""An agent known to the bot only as a member of the support group gets the console behind their own chat's menu
button, in their language, the first time they act there as an agent; someone who left the group gets none."""

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox import FakeBotApi
from bot.services.unit_of_work import UnitOfWork
from tests.e2e.chat_driver import CustomerChat
from tests.e2e.support_driver import SupportGroup, open_annas_ticket

pytestmark = pytest.mark.parametrize("language", ["en"])
Sessions = async_sessionmaker[AsyncSession]
CONSOLE = {"type": "web_app", "web_app": {"url": "https://shop.example/console/telegram"}}


@pytest.fixture
def bot_settings(support_bot_settings: dict[str, Any]) -> dict[str, Any]:
    return support_bot_settings | {"public_url": "https://shop.example/"}


async def test_a_group_member_who_answers_a_ticket_gets_the_console_in_their_language(
    chat: CustomerChat, desk: SupportGroup, fake: FakeBotApi, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions,
) -> None:
    agent = desk.add_member("Lena", language_code="de", user_id=6_000_002)
    topic = await open_annas_ticket(chat, session, uow, session_factory)
    assert fake.menu_button(agent.id) == fake.menu_button()  # the customers' Mini App, the bot's default

    await desk.write(agent, "Hallo Anna, es kommt am 4. Dezember.", thread_id=topic)

    assert fake.menu_button(agent.id) == CONSOLE | {"text": "Konsole"}
    assert fake.menu_button(chat.chat_id)["text"] == "Track my items"


async def test_someone_who_left_the_support_group_gets_no_console(
    chat: CustomerChat, desk: SupportGroup, fake: FakeBotApi, session: AsyncSession, uow: UnitOfWork,
    session_factory: Sessions,
) -> None:
    former = desk.add_member("Tom", "left", user_id=6_000_003)

    await desk.write(former, "I am not an agent", thread_id=await open_annas_ticket(chat, session, uow, session_factory))

    assert fake.menu_button(former.id) == fake.menu_button()
    assert fake.menu_button(former.id)["text"] == "Track my items"
