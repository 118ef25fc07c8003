"""The order list and one backordered item's card, with its ETA explained in plain words."""

from html import escape as _escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.render.callback_data import Action, button
from bot.render.pages import items_shown, page_buttons, page_ranges
from bot.render.phrases import days_waiting, eta_explanation, eta_reason_label, item_title, ship_date, status_label
from bot.render.screen import Screen, inline, with_web_app
from db.models import LineStatus


def _last_change(line: Any, t: Translator) -> str | None:
    # The first ETA a line gets is no change worth explaining; a move from one date to another is.
    change = next((c for c in line.eta_history if c.old is not None), None)
    if change is None:
        return None
    old = t.date(change.old) if change.old else "–"
    new = t.date(change.new) if change.new else "–"
    return t.gettext("Last change: {old} → {new}, because {reason}.").format(
        old=old, new=new, reason=eta_reason_label(change.reason, t)
    )


def coming_title(line: Any) -> str:
    """A resolved item with the quantity its status is about: what ships, was cancelled or was swapped."""
    if line.status == LineStatus.CANCELLED:
        quantity = line.cancelled_quantity or line.quantity
    elif line.status == LineStatus.SUBSTITUTED:
        quantity = line.substituted_quantity or line.quantity
    else:
        quantity = line.quantity - line.cancelled_quantity - line.substituted_quantity
    return f"{line.product_name} × {quantity}"


def order_list(
    waiting: list[Any], resolved: list[Any], t: Translator, page: int = 1, *, paged: bool = True, mini_app: str | None = None
) -> Screen:
    """One page of the waiting items (as buttons) and then the recently resolved ones, with page buttons.

    `page` outside the list (a forged or outdated button) shows the nearest page. Unpaged (one order's
    items, asked for by its number), the first page says how many more the full list holds. With the
    `mini_app` address, a last button opens every item's timeline there.
    """
    if not waiting and not resolved:
        return Screen(t.gettext("Good news: nothing on your orders is waiting for stock."))
    entries = [*waiting, *resolved]
    pages = _list_pages(entries, len(waiting), t, paged=paged)
    number = min(max(page, 1), len(pages))
    shown = pages[number - 1]
    text = _list_text(entries, len(waiting), shown, t, paged=paged)
    items = [entries[i] for i in shown if i < len(waiting)]
    rows = [[(label, button(Action.LINE, line.line_id))] for line, label in zip(items, _item_labels(items), strict=True)]
    if paged:
        rows.append(page_buttons(number, len(pages), Action.ORDERS_PAGE, t))
    elif len(pages) > 1:
        rows.append([(t.gettext("My orders"), button(Action.ORDERS))])
    keyboard = with_web_app(inline(*rows) if any(rows) else None, t.gettext("Track my items"), mini_app)
    return Screen(text, keyboard)


def item_address(mini_app: str | None, line_id: int) -> str | None:
    """The Mini App opened at one item's timeline."""
    return f"{mini_app}?line={line_id}" if mini_app else None


def order_list_at(
    waiting: list[Any], resolved: list[Any], line_id: int, t: Translator, *, mini_app: str | None = None
) -> Screen:
    """The page of the order list that holds the item `line_id` (the first page if it is not listed)."""
    entries = [*waiting, *resolved]
    index = next((i for i, line in enumerate(entries) if line.line_id == line_id), 0)
    pages = _list_pages(entries, len(waiting), t, paged=True)
    page = next((number for number, shown in enumerate(pages, start=1) if index in shown), 1)
    return order_list(waiting, resolved, t, page, mini_app=mini_app)


def _list_pages(entries: list[Any], waiting: int, t: Translator, *, paged: bool) -> list[range]:
    return page_ranges(len(entries), lambda shown: _list_text(entries, waiting, shown, t, paged=paged))


def _list_text(entries: list[Any], waiting: int, shown: range, t: Translator, *, paged: bool) -> str:
    parts: list[str] = []
    if waiting:
        parts.append(
            t.ngettext("<b>{n} item is waiting for stock</b>", "<b>{n} items are waiting for stock</b>", waiting).format(
                n=waiting
            )
        )
    if len(shown) < len(entries):
        parts.append(items_shown(shown, len(entries), t))
    waiting_here = [entries[i] for i in shown if i < waiting]
    resolved_here = [entries[i] for i in shown if i >= waiting]
    parts.extend(_waiting_lines(waiting_here, t))
    if resolved_here:
        # A blank line sets the section apart, but a message never starts with one.
        parts.append(("\n" if parts else "") + t.gettext("<b>Recently resolved</b>"))
        parts.extend(f"• {_escape(coming_title(line))} — {resolved_status(line, t)}" for line in resolved_here)
    if not paged and shown.stop < len(entries):
        parts.append(t.gettext("…and {n} more under My orders.").format(n=len(entries) - shown.stop))
    if waiting_here:
        parts.append("\n" + t.gettext("Tap an item to see details, cancel it or pick an alternative."))
    return "\n".join(parts)


def _waiting_lines(lines: list[Any], t: Translator) -> list[str]:
    """One bullet per item; grouped under order headings when the page holds several items of one order."""
    orders = list(dict.fromkeys(line.order_number for line in lines))
    if len(orders) == len(lines):
        return [
            t.gettext("• {item} — order {order} — ships {date}").format(
                item=_escape(item_title(line)), order=_escape(line.order_number), date=_ships(line, t)
            )
            for line in lines
        ]
    parts = []
    for order in orders:
        parts.append("<b>" + t.gettext("Order {order}").format(order=_escape(order)) + "</b>")
        parts.extend(
            t.gettext("• {item} — ships {date}").format(item=_escape(item_title(line)), date=_ships(line, t))
            for line in lines
            if line.order_number == order
        )
    return parts


def _ships(line: Any, t: Translator) -> str:
    # Stock on hand or a supplier delivery confirms a date; only the usual lead time is a guess.
    return ship_date(line.eta, line.eta_confirmed, t)


def backorder_card(line: Any, t: Translator, *, mini_app: str | None = None) -> Screen:
    """One item: status, ETA with its basis, the last change and why; the actions a customer can take."""
    lines = [
        f"<b>{_escape(item_title(line))}</b>",
        t.gettext("Order {order} · {status}").format(order=_escape(line.order_number), status=status_label(line.status, t)),
    ]
    if line.status == LineStatus.PARTIALLY_ALLOCATED:
        lines.append(
            t.gettext("Reserved for you: {ready}. Still waiting: {waiting}.").format(
                ready=line.allocated_quantity, waiting=line.open_quantity
            )
        )
    lines.append(days_waiting(line.days_waiting, t))
    lines.append(eta_explanation(line, t))
    change = _last_change(line, t)
    if change:
        lines.append(change)
    keyboard = inline(
        [
            (t.gettext("Cancel"), button(Action.CANCEL_ASK, line.line_id)),
            (t.gettext("Alternatives"), button(Action.ALTERNATIVES, line.line_id)),
        ],
        [(t.gettext("Talk to a person"), button(Action.HUMAN, line.line_id))],
        [(t.gettext("« Back"), button(Action.ORDERS_AT, line.line_id))],
    )
    return Screen("\n".join(lines), with_web_app(keyboard, t.gettext("Timeline"), item_address(mini_app, line.line_id)))


def resolved_card(line: Any, t: Translator) -> Screen:
    """A line that no longer waits: say what became of it, with a Track button for its parcel."""
    status = resolved_status(line, t, with_link=False)
    text = "\n".join(
        [
            f"<b>{_escape(coming_title(line))}</b>",
            t.gettext("Order {order} · {status}").format(order=_escape(line.order_number), status=status),
        ]
    )
    rows = [[InlineKeyboardButton(t.gettext("Track parcel"), url=line.outcome.tracking_url)]] if _tracked(line) else []
    rows.append([InlineKeyboardButton(t.gettext("« Back"), callback_data=button(Action.ORDERS_AT, line.line_id))])
    return Screen(text, InlineKeyboardMarkup(rows))


def resolved_status(line: Any, t: Translator, *, with_link: bool = True) -> str:
    """What became of a resolved line: "shipped 3 Dec · DHL · Track" (a link), "cancelled · refund of €49.00 paid"."""
    outcome = line.outcome
    shipped = outcome is not None and outcome.shipped_on is not None
    notes = [] if shipped and line.status == LineStatus.SHIPPED else [status_label(line.status, t)]
    if outcome is None:
        return notes[0]
    if shipped:
        notes.append(t.gettext("shipped {day}").format(day=t.date(outcome.shipped_on)))
        if outcome.carrier:
            notes.append(_escape(outcome.carrier))
        if with_link and _tracked(line):
            notes.append(f'<a href="{_escape(outcome.tracking_url)}">{t.gettext("Track")}</a>')
    if outcome.refund_paid_minor:
        notes.append(
            t.gettext("refund of {amount} paid").format(amount=t.money(outcome.refund_paid_minor, line.currency))
        )
    return " · ".join(notes)


def _tracked(line: Any) -> bool:
    return line.outcome is not None and bool(line.outcome.tracking_url)


def _item_labels(lines: list[Any]) -> list[str]:
    """Each item's button label; items alike on one page (the same product on two orders) name their order too."""
    titles = [item_title(line) for line in lines]
    labels = []
    for line, title in zip(lines, titles, strict=True):
        if titles.count(title) > 1:
            order = _short(line.order_number, 16)
            labels.append(f"{_short(title, 37 - len(order))} · {order}")
        else:
            labels.append(_short(title))
    return labels


def _short(label: str, limit: int = 40) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
