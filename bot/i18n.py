"""Translations (gettext catalogs compiled with Babel at load time) and locale-aware formatting."""

import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, get_currency_precision

LOCALES_DIR = Path(__file__).parent / "locales"
SUPPORTED_LANGUAGES = ("en", "de")
DOMAIN = "messages"
NO_BREAK_SPACE = "\u00a0"
NON_BREAKING_HYPHEN = "\u2011"


def unbroken(reference: str) -> str:
    """A reference such as `PO-2026-118` kept on one line: a chat breaks lines at hyphens and spaces otherwise."""
    return reference.replace("-", NON_BREAKING_HYPHEN).replace(" ", NO_BREAK_SPACE)


def N_(text: str) -> str:  # gettext's name for this marker: the catalog extractor looks for it
    """Mark an English text for the catalogs where it is written; it is translated where it is shown."""
    return text


@dataclass(frozen=True)
class Phrase:
    """Words to show someone: an English text of the catalogs and the values of its placeholders.

    A value may itself be a phrase (translated too) or a tuple of phrases (joined with "; ").
    """

    text: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return _filled(self.text, self.params, str)


def _filled(text: str, params: Mapping[str, object], word: Callable[[Phrase], str]) -> str:
    values = {name: _value(value, word) for name, value in params.items()}
    return text.format(**values) if values else text


def _value(value: object, word: Callable[[Phrase], str]) -> object:
    if isinstance(value, Phrase):
        return word(value)
    if isinstance(value, tuple) and value and all(isinstance(part, Phrase) for part in value):
        return "; ".join(word(part) for part in value)
    return value


@lru_cache
def _catalog(tag: str) -> gettext.NullTranslations:
    """The compiled catalog for a language or a regional variant ('en_US'), which falls back to its language's.

    English is the source language, so its catalog may be empty; a variant's holds only what it words differently.
    """
    base = tag.split("_")[0]
    po_path = LOCALES_DIR / tag / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return _catalog(base) if base != tag else gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        # A broken catalog (an entry without its msgstr, left by a merge) fails here, not as a stray warning.
        catalog = read_po(po_file, locale=tag, domain=DOMAIN, abort_invalid=True)
    compiled = BytesIO()
    # Compiling here rather than shipping .mo files means a catalog can never be stale.
    write_mo(compiled, catalog)
    compiled.seek(0)
    translations = gettext.GNUTranslations(compiled)
    if base != tag:
        translations.add_fallback(_catalog(base))
    return translations


@dataclass(frozen=True)
class ShopVoice:
    """What a shop's texts say the same in every language: its English (British or American), and within how
    many days its refund sentences promise the money back."""

    english: str = "en_GB"
    refund_days: int = 14

    def translator(self, language: str | None, today: date | None = None) -> "Translator":
        """A translator for a supported language, English otherwise; `today` decides which dates show their year."""
        return Translator(
            language if language in SUPPORTED_LANGUAGES else "en", today.year if today is not None else None, self
        )


@dataclass(frozen=True)
class Translator:
    """Words, dates and money in one language, in the shop's voice.

    `this_year` is the shop's current year: a date in another year shows its year (None: no clock at hand, no
    year).
    """

    language: str
    this_year: int | None = None
    voice: ShopVoice = ShopVoice()

    @property
    def english(self) -> str:
        return self.voice.english if self.voice.english in ENGLISH_VARIANTS else "en_GB"

    @property
    def tag(self) -> str:
        """The locale the words and formats follow: 'en_GB', 'en_US' or 'de_DE'."""
        return self.english if self.language == "en" else _LOCALE_TAGS.get(self.language, self.language)

    def gettext(self, message: str) -> str:
        return _catalog(self._catalog_tag).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _catalog(self._catalog_tag).ngettext(singular, plural, n)

    def phrase(self, phrase: Phrase) -> str:
        """The phrase in this language, as plain text."""
        return _filled(self.gettext(phrase.text), phrase.params, self.phrase)

    def date(self, value: date) -> str:
        """A short date read at a glance, on one line: '4 Dec' / '4. Dez.', with the year if it is not this year's."""
        skeleton = "MMMd" if self.this_year in (None, value.year) else "yMMMd"
        return _formatted_date(skeleton, value, self.tag)

    def long_date(self, value: date) -> str:
        """A date written in full, for what a customer must decide by: 'Friday, 18 December 2026'."""
        return _formatted_date("full", value, self.tag)

    def time_of_day(self, value: time | datetime) -> str:
        """A time of day: '09:00' in British English, '9:00 AM' in American, '9:00' in German."""
        return _formatted_time(value.replace(tzinfo=None) if isinstance(value, datetime) else value, self.tag)

    def money(self, amount_minor: int, currency: str) -> str:
        return _formatted_money(amount_minor, currency, self.tag)

    def ordinal(self, n: int) -> str:
        """'3rd' in English, '3.' in German."""
        if self.language == "de":
            return f"{n}."
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix}"

    @property
    def locale(self) -> Locale:
        return _locale(self.tag)

    @property
    def _catalog_tag(self) -> str:
        return self.english if self.language == "en" else self.language


_LOCALE_TAGS = {"en": "en_GB", "de": "de_DE"}
ENGLISH_VARIANTS = ("en_GB", "en_US")


@lru_cache
def _locale(tag: str) -> Locale:
    return Locale.parse(_LOCALE_TAGS.get(tag, tag))


# Babel works a skeleton out anew on every call, which costs more than the rest of a screen; screens repeat
# the same few dates and prices, so the formatted strings are kept (each a pure function of its arguments).
@lru_cache(maxsize=4096)
def _formatted_date(skeleton: str, value: date, tag: str) -> str:
    if skeleton == "full":
        formatted = format_date(value, "full", locale=_locale(tag))
    else:
        formatted = format_skeleton(skeleton, value, locale=_locale(tag))
    # A date is one thing to read: a line break inside it ("4. / Dez.") makes it two.
    return formatted.replace(" ", NO_BREAK_SPACE)


@lru_cache(maxsize=1024)
def _formatted_time(value: time, tag: str) -> str:
    # German writes the hour without a leading zero ("9:00 Uhr"); Babel's short German time keeps it.
    pattern = "H:mm" if tag.startswith("de") else "short"
    return format_time(value, pattern, locale=_locale(tag)).replace(" ", NO_BREAK_SPACE)


@lru_cache(maxsize=4096)
def _formatted_money(amount_minor: int, currency: str, tag: str) -> str:
    precision = get_currency_precision(currency)
    return format_currency(Decimal(amount_minor).scaleb(-precision), currency, locale=_locale(tag))


def translator(language: str | None, today: date | None = None) -> Translator:
    """A translator for a supported language, English otherwise, in the default voice (see ShopVoice.translator)."""
    return ShopVoice().translator(language, today)
