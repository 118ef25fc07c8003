"""The console's HTML: Jinja2 templates (autoescaped) from bot/web/templates, and the filters they use.

The console speaks English or German: the merchant's choice (`?lang=de`, kept in a cookie), else the browser's
`Accept-Language`. Templates mark their words with `_()` / `ngettext()`, which the catalogs translate like the
bot's own; dates and numbers are Babel's for that language.
"""

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel import Locale
from babel.core import negotiate_locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from bot.cli_command import cli_command
from bot.i18n import SUPPORTED_LANGUAGES, Phrase, Translator, translator
from bot.services.outreach.broadcasts import Audience
from bot.web import charts

STATIC_DIR = Path(__file__).parent.parent / "static"
STATIC_PREFIX = "/console/static"
LANGUAGE_COOKIE = "console_lang"
FORM_ID_FIELD = "form_id"  # makes a form act once: bot/web/console/form_once.py

# Each request is served in a task of its own, so the language set for one never leaks into another's page.
_language: ContextVar[str] = ContextVar("console_language", default="en")


def t() -> Translator:
    """Words, dates and numbers in the language of the page being rendered."""
    return translator(_language.get())


def chosen_language(request: web.Request) -> str:
    """`?lang=` if it names a language the console speaks, else the cookie, else the browser's best match."""
    for asked in (request.query.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if asked in SUPPORTED_LANGUAGES:
            return asked
    preferred = [part.split(";")[0].strip().replace("-", "_") for part in request.headers.get("Accept-Language", "").split(",")]
    return negotiate_locale([p for p in preferred if p], list(SUPPORTED_LANGUAGES), sep="_") or "en"


@web.middleware
async def console_language(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Render the page in the merchant's language; a switch with `?lang=` is remembered for a year."""
    language = chosen_language(request)
    _language.set(language)
    response = await handler(request)
    if request.query.get("lang") in SUPPORTED_LANGUAGES:
        # SameSite=None over HTTPS so the choice holds inside Telegram Web's frame too; a language is no secret.
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, path="/console", httponly=True,
            samesite="None" if request.secure else "Lax", secure=request.secure or None,
        )
    return response


def form_once() -> Markup:
    """The hidden field that makes a form act once; a new id each time the form is drawn."""
    return Markup(f'<input type="hidden" name="{FORM_ID_FIELD}" value="{secrets.token_urlsafe(18)}">')


def day(value: date | None) -> str:
    """`Fri 4 Dec 2026` / `Fr., 4. Dez. 2026`; an unknown date as a dash."""
    if value is None:
        return "–"
    return format_date(value, "EEE d MMM y" if _language.get() == "en" else "EEE, d. MMM y", locale=t().locale)


def moment(value: datetime | None, tz: ZoneInfo) -> str:
    """`4 Dec 2026, 10:15` / `4. Dez. 2026, 10:15` in the shop's time zone."""
    if value is None:
        return "–"
    local = value.astimezone(tz)
    return format_datetime(local, "d MMM y, HH:mm" if _language.get() == "en" else "d. MMM y, HH:mm", locale=t().locale)


def duration(minutes: int) -> str:
    """`45 min`, `1 h`, `3 h 05 min`, `2 d 4 h`."""
    if minutes < 60:
        return t().gettext("{minutes} min").format(minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if not minutes:
            return t().gettext("{hours} h").format(hours=hours)
        return t().gettext("{hours} h {minutes} min").format(hours=hours, minutes=f"{minutes:02d}")
    days, hours = divmod(hours, 24)
    return t().gettext("{days} d {hours} h").format(days=days, hours=hours)


def percent(share: float | None) -> str:
    return "–" if share is None else f"{round(share * 100)} %"


def money(amount_minor: int, currency: str) -> str:
    """`€49.00` / `49,00 €`."""
    return t().money(amount_minor, currency)


def amounts(by_currency: dict[str, int]) -> str:
    """Sums in several currencies as `€49.00 + £12.00`; none as a dash."""
    return " + ".join(money(amount, currency) for currency, amount in sorted(by_currency.items())) or "–"


def one_decimal(value: float | None) -> str:
    """`4.5` / `4,5`; nothing as a dash."""
    return "–" if value is None else format_decimal(value, "0.0", locale=t().locale)


def language_name(code: str) -> str:
    """`German` for `de` on an English page, `Deutsch` on a German one."""
    return Locale.parse(code).get_display_name(_language.get()) or code


def audience(chosen: Audience) -> str:
    """`SKUs HS-200, HS-120, or the category audio, or orders 1042, 1043`."""
    chosen, words = chosen.cleaned(), t()
    parts = []
    if chosen.skus:
        parts.append(words.ngettext("SKU {skus}", "SKUs {skus}", len(chosen.skus)).format(skus=", ".join(chosen.skus)))
    if chosen.category:
        parts.append(words.gettext("the category {category}").format(category=chosen.category))
    if chosen.order_numbers:
        parts.append(
            words.ngettext("order {numbers}", "orders {numbers}", len(chosen.order_numbers)).format(numbers=", ".join(chosen.order_numbers))
        )
    return words.gettext(", or ").join(parts)


def reference(value: str) -> Markup:
    """A purchase-order reference kept on one line: a narrow column would break `PO-2026-118` at its hyphens."""
    return Markup('<span class="reference">{}</span>').format(value)


def ordinal(n: int) -> str:
    """`2nd` / `2.`."""
    return t().ordinal(n)


def words(value: Phrase | str | None) -> str:
    """What a page says about an error: a domain error's phrase or one of the console's own texts, translated."""
    if value is None:
        return ""
    return t().phrase(value) if isinstance(value, Phrase) else t().gettext(value)


def _gettext(message: str) -> str:
    return t().gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return t().ngettext(singular, plural, n)


def plural(count: int, one: str, many: str | None = None) -> str:
    """`1 line`, `3 lines`."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


@cache
def static_url(name: str) -> str:
    """A static file's URL with its content hash, so a browser never runs yesterday's script against today's page."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PREFIX}/{name}?v={digest}"


def command_in_the_bots_folder(*arguments: str) -> str:
    """A `backorder-bot` command line as typed in the folder the server runs in (no absolute paths on a page)."""
    return cli_command(*arguments, folder=Path.cwd())


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a misspelt name in a template fails the page instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Old-style callables: `_()` returns plain text, which the autoescaping escapes with the values `.format` put in.
    # Where a value is markup (`| reference`), the text is escaped first: `(_("…") | e).format(…)`.
    env.install_gettext_callables(_gettext, _ngettext, newstyle=False)  # type: ignore[attr-defined]
    env.filters.update(
        day=day, moment=moment, duration=duration, percent=percent, plural=plural, ordinal=ordinal,
        language_name=language_name, audience=audience, words=words, money=money, reference=reference,
        amounts=amounts, one_decimal=one_decimal,
    )
    env.globals.update(static_url=static_url, form_once=form_once, charts=charts, command=command_in_the_bots_folder, language=_language.get)
    return env


def render(template: str, status: int = 200, **context: Any) -> web.Response:
    """The page `console_<template>.html`, as an HTML response that is never cached."""
    html = environment().get_template(f"console_{template}.html").render(**context)
    return web.Response(text=html, status=status, content_type="text/html", headers={"Cache-Control": "no-store"})
