"""The customer's items as the Mini App draws them: each a timeline of steps, in the customer's language.

Sentences come from the chat's own phrases (bot/render/phrases.py), so the page and the chat say the same
thing; they are sent as plain text, which the page sets as text, never as HTML.
"""

import re
from datetime import tzinfo
from html import unescape
from typing import Any

from bot.i18n import Translator
from bot.render.backorder_card import coming_title, resolved_status
from bot.render.phrases import days_waiting, eta_explanation, eta_reason_label, item_title, status_label
from bot.services.backorders.status import LineView
from bot.services.backorders.timeline import CustomerTimeline, ItemTimeline, SupplierShipment
from db.models import LineStatus

JSON = dict[str, Any]
_TAG = re.compile(r"<[^>]+>")


def plain(telegram_html: str) -> str:
    """A chat screen's text (Telegram's HTML) as plain text."""
    return unescape(_TAG.sub("", telegram_html))


def timeline_json(timeline: CustomerTimeline, t: Translator, tz: tzinfo) -> JSON:
    """Waiting items first (oldest order first), then what was resolved lately."""
    return {
        "waiting": [_waiting_item(item, t, tz) for item in timeline.waiting],
        "resolved": [_resolved_item(line, t, tz) for line in timeline.recently_resolved],
    }


def _step(kind: str, title: str, detail: str, state: str, **extra: Any) -> JSON:
    """One step of a timeline; `state` is done, now or next."""
    return {"kind": kind, "title": title, "detail": detail, "state": state, **extra}


def _ordered(line: LineView, t: Translator, tz: tzinfo) -> JSON:
    placed = t.date(line.placed_at.astimezone(tz).date())
    return _step("ordered", t.gettext("Ordered"), f"{placed} · " + t.gettext("Order {order}").format(order=line.order_number), "done")


def _waiting_item(item: ItemTimeline, t: Translator, tz: tzinfo) -> JSON:
    line = item.line
    place = ""
    if line.queue_position is not None and line.queue_size is not None:
        place = t.gettext("{place} of {size} waiting for this item").format(
            place=t.ordinal(line.queue_position), size=line.queue_size
        )
    waiting_detail = [days_waiting(line.days_waiting, t), place]
    if line.status == LineStatus.PARTIALLY_ALLOCATED:
        waiting_detail.append(
            t.gettext("Reserved for you: {ready}. Still waiting: {waiting}.").format(
                ready=line.allocated_quantity, waiting=line.open_quantity
            )
        )
    steps = [
        _ordered(line, t, tz),
        _step(
            "waiting", t.gettext("Waiting in line"), " · ".join(part for part in waiting_detail if part), "now",
            queue={"position": line.queue_position, "size": line.queue_size},
        ),
        _shipment_step(item.shipment, line, t),
        _step(
            "eta", t.gettext("Ships"), plain(eta_explanation(line, t)), "next",
            date=t.date(line.eta) if line.eta else None, confirmed=line.eta_confirmed,
            badge=t.gettext("confirmed") if line.eta_confirmed else t.gettext("estimated"),
            basis=line.eta_basis.value if line.eta_basis else None,
        ),
    ]
    return {
        "line_id": line.line_id,
        "title": item_title(line),
        "order": line.order_number,
        "status": status_label(line.status, t),
        "steps": steps,
        "changes": [_change(change, t, tz) for change in line.eta_history if change.old is not None],
    }


def _shipment_step(shipment: SupplierShipment | None, line: LineView, t: Translator) -> JSON:
    if shipment is None:
        return _step("shipment", t.gettext("Supplier shipment"), t.gettext("None booked yet."), "next", covers=False)
    brings = t.ngettext("Due {day}, bringing {n} unit.", "Due {day}, bringing {n} units.", shipment.units).format(
        day=t.date(shipment.due_on), n=shipment.units
    )
    if shipment.covers:
        verdict = t.gettext("Yours are among them.")
    else:
        verdict = t.gettext("The customers ahead of you take them all; yours come with a later shipment.")
    adjusted = ""
    if shipment.covers and line.supplier_slip_days:
        adjusted = t.ngettext(
            "This supplier has lately been about {days} day late; your date allows for it.",
            "This supplier has lately been about {days} days late; your date allows for it.",
            line.supplier_slip_days,
        ).format(days=line.supplier_slip_days)
    detail = " ".join(part for part in (brings, verdict, adjusted) if part)
    return _step("shipment", t.gettext("Supplier shipment"), detail, "next", covers=shipment.covers, due=t.date(shipment.due_on))


def _change(change: Any, t: Translator, tz: tzinfo) -> JSON:
    old = t.date(change.old) if change.old else "–"
    new = t.date(change.new) if change.new else "–"
    return {
        "when": t.date(change.changed_at.astimezone(tz).date()),
        "text": t.gettext("{old} → {new}, because {reason}.").format(old=old, new=new, reason=eta_reason_label(change.reason, t)),
        "later": bool(change.old and change.new and change.new > change.old),
    }


def _resolved_item(line: LineView, t: Translator, tz: tzinfo) -> JSON:
    steps = [_ordered(line, t, tz)]
    outcome = line.outcome
    if outcome is not None and outcome.shipped_on is not None:
        steps.append(
            _step(
                "shipped", t.gettext("Shipped"), t.date(outcome.shipped_on) + (f" · {outcome.carrier}" if outcome.carrier else ""),
                "done", tracking_url=outcome.tracking_url,
            )
        )
    return {
        "line_id": line.line_id,
        "title": coming_title(line),
        "order": line.order_number,
        "status": plain(resolved_status(line, t, with_link=False)),
        "steps": steps,
        "changes": [],
    }
