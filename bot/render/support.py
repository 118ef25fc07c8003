"""Tickets as people read them: the customer's side (a person will answer, rating) and the support group's
(the topic's name, the context card, notices, agent tool answers). No logic, no I/O.

The customer's messages are in the customer's language; the support group's in the shop's default language.
"""

from datetime import datetime
from html import escape
from typing import Any

from babel.dates import format_date
from telegram import BotCommand

from bot.i18n import Translator, unbroken
from bot.render.callback_data import REFUSAL_CODES, Action, button
from bot.render.errors import domain_error
from bot.render.pages import cut_to_fit, items_shown, one_page
from bot.render.phrases import (
    age,
    duration,
    eta_explanation,
    item_title,
    language_name,
    short_name,
    status_label,
)
from bot.render.screen import Screen, inline
from bot.services.errors import DomainError
from db.models import EtaBasis

LIST_PAGE = 25  # lines a page of /queue or /canned list, which have no button per line
MAX_CARD_LINE_BUTTONS = 6  # lines with their own row of agent buttons on the context card
STARS = "⭐"


# ---- the customer's side -------------------------------------------------------------------------


def ticket_opened(ticket: Any, answer: Any, created: bool, t: Translator) -> Screen:
    """A person will answer, and roughly when; whatever the customer writes now goes to them."""
    if created:
        first = t.gettext("I've asked our team to help you (ticket #{ticket}).").format(ticket=ticket.id)
    else:
        first = t.gettext("Your conversation with our team is still open (ticket #{ticket}).").format(ticket=ticket.id)
    lines = [first, _when_answered(answer, t), t.gettext("Just write here: everything you send goes straight to them.")]
    return Screen("\n".join(lines), inline([(t.gettext("✅ Resolved"), button(Action.RESOLVED, ticket.id))]))


def _when_answered(answer: Any, t: Translator) -> str:
    if answer.back_at is None:
        return t.gettext("A person will answer here, usually within {duration}.").format(
            duration=duration(answer.within_minutes, t)
        )
    at = t.time_of_day(answer.back_at)
    if answer.days_until_back == 0:
        return t.gettext("Our team is back today at {time} and will answer you here then.").format(time=at)
    if answer.days_until_back == 1:
        return t.gettext("Our team is back tomorrow at {time} and will answer you here then.").format(time=at)
    weekday = format_date(answer.back_at, "EEEE", locale=t.locale)
    return t.gettext("Our team is back on {weekday} at {time} and will answer you here then.").format(weekday=weekday, time=at)


def refused_with_help(refused: DomainError, line_id: int, t: Translator) -> Screen:
    """Why the action is not allowed, with the offer of a person who can look into it."""
    code = next(number for number, name in REFUSAL_CODES.items() if name == refused.code)
    return Screen(
        domain_error(refused, t).text + "\n" + t.gettext("A person from our team can look into it with you."),
        inline([(t.gettext("Talk to a person"), button(Action.ESCALATE, line_id, code))]),
    )


def rate_request(ticket_id: int, t: Translator) -> Screen:
    text = t.gettext("Your conversation with our team is closed. How would you rate the help you got?")
    return Screen(text, inline([(f"{stars} {STARS}", button(Action.RATE, ticket_id, stars)) for stars in range(1, 6)]))


def rated(rating: Any, t: Translator) -> Screen:
    if rating.already_rated:
        return Screen(t.gettext("You've already rated this conversation ({stars} of 5). Thank you!").format(stars=rating.stars))
    return Screen(t.gettext("Thank you for your rating ({stars} of 5)!").format(stars=rating.stars))




def eta_for_customer(line: Any, t: Translator) -> Screen:
    """An item's ship date as the team posts it to the customer."""
    title = f"<b>{escape(item_title(line))}</b> — " + t.gettext("order {order}").format(order=escape(line.order_number))
    if line.is_waiting:
        return Screen(title + "\n" + eta_explanation(line, t))
    return Screen(title + "\n" + status_label(line.status, t))


# ---- the support group's side ---------------------------------------------------------------------


def context_card(context: Any, tz: Any, t: Translator) -> Screen:
    """The first post of a ticket: customer, orders, waiting lines, recent actions, reason; and the agent tools."""
    ticket = context.ticket
    lines = [f"<b>#{ticket.id} · {escape(ticket.customer_name)}</b>"]
    contact = [escape(context.email)] + ([escape(context.phone)] if context.phone else [])
    lines.append(
        t.gettext("Language: {language} · {contact}").format(language=language_name(ticket.language, t), contact=" · ".join(contact))
    )
    lines.append(t.gettext("Why: {reason}").format(reason=_escalation_reason(ticket.escalation, context.reason_line, t)))
    if context.orders:
        orders = ", ".join(f"{escape(o.number)} ({t.date(o.placed_at.astimezone(tz).date())})" for o in context.orders[:10])
        lines.append(t.gettext("Orders: {orders}").format(orders=orders))
    lines.append("")
    waiting = []
    if context.waiting:
        lines.append("<b>" + t.gettext("Waiting for stock") + "</b>")
        waiting = [_line_row(line, t) for line in context.waiting]
    else:
        lines.append(t.gettext("Nothing on the customer's orders is waiting for stock."))
    tail = []
    if context.recent_actions:
        tail.append("")
        tail.append("<b>" + t.gettext("Recently with the bot") + "</b>")
        tail.extend(f"• {_when(action.at, tz, t)} {escape(_action_label(action, t))}" for action in context.recent_actions)
    tail.append("")
    tail.append(
        t.gettext(
            "Write here to answer the customer. Messages starting with # stay in the group. "
            "Commands: /eta N, /alternatives N, /cancel N, /reply KEY, /assign, /close."
        )
    )
    rows = [
        [
            (t.gettext("Cancel {line}").format(line=line.line_id), button(Action.AGENT_CANCEL_ASK, ticket.id, line.line_id)),
            (t.gettext("Alternatives {line}").format(line=line.line_id), button(Action.AGENT_ALTERNATIVES, ticket.id, line.line_id)),
            (t.gettext("ETA {line}").format(line=line.line_id), button(Action.AGENT_ETA, ticket.id, line.line_id)),
        ]
        for line in context.waiting[:MAX_CARD_LINE_BUTTONS]
    ]
    rows.append(
        [
            (t.gettext("Assign to me"), button(Action.AGENT_ASSIGN, ticket.id)),
            (t.gettext("Close ticket"), button(Action.AGENT_CLOSE, ticket.id)),
        ]
    )
    return Screen(cut_to_fit(lines, waiting, tail, lambda n: _more(n, t)), inline(*rows))


def _escalation_reason(escalation: Any, line: Any, t: Translator) -> str:
    about = ""
    if line is not None:
        about = " — " + t.gettext("{item} (order {order})").format(item=escape(item_title(line)), order=escape(line.order_number))
    kind = escalation.kind.value
    if kind == "item":
        return t.gettext("asked for a person about an item") + about
    if kind == "misunderstood":
        return t.gettext("the bot did not understand the customer twice in a row")
    if kind == "refused":
        if escalation.refusal == "line_not_cancellable":
            return t.gettext("wanted to cancel an item that can no longer be cancelled") + about
        if escalation.refusal == "line_not_waiting":
            return t.gettext("wanted an alternative for an item that no longer waits") + about
        return t.gettext("asked for something the bot may not do") + about
    return t.gettext("asked for a person") + about


def _action_label(action: Any, t: Translator) -> str:
    details = action.details
    labels = {
        "line.cancelled": lambda: t.gettext("cancelled {sku} on order {order}").format(
            sku=details.get("sku", "?"), order=details.get("order_number", "?")
        ),
        "line.substituted": lambda: t.gettext("swapped {old} for {new} on order {order}").format(
            old=details.get("old_sku", "?"), new=details.get("new_sku", "?"), order=details.get("order_number", "?")
        ),
        "telegram_linked": lambda: t.gettext("connected this chat to their orders"),
        "telegram_relinked": lambda: t.gettext("connected this chat to their orders"),
        "telegram_unlinked": lambda: t.gettext("disconnected a chat"),
        "language_chosen": lambda: t.gettext("chose the language {language}").format(language=details.get("new", "?")),
        "notifications.turned_off": lambda: t.gettext("turned notifications off"),
        "notifications.turned_on": lambda: t.gettext("turned notifications on"),
        "ticket.opened": lambda: t.gettext("asked for a person (ticket #{ticket})").format(ticket=action.entity_id),
        "ticket.closed": lambda: t.gettext("closed ticket #{ticket}").format(ticket=action.entity_id),
        "ticket.rated": lambda: t.gettext("rated ticket #{ticket} {stars} of 5").format(
            ticket=action.entity_id, stars=details.get("stars", "?")
        ),
    }
    label = labels.get(action.action)
    return label() if label else action.action


def topic_replaced(ticket_id: int, t: Translator) -> Screen:
    return Screen(t.gettext("⚠️ The topic of ticket #{ticket} was deleted; the ticket goes on in a new topic.").format(ticket=ticket_id))


def continues_here(t: Translator) -> Screen:
    return Screen(t.gettext("This ticket's previous topic was deleted; it goes on here."))


def relay_failed(to_customer: bool, problem: str, gave_up: bool, t: Translator) -> Screen:
    """A message that could not be relayed: to whom, why, and whether it will be tried again."""
    if problem == "blocked":
        return customer_unreachable(t)
    if to_customer:
        where = t.gettext("⚠️ A message could not be delivered to the customer")
    else:
        where = t.gettext("⚠️ A message from the customer could not be posted here")
    if gave_up:
        return Screen(t.gettext("{what} and will not be tried again ({error}).").format(what=where, error=escape(problem)))
    return Screen(t.gettext("{what} yet ({error}); I'll keep trying.").format(what=where, error=escape(problem)))


def not_an_agent(t: Translator) -> Screen:
    return Screen(t.gettext("Only the shop's support agents can do that."))


def not_relayed_not_agent(t: Translator) -> Screen:
    return Screen(t.gettext("Not sent to the customer: only the shop's support agents can answer tickets."))


def ticket_is_closed(ticket_id: int, t: Translator) -> Screen:
    return Screen(t.gettext("Ticket #{ticket} is closed; the customer doesn't see messages here any more.").format(ticket=ticket_id))


def no_ticket_here(t: Translator) -> Screen:
    return Screen(t.gettext("Use this in a ticket's topic (or as a reply to a ticket's message)."))


def usage(command: str, t: Translator) -> Screen:
    examples = {
        "cancel": t.gettext("Usage: /cancel N, where N is the item's number on the ticket's first post."),
        "alternatives": t.gettext("Usage: /alternatives N, where N is the item's number on the ticket's first post."),
        "eta": t.gettext("Usage: /eta N, where N is the item's number on the ticket's first post."),
        "reply": t.gettext("Usage: /reply KEY, with a key from /canned list."),
        "canned": t.gettext("Usage: /canned add KEY text, /canned add KEY de text (for another language), /canned list."),
    }
    return Screen(examples[command])


def agent_error(refused: DomainError, line_id: int | None, t: Translator) -> Screen:
    if refused.code == "line_not_found":
        return Screen(t.gettext("There is no item {line} on this customer's orders.").format(line=line_id))
    if refused.code == "ticket_closed":
        return ticket_is_closed(getattr(refused, "ticket_id", 0), t)
    if refused.code == "ticket_not_found":
        return no_ticket_here(t)
    return domain_error(refused, t)


def assigned(assignment: Any, agent_name: str, t: Translator) -> Screen:
    if assignment.already:
        return Screen(t.gettext("Ticket #{ticket} is already assigned to {agent}.").format(ticket=assignment.ticket.id, agent=escape(agent_name)))
    return Screen(t.gettext("Ticket #{ticket} is now assigned to {agent}.").format(ticket=assignment.ticket.id, agent=escape(agent_name)))


def closed_by_agent(ticket: Any, agent_name: str, t: Translator) -> Screen:
    return Screen(
        t.gettext("Ticket #{ticket} was closed by {agent}. The customer was asked to rate the help.").format(
            ticket=ticket.id, agent=escape(agent_name)
        )
    )


def closed_by_customer(ticket: Any, t: Translator) -> Screen:
    return Screen(t.gettext("The customer marked ticket #{ticket} as resolved; it is closed.").format(ticket=ticket.id))


def already_closed(ticket: Any, t: Translator) -> Screen:
    return Screen(t.gettext("Ticket #{ticket} was closed already.").format(ticket=ticket.id))


def customer_rated(rating: Any, t: Translator) -> Screen:
    return Screen(t.gettext("The customer rated the help {stars} of 5.").format(stars=rating.stars) + " " + STARS * rating.stars)


def confirm_agent_cancel(ticket_id: int, preview: Any, t: Translator) -> Screen:
    text = t.gettext("Cancel {quantity} × {product} (order {order}) for the customer? They will be refunded {amount}.").format(
        quantity=preview.quantity,
        product=escape(preview.product_name),
        order=escape(preview.order_number),
        amount=t.money(preview.refund_minor, preview.currency),
    )
    if preview.keeps_allocated_quantity:
        text += "\n" + t.ngettext(
            "The {n} unit already reserved for the customer will still ship.",
            "The {n} units already reserved for the customer will still ship.",
            preview.keeps_allocated_quantity,
        ).format(n=preview.keeps_allocated_quantity)
    return Screen(
        text,
        inline(
            [(t.gettext("Yes, cancel it for the customer"), button(Action.AGENT_CANCEL_CONFIRM, ticket_id, preview.line_id))],
            [(t.gettext("No, keep it"), button(Action.AGENT_KEEP, ticket_id, preview.line_id))],
        ),
    )


def agent_cancelled(result: Any, agent_name: str, t: Translator) -> Screen:
    if result.already_done:
        return Screen(t.gettext("{product} was cancelled already; nothing changed.").format(product=escape(result.product_name)))
    return Screen(
        t.gettext("{agent} cancelled {quantity} × {product} (order {order}) for the customer; a refund of {amount} is owed.").format(
            agent=escape(agent_name),
            quantity=result.cancelled_quantity,
            product=escape(result.product_name),
            order=escape(result.order_number),
            amount=t.money(result.refund_minor, result.currency),
        )
    )


def agent_kept(t: Translator) -> Screen:
    return Screen(t.gettext("Not cancelled; the item keeps waiting."))


def alternatives_sent(result: Any, agent_name: str, t: Translator) -> Screen:
    if not result.alternatives:
        return Screen(
            t.gettext("There is no in-stock alternative for {product} right now; nothing was sent.").format(product=escape(result.product_name))
        )
    names = ", ".join(escape(a.name) for a in result.alternatives)
    return Screen(
        t.ngettext(
            "{agent} sent the customer {n} alternative for {product}: {names}.",
            "{agent} sent the customer {n} alternatives for {product}: {names}.",
            len(result.alternatives),
        ).format(agent=escape(agent_name), n=len(result.alternatives), product=escape(result.product_name), names=names)
    )


def customer_unreachable(t: Translator) -> Screen:
    return Screen(t.gettext("⚠️ Not delivered: the customer has blocked the bot. They get nothing from us until they write again."))


def canned_saved(saved: Any, t: Translator) -> Screen:
    if saved.replaced:
        return Screen(t.gettext("Replaced canned reply {key} ({language}).").format(key=saved.reply.key, language=saved.reply.language))
    return Screen(t.gettext("Saved canned reply {key} ({language}).").format(key=saved.reply.key, language=saved.reply.language))


def canned_list(replies: list[Any], t: Translator, page: int = 1) -> Screen:
    """The canned replies by key and language, with the start of each text; a page at a time."""
    if not replies:
        return Screen(t.gettext("No canned replies yet. Add one with /canned add KEY text."))
    head = ["<b>" + t.gettext("Canned replies") + "</b>"]
    items = []
    for reply in replies:
        preview = reply.text if len(reply.text) <= 60 else reply.text[:59] + "…"
        items.append(f"• <code>{escape(reply.key)}</code> ({reply.language}): {escape(preview)}")
    tail = [t.gettext("Send one with /reply KEY in a ticket's topic.")]
    return one_page(len(items), lambda shown: _listed(head, items, shown, tail, t), page, Action.AGENT_CANNED_PAGE, t, LIST_PAGE)


def canned_missing(key: str, languages: list[str], t: Translator) -> Screen:
    return Screen(
        t.gettext("There is no canned reply {key} in the customer's language or the default one ({languages}).").format(
            key=escape(key), languages=", ".join(languages)
        )
    )


def queue(tickets: list[Any], names: dict[int, str], target_minutes: int, t: Translator, page: int = 1) -> Screen:
    """The open tickets, a page at a time: their age, who has them, which wait past the target."""
    if not tickets:
        return Screen(t.gettext("No open tickets."))
    head = ["<b>" + t.ngettext("{n} open ticket", "{n} open tickets", len(tickets)).format(n=len(tickets)) + "</b>"]
    lines = []
    for ticket in tickets:
        assignee = (
            escape(names.get(ticket.assignee_telegram_id, str(ticket.assignee_telegram_id)))
            if ticket.assignee_telegram_id
            else t.gettext("unassigned")
        )
        if ticket.overdue:
            state = t.gettext("⚠️ no answer yet, over {duration}").format(duration=duration(target_minutes, t))
        elif ticket.answered:
            state = t.gettext("answered")
        else:
            state = t.gettext("no answer yet")
        lines.append(
            f"• #{ticket.id} {escape(short_name(ticket.customer_name))} · "
            + t.gettext("open for {age}").format(age=age(ticket.waited_minutes, t))
            + f" · {assignee} · {state}"
        )
    return one_page(len(lines), lambda shown: _listed(head, lines, shown, [], t), page, Action.AGENT_QUEUE_PAGE, t, LIST_PAGE)


def _line_row(line: Any, t: Translator) -> str:
    parts = [f"• <b>[{line.line_id}]</b> {escape(item_title(line))}", t.gettext("order {order}").format(order=escape(line.order_number))]
    status = status_label(line.status, t)
    if line.open_quantity != line.quantity:
        status += " " + t.gettext("({waiting} of {quantity} waiting)").format(waiting=line.open_quantity, quantity=line.quantity)
    parts.append(status)
    if line.eta is not None:
        basis = {
            EtaBasis.PURCHASE_ORDER: unbroken(line.purchase_order_reference) if line.purchase_order_reference else t.gettext("supplier shipment"),
            EtaBasis.LEAD_TIME: t.gettext("estimated"),
            EtaBasis.IN_STOCK: t.gettext("in stock"),
        }.get(line.eta_basis, "")
        parts.append(t.gettext("ETA {eta} ({basis})").format(eta=t.date(line.eta), basis=escape(basis)))
    else:
        parts.append(t.gettext("no ETA yet"))
    if line.queue_position:
        parts.append(t.gettext("{place} of {size} in line").format(place=t.ordinal(line.queue_position), size=line.queue_size))
    return " · ".join(parts)


def _listed(head: list[str], items: list[str], shown: range, tail: list[str], t: Translator) -> str:
    """A page of a list: its heading, which items of how many (if not all), those items, and what follows."""
    where = [items_shown(shown, len(items), t)] if len(shown) < len(items) else []
    return "\n".join([*head, *where, *items[shown.start : shown.stop], *tail])


def _more(n: int, t: Translator) -> str:
    return t.gettext("…and {n} more.").format(n=n)


def _when(at: datetime, tz: Any, t: Translator) -> str:
    local = at.astimezone(tz)
    return t.date(local.date()) + " " + t.time_of_day(local)


def agent_command_menu(t: Translator) -> list[BotCommand]:
    """The commands agents see in the support group's menu."""
    return [
        BotCommand("queue", t.gettext("Open tickets and how long they have waited")),
        BotCommand("assign", t.gettext("Take this ticket")),
        BotCommand("eta", t.gettext("Send the customer item N's ship date")),
        BotCommand("alternatives", t.gettext("Offer the customer alternatives for item N")),
        BotCommand("cancel", t.gettext("Cancel the customer's item N")),
        BotCommand("reply", t.gettext("Send a canned reply")),
        BotCommand("canned", t.gettext("List or add canned replies")),
        BotCommand("close", t.gettext("Close this ticket and ask for a rating")),
    ]
