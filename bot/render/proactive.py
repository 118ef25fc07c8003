"""Messages the bot sends first (from the outbox): one render function per template name.

Params are what the service stored with the message (JSON: dates as ISO strings, money in minor units);
the words are chosen here, in the customer's language, when the message is sent.
"""

from collections.abc import Callable
from datetime import date
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.render import alternatives, support
from bot.render.callback_data import Action, button
from bot.render.merchant_digest import merchant_digest
from bot.render.phrases import eta_reason_label, refund_promise, ship_date, still_ships
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
        # Only the supplier's usual lead time is a guess; the estimate belongs to the date, not the apology.
        "new": ship_date(new, params.get("basis") != "lead_time", t),
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
        t.ngettext(
            "We're sorry: our team had to cancel {quantity} × {product} from order {order}, as we cannot supply it"
            " as planned.",
            "We're sorry: our team had to cancel {quantity} × {product} from order {order}, as we cannot supply them"
            " as planned.",
            params["quantity"],
        ).format(order=escape(params["order_number"]), quantity=params["quantity"], product=escape(params["product_name"])),
        refund_promise(params["refund_minor"], params["currency"], t),
    ]
    if params.get("kept_quantity"):
        lines.append(still_ships(params["kept_quantity"], t))
    lines.append(t.gettext("Questions? Send /support."))
    return Screen("\n".join(lines), _orders_button(t))


def line_substituted(params: dict[str, Any], t: Translator) -> Screen:
    """The shop swapped an item for an in-stock alternative: for what, and any money back."""
    lines = [
        t.gettext(
            "Sorry for the change: so that you need not wait any longer, our team swapped {product} on order {order}"
            " for {new_product} (× {quantity}), which is in stock and ships soon."
        ).format(
            order=escape(params["order_number"]),
            product=escape(params["product_name"]),
            new_product=escape(params["new_product_name"]),
            quantity=params["quantity"],
        )
    ]
    if params.get("refund_minor"):
        lines.append(
            t.gettext("The replacement is cheaper.") + " " + refund_promise(params["refund_minor"], params["currency"], t)
        )
    lines.append(t.gettext("Questions? Send /support."))
    return Screen("\n".join(lines), _orders_button(t))


def delay_notice(params: dict[str, Any], t: Translator) -> Screen:
    """The legal delay notice: the date missed, the new date, the choice to wait or cancel, and what silence means.

    Under the `eu` rule silence never cancels (`respond_by` is then always empty).
    """
    new = _maybe_day(params.get("new_ship_by"))
    respond_by = _maybe_day(params.get("respond_by"))
    amount = t.money(params["refund_minor"], params["currency"])
    lines = [
        "<b>" + t.gettext("Shipping delay — order {order}").format(order=escape(params["order_number"])) + "</b>",
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
    lines.append(t.gettext("You can keep waiting, or cancel the item now and get {amount} back.").format(amount=amount))
    if respond_by is not None:
        lines.append(
            t.gettext("Unless you tell us by {date} that you will wait, we will cancel the item and refund {amount}.").format(
                date=t.long_date(respond_by), amount=amount
            )
        )
    elif params.get("rule") == "eu":
        lines.append(t.gettext("If you don't answer, nothing changes: the item keeps waiting for you."))
    elif new is not None:
        lines.append(t.gettext("If we don't hear from you, we'll assume you agree to wait until {date}.").format(date=t.long_date(new)))
    else:
        lines.append(t.gettext("If we don't hear from you, we'll assume you agree to wait."))
    if new is None or params.get("rule") == "eu":
        lines.append(t.gettext("If you wait, you can still cancel at any time until the item ships."))
    notice = params["notice_id"]
    keyboard = inline(
        [(t.gettext("Yes, I'll wait"), button(Action.DELAY_AGREE, notice))],
        [(t.gettext("Cancel and get my money back"), button(Action.DELAY_CANCEL, notice))],
    )
    return Screen("\n".join(lines), keyboard)


def delay_auto_cancelled(params: dict[str, Any], t: Translator) -> Screen:
    """No consent to a further delay by its deadline (`ftc` rule only): the item was cancelled and is refunded."""
    lines = [
        t.gettext(
            "Order {order}: as we did not hear by {date} that you would wait longer, we have cancelled"
            " {quantity} × {product}."
        ).format(
            order=escape(params["order_number"]),
            date=t.long_date(_day(params["respond_by"])),
            quantity=params["quantity"],
            product=escape(params["product_name"]),
        ),
        refund_promise(params["refund_minor"], params["currency"], t),
    ]
    if params.get("kept_quantity"):
        lines.append(still_ships(params["kept_quantity"], t))
    return Screen("\n".join(lines), _orders_button(t))


def rate_request(params: dict[str, Any], t: Translator) -> Screen:
    """An agent closed the customer's ticket: how would they rate the help?"""
    return support.rate_request(params["ticket_id"], t)


def alternatives_offered(params: dict[str, Any], t: Translator) -> Screen:
    """An agent sent the alternatives for an item: the customer's ordinary alternatives screen, with its buttons."""
    offered = [Alternative(**alternative) for alternative in params["alternatives"]]
    return alternatives.alternatives_list(AlternativesResult(**(params | {"alternatives": offered})), t)


def line_shipped(params: dict[str, Any], t: Translator) -> Screen:
    """The shop shipped items of an order: what, when, with which carrier, and a button to track the parcel."""
    items = ", ".join(f"{item['quantity']} × {escape(item['product_name'])}" for item in params["items"])
    values = {"order": escape(params["order_number"]), "items": items, "day": t.date(_day(params["shipped_on"]))}
    if params.get("carrier"):
        text = t.gettext("Order {order} is on its way: {items} shipped on {day} with {carrier}.").format(
            carrier=escape(params["carrier"]), **values
        )
    else:
        text = t.gettext("Order {order} is on its way: {items} shipped on {day}.").format(**values)
    if params.get("tracking_number"):
        text += "\n" + t.gettext("Tracking number: {number}").format(number=escape(params["tracking_number"]))
    rows = [[InlineKeyboardButton(t.gettext("Track parcel"), url=params["tracking_url"])]] if params.get("tracking_url") else []
    rows.append([InlineKeyboardButton(t.gettext("My orders"), callback_data=button(Action.ORDERS))])
    return Screen(text, InlineKeyboardMarkup(rows))


def refund_paid(params: dict[str, Any], t: Translator) -> Screen:
    """The shop paid a refund: the money is on its way."""
    text = t.gettext("Order {order}: we have paid your refund of {amount} for {product}. It is on its way to you.").format(
        order=escape(params["order_number"]),
        amount=t.money(params["refund_minor"], params["currency"]),
        product=escape(params["product_name"]),
    )
    return Screen(text, _orders_button(t))


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
    "line_shipped": line_shipped,
    "refund_paid": refund_paid,
    "merchant_digest": merchant_digest,
}


class UnknownTemplate(KeyError):
    """An outbox row names a template this version cannot render."""


def render_outgoing(template: str, params: dict[str, Any], t: Translator) -> Screen:
    """The screen for an outbox message, in its language."""
    try:
        render = TEMPLATES[template]
    except KeyError as missing:
        raise UnknownTemplate(template) from missing
    return render(params, t)


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
