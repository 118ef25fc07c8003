"""The customer's switch for optional updates."""

from bot.i18n import Translator
from bot.render.callback_data import Action, button
from bot.render.screen import Screen, inline


def notification_setting(enabled: bool, t: Translator) -> Screen:
    """Whether updates are on, what that covers, and the button to switch."""
    if enabled:
        state = t.gettext("Updates are <b>on</b>: I tell you when a ship date moves and when an item is ready to ship, and pass on news from the shop.")
        switch = (t.gettext("Turn updates off"), button(Action.NOTIFICATIONS, 0))
    else:
        state = t.gettext("Updates are <b>off</b>: I don't write about new ship dates, items ready to ship or news from the shop.")
        switch = (t.gettext("Turn updates on"), button(Action.NOTIFICATIONS, 1))
    always = t.gettext("Important notices — a delay you need to decide on, or a change the shop made to your order — always reach you.")
    return Screen(f"{state}\n{always}", inline([switch]))
