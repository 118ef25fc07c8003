"""The cancel confirmation and its result."""

from html import escape
from typing import Any

from bot.render.callback_data import Action, button
from bot.i18n import Translator
from bot.render.screen import Screen, inline


def confirm_cancel(preview: Any, t: Translator) -> Screen:
    """Say exactly what will be cancelled and refunded before anything happens."""
    what = t.gettext("Cancel {quantity} × {product} from order {order}?").format(
        quantity=preview.quantity, product=escape(preview.product_name), order=escape(preview.order_number)
    )
    refund = t.gettext("We will refund {amount}.").format(amount=t.money(preview.refund_minor, preview.currency))
    lines = [what, refund]
    if preview.keeps_allocated_quantity:
        lines.append(
            t.gettext("The {n} already in stock for you will still ship.").format(n=preview.keeps_allocated_quantity)
        )
    keyboard = inline(
        [(t.gettext("Yes, cancel"), button(Action.CANCEL_CONFIRM, preview.line_id))],
        [(t.gettext("No, keep waiting"), button(Action.LINE, preview.line_id))],
    )
    return Screen("\n".join(lines), keyboard)


def cancelled(result: Any, t: Translator) -> Screen:
    text = t.gettext("Done: {quantity} × {product} is cancelled. {amount} will be refunded to you.").format(
        quantity=result.cancelled_quantity,
        product=escape(result.product_name),
        amount=t.money(result.refund_minor, result.currency),
    )
    if getattr(result, "already_done", False):
        text = t.gettext("This was already cancelled.") + "\n" + text
    return Screen(text, inline([(t.gettext("« My orders"), button(Action.ORDERS))]))
