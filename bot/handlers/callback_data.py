"""Button payloads: a tiny versioned string, built and parsed here and nowhere else.

Format: ``c1:<action>[:<id>[:<id>]]``, at most 64 bytes. Anything else — another version, an unknown
action, a missing or oversized id — is refused by `parse_callback_data`. Parsing only proves the shape:
the services re-check that the line belongs to the person pressing the button.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

VERSION = "c1"
MAX_BYTES = 64
_MAX_ID = 2**53  # larger than any row id we hand out, small enough to stay exact everywhere


class Action(StrEnum):
    ORDERS = "o"  # back to the order list
    LINE = "ln"  # line id: one item's card
    CANCEL_ASK = "cx"  # line id
    CANCEL_CONFIRM = "cy"  # line id
    ALTERNATIVES = "al"  # line id
    PICK_ASK = "pa"  # line id, product id
    PICK_CONFIRM = "py"  # line id, product id
    HUMAN = "hu"  # line id or 0
    LANGUAGE = "lg"  # language code as a number: see LANGUAGE_CODES


LANGUAGE_CODES = {1: "en", 2: "de"}

_ARITY = {
    Action.ORDERS: 0,
    Action.LINE: 1,
    Action.CANCEL_ASK: 1,
    Action.CANCEL_CONFIRM: 1,
    Action.ALTERNATIVES: 1,
    Action.PICK_ASK: 2,
    Action.PICK_CONFIRM: 2,
    Action.HUMAN: 1,
    Action.LANGUAGE: 1,
}
_PATTERN = re.compile(r"c1:([a-z]{1,2})((?::[0-9]{1,16}){0,2})")


class InvalidCallbackData(ValueError):
    """The button payload is not one this bot made."""


@dataclass(frozen=True)
class CallbackData:
    action: Action
    ids: tuple[int, ...] = ()

    def encode(self) -> str:
        text = ":".join([VERSION, self.action.value, *map(str, self.ids)])
        if len(text.encode()) > MAX_BYTES:
            raise ValueError("callback data over Telegram's 64-byte limit")
        return text


def button(action: Action, *ids: int) -> str:
    return CallbackData(action, tuple(ids)).encode()


def parse_callback_data(raw: str | None) -> CallbackData:
    """Read a button payload, or raise InvalidCallbackData."""
    if not raw or len(raw.encode()) > MAX_BYTES:
        raise InvalidCallbackData("empty or too long")
    match = _PATTERN.fullmatch(raw)
    if match is None:
        raise InvalidCallbackData("not a c1 payload")
    try:
        action = Action(match.group(1))
    except ValueError as unknown:
        raise InvalidCallbackData("unknown action") from unknown
    ids = tuple(int(part) for part in match.group(2).split(":")[1:])
    if len(ids) != _ARITY[action] or any(not 0 <= value < _MAX_ID for value in ids):
        raise InvalidCallbackData("wrong ids")
    if action is Action.LANGUAGE and ids[0] not in LANGUAGE_CODES:
        raise InvalidCallbackData("unknown language")
    return CallbackData(action, ids)
