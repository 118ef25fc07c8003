"""The Mini App's web_app buttons reaching the chat through the Bot API: on the order list, on an item's card and
as the chat's menu button, only where Telegram can open them (an https PUBLIC_URL)."""

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.sandbox import ChatMessage, FakeBotApi
from bot.services.unit_of_work import UnitOfWork
from tests.e2e.chat_driver import CustomerChat, Pressed
from tests.e2e.chat_shop import HEADSET, AnnasShop, annas_linked_backorder

PUBLIC = "https://shop.example"


def web_apps(keyboard: list[list[dict[str, Any]]]) -> dict[str, str]:
    """The keyboard's web_app buttons, label → address."""
    return {button["text"]: button["web_app"]["url"] for row in keyboard for button in row if "web_app" in button}


@pytest.fixture
async def shop(chat: CustomerChat, session: AsyncSession, uow: UnitOfWork) -> AnnasShop:
    """Anna's backordered headset, her chat linked to her."""
    return await annas_linked_backorder(session, uow, chat)


async def _order_list_and_card(chat: CustomerChat) -> tuple[ChatMessage, Pressed]:
    """Anna's order list, and her headset's card opened from it."""
    [order_list] = await chat.command("orders")
    return order_list, await chat.press(order_list, f"{HEADSET} × 1")


@pytest.mark.parametrize("bot_settings", [{"public_url": PUBLIC + "/"}])
async def test_the_order_list_the_items_card_and_the_menu_open_the_mini_app(
    chat: CustomerChat, shop: AnnasShop, fake: FakeBotApi, t: Translator
) -> None:
    order_list, card = await _order_list_and_card(chat)

    assert web_apps(order_list.inline_keyboard) == {t.gettext("Track my items"): f"{PUBLIC}/mini-app/"}
    assert web_apps(card.message.inline_keyboard) == {t.gettext("Timeline"): f"{PUBLIC}/mini-app/?line={shop.line_id}"}
    # The bot's default button speaks the shop's language (English here); a German client gets its own.
    assert fake.menu_button(chat.chat_id) == {
        "type": "web_app", "text": t.gettext("Track my items"), "web_app": {"url": f"{PUBLIC}/mini-app/"},
    }
    assert fake.menu_button()["text"] == "Track my items"


@pytest.mark.parametrize("bot_settings", [{"public_url": PUBLIC + "/"}])
@pytest.mark.parametrize("language", ["de"])
@pytest.mark.usefixtures("shop")
async def test_the_menu_button_follows_the_language_the_customer_picks(chat: CustomerChat, fake: FakeBotApi) -> None:
    [choice] = await chat.command("language")
    assert fake.menu_button(chat.chat_id)["text"] == "Meine Artikel verfolgen"
    await chat.press(choice, "English")

    assert fake.menu_button(chat.chat_id)["text"] == "Track my items"
    await chat.command("orders")
    assert fake.menu_button(chat.chat_id)["text"] == "Track my items"


@pytest.mark.parametrize("bot_settings", [{}, {"public_url": "http://shop.example"}])
@pytest.mark.parametrize("language", ["en"])
@pytest.mark.usefixtures("shop")
async def test_without_an_https_address_the_chat_has_no_mini_app_buttons(chat: CustomerChat, fake: FakeBotApi) -> None:
    order_list, card = await _order_list_and_card(chat)

    assert web_apps(order_list.inline_keyboard) == {} and web_apps(card.message.inline_keyboard) == {}
    assert fake.menu_button(chat.chat_id) == {"type": "default"}
