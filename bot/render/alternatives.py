"""In-stock alternatives for a waiting item, the swap confirmation and its result."""

from html import escape
from typing import Any

from bot.i18n import Translator
from bot.render.callback_data import Action, button
from bot.render.phrases import refund_promise
from bot.render.screen import Screen, inline


def price_note(alternative: Any, t: Translator) -> str:
    """What the swap does to the price: "€10.00 cheaper — we refund the difference", or "same price"."""
    if alternative.refund_minor:
        return t.gettext("{amount} cheaper — we refund the difference").format(
            amount=t.money(alternative.refund_minor, alternative.currency)
        )
    if alternative.price_difference_minor > 0:
        return t.gettext("{amount} more — we cover the difference").format(
            amount=t.money(alternative.price_difference_minor, alternative.currency)
        )
    return t.gettext("same price")


def alternatives_list(result: Any, t: Translator) -> Screen:
    back = [(t.gettext("« Back"), button(Action.LINE, result.line_id))]
    if not result.alternatives:
        text = "\n".join(
            [
                t.gettext("Sorry, there is no in-stock alternative for this item right now."),
                t.gettext("A person from our team can look for one with you."),
            ]
        )
        return Screen(text, inline([(t.gettext("Talk to a person"), button(Action.HUMAN, result.line_id))], back))
    lines = [t.gettext("These can ship now instead:")]
    rows = []
    for alternative in result.alternatives:
        lines.append(
            "• <b>{name}</b> — {price} ({note})".format(
                name=escape(alternative.name),
                price=t.money(alternative.unit_price_minor, alternative.currency),
                note=price_note(alternative, t),
            )
        )
        rows.append([(alternative.name[:40], button(Action.PICK_ASK, result.line_id, alternative.product_id))])
    return Screen("\n".join(lines), inline(*rows, back))


def confirm_pick(line_id: int, alternative: Any, t: Translator) -> Screen:
    text = "\n".join(
        [
            t.gettext("Swap your item for <b>{name}</b>?").format(name=escape(alternative.name)),
            _sentence(price_note(alternative, t)),
            t.gettext("It is in stock and ships right away."),
        ]
    )
    keyboard = inline(
        [(t.gettext("Yes, swap it"), button(Action.PICK_CONFIRM, line_id, alternative.product_id))],
        [(t.gettext("« Back"), button(Action.ALTERNATIVES, line_id))],
    )
    return Screen(text, keyboard)


def _sentence(phrase: str) -> str:
    # Not str.capitalize(): it lower-cases the rest, and German nouns keep their capitals.
    return phrase[:1].upper() + phrase[1:] + "."


def swapped(result: Any, t: Translator) -> Screen:
    lines = [
        t.gettext("Done: you now get {quantity} × <b>{name}</b> on order {order}. It is ready to ship.").format(
            quantity=result.quantity, name=escape(result.product_name), order=escape(result.order_number)
        )
    ]
    if result.refund_minor:
        lines.append(refund_promise(result.refund_minor, result.currency, t))
    return Screen("\n".join(lines), inline([(t.gettext("« My orders"), button(Action.ORDERS))]))
