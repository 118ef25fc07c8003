"""Messages the bot sends first (from the outbox): one render function per template name."""

from collections.abc import Callable
from html import escape
from typing import Any

from bot.i18n import Translator, translator
from bot.render.screen import Screen

Template = Callable[[dict[str, Any], Translator], Screen]


def broadcast(params: dict[str, Any], t: Translator) -> Screen:
    """A merchant's broadcast: their text, already in the customer's language."""
    return Screen(escape(params["text"]))


TEMPLATES: dict[str, Template] = {
    "broadcast": broadcast,
}


class UnknownTemplate(KeyError):
    """An outbox row names a template this version cannot render."""


def render_outgoing(template: str, params: dict[str, Any], language: str) -> Screen:
    """The screen for an outbox message, in its language."""
    try:
        render = TEMPLATES[template]
    except KeyError as missing:
        raise UnknownTemplate(template) from missing
    return render(params, translator(language))
