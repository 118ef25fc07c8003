"""Why an action is not allowed, in the words of the error itself, in the reader's language."""

from html import escape

from bot.i18n import Translator
from bot.render.screen import Screen
from bot.services.errors import DomainError


def domain_error(error: DomainError, t: Translator) -> Screen:
    # The wording is plain text with values a customer or merchant typed, and screens are HTML.
    return Screen(escape(t.phrase(error.phrase), quote=False))
