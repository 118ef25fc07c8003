"""The order list and one backordered item's card, with its ETA explained in plain words."""

from html import escape as _escape
from typing import Any

from bot.render.callback_data import Action, button
from bot.i18n import Translator
from bot.render.screen import Screen, inline
from db.models import EtaBasis, LineStatus

MAX_LIST_BUTTONS = 20


def status_label(status: LineStatus, t: Translator) -> str:
    labels = {
        LineStatus.BACKORDERED: t.gettext("waiting for stock"),
        LineStatus.PARTIALLY_ALLOCATED: t.gettext("partly in stock"),
        LineStatus.ALLOCATED: t.gettext("ready to ship"),
        LineStatus.SHIPPED: t.gettext("shipped"),
        LineStatus.CANCELLED: t.gettext("cancelled"),
        LineStatus.SUBSTITUTED: t.gettext("swapped for an alternative"),
    }
    return labels[status]


def eta_reason_label(reason: str, t: Translator) -> str:
    labels = {
        "purchase_order_added": t.gettext("a supplier shipment was booked"),
        "purchase_order_moved": t.gettext("the supplier moved its shipment"),
        "purchase_order_cancelled": t.gettext("the supplier cancelled a shipment"),
        "purchase_order_received": t.gettext("a supplier shipment arrived"),
        "stock_changed": t.gettext("our stock changed"),
        "queue_changed": t.gettext("orders ahead of yours changed"),
        "orders_imported": t.gettext("new orders came in"),
        "recalculated": t.gettext("we recalculated delivery dates"),
    }
    return labels.get(reason, t.gettext("we recalculated delivery dates"))


def eta_explanation(line: Any, t: Translator) -> str:
    """'Supplier shipment due 4 Dec — you are 3rd of 12 in line. Expected to ship 5 Dec (confirmed).'"""
    if line.eta is None:
        return t.gettext("We don't know the delivery date yet.")
    place = t.gettext("you are {place} of {size} in line").format(
        place=t.ordinal(line.queue_position), size=line.queue_size
    )
    if line.eta_basis == EtaBasis.PURCHASE_ORDER and line.purchase_order_expected_on:
        return t.gettext("Supplier shipment due {arrival} — {place}. Expected to ship {eta} (confirmed).").format(
            arrival=t.date(line.purchase_order_expected_on), place=place, eta=t.date(line.eta)
        )
    if line.eta_basis == EtaBasis.IN_STOCK:
        return t.gettext("Back in stock — expected to ship {eta}.").format(eta=t.date(line.eta))
    return t.gettext(
        "No supplier shipment is booked yet — {place}. Estimated from the supplier's usual delivery time: around {eta}."
    ).format(place=place, eta=t.date(line.eta))


def last_change(line: Any, t: Translator) -> str | None:
    # The first ETA a line gets is no change worth explaining; a move from one date to another is.
    change = next((c for c in line.eta_history if c.old is not None), None)
    if change is None:
        return None
    old = t.date(change.old) if change.old else "–"
    new = t.date(change.new) if change.new else "–"
    return t.gettext("Last change: {old} → {new}, because {reason}.").format(
        old=old, new=new, reason=eta_reason_label(change.reason, t)
    )


def item_title(line: Any) -> str:
    return f"{line.product_name} × {line.quantity}"


def order_list(waiting: list[Any], resolved: list[Any], t: Translator) -> Screen:
    """All waiting items as buttons, plus what was resolved lately."""
    if not waiting and not resolved:
        return Screen(t.gettext("Good news: nothing on your orders is waiting for stock."))
    parts: list[str] = []
    if waiting:
        parts.append(
            t.ngettext("<b>{n} item is waiting for stock</b>", "<b>{n} items are waiting for stock</b>", len(waiting)).format(
                n=len(waiting)
            )
        )
        for line in waiting:
            eta = t.date(line.eta) if line.eta else "?"
            # Stock on hand or a supplier shipment confirms a date; only the usual lead time is a guess.
            estimated = "" if line.eta and line.eta_confirmed else t.gettext(" (estimated)")
            parts.append(
                t.gettext("• {item} — order {order} — expected {eta}{estimated}").format(
                    item=_escape(item_title(line)), order=_escape(line.order_number), eta=eta, estimated=estimated
                )
            )
    if resolved:
        parts.append("\n" + t.gettext("<b>Recently resolved</b>"))
        for line in resolved:
            parts.append(f"• {_escape(item_title(line))} — {status_label(line.status, t)}")
    if waiting:
        parts.append("\n" + t.gettext("Tap an item to see details, cancel it or pick an alternative."))
    rows = [[(_short(item_title(line)), button(Action.LINE, line.line_id))] for line in waiting[:MAX_LIST_BUTTONS]]
    return Screen("\n".join(parts), inline(*rows) if rows else None)


def backorder_card(line: Any, t: Translator) -> Screen:
    """One item: status, ETA with its basis, the last change and why; the actions a customer can take."""
    lines = [
        f"<b>{_escape(item_title(line))}</b>",
        t.gettext("Order {order} · {status}").format(order=_escape(line.order_number), status=status_label(line.status, t)),
    ]
    if line.status == LineStatus.PARTIALLY_ALLOCATED:
        lines.append(
            t.gettext("{ready} ready to ship, {waiting} still waiting.").format(
                ready=line.allocated_quantity, waiting=line.open_quantity
            )
        )
    lines.append(
        t.ngettext("Waiting for {n} day.", "Waiting for {n} days.", line.days_waiting).format(n=line.days_waiting)
    )
    lines.append(eta_explanation(line, t))
    change = last_change(line, t)
    if change:
        lines.append(change)
    keyboard = inline(
        [
            (t.gettext("Cancel"), button(Action.CANCEL_ASK, line.line_id)),
            (t.gettext("Alternatives"), button(Action.ALTERNATIVES, line.line_id)),
        ],
        [(t.gettext("Talk to a person"), button(Action.HUMAN, line.line_id))],
        [(t.gettext("« Back"), button(Action.ORDERS))],
    )
    return Screen("\n".join(lines), keyboard)


def resolved_card(line: Any, t: Translator) -> Screen:
    """A line that no longer waits: say what became of it."""
    text = "\n".join(
        [
            f"<b>{_escape(item_title(line))}</b>",
            t.gettext("Order {order} · {status}").format(order=_escape(line.order_number), status=status_label(line.status, t)),
        ]
    )
    return Screen(text, inline([(t.gettext("« Back"), button(Action.ORDERS))]))


def _short(label: str, limit: int = 40) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
