"""Free text in English and German leads to the action the customer meant."""

import pytest

from bot.services.conversations.intents import IntentKind, detect_intent


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Where is my order?", IntentKind.STATUS),
        ("wann kommt meine Bestellung", IntentKind.STATUS),
        ("Wo ist mein Paket? Lieferung?", IntentKind.STATUS),
        ("I want to cancel", IntentKind.CANCEL),
        ("Bitte stornieren", IntentKind.CANCEL),
        ("Stornierung bitte", IntentKind.CANCEL),
        ("is there an alternative?", IntentKind.ALTERNATIVES),
        ("Gibt es Ersatz?", IntentKind.ALTERNATIVES),
        ("talk to a human", IntentKind.HUMAN),
        ("Ich möchte mit einem Mitarbeiter sprechen", IntentKind.HUMAN),
        ("hi", IntentKind.GREETING),
        ("Danke!", IntentKind.THANKS),
        ("asdf qwer", IntentKind.UNKNOWN),
        ("shipping", IntentKind.STATUS),  # "hi" inside a word is no greeting
    ],
)
def test_common_phrasings_lead_to_their_action(text: str, kind: IntentKind) -> None:
    assert detect_intent(text).kind is kind


def test_an_order_number_anywhere_in_the_message_is_found() -> None:
    intent = detect_intent("hey, what about #1042 and order BD-2001?")
    assert intent.order_numbers == ("1042", "BD-2001")


def test_an_order_number_alone_asks_for_that_orders_status() -> None:
    assert detect_intent("1042").kind is IntentKind.STATUS


def test_phone_numbers_and_emails_are_not_order_numbers() -> None:
    assert detect_intent("mail me at anna1042@example.com").order_numbers == ()
