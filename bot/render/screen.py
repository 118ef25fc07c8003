"""A rendered screen: the text and the buttons under it."""

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup, WebAppInfo

Keyboard = InlineKeyboardMarkup | ReplyKeyboardMarkup | None


@dataclass(frozen=True)
class Screen:
    text: str
    keyboard: Keyboard = None


def inline(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows if row]
    )


def with_web_app(keyboard: InlineKeyboardMarkup | None, label: str, url: str | None) -> InlineKeyboardMarkup | None:
    """The keyboard with a last row opening a Mini App at `url` (in private chats only, as Telegram allows); unchanged without one."""
    if url is None:
        return keyboard
    rows = list(keyboard.inline_keyboard) if keyboard is not None else []
    return InlineKeyboardMarkup([*rows, [InlineKeyboardButton(label, web_app=WebAppInfo(url))]])
