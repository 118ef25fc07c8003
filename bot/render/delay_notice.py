"""The answers to a delay notice's buttons."""

from typing import Any

from bot.i18n import Translator
from bot.render.screen import Screen


def agreed(answer: Any, t: Translator) -> Screen:
    if answer.new_ship_by is None:
        return Screen(t.gettext("Thank you for waiting. We will ship it as soon as it arrives; you can still cancel until then."))
    return Screen(
        t.gettext("Thank you for waiting. We now expect to ship it on {date}.").format(date=t.long_date(answer.new_ship_by))
    )


def already_answered(t: Translator) -> Screen:
    return Screen(t.gettext("You have already answered this notice — here is where the item stands."))


def no_longer_waiting(t: Translator) -> Screen:
    return Screen(t.gettext("This item is no longer waiting for stock — here is where it stands."))
