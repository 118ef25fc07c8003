"""Button payloads: a tiny versioned string, built and parsed here and nowhere else.

Format: ``c1:<action>[:<id>[:<id>]]``, at most 64 bytes, ids in 0..2³¹-1 without leading zeros. Anything
else — another version, an unknown action, a missing or oversized id — is refused by `parse_callback_data`. Parsing only proves the shape:
the services re-check that the line belongs to the person pressing the button.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

VERSION = "c1"
MAX_BYTES = 64
MAX_ID = 2**31 - 1  # the largest value of a 32-bit id column; a larger id cannot name a row


class Action(StrEnum):
    ORDERS = "o"  # back to the order list
    ORDERS_PAGE = "op"  # page number (1 = first): one page of the order list
    ORDERS_AT = "oa"  # line id: the page of the order list that holds this item
    LINE = "ln"  # line id: one item's card
    CANCEL_ASK = "cx"  # line id
    CANCEL_CONFIRM = "cy"  # line id
    ALTERNATIVES = "al"  # line id
    PICK_ASK = "pa"  # line id, product id
    PICK_CONFIRM = "py"  # line id, product id
    HUMAN = "hu"  # line id or 0
    LANGUAGE = "lg"  # language code as a number: see LANGUAGE_CODES
    RESOLVED = "rs"  # ticket id: the customer says their question is resolved
    RATE = "rt"  # ticket id, stars (1-5)
    ESCALATE = "es"  # line id, what was refused (see REFUSAL_CODES): ask a person after a refusal
    # Agent tools on a ticket's context card; pressed in the support group only.
    AGENT_CANCEL_ASK = "ka"  # ticket id, line id
    AGENT_CANCEL_CONFIRM = "ky"  # ticket id, line id
    AGENT_KEEP = "kn"  # ticket id, line id
    AGENT_ALTERNATIVES = "kl"  # ticket id, line id
    AGENT_ETA = "ke"  # ticket id, line id
    AGENT_ASSIGN = "km"  # ticket id
    AGENT_CLOSE = "kc"  # ticket id
    AGENT_QUEUE_PAGE = "kq"  # page number (1 = first): one page of /queue
    AGENT_CANNED_PAGE = "kr"  # page number (1 = first): one page of /canned list
    DELAY_AGREE = "da"  # delay notice id: the customer agrees to wait
    DELAY_CANCEL = "dc"  # delay notice id: the customer cancels for a full refund
    NOTIFICATIONS = "nt"  # 1: turn optional updates on, 0: off
    BROADCAST_AUDIENCE = "ba"  # draft id, audience kind: see AUDIENCE_KINDS
    BROADCAST_SKIP = "bk"  # draft id: no text in the language asked for
    BROADCAST_SEND = "bs"  # draft id: send the previewed broadcast
    BROADCAST_SEND_URGENT = "bu"  # draft id: send it through the shop's quiet hours
    BROADCAST_ABORT = "bx"  # draft id: drop the draft
    BROADCAST_CATEGORY = "bc"  # draft id, category number (0 = first in the list shown)
    BACKORDERS_PAGE = "bp"  # page number (1 = first): one page of the merchant's /backorders
    PRIVACY = "pv"  # back to /privacy's overview
    PRIVACY_EXPORT = "pe"  # send the customer their data as a file
    PRIVACY_FORGET_ASK = "pf"  # ask before forgetting the customer
    PRIVACY_FORGET_CONFIRM = "pg"  # forget the customer


LANGUAGE_CODES = {1: "en", 2: "de"}
REFUSAL_CODES = {1: "line_not_cancellable", 2: "line_not_waiting"}
AGENT_ACTIONS = frozenset(
    {
        Action.AGENT_CANCEL_ASK,
        Action.AGENT_CANCEL_CONFIRM,
        Action.AGENT_KEEP,
        Action.AGENT_ALTERNATIVES,
        Action.AGENT_ETA,
        Action.AGENT_ASSIGN,
        Action.AGENT_CLOSE,
        Action.AGENT_QUEUE_PAGE,
        Action.AGENT_CANNED_PAGE,
    }
)
AUDIENCE_KINDS = {1: "skus", 2: "category", 3: "orders"}

ARITY = {
    Action.ORDERS: 0,
    Action.ORDERS_PAGE: 1,
    Action.ORDERS_AT: 1,
    Action.LINE: 1,
    Action.CANCEL_ASK: 1,
    Action.CANCEL_CONFIRM: 1,
    Action.ALTERNATIVES: 1,
    Action.PICK_ASK: 2,
    Action.PICK_CONFIRM: 2,
    Action.HUMAN: 1,
    Action.LANGUAGE: 1,
    Action.RESOLVED: 1,
    Action.RATE: 2,
    Action.ESCALATE: 2,
    Action.AGENT_CANCEL_ASK: 2,
    Action.AGENT_CANCEL_CONFIRM: 2,
    Action.AGENT_KEEP: 2,
    Action.AGENT_ALTERNATIVES: 2,
    Action.AGENT_ETA: 2,
    Action.AGENT_ASSIGN: 1,
    Action.AGENT_CLOSE: 1,
    Action.AGENT_QUEUE_PAGE: 1,
    Action.AGENT_CANNED_PAGE: 1,
    Action.DELAY_AGREE: 1,
    Action.DELAY_CANCEL: 1,
    Action.NOTIFICATIONS: 1,
    Action.BROADCAST_AUDIENCE: 2,
    Action.BROADCAST_SKIP: 1,
    Action.BROADCAST_SEND: 1,
    Action.BROADCAST_SEND_URGENT: 1,
    Action.BROADCAST_ABORT: 1,
    Action.BROADCAST_CATEGORY: 2,
    Action.BACKORDERS_PAGE: 1,
    Action.PRIVACY: 0,
    Action.PRIVACY_EXPORT: 0,
    Action.PRIVACY_FORGET_ASK: 0,
    Action.PRIVACY_FORGET_CONFIRM: 0,
}
# Ids are written without leading zeros, so each payload has exactly one spelling.
_PATTERN = re.compile(r"c1:([a-z]{1,2})((?::(?:0|[1-9][0-9]{0,9})){0,2})")


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
    if len(ids) != ARITY[action] or any(value > MAX_ID for value in ids):
        raise InvalidCallbackData("wrong ids")
    if action is Action.LANGUAGE and ids[0] not in LANGUAGE_CODES:
        raise InvalidCallbackData("unknown language")
    if action is Action.ESCALATE and ids[1] not in REFUSAL_CODES:
        raise InvalidCallbackData("unknown refusal")
    if action is Action.NOTIFICATIONS and ids[0] not in (0, 1):
        raise InvalidCallbackData("notifications are on (1) or off (0)")
    if action is Action.BROADCAST_AUDIENCE and ids[1] not in AUDIENCE_KINDS:
        raise InvalidCallbackData("unknown audience kind")
    return CallbackData(action, ids)
