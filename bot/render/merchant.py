"""What the shop's people see: the backlog by SKU, the broadcast being written, and its progress."""

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from bot.i18n import Translator, unbroken
from bot.render.callback_data import AUDIENCE_KINDS, Action, button
from bot.render.errors import domain_error
from bot.render.pages import items_shown, most_that_fit, one_page
from bot.render.phrases import language_name
from bot.render.screen import Screen, inline
from bot.render.screen_limits import text_fits
from bot.services.errors import AudienceInvalid
from db.models import BroadcastStatus

MAX_CATEGORY_BUTTONS = 20  # more are sent by name
MAX_ECHOED = 40  # characters of a typed value repeated in an answer
SKUS_PER_PAGE = 25  # no button per SKU, so a page holds as many as fit, up to this many to read at once
_KIND_NUMBERS = {kind: number for number, kind in AUDIENCE_KINDS.items()}


def backorder_summary(backlog: list[Any], t: Translator, page: int = 1) -> Screen:
    """Per SKU: waiting lines and units, the longest wait, the next purchase order; a page at a time."""
    if not backlog:
        return Screen(t.gettext("Nothing is waiting for stock."))
    return one_page(len(backlog), lambda shown: _summary_text(backlog, shown, t), page, Action.BACKORDERS_PAGE, t, SKUS_PER_PAGE)


def _summary_text(backlog: list[Any], shown: range, t: Translator) -> str:
    parts = [
        t.ngettext("<b>{n} SKU has waiting orders</b>", "<b>{n} SKUs have waiting orders</b>", len(backlog)).format(
            n=len(backlog)
        )
    ]
    if len(shown) < len(backlog):
        parts.append(items_shown(shown, len(backlog), t))
    for sku in (backlog[i] for i in shown):
        waiting = t.ngettext(
            "{lines} line, {units} pcs, oldest waiting {days} d",
            "{lines} lines, {units} pcs, oldest waiting {days} d",
            sku.waiting_lines,
        ).format(lines=sku.waiting_lines, units=sku.waiting_quantity, days=sku.oldest_wait_days)
        if sku.next_purchase_order:
            supply = t.gettext("next: {reference} due {date} ({quantity} pcs)").format(
                reference=escape(unbroken(sku.next_purchase_order)), date=t.date(sku.next_expected_on), quantity=sku.next_quantity
            )
            if not sku.covered:
                supply += t.gettext(" — {n} pcs more needed").format(n=sku.waiting_quantity - sku.incoming_quantity)
        else:
            supply = t.gettext("no purchase order")
        parts.append(f"\n<b>{escape(sku.sku)}</b> {escape(sku.product_name)}\n{waiting}\n{supply}")
    return "\n".join(parts)


def ask_audience_kind(draft_id: int, t: Translator) -> Screen:
    keyboard = inline(
        [
            (t.gettext("SKUs"), button(Action.BROADCAST_AUDIENCE, draft_id, _KIND_NUMBERS["skus"])),
            (t.gettext("A category"), button(Action.BROADCAST_AUDIENCE, draft_id, _KIND_NUMBERS["category"])),
            (t.gettext("Order numbers"), button(Action.BROADCAST_AUDIENCE, draft_id, _KIND_NUMBERS["orders"])),
        ],
        [_abort(draft_id, t)],
    )
    return Screen(t.gettext("New broadcast. Who should get it? Customers waiting on…"), keyboard)


def ask_audience(kind: str, draft_id: int, t: Translator, categories: list[str] | None = None) -> Screen:
    """The SKUs, category or order numbers to send; the categories with waiting lines as buttons."""
    questions = {
        "skus": t.gettext("Send the SKUs, separated by spaces (e.g. HS-200 HS-120)."),
        "category": t.gettext("Send the category (e.g. audio)."),
        "orders": t.gettext("Send the order numbers, separated by spaces."),
    }
    if kind == "category" and categories:
        shown = categories[:MAX_CATEGORY_BUTTONS]
        buttons = [(_cut(name, 30), button(Action.BROADCAST_CATEGORY, draft_id, number)) for number, name in enumerate(shown)]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        return Screen(t.gettext("Which category? Tap one, or send its name."), inline(*rows, [_abort(draft_id, t)]))
    return Screen(questions[kind], inline([_abort(draft_id, t)]))


def audience_invalid(error: AudienceInvalid, draft_id: int, t: Translator) -> Screen:
    """What the shop does not know, to be sent again."""
    if not (error.unknown_skus or error.unknown_orders or error.unknown_category):
        return Screen(t.gettext("Please send at least one."), inline([_abort(draft_id, t)]))
    # Only the start of what was typed: a text sent at the wrong step must not come back whole.
    shown = AudienceInvalid(
        [_some(error.unknown_skus, 5)] if error.unknown_skus else [],
        [_some(error.unknown_orders, 5)] if error.unknown_orders else [],
        _cut(error.unknown_category, MAX_ECHOED) if error.unknown_category else None,
    )
    text = domain_error(shown, t).text + " " + t.gettext("Please send them again.")
    return Screen(text, inline([_abort(draft_id, t)]))


def nobody_to_reach(draft_id: int, waiting: int, t: Translator) -> Screen:
    """Nobody a broadcast can reach: nobody waits, or those who wait have not linked their chat."""
    if waiting:
        why = t.ngettext(
            "{n} customer is waiting on that, but cannot get a broadcast: it reaches only customers who have"
            " linked their chat with the bot and not turned updates off.",
            "{n} customers are waiting on that, but none can get a broadcast: it reaches only customers who have"
            " linked their chat with the bot and not turned updates off.",
            waiting,
        ).format(n=waiting)
        text = why + "\n" + t.gettext("Send another audience, or discard the broadcast.")
    else:
        text = t.gettext("No customer the bot can write to is waiting on that. Send another audience, or discard the broadcast.")
    return Screen(text, inline([_abort(draft_id, t)]))


def ask_text(step: Any, language: str, t: Translator) -> Screen:
    reach = t.ngettext(
        "{n} customer is waiting on {audience}.", "{n} customers are waiting on {audience}.", step.recipients
    ).format(n=step.recipients, audience=_audience(step.audience, t))
    ask = t.gettext("Now send the text of the broadcast in {language}.").format(language=language_name(language, t))
    return Screen(f"{reach}\n{ask}", inline([_abort(step.draft_id, t)]))


def ask_translation(step: Any, default_language: str, t: Translator) -> Screen:
    text = t.gettext(
        "Send a {language} version of the text, or skip: customers who read {language} then get the {default} text."
    ).format(language=language_name(step.asking_language, t), default=language_name(default_language, t))
    keyboard = inline(
        [(t.gettext("Skip"), button(Action.BROADCAST_SKIP, step.draft_id))],
        [_abort(step.draft_id, t)],
    )
    return Screen(text, keyboard)


def preview(step: Any, t: Translator) -> Screen:
    """Exactly what goes to whom, before it goes; texts too long to show together are shortened here only."""
    head = [
        "<b>" + t.gettext("Preview") + "</b>",
        t.ngettext(
            "To {n} customer waiting on {audience}.", "To {n} customers waiting on {audience}.", step.recipients
        ).format(n=step.recipients, audience=_audience(step.audience, t)),
    ]

    quiet = (
        [
            "\n"
            + t.gettext("It is the shop's quiet hours: customers get it at {time}, unless you send it as urgent.").format(
                time=f"{step.quiet_until:%H:%M}"
            )
        ]
        if step.quiet_until is not None
        else []
    )

    def text(shown: int) -> str:
        texts = [f"\n<i>{language_name(language, t)}</i>\n{escape(_cut(words, shown))}" for language, words in step.texts.items()]
        shortened = [t.gettext("(Shortened here: customers get the whole text.)")] if shown < _longest(step.texts) else []
        return "\n".join([*head, *texts, *shortened, *quiet])

    send = t.ngettext("Send to {n} customer", "Send to {n} customers", step.recipients).format(n=step.recipients)
    rows = [[(send, button(Action.BROADCAST_SEND, step.draft_id))]]
    if step.quiet_until is not None:
        rows.append([(t.gettext("Send now (urgent)"), button(Action.BROADCAST_SEND_URGENT, step.draft_id))])
    rows.append([_abort(step.draft_id, t)])
    return Screen(text(most_that_fit(_longest(step.texts), lambda shown: text_fits(text(shown)), least=0)), inline(*rows))


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length].rstrip() + "…"


def _longest(texts: dict[str, str]) -> int:
    return max((len(text) for text in texts.values()), default=0)


def use_the_buttons(t: Translator) -> Screen:
    return Screen(t.gettext("Please use the buttons below."))


def aborted(t: Translator) -> Screen:
    return Screen(t.gettext("Broadcast discarded; nothing was sent."))


def draft_gone(t: Translator) -> Screen:
    return Screen(t.gettext("That broadcast is no longer being written. Send /broadcast to start a new one."))


def text_too_long(limit: int, t: Translator) -> Screen:
    return Screen(t.gettext("That text is too long for one message ({limit} characters at most). Please shorten it.").format(limit=limit))


def progress(view: Any, t: Translator) -> Screen:
    """The broadcast's delivery so far, or its final tally."""
    values = {
        "id": view.id,
        "sent": view.sent,
        "failed": view.failed,
        "blocked": view.blocked,
        "pending": view.pending,
        "total": view.recipient_count,
    }
    if view.status == BroadcastStatus.DONE:
        text = t.gettext("<b>Broadcast #{id} done</b> — of {total}: {sent} sent, {failed} failed, {blocked} blocked the bot.")
    elif view.status == BroadcastStatus.CANCELLED:
        text = t.gettext(
            "<b>Broadcast #{id} cancelled</b> — of {total}: {sent} sent, {failed} failed, {blocked} blocked the bot,"
            " {pending} still on their way."
        )
    else:
        text = t.gettext(
            "<b>Broadcast #{id} sending</b> — of {total}: {sent} sent, {failed} failed, {blocked} blocked the bot,"
            " {pending} to go."
        )
    text = text.format(**values)
    if view.held and view.held_until is not None:
        text += "\n" + _held_for_quiet_hours(view.held, view.held_until, t)
    if view.urgent:
        text += "\n" + t.gettext("Urgent: delivered through the shop's quiet hours.")
    return Screen(text)


def _held_for_quiet_hours(held: int, until: datetime, t: Translator) -> str:
    """How many messages wait for the shop's quiet hours to end, and when that is (shop time)."""
    return t.ngettext(
        "{n} message waits for the shop's quiet hours to end at {time}.",
        "{n} messages wait for the shop's quiet hours to end at {time}.",
        held,
    ).format(n=held, time=f"{until:%H:%M}")


def _audience(audience: Any, t: Translator) -> str:
    parts = []
    if audience.skus:
        parts.append(t.gettext("SKUs {skus}").format(skus=escape(_some(audience.skus))))
    if audience.category:
        parts.append(t.gettext("category {category}").format(category=escape(audience.category)))
    if audience.order_numbers:
        parts.append(t.gettext("orders {numbers}").format(numbers=escape(_some(audience.order_numbers))))
    return (" " + t.gettext("or") + " ").join(parts)


def _some(values: Sequence[str], most: int = 10) -> str:
    """'A, B, C' — or the first `most` and how many more, for an audience of hundreds of SKUs."""
    shown = ", ".join(_cut(value, MAX_ECHOED) for value in values[:most])
    return shown if len(values) <= most else f"{shown} … (+{len(values) - most})"


def _abort(draft_id: int, t: Translator) -> tuple[str, str]:
    return (t.gettext("Discard"), button(Action.BROADCAST_ABORT, draft_id))
