"""The console behind the menu button of the shop's people's chats, set through the (fake) Bot API when the bot
starts: for each merchant and each listed agent, only where Telegram can open it, and nobody else's button moves."""

from typing import Any

import pytest

from bot.console_button import console_mini_app_url
from bot.sandbox import FakeBotApi
from tests.e2e.harness import RunningBot

MERCHANTS = [424242, 434343]
AGENT = 515151
CUSTOMER = 7001
STAFF = {"merchant_user_ids": MERCHANTS, "agent_user_ids": [AGENT]}


@pytest.mark.parametrize(
    "bot_settings", [STAFF | {"public_url": "https://shop.example/", "default_language": "de"}]
)
async def test_each_merchant_and_listed_agent_gets_the_console_in_their_menu_button(
    fake: FakeBotApi, bot: RunningBot, bot_settings: dict[str, Any]
) -> None:
    console = {"type": "web_app", "text": "Konsole", "web_app": {"url": "https://shop.example/console/telegram"}}

    for chat_id in [*MERCHANTS, AGENT]:
        assert fake.menu_button(chat_id) == console, chat_id
    # Customers keep the bot's default button: their own Mini App (tests/e2e/test_mini_app_buttons.py).
    track = {"type": "web_app", "text": "Meine Artikel verfolgen", "web_app": {"url": "https://shop.example/mini-app/"}}
    assert fake.menu_button(CUSTOMER) == fake.menu_button() == track


@pytest.mark.parametrize("bot_settings", [STAFF | {"public_url": "https://shop.example/"}])
async def test_a_merchant_who_writes_in_german_gets_the_console_named_in_german(fake: FakeBotApi, bot: RunningBot) -> None:
    console = {"type": "web_app", "text": "Console", "web_app": {"url": "https://shop.example/console/telegram"}}
    assert fake.menu_button(MERCHANTS[0]) == console

    merchant = fake.add_user("Mia", language_code="de", user_id=MERCHANTS[0])
    await bot.settle(fake.send_command(merchant, "help"))

    assert fake.menu_button(MERCHANTS[0]) == console | {"text": "Konsole"}
    assert fake.menu_button(MERCHANTS[1]) == console


@pytest.mark.parametrize(
    "bot_settings",
    [STAFF, STAFF | {"public_url": "http://shop.example"}],
    ids=["no PUBLIC_URL", "PUBLIC_URL not https"],
)
async def test_no_button_where_telegram_could_not_open_the_console(fake: FakeBotApi, bot: RunningBot) -> None:
    assert [fake.menu_button(chat_id) for chat_id in [*MERCHANTS, AGENT]] == [{"type": "default"}] * 3
    assert fake.requests("setChatMenuButton") == []


def test_the_sandbox_on_this_machine_gets_the_button_and_other_plain_http_does_not() -> None:
    assert console_mini_app_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080/console/telegram"
    assert console_mini_app_url("http://[::1]:8080/") == "http://[::1]:8080/console/telegram"
    assert console_mini_app_url("https://shop.example/desk") == "https://shop.example/desk/console/telegram"
    assert console_mini_app_url("http://shop.example") is None
    assert console_mini_app_url("") is None
