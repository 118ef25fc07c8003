"""The cancel confirmation and its result."""

from html import escape
from typing import Any

from bot.i18n import Translator
from bot.render.callback_data import Action, button
from bot.render.phrases import quantity_cancelled, refund_promise, still_ships
from bot.render.screen import Screen, inline


def confirm_cancel(preview: Any, t: Translator) -> Screen:
    """Say exactly what will be cancelled and refunded before anything happens."""
    what = t.gettext("Cancel {quantity} × {product} from order {order}?").format(
        quantity=preview.quantity, product=escape(preview.product_name), order=escape(preview.order_number)
    )
    lines = [what, refund_promise(preview.refund_minor, preview.currency, t)]
    if preview.keeps_allocated_quantity:
        lines.append(still_ships(preview.keeps_allocated_quantity, t))
    keyboard = inline(
        [(t.gettext("Yes, cancel"), button(Action.CANCEL_CONFIRM, preview.line_id))],
        [(t.gettext("No, keep waiting"), button(Action.LINE, preview.line_id))],
    )
    return Screen("\n".join(lines), keyboard)


def cancelled(result: Any, t: Translator) -> Screen:
    text = (
        t.gettext("Done:")
        + " "
        + quantity_cancelled(result.cancelled_quantity, escape(result.product_name), t)
        + " "
        + refund_promise(result.refund_minor, result.currency, t)
    )
    if getattr(result, "already_done", False):
        text = t.gettext("This was already cancelled.") + "\n" + text
    return Screen(text, inline([(t.gettext("« My orders"), button(Action.ORDERS))]))
