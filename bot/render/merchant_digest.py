"""The merchant's weekly digest, rendered from the outbox's params when it is sent."""

from html import escape
from typing import Any

from bot.i18n import Translator
from bot.render.screen import Screen


def merchant_digest(params: dict[str, Any], t: Translator) -> Screen:
    """SKUs waiting with nothing on order, suppliers slipping, the oldest backorders; or that all is well."""
    parts = ["<b>" + t.gettext("Your week in backorders") + "</b>"]
    unordered, slipping, oldest = params["unordered"], params["slipping"], params["oldest"]
    if not (unordered or slipping or oldest):
        parts.append(t.gettext("Nothing needs your attention: nobody is waiting for stock."))
        return Screen("\n".join(parts))
    if unordered:
        parts.append("\n" + t.gettext("Customers wait, nothing is on order:"))
        parts.extend(
            t.ngettext("• {sku} {name} — {n} pc waiting", "• {sku} {name} — {n} pcs waiting", item["waiting"]).format(
                sku=escape(item["sku"]), name=escape(item["product_name"]), n=item["waiting"]
            )
            for item in unordered
        )
        more = params["unordered_total"] - len(unordered)
        if more > 0:
            parts.append(t.ngettext("… and {n} more SKU", "… and {n} more SKUs", more).format(n=more))
    if slipping:
        parts.append("\n" + t.gettext("Suppliers slipping:"))
        for supplier in slipping:
            late = round(supplier["median_days_late"])
            line = t.ngettext(
                "• {supplier} — {n} day late (median)", "• {supplier} — {n} days late (median)", late
            ).format(supplier=escape(supplier["name"]), n=late)
            if supplier["worsening"]:
                line += t.gettext(", getting later")
            parts.append(line)
    if oldest:
        parts.append("\n" + t.gettext("Oldest backorders:"))
        parts.extend(
            t.ngettext(
                "• order {order} · {sku} — waiting {n} day", "• order {order} · {sku} — waiting {n} days", line["days_waiting"]
            ).format(order=escape(line["order_number"]), sku=escape(line["sku"]), n=line["days_waiting"])
            for line in oldest
        )
    parts.append("\n" + t.gettext("/reorder says what to order and by when."))
    return Screen("\n".join(parts))
