"""Server-rendered pages: HTML files in bot/web/templates/ with `$name` fields, filled in escaped."""

from functools import cache
from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static/"


class Html(str):
    """Markup our own code built, put into a page as it is (everything else is escaped)."""


@cache
def _template(name: str) -> Template:
    return Template(files("bot.web").joinpath("templates", name).read_text("utf-8"))


def render_page(name: str, **values: str) -> str:
    """The template `name` with each `$field` replaced by its value, HTML-escaped unless it is `Html`."""
    return _template(name).substitute({key: value if isinstance(value, Html) else escape(value) for key, value in values.items()})
