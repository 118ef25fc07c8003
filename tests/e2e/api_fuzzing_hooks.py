"""Schemathesis hooks for tests/e2e/test_api_fuzzing.py: what the API's description cannot say, because it
depends on the server's clock or on what the shop holds. Loaded by the `schemathesis` process through
SCHEMATHESIS_HOOKS; the test passes the server's clock in FUZZ_NOW and FUZZ_TIME_ZONE.
"""

import itertools
import os
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import schemathesis

NOW = datetime.fromisoformat(os.environ.get("FUZZ_NOW", "2026-11-27T09:00:00+00:00"))
TZ = ZoneInfo(os.environ.get("FUZZ_TIME_ZONE", "Europe/Berlin"))
TODAY = NOW.astimezone(TZ).date()
YEAR = timedelta(days=365)

# The windows the server keeps dates in (bot/services/intake/field_rules.py, bot/services/outreach/broadcasts.py):
# relative to its clock, so no static document can state them. A date the document allows but the window
# does not is moved to the window's nearest end; a value the document refuses is left for the server to refuse.
DATE_WINDOWS = {
    "expected_on": (TODAY - YEAR, TODAY + 3 * YEAR),
    "new_eta": (TODAY, TODAY + 3 * YEAR),
}
INSTANT_WINDOWS = {
    "placed_at": (NOW - 20 * YEAR + timedelta(days=1), NOW),
    "shipped_at": (NOW - YEAR + timedelta(days=1), NOW),
}

# A 422 for data the document allows must name only what a document cannot know: things the shop does not
# have, repeats within one request, a product as its own substitute, a number no numbering plan has, a
# language CLDR does not know. Anything else is a gap between the document and the API.
UNKNOWABLE = re.compile(
    r"is not a product of the shop|is not a SKU of this file or of the shop|cannot be its own substitute"
    r"|^Not found: |is already at |is already in the shop|is not a valid phone number|is not a language code"
)

_keys = itertools.count(1)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """An Idempotency-Key names one request: each request gets its own. Dates move into the server's windows."""
    key = (case.headers or {}).get("Idempotency-Key")
    # Only for data meant to be valid: an edit makes Schemathesis look again at a case meant to be invalid.
    if case.meta is not None and case.meta.generation.mode.is_positive and isinstance(key, str) and re.fullmatch(r"[ -~]{1,200}", key):
        case.headers["Idempotency-Key"] = f"{key[:190]}~{next(_keys)}"
    if isinstance(case.body, (dict, list)):
        _into_windows(case.body)


def _into_windows(value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _into_windows(item)
    elif isinstance(value, dict):
        for name, item in value.items():
            if name in DATE_WINDOWS and isinstance(item, str):
                value[name] = _clamped(item, _date, DATE_WINDOWS[name], date.isoformat)
            elif name in INSTANT_WINDOWS and isinstance(item, str):
                value[name] = _clamped(item, _instant, INSTANT_WINDOWS[name], datetime.isoformat)
            else:
                _into_windows(item)


def _clamped(text: str, read: Callable[[str], Any], window: tuple[Any, Any], write: Callable[[Any], str]) -> str:
    moment = read(text)
    if moment is None:
        return text
    earliest, latest = window
    if moment < earliest:
        return write(earliest)
    if moment > latest:
        return write(latest)
    return text


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None


def _instant(text: str) -> datetime | None:
    """A date (midnight in the shop's time zone) or an RFC 3339 date-time, as the document allows either."""
    day = _date(text)
    if day is not None:
        return datetime.combine(day, datetime.min.time(), TZ)
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    try:
        return moment if moment.tzinfo is not None and moment.astimezone(TZ) else None
    except OverflowError:
        return datetime.max.replace(tzinfo=TZ) if moment.year > 1 else datetime.min.replace(tzinfo=TZ)


@schemathesis.check
def valid_data_is_refused_only_for_what_a_document_cannot_know(ctx: Any, response: Any, case: Any) -> bool | None:
    """Where the test lets positive_data_acceptance take a 422, every problem it names must be UNKNOWABLE."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    problems = response.json().get("error", {}).get("problems", [])
    unexplained = [problem for problem in problems if not UNKNOWABLE.search(problem.get("reason", ""))]
    if not problems or unexplained:
        raise AssertionError(f"Data the document allows was refused for {unexplained or 'no stated reason'}")
    return None
