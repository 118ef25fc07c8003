"""Telegram's hard limits on one message, checked for every screen before it is sent.

Telegram refuses a text over 4,096 characters *after* its markup is parsed, counted in UTF-16 code units
(an emoji outside the Basic Multilingual Plane counts twice), and an inline keyboard over 100 buttons. A
screen that breaks a limit raises `ScreenTooLarge` here rather than "Bad Request: message is too long"
from Telegram, and the property tests render every screen with worst-case data through this one check.
"""

import re
from html.parser import HTMLParser
from typing import NamedTuple

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot.render.screen import Screen

MAX_TEXT_LENGTH = 4096  # UTF-16 code units of the text after its HTML is parsed
MAX_ENTITIES = 100  # formatting entities (bold, italic, code, links…) Telegram keeps in one message
MAX_BUTTONS = 100  # buttons of one inline keyboard
# A keyboard a thumb can use on a phone: Telegram allows 8 buttons a row, but more than 5 get too narrow
# to read or hit (the five rating stars are the widest row we show).
MAX_BUTTONS_PER_ROW = 5
MAX_BUTTON_LABEL = 64  # characters; the clients cut longer labels off anyway
MAX_CALLBACK_BYTES = 64

# HTML tags Telegram turns into one entity each (https://core.telegram.org/bots/api#html-style).
_ENTITY_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "tg-emoji", "blockquote"}
)


_TAG = re.compile(r"<[^>]*>")


class ScreenTooLarge(ValueError):
    """A screen Telegram would refuse, or a thumb could not use; the message names the limit."""


class TextSize(NamedTuple):
    length: int  # UTF-16 code units after parsing
    entities: int


def utf16_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def text_size(html: str) -> TextSize:
    """How long `html` is once Telegram has parsed its markup, and how many entities that makes."""
    parser = _TelegramHtml()
    parser.feed(html)
    parser.close()
    # Telegram drops leading and trailing white space before it counts.
    return TextSize(utf16_length("".join(parser.text).strip()), parser.entities)


def text_fits(html: str) -> bool:
    """Within the length and entity limits; quick for the common case."""
    if _fits_unparsed(html):
        return True
    length, entities = text_size(html)
    return length <= MAX_TEXT_LENGTH and entities <= MAX_ENTITIES


def check_screen(screen: Screen) -> None:
    """Raise ScreenTooLarge if the screen's text or keyboard breaks one of the limits above."""
    # Most screens are far below the limits, which shows without parsing them: only emptiness is left.
    if not (_fits_unparsed(screen.text) and _TAG.sub("", screen.text).strip()):
        _check_parsed_text(screen.text)
    keyboard = screen.keyboard
    if isinstance(keyboard, InlineKeyboardMarkup):
        _check_rows([[button.text for button in row] for row in keyboard.inline_keyboard])
        for row in keyboard.inline_keyboard:
            for button in row:
                data = button.callback_data
                if isinstance(data, str) and len(data.encode()) > MAX_CALLBACK_BYTES:
                    raise ScreenTooLarge(f"button {button.text!r} carries over {MAX_CALLBACK_BYTES} bytes")
    elif isinstance(keyboard, ReplyKeyboardMarkup):
        _check_rows([[getattr(button, "text", button) for button in row] for row in keyboard.keyboard])


def _check_parsed_text(html: str) -> None:
    length, entities = text_size(html)
    if length == 0:
        raise ScreenTooLarge("the text is empty")
    if length > MAX_TEXT_LENGTH:
        raise ScreenTooLarge(f"the text is {length} UTF-16 code units long, over {MAX_TEXT_LENGTH}")
    if entities > MAX_ENTITIES:
        raise ScreenTooLarge(f"the text has {entities} entities, over {MAX_ENTITIES}")


def _fits_unparsed(html: str) -> bool:
    # Parsing only takes characters away (tags, character references), and every entity opens with "<".
    return utf16_length(html) <= MAX_TEXT_LENGTH and html.count("<") <= MAX_ENTITIES


def _check_rows(rows: list[list[str]]) -> None:
    count = sum(len(row) for row in rows)
    if count > MAX_BUTTONS:
        raise ScreenTooLarge(f"the keyboard has {count} buttons, over {MAX_BUTTONS}")
    for row in rows:
        if len(row) > MAX_BUTTONS_PER_ROW:
            raise ScreenTooLarge(f"a keyboard row has {len(row)} buttons, over {MAX_BUTTONS_PER_ROW}")
        for label in row:
            if not label.strip() or len(label) > MAX_BUTTON_LABEL:
                raise ScreenTooLarge(f"button label {label!r} is empty or over {MAX_BUTTON_LABEL} characters")


class _TelegramHtml(HTMLParser):
    """The text a reader sees, and how many entities Telegram makes of our HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.entities = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _ENTITY_TAGS or (tag == "span" and ("class", "tg-spoiler") in attrs):
            self.entities += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)
