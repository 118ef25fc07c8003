"""The console's HTML: Jinja2 templates (autoescaped) from bot/web/templates, and the filters they use."""

import hashlib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel import Locale
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.cli_command import cli_command
from bot.i18n import translator
from bot.services.outreach.broadcasts import Audience
from bot.web import charts

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/console/static"


def day(value: date | None) -> str:
    """`Fri 4 Dec 2026`; an unknown date as a dash."""
    return f"{value:%a} {value.day} {value:%b %Y}" if value else "–"


def moment(value: datetime | None, tz: ZoneInfo) -> str:
    """`4 Dec 2026, 10:15` in the shop's time zone."""
    if value is None:
        return "–"
    local = value.astimezone(tz)
    return f"{local.day} {local:%b %Y, %H:%M}"


def duration(minutes: int) -> str:
    """`45 min`, `1 h`, `3 h 05 min`, `2 d 4 h`."""
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def percent(share: float | None) -> str:
    return "–" if share is None else f"{round(share * 100)} %"


def language_name(code: str) -> str:
    """`German` for `de`."""
    return Locale.parse(code).get_display_name("en") or code


def audience(chosen: Audience) -> str:
    """`SKUs HS-200, HS-120, or the category audio, or orders 1042, 1043`."""
    chosen = chosen.cleaned()
    parts = []
    if chosen.skus:
        parts.append(("SKU " if len(chosen.skus) == 1 else "SKUs ") + ", ".join(chosen.skus))
    if chosen.category:
        parts.append(f"the category {chosen.category}")
    if chosen.order_numbers:
        parts.append(("order " if len(chosen.order_numbers) == 1 else "orders ") + ", ".join(chosen.order_numbers))
    return ", or ".join(parts)


def ordinal(n: int) -> str:
    """`2nd`, `3rd`, `11th`."""
    return translator("en").ordinal(n)


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
    )
    env.filters.update(
        day=day, moment=moment, duration=duration, percent=percent, plural=plural, ordinal=ordinal,
        language_name=language_name, audience=audience,
    )
    env.globals.update(static_url=static_url, charts=charts, command=command_in_the_bots_folder)
    return env


def render(template: str, status: int = 200, **context: Any) -> web.Response:
    """The page `console_<template>.html`, as an HTML response that is never cached."""
    html = environment().get_template(f"console_{template}.html").render(**context)
    return web.Response(text=html, status=status, content_type="text/html", headers={"Cache-Control": "no-store"})
