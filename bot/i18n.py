"""Translations (gettext catalogs compiled with Babel at load time) and locale-aware formatting."""

import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, get_currency_precision

LOCALES_DIR = Path(__file__).parent / "locales"
SUPPORTED_LANGUAGES = ("en", "de")
DOMAIN = "messages"


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
def _catalog(language: str) -> gettext.NullTranslations:
    """The compiled catalog for a language; English is the source language, so its catalog may be empty."""
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    # Compiling here rather than shipping .mo files means a catalog can never be stale.
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@dataclass(frozen=True)
class Translator:
    """Words, dates and money in one language."""

    language: str

    def gettext(self, message: str) -> str:
        return _catalog(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _catalog(self.language).ngettext(singular, plural, n)

    def phrase(self, phrase: Phrase) -> str:
        """The phrase in this language, as plain text."""
        return _filled(self.gettext(phrase.text), phrase.params, self.phrase)

    def date(self, value: date) -> str:
        """A short date a customer reads at a glance: '4 Dec' / '4. Dez.'."""
        return _formatted_date("MMMd", value, self.language)

    def long_date(self, value: date) -> str:
        return _formatted_date("yMMMEd", value, self.language)

    def money(self, amount_minor: int, currency: str) -> str:
        return _formatted_money(amount_minor, currency, self.language)

    def ordinal(self, n: int) -> str:
        """'3rd' in English, '3.' in German."""
        if self.language == "de":
            return f"{n}."
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix}"

    @property
    def locale(self) -> Locale:
        return _locale(self.language)


@lru_cache
def _locale(language: str) -> Locale:
    return Locale.parse({"en": "en_GB", "de": "de_DE"}.get(language, language))


# Babel works a skeleton out anew on every call, which costs more than the rest of a screen; screens repeat
# the same few dates and prices, so the formatted strings are kept (each a pure function of its arguments).
@lru_cache(maxsize=4096)
def _formatted_date(skeleton: str, value: date, language: str) -> str:
    return format_skeleton(skeleton, value, locale=_locale(language))


@lru_cache(maxsize=4096)
def _formatted_money(amount_minor: int, currency: str, language: str) -> str:
    precision = get_currency_precision(currency)
    return format_currency(Decimal(amount_minor).scaleb(-precision), currency, locale=_locale(language))


def translator(language: str | None) -> Translator:
    """A translator for a supported language, English otherwise."""
    return Translator(language if language in SUPPORTED_LANGUAGES else "en")
