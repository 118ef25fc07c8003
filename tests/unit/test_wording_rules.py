"""Rules every text keeps once its values are filled in, in English and German: no double full stop (a German
abbreviated month ends in one: „4. Dez..“), no question mark standing in for a date („erwartet ? (geschätzt)“),
no stray blank line at the start, no placeholder left unreplaced, and counts that agree with their nouns."""

import re
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Any

import pytest

from bot.config import Settings
from bot.i18n import ShopVoice, Translator, translator
from bot.render import backorder_card, cancel, proactive
from bot.render.phrases import days_waiting, ship_date
from bot.services.backorders.status import EtaChange, LineView
from db.models import EtaBasis, LineStatus
from tests.unit.test_catalogs import PLACEHOLDER, _messages_in_code

TODAY = date(2026, 12, 2)
LANGUAGES = ("en", "de")


def _problems(text: str, whole: bool = True) -> list[str]:
    """What breaks the rules; a catalog text may be a fragment (" — 2 pcs more needed"), a screen may not."""
    found = []
    if re.search(r"(?<!\.)\.\.(?!\.)", text):
        found.append("double full stop")
    if "? (" in text:
        found.append("a question mark for a value")
    if text.startswith("\n") or (whole and text.startswith(" ")):
        found.append("leading blank")
    if PLACEHOLDER.search(text):
        found.append("unreplaced placeholder")
    return found


def _sample(name: str, t: Translator) -> str:
    """A value as the code fills it in; dates as German and English abbreviate them, which is where '..' comes from."""
    if name in {"date", "eta", "new", "old", "arrival", "promised"}:
        return t.date(date(2026, 12, 4))
    if name == "amount":
        return t.money(14900, "EUR")
    if name in {"n", "quantity", "days", "size", "stars", "limit", "ready", "waiting", "lines", "units"}:
        return "2"
    return "X"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_text_reads_cleanly_with_sample_values(language: str) -> None:
    t = translator(language, TODAY)
    broken = {}
    for message in _messages_in_code():
        texts = [t.gettext(message)] if isinstance(message, str) else [t.ngettext(*message, n) for n in (1, 2)]
        for text in texts:
            filled = text.format(**{name[1:-1]: _sample(name[1:-1], t) for name in PLACEHOLDER.findall(text)})
            if _problems(filled, whole=False):
                broken[filled] = _problems(filled, whole=False)
    assert broken == {}


def _line(**changes: Any) -> LineView:
    line = LineView(
        line_id=7, order_number="1042", sku="HS-200", product_name="Studio Headset", quantity=2, open_quantity=2,
        allocated_quantity=0, cancelled_quantity=0, substituted_quantity=0, status=LineStatus.BACKORDERED,
        unit_price_minor=14900, currency="EUR", placed_at=datetime(2026, 11, 20, tzinfo=timezone.utc), days_waiting=12,
        queue_position=3, queue_size=12, eta=date(2027, 1, 14), eta_basis=EtaBasis.LEAD_TIME,
        purchase_order_reference=None, purchase_order_expected_on=None, resolved_at=None,
        eta_history=[EtaChange(date(2026, 12, 20), date(2027, 1, 14), EtaBasis.LEAD_TIME, EtaBasis.LEAD_TIME, "orders_imported", datetime(2026, 12, 1, tzinfo=timezone.utc))],
    )
    return replace(line, **changes)


LINES = {
    "estimated": _line(),
    "no date": _line(eta=None, eta_basis=None, eta_history=[]),
    "confirmed by a supplier delivery": _line(eta_basis=EtaBasis.PURCHASE_ORDER, purchase_order_reference="PO-7", purchase_order_expected_on=date(2027, 1, 10)),
    "in stock": _line(eta=date(2026, 12, 3), eta_basis=EtaBasis.IN_STOCK),
    "partly reserved": _line(status=LineStatus.PARTIALLY_ALLOCATED, quantity=3, allocated_quantity=1, open_quantity=2),
    "ordered today": _line(days_waiting=0),
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", LINES)
def test_an_items_card_and_the_order_list_read_cleanly(language: str, case: str) -> None:
    t = translator(language, TODAY)
    line = LINES[case]
    for screen in (backorder_card.backorder_card(line, t), backorder_card.order_list([line], [], t)):
        assert _problems(screen.text) == [], screen.text


_PARAMS: dict[str, dict[str, Any]] = {
    "broadcast": {"text": "Hello"},
    "eta_moved": {"old_eta": "2026-12-20", "new_eta": "2027-01-14", "reason": "orders_imported", "basis": "lead_time"},
    "ready_to_ship": {},
    "line_cancelled": {"quantity": 1, "refund_minor": 14900, "currency": "EUR", "kept_quantity": 1},
    "line_substituted": {"new_product_name": "Studio Headset Lite", "quantity": 1, "refund_minor": 2000, "currency": "EUR"},
    "delay_notice": {"quantity": 1, "refund_minor": 14900, "currency": "EUR", "promised_ship_by": "2026-12-18", "new_ship_by": None, "respond_by": "2027-01-17", "notice_id": 3},
    "delay_auto_cancelled": {"quantity": 2, "refund_minor": 29800, "currency": "EUR", "respond_by": "2027-01-17", "kept_quantity": 0},
    "rate_request": {"ticket_id": 5},
    "line_shipped": {
        "items": [{"product_name": "Studio Headset", "quantity": 2}], "shipped_on": "2026-12-04", "carrier": "DHL",
        "tracking_number": "00340434161094042557", "tracking_url": "https://www.dhl.de/track?piececode=1",
    },
    "refund_paid": {"refund_minor": 14900, "currency": "EUR"},
    "merchant_digest": {
        "unordered": [{"sku": "MX-500", "product_name": "Stand Mixer", "waiting": 1}], "unordered_total": 7,
        "slipping": [{"name": "Slow Sounds", "median_days_late": 1.0, "worsening": True}],
        "oldest": [{"order_number": "1042", "sku": "HS-200", "days_waiting": 1}],
    },
    "alternatives_offered": {
        "sku": "HS-200", "open_quantity": 1, "unit_price_minor": 14900, "currency": "EUR",
        "alternatives": [
            {"product_id": 9, "sku": "HS-120", "name": "Studio Wired Headset", "unit_price_minor": 8900, "currency": "EUR",
             "price_difference_minor": -6000, "customer_pays_difference_minor": 0, "waived_minor": 0, "refund_minor": 6000,
             "is_merchant_choice": True},
        ],
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", sorted(proactive.TEMPLATES))
def test_every_message_the_bot_sends_first_reads_cleanly(language: str, template: str) -> None:
    params = {"order_number": "1042", "product_name": "Studio Headset", "line_id": 7, **_PARAMS[template]}
    if template == "alternatives_offered":  # the alternatives screen's own params, without an order
        del params["order_number"]
    screen = proactive.render_outgoing(template, params, translator(language, TODAY))
    assert _problems(screen.text) == [], screen.text


def test_the_year_shows_only_when_it_is_not_this_one_and_a_date_stays_on_one_line() -> None:
    german = translator("de", TODAY)
    assert german.date(date(2026, 12, 4)) == "4.\u00a0Dez."
    assert german.date(date(2027, 1, 14)) == "14.\u00a0Jan.\u00a02027"
    assert translator("en", TODAY).date(date(2027, 1, 14)) == "14\u00a0Jan\u00a02027"
    assert translator("de", TODAY).long_date(date(2026, 12, 18)) == "Freitag,\u00a018.\u00a0Dezember\u00a02026"


def test_estimated_belongs_to_the_date_and_no_date_is_said_in_words() -> None:
    german, english = translator("de", TODAY), translator("en", TODAY)
    assert ship_date(date(2027, 1, 14), False, german) == "etwa am 14.\u00a0Jan.\u00a02027 (geschätzt)"
    assert ship_date(None, False, german) == "Termin noch offen"
    assert ship_date(None, False, english) == "date not known yet"
    notice = proactive.render_outgoing(
        "eta_moved",
        {"order_number": "1042", "product_name": "Headset", "line_id": 7, **_PARAMS["eta_moved"]},
        german,
    )
    assert notice.text.endswith("Entschuldige die längere Wartezeit.")


@pytest.mark.parametrize(
    ("language", "n", "expected"),
    [("de", 0, "Heute bestellt."), ("de", 1, "Wartet seit 1 Tag."), ("de", 3, "Wartet seit 3 Tagen."), ("en", 0, "Ordered today."), ("en", 1, "Waiting for 1 day.")],
)
def test_days_waiting_agree_with_their_count(language: str, n: int, expected: str) -> None:
    assert days_waiting(n, translator(language)) == expected


def test_a_cancel_agrees_with_its_quantity_and_promises_the_shops_refund_time() -> None:
    result = type("Result", (), {"cancelled_quantity": 2, "product_name": "Kopfhörer", "refund_minor": 29800, "currency": "EUR", "already_done": False})()
    german = ShopVoice(refund_days=14).translator("de")
    assert cancel.cancelled(result, german).text == (
        "Erledigt: 2 × Kopfhörer sind storniert. Wir erstatten dir 298,00\u00a0€ auf dem ursprünglichen Zahlungsweg,"
        " in der Regel innerhalb von 14 Tagen."
    )
    american = ShopVoice("en_US", refund_days=7).translator("en")
    assert cancel.cancelled(result, american).text.endswith("We'll refund €298.00 to your original payment method within 7 days.")


def test_an_american_shop_writes_american_english_and_dollars_without_a_country() -> None:
    american = ShopVoice("en_US").translator("en", TODAY)
    british_spelling = [
        text
        for message in _messages_in_code()
        for text in ([american.gettext(message)] if isinstance(message, str) else [american.ngettext(*message, n) for n in (1, 2)])
        if re.search(r"\b[Cc]ancell(ed|ing)\b", text)
    ]
    assert british_spelling == []
    assert american.money(14900, "USD") == "$149.00" and translator("en").money(14900, "USD") == "US$149.00"
    assert american.date(date(2026, 12, 4)) == "Dec\u00a04"
    assert Settings(default_phone_region="US").voice.english == "en_US"
    assert Settings(default_phone_region="DE").voice.english == "en_GB"


def test_the_delay_rule_and_the_refund_time_follow_where_the_shop_is_unless_set() -> None:
    assert (Settings(shop_timezone="Europe/Berlin").delay_rule, Settings(shop_timezone="Europe/Berlin").voice.refund_days) == ("eu", 14)
    assert (Settings(shop_timezone="America/New_York").delay_rule, Settings(shop_timezone="America/New_York").voice.refund_days) == ("ftc", 7)
    assert Settings(shop_timezone="Europe/Berlin", delay_notice_policy="ftc", refund_days=10).voice.refund_days == 10
