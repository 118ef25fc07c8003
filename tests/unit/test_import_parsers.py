"""The parsers every import goes through, tried with generated input: a value reads back as itself, and
anything else is a ValueError saying what is wrong — never another exception."""

import csv
import io
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services.errors import ImportRejected
from bot.services.intake import cell_formats, field_rules
from bot.services.intake.csv_reader import read_products
from bot.services.intake.import_records import MAX_MINOR_UNITS, ProductRecord

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)

# The machine is shared: a slow example is no failure, and 60 examples per property keep the suite quick.
relaxed = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])

# Everything a spreadsheet cell can hold, NUL and line breaks included.
any_text = st.text(st.characters(codec="utf-8"), max_size=40)


def refuses_cleanly(parse, raw: str) -> None:  # type: ignore[no-untyped-def]
    """`parse(raw)` either returns or raises ValueError; nothing else escapes."""
    try:
        parse(raw)
    except ValueError as bad:
        assert str(bad)


# --- money ---------------------------------------------------------------------------------------------------


@relaxed
@given(st.integers(0, MAX_MINOR_UNITS), st.sampled_from([".", ","]))
def test_an_amount_in_cents_reads_back_as_the_same_cents(cents: int, mark: str) -> None:
    euros, rest = divmod(cents, 100)
    assert cell_formats.amount(f"{euros}{mark}{rest:02d}", "EUR") == cents


@relaxed
@given(st.integers(0, 10**6))
def test_a_currency_without_decimals_takes_whole_amounts_only(yen: int) -> None:
    assert cell_formats.amount(str(yen), "JPY") == yen
    with pytest.raises(ValueError, match="more decimals than JPY"):
        cell_formats.amount(f"{yen}.5", "JPY")


@relaxed
@given(st.decimals(min_value=Decimal(MAX_MINOR_UNITS) / 100 + Decimal("0.01"), max_value=Decimal(10**30), places=2))
def test_an_amount_too_large_for_the_shop_is_refused(amount: Decimal) -> None:
    with pytest.raises(ValueError, match="too large"):
        cell_formats.amount(str(amount), "EUR")


@relaxed
@given(any_text, st.sampled_from(["EUR", "JPY", "KWD", None]))
def test_any_text_is_an_amount_or_a_clear_refusal(raw: str, currency: str | None) -> None:
    refuses_cleanly(lambda text: cell_formats.amount(text, currency), raw)


@relaxed
@given(st.integers(-(2**40), 2**40), st.sampled_from(["EUR", "JPY"]))
def test_minor_units_are_bounded_both_ways(minor: int, currency: str) -> None:
    if 0 <= minor <= MAX_MINOR_UNITS:
        assert field_rules.minor_units(minor, currency) == minor
    else:
        with pytest.raises(ValueError):
            field_rules.minor_units(minor, currency)


# --- dates and instants ----------------------------------------------------------------------------------------


@relaxed
@given(st.dates())
def test_a_calendar_date_reads_back_and_is_kept_within_the_window(day: date) -> None:
    assert cell_formats.calendar_date(day.isoformat()) == day
    if TODAY - timedelta(days=365) <= day <= TODAY + timedelta(days=3 * 365):
        assert field_rules.expected_on(day, TODAY) == day
    else:
        with pytest.raises(ValueError, match="outside the dates a purchase order may be due"):
            field_rules.expected_on(day, TODAY)


@relaxed
@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes))),
)
def test_an_instant_with_an_offset_is_the_same_moment_in_utc(moment: datetime, offset: timezone) -> None:
    aware = moment.replace(tzinfo=offset)
    assert cell_formats.instant(aware.isoformat(), BERLIN) == aware


@relaxed
@given(any_text)
def test_any_text_is_an_instant_or_a_clear_refusal(raw: str) -> None:
    refuses_cleanly(lambda text: cell_formats.instant(text, BERLIN), raw)
    refuses_cleanly(cell_formats.calendar_date, raw)


@pytest.mark.parametrize("raw", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "9999-12-31"])
def test_an_instant_beyond_the_calendar_is_a_clear_refusal(raw: str) -> None:
    with pytest.raises(ValueError, match="outside the calendar|20 years|in the future"):
        field_rules.placed_at(cell_formats.instant(raw, BERLIN), NOW, BERLIN)


@relaxed
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_an_order_is_placed_in_the_last_twenty_years_and_not_later_than_now(moment: datetime) -> None:
    if NOW - field_rules.ORDER_AGE_LIMIT <= moment <= NOW:
        assert field_rules.placed_at(moment, NOW, BERLIN) == moment
    else:
        with pytest.raises(ValueError, match="in the future|more than 20 years ago"):
            field_rules.placed_at(moment, NOW, BERLIN)


# --- phone numbers -------------------------------------------------------------------------------------------

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


SPELLINGS = [phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL]


@relaxed
@given(st.sampled_from(REGIONS), st.sampled_from(SPELLINGS))
def test_a_valid_number_in_its_usual_spellings_becomes_one_e164_number(region: str, style: int) -> None:
    number = phonenumbers.example_number(region)
    if number is None:
        return
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert field_rules.phone(phonenumbers.format_number(number, style), region) == e164
    assert field_rules.phone(e164, "DE") == e164


@relaxed
@given(any_text, st.sampled_from(["DE", "GB", "US", "AT"]))
def test_any_text_is_a_phone_number_or_a_clear_refusal(raw: str, region: str) -> None:
    refuses_cleanly(lambda text: field_rules.phone(text, region), raw)


# --- text ----------------------------------------------------------------------------------------------------


@relaxed
@given(any_text, any_text)
def test_text_with_a_nul_character_is_refused_wherever_it_is(before: str, after: str) -> None:
    for rule in (lambda text: field_rules.text(text, 200), field_rules.email, field_rules.sku, field_rules.currency):
        with pytest.raises(ValueError, match="NUL|not"):
            rule(f"{before}\x00{after}")


# --- the CSV reader ------------------------------------------------------------------------------------------

PRODUCT_HEADER = ["sku", "name", "category", "price", "currency", "lead_time_days", "tags", "substitutes", "available"]
plain = (
    st.text(st.characters(codec="utf-8", exclude_characters="|\x00"), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
skus = st.text(st.characters(codec="ascii", categories=["L", "N", "Pd"]), min_size=1, max_size=20)


@st.composite
def product_records(draw: st.DrawFn) -> list[ProductRecord]:
    count = draw(st.integers(1, 8))
    unique_skus = draw(st.lists(skus, min_size=count, max_size=count, unique=True))
    return [
        ProductRecord(
            row=index + 2,
            sku=sku,
            name=draw(plain),
            category=draw(plain),
            price_minor=draw(st.integers(0, MAX_MINOR_UNITS)),
            currency="EUR",
            lead_time_days=draw(st.integers(0, 730)),
            tags=tuple(dict.fromkeys(draw(st.lists(plain.filter(lambda tag: len(tag) <= 50), max_size=3)))),
            substitutes=(),
            available=draw(st.integers(0, 1000)),
        )
        for index, sku in enumerate(unique_skus)
    ]


def as_csv(rows: list[list[str]], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


@relaxed
@given(product_records(), st.sampled_from([",", ";"]))
def test_products_written_as_csv_read_back_as_the_same_records(records: list[ProductRecord], delimiter: str) -> None:
    rows = [PRODUCT_HEADER] + [
        [
            record.sku,
            record.name,
            record.category,
            f"{record.price_minor // 100}.{record.price_minor % 100:02d}",
            record.currency,
            str(record.lead_time_days),
            "|".join(record.tags or ()),
            "",
            str(record.available),
        ]
        for record in records
    ]

    batch = read_products(as_csv(rows, delimiter))

    assert (list(batch.records), list(batch.problems), list(batch.bad_rows)) == (records, [], [])


@relaxed
@given(st.lists(st.lists(any_text, min_size=1, max_size=11), max_size=6), st.sampled_from([",", ";"]))
def test_any_table_is_read_or_refused_row_by_row_without_a_crash(cells: list[list[str]], delimiter: str) -> None:
    text = as_csv([PRODUCT_HEADER, *cells], delimiter)
    try:
        batch = read_products(text)
    except ImportRejected as rejected:
        assert rejected.problems
        return
    bad = {problem.row for problem in batch.problems}
    assert {record.row for record in batch.records}.isdisjoint(bad)
    assert {row.row for row in batch.bad_rows} <= bad
    assert all("\x00" not in value for record in batch.records for value in (record.sku, record.name, record.category))
