"""What an imported value must be, whichever front end it came through: each rule returns the value as the shop
keeps it (an e-mail in lower case, a phone number in E.164) or raises ValueError saying what is wrong."""

import re
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_precision, list_currencies

from bot.services.intake.import_records import MAX_MINOR_UNITS
from bot.services.phone import normalise_phone
from db.models import PurchaseOrderStatus, Supplier

# Orders older than this are not backorders any more; a date further back is a typo (or 0001-01-01).
ORDER_AGE_LIMIT = timedelta(days=20 * 365)
# A purchase order may be overdue, and is promised at most this far ahead.
EXPECTED_PAST_LIMIT = timedelta(days=365)
EXPECTED_FUTURE_LIMIT = timedelta(days=3 * 365)
# A parcel is recorded within a year of leaving; the shop's clock may run up to an hour ahead of ours.
SHIPPED_PAST_LIMIT = timedelta(days=365)
CLOCK_AHEAD_LIMIT = timedelta(hours=1)

CURRENCIES = frozenset(list_currencies())
# Python's `\s` spelled out, so the API's JSON Schema (read as JavaScript reads a pattern) means the same.
SPACE = r"\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
EMAIL_PATTERN = rf"[^@{SPACE}\x00]+@[^@{SPACE}\x00]+\.[^@{SPACE}\x00]+"
SKU_CHARACTER = rf"[^{SPACE}|\x00]"
WEB_ADDRESS_PATTERN = rf"https?://[^{SPACE}/\x00]+[^{SPACE}\x00]*"
_EMAIL = re.compile(EMAIL_PATTERN)
_SKU = re.compile(rf"{SKU_CHARACTER}{{1,64}}")
_WEB_ADDRESS = re.compile(WEB_ADDRESS_PATTERN)


def no_nul(value: str) -> str:
    """Text without NUL characters, which no column can hold (PostgreSQL refuses them)."""
    if "\x00" in value:
        raise ValueError("contains a NUL character (\\x00), which text cannot hold")
    return value


def text(value: str, limit: int) -> str:
    no_nul(value)
    if len(value) > limit:
        raise ValueError(f"is longer than {limit} characters")
    return value


SUPPLIER_NAME_LIMIT: int = Supplier.__table__.c.name.type.length


def supplier_name(value: str) -> str:
    """A supplier as the merchant names it, without surrounding spaces; one not known yet by that name is added."""
    name = text(value, SUPPLIER_NAME_LIMIT).strip()
    if not name:
        raise ValueError("is blank; leave it out to keep the current supplier")
    return sys.intern(name)  # on many rows of a file: one copy in memory


def web_address(value: str) -> str:
    """An http(s) address of at most 500 characters, such as a parcel's tracking page."""
    if len(value) > 500 or not _WEB_ADDRESS.fullmatch(value):
        raise ValueError(f"{value!r} is not a web address starting with https:// or http://")
    return value


def whole_number(value: int, minimum: int, maximum: int) -> int:
    if not minimum <= value <= maximum:
        raise ValueError(f"{value} is out of range ({minimum} to {maximum})")
    return value


def currency(value: str) -> str:
    code = value.upper()
    if code not in CURRENCIES:
        raise ValueError(f"{no_nul(value)!r} is not an ISO 4217 currency code such as EUR")
    return sys.intern(code)  # on every row of a file: one copy in memory


def minor_units(value: int, currency_code: str) -> int:
    """An amount in minor units: not negative, and small enough for the shop's columns."""
    if value < 0:
        raise ValueError(f"{amount_text(value, currency_code)} is negative")
    if value > MAX_MINOR_UNITS:
        raise ValueError(f"{amount_text(value, currency_code).split()[0]} is too large")
    return value


def amount_text(minor: int, currency_code: str) -> str:
    """Minor units as an amount with its currency, e.g. "149.00 EUR"."""
    return f"{decimal_amount(minor, currency_code)} {currency_code}"


def decimal_amount(minor: int, currency_code: str) -> str:
    """Minor units as a CSV file writes money, e.g. "149.00"."""
    return str(Decimal(minor).scaleb(-get_currency_precision(currency_code)))


def email(value: str) -> str:
    no_nul(value)
    if len(value) > 320 or not _EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value.lower()


@lru_cache(maxsize=1024)
def language(value: str) -> str:
    no_nul(value)
    try:
        return Locale.parse(value.replace("-", "_")).language
    except (ValueError, TypeError, UnknownLocaleError):
        raise ValueError(f"{value!r} is not a language code such as de or en") from None


@lru_cache(maxsize=100_000)
def phone(value: str, default_region: str) -> str:
    """E.164; a customer's phone repeats on every line of every order, and parsing it is the slowest cell."""
    return normalise_phone(no_nul(value), default_region)


def sku(value: str) -> str:
    if not _SKU.fullmatch(value):
        raise ValueError(f"{no_nul(value)!r} is not a SKU (up to 64 characters, no spaces, no |)")
    return value


def purchase_order_status(value: str) -> PurchaseOrderStatus:
    status = value.lower()
    if status not in (PurchaseOrderStatus.OPEN, PurchaseOrderStatus.CANCELLED):
        raise ValueError(f"{no_nul(value)!r} is not a status here; use open or cancelled")
    return PurchaseOrderStatus(status)


def placed_at(value: datetime, now: datetime, tz: ZoneInfo) -> datetime:
    """When an order was placed: not in the future, and not before ORDER_AGE_LIMIT."""
    if value > now:
        raise ValueError(f"{instant_text(value, tz)} is in the future")
    earliest = now - ORDER_AGE_LIMIT
    if value < earliest:
        raise ValueError(
            f"{instant_text(value, tz)} is more than 20 years ago; orders placed before"
            f" {earliest.astimezone(tz).date().isoformat()} are refused"
        )
    return value


def expected_on(value: date, today: date) -> date:
    """When a purchase order is due: at most a year overdue and at most three years ahead."""
    earliest, latest = today - EXPECTED_PAST_LIMIT, today + EXPECTED_FUTURE_LIMIT
    if not earliest <= value <= latest:
        raise ValueError(
            f"{value.isoformat()} is outside the dates a purchase order may be due"
            f" ({earliest.isoformat()} to {latest.isoformat()})"
        )
    return value


def shipped_at(value: datetime, now: datetime, tz: ZoneInfo) -> datetime:
    """When a parcel left: not in the future (an hour's grace for a clock running ahead), at most a year ago."""
    if value > now + CLOCK_AHEAD_LIMIT:
        raise ValueError(f"{instant_text(value, tz)} is in the future")
    earliest = now - SHIPPED_PAST_LIMIT
    if value < earliest:
        raise ValueError(
            f"{instant_text(value, tz)} is more than a year ago; parcels shipped before"
            f" {earliest.astimezone(tz).date().isoformat()} are refused"
        )
    return value


def instant_text(value: datetime, tz: ZoneInfo) -> str:
    """An instant as the shop would write it: the date alone at midnight, else date and time with offset."""
    try:
        local = value.astimezone(tz)
    except OverflowError:  # a moment at the calendar's very end, which no time zone can shift
        return value.isoformat()
    return local.date().isoformat() if local.time() == datetime.min.time() else local.isoformat()
