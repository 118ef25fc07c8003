"""The words screens share: an item's title and status, its ETA explained, why a date moved, a ticket's topic,
how long something takes. Each returns a phrase for a screen to use, never a whole message."""

from datetime import date
from typing import Any

from bot.i18n import Translator
from db.models import EtaBasis, LineStatus

MAX_TOPIC_NAME = 128  # Telegram's limit


def item_title(line: Any) -> str:
    return f"{line.product_name} × {line.quantity}"


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
        "queue_changed": t.gettext("orders ahead of yours were cancelled or changed"),
        "orders_imported": t.gettext("earlier orders were added"),
        "recalculated": t.gettext("we recalculated ship dates"),
        "supplier_record": t.gettext("the supplier's recent deliveries changed our estimate"),
    }
    return labels.get(reason, t.gettext("we recalculated ship dates"))


def ship_date(eta: date | None, confirmed: bool, t: Translator) -> str:
    """The ship date with how sure it is, to stand mid-sentence: '4 Dec', 'around 14 Jan (estimated)'."""
    if eta is None:
        return t.gettext("date not known yet")
    if confirmed:
        return t.date(eta)
    return t.gettext("around {date} (estimated)").format(date=t.date(eta))


def queue_place(line: Any, t: Translator) -> str:
    return t.gettext("you are number {n} of {size} in the queue").format(n=line.queue_position, size=line.queue_size)


def eta_explanation(line: Any, t: Translator) -> str:
    """'Supplier delivery due 4 Dec – you are number 3 of 12 in the queue. Expected to ship on 5 Dec (supplier date confirmed).'"""
    if line.eta is None:
        return t.gettext("We don't know the ship date yet.")
    if line.eta_basis == EtaBasis.PURCHASE_ORDER and line.purchase_order_expected_on and _slips(line):
        return t.ngettext(
            "Supplier shipment due {arrival}; this supplier has recently been about {days} day late, so we expect to"
            " ship by {eta} — {place}.",
            "Supplier shipment due {arrival}; this supplier has recently been about {days} days late, so we expect to"
            " ship by {eta} — {place}.",
            line.supplier_slip_days,
        ).format(
            arrival=t.date(line.purchase_order_expected_on),
            days=line.supplier_slip_days,
            eta=t.date(line.eta),
            place=queue_place(line, t),
        )
    if line.eta_basis == EtaBasis.PURCHASE_ORDER and line.purchase_order_expected_on:
        return t.gettext(
            "Supplier delivery due {arrival} — {place}. Expected to ship on {eta} (supplier date confirmed)."
        ).format(arrival=t.date(line.purchase_order_expected_on), place=queue_place(line, t), eta=t.date(line.eta))
    if line.eta_basis == EtaBasis.IN_STOCK:
        return t.gettext("Back in stock — expected to ship on {eta}.").format(eta=t.date(line.eta))
    return t.gettext(
        "No supplier delivery is booked yet — {place}. Judging by the supplier's usual delivery time, it should be"
        " ready to ship around {eta} (estimated)."
    ).format(place=queue_place(line, t), eta=t.date(line.eta))


def _slips(line: Any) -> bool:
    """The ETA allows for the supplier's usual lateness (lines of other screens may not know it)."""
    return bool(getattr(line, "supplier_slip_days", None))


def topic_name(context: Any, t: Translator) -> str:
    """'#42 · Anna K. · order 1042', within Telegram's 128 characters."""
    orders = _orders_named(context)
    parts = [f"#{context.ticket.id}", short_name(context.ticket.customer_name)]
    if len(orders) == 1:
        parts.append(t.gettext("order {order}").format(order=orders[0]))
    elif orders:
        parts.append(t.gettext("orders {orders}").format(orders=", ".join(orders)))
    name = " · ".join(parts)
    return name if len(name) <= MAX_TOPIC_NAME else name[: MAX_TOPIC_NAME - 1] + "…"


def short_name(full_name: str) -> str:
    """'Anna Klein' → 'Anna K.'"""
    words = full_name.split()
    if len(words) < 2:
        return full_name.strip() or "?"
    return f"{words[0]} {words[-1][0]}."


def _orders_named(context: Any) -> list[str]:
    """The orders a topic is named after: the one the escalation is about, else those with waiting items."""
    if context.reason_line is not None:
        return [context.reason_line.order_number]
    waiting = list(dict.fromkeys(line.order_number for line in context.waiting))
    return waiting or [order.number for order in context.orders[:1]]


def duration(minutes: int, t: Translator) -> str:
    if minutes < 60:
        return t.ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)
    hours = -(-minutes // 60)  # rounded up: a promise should not be early
    return t.ngettext("{n} hour", "{n} hours", hours).format(n=hours)


def language_name(language: str | None, t: Translator) -> str:
    """A language named in the reader's language: 'German' in English, „Englisch“ in German."""
    names = {"en": t.gettext("English"), "de": t.gettext("German")}
    return names.get(language or "", t.gettext("unknown"))


def refund_promise(amount_minor: int, currency: str, t: Translator) -> str:
    """What happens to the money, and by when: the shop's refund time, to the way the customer paid."""
    days = t.voice.refund_days
    return t.ngettext(
        "We'll refund {amount} to your original payment method within {days} day.",
        "We'll refund {amount} to your original payment method within {days} days.",
        days,
    ).format(amount=t.money(amount_minor, currency), days=days)


def quantity_cancelled(quantity: int, product: str, t: Translator) -> str:
    """'2 × Headphones are cancelled.' – the verb agrees with the count."""
    return t.ngettext("{quantity} × {product} is cancelled.", "{quantity} × {product} are cancelled.", quantity).format(
        quantity=quantity, product=product
    )


def still_ships(quantity: int, t: Translator) -> str:
    return t.ngettext(
        "The {n} unit already reserved for you will still ship.",
        "The {n} units already reserved for you will still ship.",
        quantity,
    ).format(n=quantity)


def days_waiting(days: int, t: Translator) -> str:
    """'Waiting for 3 days.', or 'Ordered today.' while there is nothing to count."""
    if days <= 0:
        return t.gettext("Ordered today.")
    return t.ngettext("Waiting for {n} day.", "Waiting for {n} days.", days).format(n=days)


def age(minutes: int, t: Translator) -> str:
    """'45 min', '3 h 05 min', '2 d 4 h'."""
    if minutes < 60:
        return t.gettext("{minutes} min").format(minutes=minutes)
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return t.gettext("{hours} h {minutes} min").format(hours=hours, minutes=f"{rest:02d}")
    days, hours = divmod(hours, 24)
    return t.gettext("{days} d {hours} h").format(days=days, hours=hours)
