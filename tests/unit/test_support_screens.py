"""The parts of the support screens that have rules of their own: topic names, durations and ages."""

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest

from bot.i18n import translator
from bot.render.phrases import age, duration, short_name, topic_name


@dataclass(frozen=True)
class _Ticket:
    id: int
    customer_name: str


@dataclass(frozen=True)
class _Order:
    number: str
    placed_at: datetime = datetime(2026, 11, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class _Line:
    order_number: str


@dataclass(frozen=True)
class _Context:
    ticket: _Ticket
    orders: list[_Order] = field(default_factory=list)
    waiting: list[_Line] = field(default_factory=list)
    reason_line: _Line | None = None


@pytest.mark.parametrize(("name", "short"), [("Anna Klein", "Anna K."), ("Anna Maria von Klein", "Anna K."), ("Cher", "Cher"), ("  ", "?")])
def test_customers_are_named_by_first_name_and_initial(name: str, short: str) -> None:
    assert short_name(name) == short


def test_a_topic_is_named_after_the_order_asked_about_else_the_waiting_ones_else_the_latest() -> None:
    en, de = translator("en"), translator("de")
    waiting = [_Line("1042"), _Line("1050"), _Line("1042")]

    assert topic_name(_Context(_Ticket(42, "Anna Klein"), waiting=waiting, reason_line=_Line("1050")), en) == "#42 · Anna K. · order 1050"
    assert topic_name(_Context(_Ticket(42, "Anna Klein"), waiting=waiting), de) == "#42 · Anna K. · Bestellungen 1042, 1050"
    assert topic_name(_Context(_Ticket(42, "Anna Klein"), orders=[_Order("2001"), _Order("1999")]), en) == "#42 · Anna K. · order 2001"
    assert topic_name(_Context(_Ticket(42, "Anna Klein")), en) == "#42 · Anna K."


def test_a_topic_name_stays_within_telegrams_128_characters() -> None:
    waiting = [_Line(f"ORDER-{n:05d}") for n in range(30)]

    name = topic_name(_Context(_Ticket(1234567, "Anna Klein"), waiting=waiting), translator("en"))

    assert len(name) == 128 and name.startswith("#1234567 · Anna K. · orders ORDER-00000, ORDER-00001") and name.endswith("…")


@pytest.mark.parametrize(
    ("minutes", "en", "de"),
    [(1, "1 minute", "1 Minute"), (30, "30 minutes", "30 Minuten"), (60, "1 hour", "1 Stunde"), (90, "2 hours", "2 Stunden")],
)
def test_a_promised_duration_is_in_minutes_or_whole_hours_rounded_up(minutes: int, en: str, de: str) -> None:
    assert (duration(minutes, translator("en")), duration(minutes, translator("de"))) == (en, de)


@pytest.mark.parametrize(("minutes", "shown"), [(0, "0 min"), (59, "59 min"), (65, "1 h 05 min"), (1500, "1 d 1 h")])
def test_a_tickets_age_is_short(minutes: int, shown: str) -> None:
    assert age(minutes, translator("en")) == shown
