"""Tickets: a customer's chat escalated to the support team, from opening to the customer's rating.

A customer has at most one open ticket; asking again while it is open continues it. Who counts as an agent
is decided on the Telegram side (membership of the support group); these services take the agent's
Telegram id and record it with everything the agent does.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.business_hours import BusinessHours
from bot.clock import Clock
from bot.services.audit import Actor, record
from bot.services.backorders.ownership import customer_line
from bot.services.backorders.status import LineView, get_backorder_status, get_line_view
from bot.services.conversations.chat_session import resolve_language
from bot.services.errors import InvalidRating, TicketClosed, TicketNotFound, TicketStillOpen
from bot.services.event_log import EventType, ticket_event
from bot.services.outbox import PRIORITY_INTERACTIVE, OutgoingMessage, enqueue
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.models import (
    ActorType,
    AuditEntry,
    Customer,
    Order,
    RelayDirection,
    RelayStatus,
    TelegramUser,
    Ticket,
    TicketMessage,
    TicketStatus,
)

RECENT_ACTIONS = 5
MAX_REASON_LENGTH = 60  # tickets.reason
TEMPLATE_RATE_REQUEST = "rate_request"


class EscalationKind(StrEnum):
    ASKED = "asked"  # /support, or asking for a person in words
    ITEM = "item"  # "Talk to a person" on an item's card
    MISUNDERSTOOD = "misunderstood"  # the bot failed to understand twice in a row
    REFUSED = "refused"  # an action the customer asked for is not allowed


@dataclass(frozen=True)
class Escalation:
    """Why a ticket was opened: stored as `kind[:refusal][:line id]`, e.g. `refused:line_not_cancellable:17`."""

    kind: EscalationKind
    line_id: int | None = None
    refusal: str | None = None  # the refused action's error code

    def encode(self) -> str:
        parts = [self.kind.value, *([self.refusal] if self.refusal else []), *([str(self.line_id)] if self.line_id else [])]
        return ":".join(parts)[:MAX_REASON_LENGTH]

    @classmethod
    def decode(cls, text: str) -> "Escalation":
        kind, *rest = text.split(":")
        line = int(rest.pop()) if rest and rest[-1].isdigit() else None
        try:
            return cls(EscalationKind(kind), line, rest[0] if rest else None)
        except ValueError:
            return cls(EscalationKind.ASKED, line)


@dataclass(frozen=True)
class TicketPolicy:
    """The shop's support set-up as the ticket rules need it."""

    support_chat_id: int
    business_hours: BusinessHours = BusinessHours(())
    response_target_minutes: int = 60


@dataclass(frozen=True)
class AnswerExpected:
    """When a person will answer: within some minutes while the team is at work, else when it is back."""

    within_minutes: int | None
    back_at: datetime | None  # in the shop's time zone
    days_until_back: int = 0  # 0: today, 1: tomorrow...


@dataclass(frozen=True)
class TicketView:
    id: int
    customer_id: int
    customer_name: str
    customer_chat_id: int
    language: str | None  # the customer's chat language, if known
    status: TicketStatus
    escalation: Escalation
    support_chat_id: int | None
    topic_thread_id: int | None  # None: no topic (a group without topics, or not created yet)
    context_message_id: int | None
    resolved_button_message_id: int | None  # the customer's message with the ✅ Resolved button
    assignee_telegram_id: int | None
    opened_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    rating: int | None

    @property
    def is_open(self) -> bool:
        return self.status is TicketStatus.OPEN


@dataclass(frozen=True)
class OpenedTicket:
    ticket: TicketView
    created: bool  # False: the customer's open ticket continues
    answer: AnswerExpected


@dataclass(frozen=True)
class OrderRef:
    number: str
    placed_at: datetime


@dataclass(frozen=True)
class CustomerAction:
    """Something the customer did with the bot, from the audit log."""

    at: datetime
    action: str
    entity_type: str
    entity_id: str
    details: dict[str, Any]


@dataclass(frozen=True)
class TicketContext:
    """What an agent needs to see first: who, which orders, what waits, what the customer did, and why."""

    ticket: TicketView
    email: str
    phone: str | None
    orders: list[OrderRef]  # newest first
    waiting: list[LineView]  # every backordered line, oldest order first
    reason_line: LineView | None  # the item the escalation was about
    recent_actions: list[CustomerAction]  # newest first


@dataclass(frozen=True)
class Assignment:
    ticket: TicketView
    previous_assignee: int | None
    already: bool


@dataclass(frozen=True)
class ClosedTicket:
    ticket: TicketView
    already_closed: bool


@dataclass(frozen=True)
class Rating:
    ticket: TicketView
    stars: int
    already_rated: bool  # the first rating stands


@dataclass(frozen=True)
class QueuedTicket:
    id: int
    customer_name: str
    opened_at: datetime
    waited_minutes: int
    assignee_telegram_id: int | None
    answered: bool  # an agent has written to the customer
    overdue: bool  # no answer yet and waiting longer than the response target
    topic_thread_id: int | None


async def open_ticket(
    uow: UnitOfWork, customer_id: int, customer_chat_id: int, escalation: Escalation, policy: TicketPolicy
) -> OpenedTicket:
    """Open a ticket for the customer, or continue the one already open; says when a person will answer."""
    async with uow:
        session = uow.session
        now = uow.clock.now()
        ticket = await _open_ticket_of(session, customer_id)
        created = False
        if ticket is None:
            if escalation.line_id is not None:
                await customer_line(session, customer_id, escalation.line_id)  # someone else's line: LineNotFound
            ticket, created = await _insert_ticket(session, customer_id, customer_chat_id, escalation, policy, now)
            if created:
                record(
                    session, Actor.customer(customer_id), "ticket.opened", "ticket", ticket.id, at=now,
                    reason=ticket.reason,
                )
                ticket_event(session, EventType.TICKET_OPENED, now, ticket, Actor.customer(customer_id))
        # Whichever way the customer reached a person, the bot's run of misunderstandings is over.
        await session.execute(
            update(TelegramUser)
            .where(
                TelegramUser.telegram_user_id == select(Customer.telegram_user_id).where(Customer.id == customer_id).scalar_subquery(),
                TelegramUser.misunderstood_in_a_row != 0,
            )
            .values(misunderstood_in_a_row=0, updated_at=now)
        )
        view = await ticket_view(session, ticket)
        await uow.commit()
    return OpenedTicket(view, created, expected_answer(uow.clock, policy))


def expected_answer(clock: Clock, policy: TicketPolicy) -> AnswerExpected:
    """Within the response target while the team is at work; otherwise when it is back."""
    now = clock.now()
    if policy.business_hours.is_open(now, clock.tz):
        return AnswerExpected(within_minutes=policy.response_target_minutes, back_at=None)
    back = policy.business_hours.next_opening(now, clock.tz)
    if back is None:
        return AnswerExpected(within_minutes=policy.response_target_minutes, back_at=None)
    local_back = back.astimezone(clock.tz)
    return AnswerExpected(None, local_back, (local_back.date() - now.astimezone(clock.tz).date()).days)


async def ticket_context(uow: UnitOfWork, ticket_id: int) -> TicketContext:
    """The context card's data: the customer, linked orders, backordered lines, recent actions and the reason."""
    async with uow:
        session = uow.session
        ticket = await _ticket(session, ticket_id)
        customer = await session.get(Customer, ticket.customer_id)
        assert customer is not None
        orders = (
            await session.execute(
                select(Order.number, Order.placed_at).where(Order.customer_id == customer.id).order_by(Order.placed_at.desc(), Order.id.desc())
            )
        ).all()
        actions = (
            await session.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.actor_type == ActorType.CUSTOMER,
                    AuditEntry.actor_id == str(customer.id),
                    or_(AuditEntry.entity_type != "ticket", AuditEntry.entity_id != str(ticket.id)),
                )
                .order_by(AuditEntry.id.desc())
                .limit(RECENT_ACTIONS)
            )
        ).all()
        view = await ticket_view(session, ticket)
        email, phone = customer.email, customer.phone
        recent = [CustomerAction(a.at, a.action, a.entity_type, a.entity_id, dict(a.details or {})) for a in actions]
    status = await get_backorder_status(uow, view.customer_id)
    reason_line = None
    if view.escalation.line_id is not None:
        reason_line = next((line for line in status.waiting if line.line_id == view.escalation.line_id), None)
        if reason_line is None:
            reason_line = await get_line_view(uow, view.customer_id, view.escalation.line_id)
    return TicketContext(
        ticket=view,
        email=email,
        phone=phone,
        orders=[OrderRef(row.number, row.placed_at) for row in orders],
        waiting=status.waiting,
        reason_line=reason_line,
        recent_actions=recent,
    )


async def attach_topic(
    uow: UnitOfWork, ticket_id: int, thread_id: int | None, context_message_id: int, *, replacing_thread_id: int | None = None
) -> TicketView:
    """Where the ticket lives in the support group: its topic (None without topics) and context card.

    `replacing_thread_id`: the topic was deleted and this is its successor; messages still waiting for
    delivery follow the ticket to the new topic.
    """
    async with uow:
        session = uow.session
        ticket = await _ticket(session, ticket_id)
        previous = ticket.topic_thread_id
        if replacing_thread_id is not None and previous != replacing_thread_id:
            # Someone else reopened it already: keep theirs.
            return await ticket_view(session, ticket)
        ticket.topic_thread_id = thread_id
        ticket.context_message_id = context_message_id
        await session.execute(
            update(TicketMessage)
            .where(
                TicketMessage.ticket_id == ticket.id,
                TicketMessage.direction == RelayDirection.TO_AGENTS,
                TicketMessage.status == RelayStatus.PENDING,
            )
            .values(target_thread_id=thread_id)
        )
        action = "ticket.topic_reopened" if replacing_thread_id is not None else "ticket.topic_opened"
        record(
            session, Actor.system(), action, "ticket", ticket.id, at=uow.clock.now(),
            thread_id=thread_id, previous_thread_id=previous, context_message_id=context_message_id,
        )
        view = await ticket_view(session, ticket)
        await uow.commit()
    return view


async def get_ticket(uow: UnitOfWork, ticket_id: int) -> TicketView:
    async with uow:
        return await ticket_view(uow.session, await _ticket(uow.session, ticket_id))


async def find_ticket(
    uow: UnitOfWork, support_chat_id: int, *, thread_id: int | None = None, reply_to_message_id: int | None = None
) -> TicketView | None:
    """The ticket a message in the support group belongs to: by its topic, else by the ticket message it replies to."""
    async with uow:
        session = uow.session
        ticket = None
        if thread_id is not None:
            ticket = await session.scalar(
                select(Ticket)
                .where(Ticket.support_chat_id == support_chat_id, Ticket.topic_thread_id == thread_id)
                .order_by(Ticket.id.desc())
                .limit(1)
            )
        if ticket is None and reply_to_message_id is not None:
            relayed = select(TicketMessage.ticket_id).where(
                TicketMessage.target_chat_id == support_chat_id, TicketMessage.target_message_id == reply_to_message_id
            )
            ticket = await session.scalar(
                select(Ticket)
                .where(
                    Ticket.support_chat_id == support_chat_id,
                    or_(Ticket.context_message_id == reply_to_message_id, Ticket.id.in_(relayed)),
                )
                .order_by(Ticket.id.desc())
                .limit(1)
            )
        return None if ticket is None else await ticket_view(session, ticket)


async def open_ticket_for_user(uow: UnitOfWork, telegram_user_id: int) -> TicketView | None:
    """The open ticket of the customer this Telegram user is linked to, if any."""
    async with uow:
        ticket = await uow.session.scalar(
            select(Ticket)
            .join(Customer, Customer.id == Ticket.customer_id)
            .where(Customer.telegram_user_id == telegram_user_id, Ticket.status == TicketStatus.OPEN)
        )
        return None if ticket is None else await ticket_view(uow.session, ticket)


async def unposted_tickets(uow: UnitOfWork, support_chat_id: int) -> list[int]:
    """Open tickets whose context card is not in the support group yet (posting failed, or a restart came between)."""
    async with uow:
        return list(
            await uow.session.scalars(
                select(Ticket.id)
                .where(Ticket.status == TicketStatus.OPEN, Ticket.support_chat_id == support_chat_id, Ticket.context_message_id.is_(None))
                .order_by(Ticket.id)
            )
        )


async def assign_ticket(uow: UnitOfWork, ticket_id: int, agent_telegram_id: int) -> Assignment:
    """Make the agent the ticket's assignee; assigning it to the same agent again changes nothing."""
    async with uow:
        ticket = await open_ticket_row(uow.session, ticket_id)
        previous = ticket.assignee_telegram_id
        if previous == agent_telegram_id:
            return Assignment(await ticket_view(uow.session, ticket), previous, already=True)
        ticket.assignee_telegram_id = agent_telegram_id
        record(
            uow.session, Actor.agent(agent_telegram_id), "ticket.assigned", "ticket", ticket.id, at=uow.clock.now(),
            previous_assignee=previous,
        )
        view = await ticket_view(uow.session, ticket)
        await uow.commit()
    return Assignment(view, previous, already=False)


async def note_resolved_button(uow: UnitOfWork, ticket_id: int, message_id: int) -> None:
    """The customer was shown the open ticket's ✅ Resolved button in this message (the latest counts)."""
    async with uow:
        await uow.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.status == TicketStatus.OPEN)
            .values(resolved_button_message_id=message_id)
        )
        await uow.commit()


async def close_ticket(uow: UnitOfWork, ticket_id: int, actor: Actor, *, customer_id: int | None = None) -> ClosedTicket:
    """Close the ticket (by an agent, or by its customer when `customer_id` is given); closing twice is a no-op.

    Closed by an agent, the customer is asked to rate the help through the outbox, in the same transaction;
    a customer who closed it is asked in the chat, in place of the button they pressed.
    """
    async with uow:
        session = uow.session
        ticket = await _ticket(session, ticket_id)
        if customer_id is not None and ticket.customer_id != customer_id:
            raise TicketNotFound()
        if ticket.status is TicketStatus.CLOSED:
            return ClosedTicket(await ticket_view(session, ticket), already_closed=True)
        now = uow.clock.now()
        ticket.status = TicketStatus.CLOSED
        ticket.closed_at = now
        ticket.closed_by = f"{actor.type.value}:{actor.id}" if actor.id else actor.type.value
        record(session, actor, "ticket.closed", "ticket", ticket.id, at=now)
        ticket_event(session, EventType.TICKET_CLOSED, now, ticket, actor)
        view = await ticket_view(session, ticket)
        if customer_id is None:
            await enqueue(session, uow.clock, [_rate_request(view, uow.policy)])
        await uow.commit()
    return ClosedTicket(view, already_closed=False)


def _rate_request(ticket: TicketView, policy: ShopPolicy) -> OutgoingMessage:
    return OutgoingMessage(
        chat_id=ticket.customer_chat_id,
        customer_id=ticket.customer_id,
        template=TEMPLATE_RATE_REQUEST,
        language=ticket.language or policy.default_language,
        params={"ticket_id": ticket.id},
        optional=False,  # the end of a conversation the customer is in, not news
        dedupe_key=f"ticket_rating:{ticket.id}",
        priority=PRIORITY_INTERACTIVE,
    )


async def rate_ticket(uow: UnitOfWork, customer_id: int, ticket_id: int, stars: int) -> Rating:
    """Store the customer's 1–5 rating of a closed ticket; only the first rating counts."""
    if not 1 <= stars <= 5:
        raise InvalidRating()
    async with uow:
        session = uow.session
        ticket = await _ticket(session, ticket_id, lock=True)
        if ticket.customer_id != customer_id:
            raise TicketNotFound()
        if ticket.status is TicketStatus.OPEN:
            raise TicketStillOpen(ticket.id)
        if ticket.rating is not None:
            return Rating(await ticket_view(session, ticket), ticket.rating, already_rated=True)
        now = uow.clock.now()
        ticket.rating = stars
        ticket.rated_at = now
        record(session, Actor.customer(customer_id), "ticket.rated", "ticket", ticket.id, at=now, stars=stars)
        ticket_event(session, EventType.TICKET_RATED, now, ticket, Actor.customer(customer_id))
        view = await ticket_view(session, ticket)
        await uow.commit()
    return Rating(view, stars, already_rated=False)


async def ticket_queue(uow: UnitOfWork, response_target_minutes: int) -> list[QueuedTicket]:
    """The open tickets, oldest first, with how long each has waited and whether it is past the response target."""
    async with uow:
        now = uow.clock.now()
        rows = (
            await uow.session.execute(
                select(Ticket, Customer.name)
                .join(Customer, Customer.id == Ticket.customer_id)
                .where(Ticket.status == TicketStatus.OPEN)
                .order_by(Ticket.opened_at, Ticket.id)
            )
        ).all()
        target = timedelta(minutes=response_target_minutes)
        return [
            QueuedTicket(
                id=ticket.id,
                customer_name=name,
                opened_at=ticket.opened_at,
                waited_minutes=int((now - ticket.opened_at).total_seconds() // 60),
                assignee_telegram_id=ticket.assignee_telegram_id,
                answered=ticket.first_response_at is not None,
                overdue=ticket.first_response_at is None and now - ticket.opened_at > target,
                topic_thread_id=ticket.topic_thread_id,
            )
            for ticket, name in rows
        ]


async def _insert_ticket(
    session: AsyncSession, customer_id: int, chat_id: int, escalation: Escalation, policy: TicketPolicy, now: datetime
) -> tuple[Ticket, bool]:
    """A new open ticket (True); if a concurrent request opened one first, that one (False)."""
    ticket = Ticket(
        customer_id=customer_id,
        customer_chat_id=chat_id,
        status=TicketStatus.OPEN,
        reason=escalation.encode(),
        support_chat_id=policy.support_chat_id,
        opened_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(ticket)
    except IntegrityError:
        existing = await _open_ticket_of(session, customer_id)
        assert existing is not None
        return existing, False
    return ticket, True


async def _open_ticket_of(session: AsyncSession, customer_id: int) -> Ticket | None:
    return await session.scalar(select(Ticket).where(Ticket.customer_id == customer_id, Ticket.status == TicketStatus.OPEN))


async def _ticket(session: AsyncSession, ticket_id: int, *, lock: bool = False) -> Ticket:
    query = select(Ticket).where(Ticket.id == ticket_id)
    if lock:
        query = query.with_for_update()
    ticket = await session.scalar(query)
    if ticket is None:
        raise TicketNotFound()
    return ticket


async def open_ticket_row(session: AsyncSession, ticket_id: int) -> Ticket:
    """The ticket, in the caller's transaction; TicketClosed unless it is open."""
    ticket = await _ticket(session, ticket_id)
    if ticket.status is not TicketStatus.OPEN:
        raise TicketClosed(ticket.id)
    return ticket


async def ticket_view(session: AsyncSession, ticket: Ticket) -> TicketView:
    """The ticket with its customer's name and chat language, in the caller's transaction."""
    row = (
        await session.execute(
            select(Customer.name, Customer.language, TelegramUser.language, TelegramUser.telegram_language_code)
            .outerjoin(TelegramUser, TelegramUser.telegram_user_id == Customer.telegram_user_id)
            .where(Customer.id == ticket.customer_id)
        )
    ).one()
    name, customer_language, chosen, telegram_code = row
    return TicketView(
        id=ticket.id,
        customer_id=ticket.customer_id,
        customer_name=name,
        customer_chat_id=ticket.customer_chat_id,
        language=resolve_language(chosen, customer_language, telegram_code, "") or None,
        status=TicketStatus(ticket.status),
        escalation=Escalation.decode(ticket.reason),
        support_chat_id=ticket.support_chat_id,
        topic_thread_id=ticket.topic_thread_id,
        context_message_id=ticket.context_message_id,
        resolved_button_message_id=ticket.resolved_button_message_id,
        assignee_telegram_id=ticket.assignee_telegram_id,
        opened_at=ticket.opened_at,
        first_response_at=ticket.first_response_at,
        closed_at=ticket.closed_at,
        closed_by=ticket.closed_by,
        rating=ticket.rating,
    )

