"""Domain errors as the customer reads them."""

from bot.i18n import Translator
from bot.services.errors import DomainError


def domain_error(error: DomainError, t: Translator) -> str:
    messages = {
        "line_not_found": t.gettext("I couldn't find that item on your orders."),
        "order_not_found": t.gettext("I couldn't find that order on your account."),
        "line_not_waiting": t.gettext("This item is no longer waiting for stock, so there is nothing to swap."),
        "alternative_not_offered": t.gettext("That alternative isn't available for this item any more."),
        "alternative_sold_out": t.gettext("Sorry, that alternative has just sold out."),
        "unsupported_language": t.gettext("Sorry, I only speak English and German."),
    }
    if error.code == "line_not_cancellable":
        return _not_cancellable(getattr(error, "status", ""), t)
    return messages.get(error.code, t.gettext("Sorry, that isn't possible for this item."))


def _not_cancellable(status: str, t: Translator) -> str:
    reasons = {
        "shipped": t.gettext("This item has already shipped, so it can't be cancelled here."),
        "allocated": t.gettext("This item is packed and ready to ship, so it can't be cancelled here."),
        "cancelled": t.gettext("This item is already cancelled."),
        "substituted": t.gettext("This item was swapped for an alternative, so it can't be cancelled."),
    }
    return reasons.get(status, t.gettext("This item can't be cancelled here."))
