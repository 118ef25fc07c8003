"""The event log: what the shop must act on, written in the transaction of the change, and the feed that reads it.

Each event is self-contained (order number, SKU, quantities, money in minor units with its currency), so a
consumer never has to call back to understand it. The feed's cursor is a (transaction number, id) pair read
only below every transaction still running (db/transaction_order.py), so paging never skips an event that
commits late and never shows one twice.
"""

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, insert, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.added_tax import with_added_tax
from bot.services.audit import Actor
from bot.services.errors import InvalidFeedQuery
from bot.services.unit_of_work import UnitOfWork
from db.models import ActorType, DelayNotice, Event, OrderLine, Product, Ticket
from db.transaction_order import settled_transaction_bound


class EventType(StrEnum):
    LINE_CANCELLED = "line.cancelled"
    LINE_SUBSTITUTED = "line.substituted"
    LINE_READY_TO_SHIP = "line.ready_to_ship"
    LINE_SHIPPED = "line.shipped"
    REFUND_OWED = "refund.owed"
    REFUND_PAID = "refund.paid"
    DELAY_NOTICE_SENT = "delay_notice.sent"
    DELAY_NOTICE_ANSWERED = "delay_notice.answered"
    PURCHASE_ORDER_RECEIVED = "purchase_order.received"
    TICKET_OPENED = "ticket.opened"
    TICKET_CLOSED = "ticket.closed"
    TICKET_RATED = "ticket.rated"
    CUSTOMER_ERASED = "customer.erased"


EVENT_TYPES = tuple(event_type.value for event_type in EventType)
# What a consumer may name: a type, or a family of them (`line.*`); TYPES_PATTERN is a comma-separated list.
EVENT_TYPE_NAMES = (*EVENT_TYPES, *dict.fromkeys(f"{name.split('.')[0]}.*" for name in EVENT_TYPES))
_NAME = "|".join(re.escape(name) for name in EVENT_TYPE_NAMES)
TYPES_PATTERN = rf"^ *(?:(?:{_NAME}) *)?(?:, *(?:(?:{_NAME}) *)?)*$"
MAX_PAGE = 500
# Who did it, as a shop's system reads it: the merchant's API, console and imports are the shop itself.
_BY = {ActorType.CUSTOMER: "customer", ActorType.AGENT: "agent", ActorType.MERCHANT: "shop", ActorType.SYSTEM: "automatic"}
_MAX_BIGINT = 2**63 - 1
CURSOR_PATTERN = r"([0-9]{1,19})-([0-9]{1,19})"  # transaction number, event id
_PATTERN = re.compile(r"^[a-z_]+\.(\*|[a-z_]+)$")


@dataclass(frozen=True, order=True)
class FeedCursor:
    """Where a consumer stands in the feed: after this transaction number and event id."""

    transaction_number: int
    event_id: int

    def encode(self) -> str:
        return f"{self.transaction_number}-{self.event_id}"

    @classmethod
    def decode(cls, text: str) -> "FeedCursor":
        match = re.fullmatch(CURSOR_PATTERN, text)
        if match is None:
            raise InvalidFeedQuery("after", "is not a cursor this feed gave out")
        # Past the last number a column holds is after every event: clamped, it is still a place in the feed.
        return cls(min(int(match.group(1)), _MAX_BIGINT), min(int(match.group(2)), _MAX_BIGINT))


@dataclass(frozen=True)
class EventView:
    id: str
    type: str
    occurred_at: datetime
    order_number: str | None
    data: dict[str, Any]
    cursor: FeedCursor


@dataclass(frozen=True)
class EventPage:
    events: list[EventView]
    next_cursor: FeedCursor | None  # store it and ask again with it; None only for an empty log


def emit(session: AsyncSession, type: EventType, at: datetime, data: dict[str, Any], order_number: str | None = None) -> None:
    """Add an event to the current transaction, so it commits or rolls back with the change."""
    session.add(Event(**_row(type, at, data, order_number)))


async def emit_together(session: AsyncSession, at: datetime, events: Sequence[tuple[EventType, dict[str, Any], str]]) -> None:
    """Write the events of one change, (type, data, order number) each, in one statement and in the given order.

    Like emit, they commit or roll back with the change. The session flushes what it holds first, so they number
    after every event emitted before them; nothing is read back, as no caller needs the rows.
    """
    if events:
        await session.execute(insert(Event.__table__), [_row(type, at, data, number) for type, data, number in events])


def _row(type: EventType, at: datetime, data: dict[str, Any], order_number: str | None) -> dict[str, Any]:
    """An events row as written; its transaction_number is the column's default, taken in the database."""
    return {"public_id": "evt_" + uuid.uuid4().hex, "type": type.value, "occurred_at": at, "order_number": order_number,
            "payload": data}


def money(amount_minor: int, currency: str) -> dict[str, Any]:
    return {"amount_minor": amount_minor, "currency": currency}


def by(actor: Actor) -> dict[str, Any]:
    """Who made a change: customer, agent, shop or automatic, with their id where there is one."""
    return {"by": _BY[actor.type], "by_id": actor.id}


def line_facts(line: OrderLine) -> dict[str, Any]:
    """What a line is, for a payload: its order, SKU, product, quantity and price (order and product loaded)."""
    return {
        "order_number": line.order.number,
        "line_id": line.id,
        "sku": line.product.sku,
        "product_name": line.product.name,
        "ordered_quantity": line.quantity,
        "unit_price": money(line.unit_price_minor, line.order.currency),
    }


def refund_facts(
    refund_id: int, order_number: str, line_id: int, sku: str, amount_minor: int, currency: str, reason: str
) -> dict[str, Any]:
    return {
        "refund_id": refund_id,
        "order_number": order_number,
        "line_id": line_id,
        "sku": sku,
        "amount": money(amount_minor, currency),
        "reason": reason,
    }


def _line_refund(refund_id: int, line: OrderLine, amount_minor: int, reason: str) -> dict[str, Any]:
    return refund_facts(refund_id, line.order.number, line.id, line.product.sku, amount_minor, line.order.currency, reason)


async def line_cancelled(
    session: AsyncSession, line: OrderLine, quantity: int, refund_id: int, refund_minor: int, actor: Actor, at: datetime
) -> None:
    """Emit line.cancelled and the refund.owed it causes."""
    number = line.order.number
    refund = _line_refund(refund_id, line, refund_minor, "cancelled")
    cancelled = {**line_facts(line), "cancelled_quantity": quantity, "still_shipping_quantity": line.allocated_quantity,
                 "refund": refund, **by(actor)}
    await emit_together(
        session, at, [(EventType.LINE_CANCELLED, cancelled, number), (EventType.REFUND_OWED, {**refund, **by(actor)}, number)]
    )


async def line_substituted(
    session: AsyncSession,
    line: OrderLine,
    new_line_id: int,
    alternative: Product,
    quantity: int,
    refund_id: int | None,
    actor: Actor,
    at: datetime,
) -> None:
    """Emit line.substituted (what to ship instead, and who pays a difference) and the refund.owed of a cheaper one."""
    number, currency = line.order.number, line.order.currency
    price = with_added_tax(alternative.price_minor, line.added_tax_ppm)  # as the line's order is charged
    difference = (price - line.unit_price_minor) * quantity
    refund = _line_refund(refund_id, line, -difference, "substitute_cheaper") if refund_id is not None else None
    substituted = {
        **line_facts(line),
        "quantity": quantity,
        "ship_instead": {
            "line_id": new_line_id,
            "sku": alternative.sku,
            "product_name": alternative.name,
            "quantity": quantity,
            "unit_price": money(min(price, line.unit_price_minor), currency),
        },
        "price_difference": money(difference, currency),
        # Dearer: the shop waives the difference; cheaper: the customer is refunded it.
        "difference_paid_by": "shop" if difference > 0 else "customer_refunded" if difference < 0 else None,
        "refund": refund,
        **by(actor),
    }
    events = [(EventType.LINE_SUBSTITUTED, substituted, number)]
    if refund is not None:
        events.append((EventType.REFUND_OWED, {**refund, **by(actor)}, number))
    await emit_together(session, at, events)


@dataclass(frozen=True, slots=True)
class ReadyLine:
    """A line just allocated in full: what to pick for it."""

    order_number: str
    line_id: int
    sku: str
    product_name: str
    quantity: int


async def lines_ready_to_ship(session: AsyncSession, at: datetime, lines: Sequence[ReadyLine]) -> None:
    """Emit line.ready_to_ship for each line, in one statement: an import can make thousands ready at once."""
    await emit_together(
        session,
        at,
        [
            (
                EventType.LINE_READY_TO_SHIP,
                {
                    "order_number": line.order_number,
                    "line_id": line.line_id,
                    "pick": {"sku": line.sku, "product_name": line.product_name, "quantity": line.quantity},
                },
                line.order_number,
            )
            for line in lines
        ],
    )


def line_shipped(
    session: AsyncSession, at: datetime, line: OrderLine, quantity: int, shipment_id: int, shipped_at: datetime,
    parcel: dict[str, str | None],
) -> None:
    """Emit line.shipped: how many units went out with which parcel, and how many of the line are yet to ship."""
    to_deliver = line.quantity - line.cancelled_quantity - line.substituted_quantity
    emit(
        session,
        EventType.LINE_SHIPPED,
        at,
        {**line_facts(line), "shipment_id": shipment_id, "shipped_quantity": quantity,
         "shipped_in_total": line.shipped_quantity, "still_to_ship": to_deliver - line.shipped_quantity,
         "shipped_at": shipped_at.isoformat(), **parcel},
        line.order.number,
    )


def refund_paid(session: AsyncSession, at: datetime, refund: dict[str, Any], payment_reference: str, actor: Actor) -> None:
    emit(session, EventType.REFUND_PAID, at, {**refund, "payment_reference": payment_reference, **by(actor)}, refund["order_number"])


def delay_notice_sent(
    session: AsyncSession, at: datetime, notice: DelayNotice, order_number: str, sku: str, quantity: int,
    refund_if_cancelled: dict[str, Any],
) -> None:
    emit(
        session,
        EventType.DELAY_NOTICE_SENT,
        at,
        {**_notice_facts(notice, order_number, sku), "waiting_quantity": quantity, "refund_if_cancelled": refund_if_cancelled},
        order_number,
    )


async def delay_notice_answered(session: AsyncSession, at: datetime, notice: DelayNotice, line: OrderLine, actor: Actor) -> None:
    """Emit delay_notice.answered with the customer's answer (agreed or cancelled)."""
    order = await line.awaitable_attrs.order
    product = await line.awaitable_attrs.product
    answer = notice.response.value if notice.response else None
    emit(session, EventType.DELAY_NOTICE_ANSWERED, at, {**_notice_facts(notice, order.number, product.sku), "answer": answer, **by(actor)}, order.number)


def _notice_facts(notice: DelayNotice, order_number: str, sku: str) -> dict[str, Any]:
    return {
        "notice_id": notice.id,
        "sequence": notice.sequence,
        "order_number": order_number,
        "line_id": notice.line_id,
        "sku": sku,
        "promised_ship_by": notice.promised_ship_by.isoformat(),
        "new_ship_by": notice.new_ship_by.isoformat() if notice.new_ship_by else None,
        "respond_by": notice.respond_by.isoformat() if notice.respond_by else None,
    }


def purchase_order_received(
    session: AsyncSession, at: datetime, reference: str, sku: str, received: int, outstanding: int, lines_ready: list[int], actor: Actor
) -> None:
    emit(
        session,
        EventType.PURCHASE_ORDER_RECEIVED,
        at,
        {"reference": reference, "sku": sku, "received_quantity": received, "outstanding_quantity": outstanding,
         "lines_ready_to_ship": lines_ready, **by(actor)},
    )


def ticket_event(session: AsyncSession, type: EventType, at: datetime, ticket: Ticket, actor: Actor) -> None:
    """Emit ticket.opened, ticket.closed or ticket.rated with the ticket as it now stands."""
    emit(
        session,
        type,
        at,
        {"ticket_id": ticket.id, "customer_id": ticket.customer_id, "reason": ticket.reason, "status": ticket.status.value,
         "opened_at": ticket.opened_at.isoformat(), "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
         "rating": ticket.rating, **by(actor)},
    )


async def read_events(
    uow: UnitOfWork, after: FeedCursor | None, types: Sequence[str] = (), limit: int = 100
) -> EventPage:
    """The events after the cursor, oldest first, of the given types (`line.*` names a family); at most `limit`."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidFeedQuery("limit", f"must be between 1 and {MAX_PAGE}")
    query = events_after(after, limit, Event)
    if types:
        query = query.where(type_filter(types))
    async with uow.read_only():
        events = [_view(event) for event in (await uow.session.scalars(query)).all()]
    return EventPage(events, events[-1].cursor if events else after)


def events_after(after: FeedCursor | None, limit: int, *columns: Any) -> Select[Any]:
    """The events past the cursor, oldest first, at most `limit`: only those of settled transactions, so a consumer
    reading page after page never skips one that commits late."""
    query = (
        select(*columns)
        .where(Event.transaction_number < settled_transaction_bound())
        .order_by(Event.transaction_number, Event.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(Event.transaction_number, Event.id) > tuple_(after.transaction_number, after.event_id))
    return query


def type_filter(types: Sequence[str]) -> ColumnElement[bool]:
    """Events of the named types; `line.*` names every line event. InvalidFeedQuery for a type that never occurs."""
    exact = [name for name in types if not name.endswith(".*")]
    families = [name[:-1] for name in types if name.endswith(".*")]
    for name in types:
        if not _PATTERN.match(name) or not any(known.startswith(name.rstrip("*")) for known in EVENT_TYPES) or (
            name in exact and name not in EVENT_TYPES
        ):
            raise InvalidFeedQuery("types", f"{name!r} is not an event type; known: {', '.join(EVENT_TYPES)}")
    return or_(Event.type.in_(exact), *(Event.type.startswith(family, autoescape=True) for family in families))


def parse_types(text: str | None) -> list[str]:
    """A comma-separated list of event types, as the feed and webhook endpoints take them; checked."""
    names = [name.strip(" ") for name in (text or "").split(",") if name.strip(" ")]
    if names:
        type_filter(names)
    return names


def _view(event: Event) -> EventView:
    return EventView(
        id=event.public_id,
        type=event.type,
        occurred_at=event.occurred_at,
        order_number=event.order_number,
        data=event.payload,
        cursor=FeedCursor(event.transaction_number, event.id),
    )
