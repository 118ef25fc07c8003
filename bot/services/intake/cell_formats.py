"""How a text cell (of a CSV file, or a text field of a request) spells a number, an amount, a date or a list."""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import get_currency_precision

from bot.services.intake import field_rules
from bot.services.intake.import_records import MAX_MINOR_UNITS

_AMOUNT = re.compile(r"\d+(?:[.,]\d+)?")
_WHOLE_NUMBER = re.compile(r"[+-]?\d+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def whole_number(raw: str) -> int:
    if not _WHOLE_NUMBER.fullmatch(raw) or len(raw) > 20:
        raise ValueError(f"{field_rules.no_nul(raw)!r} is not a whole number")
    return int(raw)


def amount(raw: str, currency: str | None) -> int:
    """An amount such as "19.99" (or "19,99") in integer minor units of `currency`; never a float.

    Without a currency (its cell is bad, and reported) only the amount's form is checked.
    """
    if not _AMOUNT.fullmatch(raw) or len(raw) > 40:
        raise ValueError(
            f"{field_rules.no_nul(raw)!r} is not an amount like 19.99 (no currency sign, no thousands separator)"
        )
    if currency is None:
        return 0
    digits = get_currency_precision(currency)
    minor = Decimal(raw.replace(",", ".")).scaleb(digits)
    if minor != minor.to_integral_value():
        raise ValueError(f"{raw} has more decimals than {currency} has ({digits})")
    if minor > MAX_MINOR_UNITS:
        raise ValueError(f"{raw} is too large")
    return int(minor)


def calendar_date(raw: str) -> date:
    if not _DATE.fullmatch(raw):
        raise ValueError(f"{field_rules.no_nul(raw)!r} is not a date like 2026-12-04 (YYYY-MM-DD)")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a date in the calendar") from None


def instant(raw: str, tz: ZoneInfo) -> datetime:
    """ISO 8601 with an offset; without one, or a date alone (midnight), it is read in the shop's time zone."""
    try:
        if _DATE.fullmatch(raw):
            return datetime.combine(calendar_date(raw), time(), tz).astimezone(UTC)
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError(
                f"{field_rules.no_nul(raw)!r} is not a date and time like 2026-11-20T14:05:00+01:00"
                " or a date like 2026-11-20"
            ) from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{raw!r} lies outside the calendar (years 1 to 9999)") from None


def separated_list(raw: str, item: Callable[[str], str]) -> tuple[str, ...]:
    """Items separated by `|`, in order, without blanks or repeats."""
    items: list[str] = []
    for part in raw.split("|"):
        value = item(part.strip()) if part.strip() else ""
        if value and value not in items:
            items.append(value)
    return tuple(items)
