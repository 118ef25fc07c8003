"""Messages the bot sends first (from the outbox): one render function per template name.

Params are what the service stored with the message (JSON: dates as ISO strings, money in minor units);
the words are chosen here, in the customer's language, when the message is sent.
"""

from collections.abc import Callable
from datetime import date
from html import escape
from typing import Any

from telegram import InlineKeyboardMarkup

from bot.i18n import Translator, translator
from bot.render import alternatives, support
from bot.render.callback_data import Action, button
from bot.render.phrases import eta_reason_label
from bot.render.screen import Screen, inline
from bot.services.backorders.alternatives import Alternative, AlternativesResult

Template = Callable[[dict[str, Any], Translator], Screen]


def broadcast(params: dict[str, Any], t: Translator) -> Screen:
    """A merchant's broadcast: their text, already in the customer's language."""
    return Screen(escape(params["text"]))


def eta_moved(params: dict[str, Any], t: Translator) -> Screen:
    """An item's expected ship date moved, from when to when, and why."""
    old, new = _day(params["old_eta"]), _day(params["new_eta"])
    values = {
        "order": escape(params["order_number"]),
        "product": escape(params["product_name"]),
        "old": t.date(old),
        "new": t.date(new),
        "reason": eta_reason_label(params["reason"], t),
    }
    if new < old:
        text = t.gettext(
            "Good news about order {order}: {product} is now expected to ship earlier, on {new} (instead of {old}),"
            " because {reason}."
        ).format(**values)
    else:
        text = t.gettext(
            "Order {order}: {product} is now expected to ship on {new} instead of {old}, because {reason}."
            " Sorry for the longer wait."
        ).format(**values)
    if params.get("basis") == "lead_time":
        text += t.gettext(" (estimated)")
    return Screen(text, _item_buttons(params, t))


def ready_to_ship(params: dict[str, Any], t: Translator) -> Screen:
    """What the customer waited for has arrived."""
    text = t.gettext("Good news: {product} from order {order} is in stock and ready to ship.").format(
        product=escape(params["product_name"]), order=escape(params["order_number"])
    )
    return Screen(text, _orders_button(t))


def line_cancelled(params: dict[str, Any], t: Translator) -> Screen:
    """The shop cancelled an item (not the customer themselves): what and the refund."""
    lines = [
        t.gettext("Order {order}: {quantity} × {product} has been cancelled by our team. {amount} will be refunded to you.").format(
            order=escape(params["order_number"]),
            quantity=params["quantity"],
            product=escape(params["product_name"]),
            amount=t.money(params["refund_minor"], params["currency"]),
        )
    ]
    if params.get("kept_quantity"):
        lines.append(t.gettext("The {n} already in stock for you will still ship.").format(n=params["kept_quantity"]))
    lines.append(t.gettext("Questions? Send /support."))
    return Screen("\n".join(lines), _orders_button(t))


def line_substituted(params: dict[str, Any], t: Translator) -> Screen:
    """The shop swapped an item for an in-stock alternative: for what, and any money back."""
    lines = [
        t.gettext("Order {order}: our team swapped {product} for {new_product} (× {quantity}), which is in stock and ships soon.").format(
            order=escape(params["order_number"]),
            product=escape(params["product_name"]),
            new_product=escape(params["new_product_name"]),
            quantity=params["quantity"],
        )
    ]
    if params.get("refund_minor"):
        lines.append(
            t.gettext("It is cheaper: {amount} will be refunded to you.").format(
                amount=t.money(params["refund_minor"], params["currency"])
            )
        )
    lines.append(t.gettext("Questions? Send /support."))
    return Screen("\n".join(lines), _orders_button(t))


def delay_notice(params: dict[str, Any], t: Translator) -> Screen:
    """The legal delay notice: the date missed, the new date, the choice to wait or cancel, and what silence means."""
    new = _maybe_day(params.get("new_ship_by"))
    respond_by = _maybe_day(params.get("respond_by"))
    amount = t.money(params["refund_minor"], params["currency"])
    lines = [
        "<b>" + t.gettext("Delivery delay — order {order}").format(order=escape(params["order_number"])) + "</b>",
        t.gettext("We're sorry: we cannot ship {quantity} × {product} by {promised} as promised.").format(
            quantity=params["quantity"],
            product=escape(params["product_name"]),
            promised=t.long_date(_day(params["promised_ship_by"])),
        ),
    ]
    if new is not None:
        lines.append(t.gettext("The new expected ship date is {date}.").format(date=t.long_date(new)))
    else:
        lines.append(t.gettext("We cannot give you a new ship date yet: our supplier has not confirmed a delivery."))
    lines.append(t.gettext("You can agree to wait, or cancel it now for a full refund of {amount}.").format(amount=amount))
    if respond_by is None:
        lines.append(
            t.gettext("If we don't hear from you, we will take it that you agree to wait until {date}.").format(
                date=t.long_date(new)
            )
            if new is not None
            else t.gettext("If we don't hear from you, we will take it that you agree to wait.")
        )
    else:
        lines.append(
            t.gettext(
                "Unless you tell us by {date} that you agree to wait, we will cancel it and refund {amount} in full."
            ).format(date=t.long_date(respond_by), amount=amount)
        )
    if new is None:
        lines.append(t.gettext("If you agree to wait, you can still cancel at any time until it ships."))
    notice = params["notice_id"]
    keyboard = inline(
        [(t.gettext("Agree to wait"), button(Action.DELAY_AGREE, notice))],
        [(t.gettext("Cancel for a full refund"), button(Action.DELAY_CANCEL, notice))],
    )
    return Screen("\n".join(lines), keyboard)


def delay_auto_cancelled(params: dict[str, Any], t: Translator) -> Screen:
    """No consent to a further delay by its deadline: the item was cancelled and is refunded in full."""
    lines = [
        t.gettext(
            "Order {order}: as we did not hear by {date} that you would wait longer, we have cancelled"
            " {quantity} × {product}. {amount} will be refunded to you in full."
        ).format(
            order=escape(params["order_number"]),
            date=t.long_date(_day(params["respond_by"])),
            quantity=params["quantity"],
            product=escape(params["product_name"]),
            amount=t.money(params["refund_minor"], params["currency"]),
        )
    ]
    if params.get("kept_quantity"):
        lines.append(t.gettext("The {n} already in stock for you will still ship.").format(n=params["kept_quantity"]))
    return Screen("\n".join(lines), _orders_button(t))


def rate_request(params: dict[str, Any], t: Translator) -> Screen:
    """An agent closed the customer's ticket: how would they rate the help?"""
    return support.rate_request(params["ticket_id"], t)


def alternatives_offered(params: dict[str, Any], t: Translator) -> Screen:
    """An agent sent the alternatives for an item: the customer's ordinary alternatives screen, with its buttons."""
    offered = [Alternative(**alternative) for alternative in params["alternatives"]]
    return alternatives.alternatives_list(AlternativesResult(**(params | {"alternatives": offered})), t)


TEMPLATES: dict[str, Template] = {
    "broadcast": broadcast,
    "eta_moved": eta_moved,
    "ready_to_ship": ready_to_ship,
    "line_cancelled": line_cancelled,
    "line_substituted": line_substituted,
    "delay_notice": delay_notice,
    "delay_auto_cancelled": delay_auto_cancelled,
    "rate_request": rate_request,
    "alternatives_offered": alternatives_offered,
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


def _day(value: str) -> date:
    return date.fromisoformat(value)


def _maybe_day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _item_buttons(params: dict[str, Any], t: Translator) -> InlineKeyboardMarkup:
    return inline(
        [(t.gettext("Details"), button(Action.LINE, params["line_id"]))],
        [(t.gettext("My orders"), button(Action.ORDERS))],
    )


def _orders_button(t: Translator) -> InlineKeyboardMarkup:
    return inline([(t.gettext("My orders"), button(Action.ORDERS))])
