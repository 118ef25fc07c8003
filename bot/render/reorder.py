"""Reorder suggestions in words: the explanation of one SKU's suggestion, and the merchant's /reorder list."""

from collections.abc import Sequence
from html import escape
from typing import Any

from bot.i18n import Translator
from bot.render.pages import most_that_fit
from bot.render.screen import Screen
from bot.render.screen_limits import text_fits

SHOWN_IN_CHAT = 15  # the most urgent; the console lists them all


def explanation(suggestion: Any, t: Translator) -> str:
    """'42 ordered in the last 30 days, 11 waiting, 6 incoming; Nordic Audio has been 4 days late on average;
    order 30 by 5 Dec to cover the next 4 weeks.'"""
    figures = ", ".join(
        (
            t.ngettext("{n} ordered in the last 30 days", "{n} ordered in the last 30 days", suggestion.ordered_30_days).format(
                n=suggestion.ordered_30_days
            ),
            t.ngettext("{n} waiting", "{n} waiting", suggestion.waiting).format(n=suggestion.waiting),
            t.ngettext("{n} incoming", "{n} incoming", suggestion.incoming).format(n=suggestion.incoming),
        )
    )
    parts = [figures]
    if suggestion.supplier_days_late and suggestion.supplier_name:
        parts.append(
            t.ngettext(
                "{supplier} has been {n} day late on average",
                "{supplier} has been {n} days late on average",
                suggestion.supplier_days_late,
            ).format(supplier=suggestion.supplier_name, n=suggestion.supplier_days_late)
        )
    parts.append(
        t.ngettext(
            "order {n} by {date} to cover the next {weeks} week",
            "order {n} by {date} to cover the next {weeks} weeks",
            suggestion.cover_days // 7,
        ).format(n=suggestion.suggested_quantity, date=t.date(suggestion.order_by), weeks=suggestion.cover_days // 7)
    )
    return "; ".join(parts) + "."


def reorder_list(suggestions: Sequence[Any], t: Translator) -> Screen:
    """/reorder: the most urgent suggestions with their explanations; the rest are on the console's Reorder page."""
    if not suggestions:
        return Screen(t.gettext("Nothing needs reordering: stock and open purchase orders cover the demand."))
    head = [
        t.ngettext("<b>{n} SKU to reorder</b>", "<b>{n} SKUs to reorder</b>", len(suggestions)).format(n=len(suggestions))
    ]
    items = [f"\n<b>{escape(s.sku)}</b> {escape(s.product_name)}\n{escape(explanation(s, t))}" for s in suggestions]

    def text(shown: int) -> str:
        left_out = len(items) - shown
        more = t.ngettext(
            "… and {n} more on the console's Reorder page.", "… and {n} more on the console's Reorder page.", left_out
        )
        return "\n".join([*head, *items[:shown], *(["\n" + more.format(n=left_out)] if left_out else [])])

    return Screen(text(most_that_fit(min(len(items), SHOWN_IN_CHAT), lambda shown: text_fits(text(shown)), least=0)))
