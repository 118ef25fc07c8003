"""Every sentence the bot can say exists in German, with the same placeholders as in English."""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import bot
from bot.i18n import LOCALES_DIR, translator

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _messages_in_code() -> set[str | tuple[str, str]]:
    found = extract_from_dir(
        Path(bot.__file__).parent,
        method_map=[("**.py", "python"), ("web/templates/console_*.html", "jinja2.ext:babel_extract")],
        keywords={"gettext": None, "ngettext": (1, 2), "N_": None, "_": None},
    )
    messages = {message for _file, _line, message, _comments, _context in found}
    # An extractor that finds nothing (a changed keyword, a wrong folder) would make every check below pass.
    assert "My orders" in messages and len(messages) > 100, f"the extractor found only {len(messages)} messages"
    return messages


def test_every_message_in_the_code_has_a_german_translation() -> None:
    with (LOCALES_DIR / "de" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        catalog = read_po(po_file, locale="de")
    untranslated = []
    for message in _messages_in_code():
        entry = catalog.get(message if isinstance(message, str) else message[0])
        strings = entry.string if entry else None
        if not strings or (isinstance(strings, tuple) and not all(strings)):
            untranslated.append(message)
    assert untranslated == []


def test_every_catalog_reads_without_a_problem() -> None:
    catalogs = sorted(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po"))
    assert len(catalogs) >= 3
    for path in catalogs:
        with path.open("rb") as po_file:
            read_po(po_file, abort_invalid=True)  # raises PoFileError naming the line


def test_german_keeps_every_placeholder() -> None:
    german = translator("de")
    for message in _messages_in_code():
        english = message if isinstance(message, str) else message[1]
        translated = german.gettext(english) if isinstance(message, str) else german.ngettext(*message, 2)
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(english)), english


def test_dates_and_money_follow_the_locale() -> None:
    from datetime import date

    assert translator("en").money(1999, "EUR") == "€19.99"
    assert translator("de").money(1999, "EUR") == "19,99\xa0€"
    assert translator("de").date(date(2026, 12, 4)) == "4.\xa0Dez."
    assert translator("en").ordinal(3) == "3rd" and translator("en").ordinal(12) == "12th"
