"""What a customer's free text asks for, in English or German; pure functions, no database."""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class IntentKind(StrEnum):
    STATUS = "status"
    CANCEL = "cancel"
    ALTERNATIVES = "alternatives"
    HUMAN = "human"
    GREETING = "greeting"
    THANKS = "thanks"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    order_numbers: tuple[str, ...] = ()


MAX_TEXT_LENGTH = 1000  # longer messages are answered politely, not parsed

# Checked in this order: asking for a person wins over everything, cancelling over status.
_PHRASES: list[tuple[IntentKind, tuple[str, ...]]] = [
    (
        IntentKind.HUMAN,
        (
            "human", "person", "agent", "real person", "someone", "support", "operator",
            "mensch", "mitarbeiter", "jemand", "kundendienst", "kundenservice", "berater",
        ),
    ),
    (
        IntentKind.CANCEL,
        ("cancel", "refund", "money back", "storn", "abbestell", "zurückzieh", "geld zurück", "erstatt"),
    ),
    (
        IntentKind.ALTERNATIVES,
        ("alternative", "instead", "substitute", "something else", "swap", "replace", "ersatz", "stattdessen", "tauschen", "umtauschen", "etwas anderes"),
    ),
    (
        IntentKind.STATUS,
        (
            "where is", "where's", "when will", "when does", "status", "eta", "arrive", "delivery", "deliver",
            "track", "my order", "orders", "shipping", "backorder", "how long",
            "wo ist", "wann kommt", "wann wird", "wann ist", "bestellung", "lieferung", "liefer", "versand",
            "sendung", "rückstand", "wie lange",
        ),
    ),
    (IntentKind.THANKS, ("thank", "thx", "cheers", "danke", "vielen dank")),
    (IntentKind.GREETING, ("hello", "hi", "hey", "good morning", "hallo", "guten tag", "moin", "servus")),
]

_ORDER_NUMBER = re.compile(r"(?<![\w.@+])#?([A-Z]{0,4}-?\d{3,12})(?![\w@])", re.IGNORECASE)


def detect_intent(text: str) -> Intent:
    """The action a message asks for, and any order numbers it mentions."""
    normalised = unicodedata.normalize("NFKC", text).casefold()
    order_numbers = tuple(dict.fromkeys(match.upper() for match in _ORDER_NUMBER.findall(text)))
    for kind, phrases in _PHRASES:
        if any(_contains_phrase(normalised, phrase) for phrase in phrases):
            return Intent(kind, order_numbers)
    if order_numbers:
        return Intent(IntentKind.STATUS, order_numbers)
    return Intent(IntentKind.UNKNOWN)


def _contains_phrase(text: str, phrase: str) -> bool:
    # Short words must stand alone ("hi" is not in "shipping"); stems like "storn" may start a word.
    if len(phrase) <= 3:
        return re.search(rf"\b{re.escape(phrase)}\b", text) is not None
    return re.search(rf"\b{re.escape(phrase)}", text) is not None
