"""Finding the person a privacy request is about, and every stored row that belongs to them."""

from dataclasses import dataclass

from sqlalchemy import and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.services.errors import NotFound
from db.models import (
    AuditEntry,
    Customer,
    DelayNotice,
    EtaChange,
    LinkAttempt,
    Order,
    OrderLine,
    OutboxMessage,
    Refund,
    Shipment,
    ShipmentLine,
    Ticket,
    TicketMessage,
    TelegramUser,
)


class PersonNotFound(NotFound):
    code = "person_not_found"

    def __init__(self) -> None:
        super().__init__("Nothing is stored about that person.")


@dataclass(frozen=True)
class SubjectQuery:
    """Who a request is about: an e-mail address, a Telegram user id, or a phone number in E.164 (exactly one).

    The phone number is for requests that arrive with one, as a shop platform's redaction webhook does
    (Shopify's `customers/redact` names the customer's e-mail address and phone): normalise it with
    bot.services.phone.normalise_phone first. A number several customers share finds no one.
    """

    email: str | None = None
    telegram_user_id: int | None = None
    phone: str | None = None

    def __post_init__(self) -> None:
        if sum(value is not None for value in (self.email, self.telegram_user_id, self.phone)) != 1:
            raise ValueError("give one of an e-mail address, a Telegram user id or a phone number")


@dataclass(frozen=True)
class Subject:
    """The person found: their customer record (if any) and Telegram user id (if any)."""

    customer: Customer | None
    telegram_user_id: int | None


async def find_subject(session: AsyncSession, query: SubjectQuery) -> Subject:
    """The person the query names; PersonNotFound when nothing is stored about them."""
    if query.email is not None:
        address = query.email.strip().lower()
        customer = await session.scalar(select(Customer).where(Customer.email == address)) if address else None
        if customer is None:
            raise PersonNotFound()
        return Subject(customer, customer.telegram_user_id)
    if query.phone is not None:
        # A number several customers share names none of them for sure: those requests go by e-mail address.
        sharing = (await session.scalars(select(Customer).where(Customer.phone == query.phone).limit(2))).all()
        if len(sharing) != 1:
            raise PersonNotFound()
        return Subject(sharing[0], sharing[0].telegram_user_id)
    telegram_user_id = query.telegram_user_id
    customer = await session.scalar(select(Customer).where(Customer.telegram_user_id == telegram_user_id))
    if customer is not None:
        return Subject(customer, telegram_user_id)
    known = await session.scalar(
        select(TelegramUser.telegram_user_id).where(TelegramUser.telegram_user_id == telegram_user_id)
    ) or await session.scalar(select(LinkAttempt.id).where(LinkAttempt.telegram_user_id == telegram_user_id).limit(1))
    if known is None:
        raise PersonNotFound()
    return Subject(None, telegram_user_id)


@dataclass(frozen=True)
class SubjectRows:
    """WHERE clauses selecting the subject's rows, per table."""

    where: dict[type, ColumnElement[bool]]


def subject_rows(subject: Subject, order_numbers: list[str], ticket_ids: list[int]) -> SubjectRows:
    """Conditions for each of the subject's tables; tables without a link to them select nothing."""
    nothing = false()
    customer_id = subject.customer.id if subject.customer is not None else None
    telegram_user_id = subject.telegram_user_id
    if customer_id is None:
        by_customer = dict.fromkeys(
            (Customer, Order, OrderLine, EtaChange, Refund, DelayNotice, Ticket, Shipment, ShipmentLine), nothing
        )
        by_customer |= {TicketMessage: nothing, AuditEntry: nothing}
        own_outbox = nothing
    else:
        line_ids = select(OrderLine.id).join(Order).where(Order.customer_id == customer_id)
        audit = or_(
            and_(AuditEntry.entity_type == "customer", AuditEntry.entity_id == str(customer_id)),
            and_(AuditEntry.actor_type == "customer", AuditEntry.actor_id == str(customer_id)),
            and_(AuditEntry.entity_type == "order", AuditEntry.entity_id.in_(order_numbers)),
            and_(AuditEntry.entity_type == "ticket", AuditEntry.entity_id.in_([str(id_) for id_ in ticket_ids])),
        )
        by_customer = {
            Customer: Customer.id == customer_id,
            Order: Order.customer_id == customer_id,
            OrderLine: OrderLine.id.in_(line_ids),
            EtaChange: EtaChange.line_id.in_(line_ids),
            Refund: Refund.line_id.in_(line_ids),
            Shipment: Shipment.order_id.in_(select(Order.id).where(Order.customer_id == customer_id)),
            ShipmentLine: ShipmentLine.line_id.in_(line_ids),
            DelayNotice: DelayNotice.line_id.in_(line_ids),
            Ticket: Ticket.customer_id == customer_id,
            TicketMessage: TicketMessage.ticket_id.in_(ticket_ids),
            AuditEntry: audit,
        }
        own_outbox = OutboxMessage.customer_id == customer_id
    if telegram_user_id is None:
        by_telegram_user = {TelegramUser: nothing, LinkAttempt: nothing}
        own_chat = nothing
    else:
        by_telegram_user = {
            TelegramUser: TelegramUser.telegram_user_id == telegram_user_id,
            LinkAttempt: LinkAttempt.telegram_user_id == telegram_user_id,
        }
        # A private chat's id is the user's id.
        own_chat = OutboxMessage.chat_id == telegram_user_id
    return SubjectRows({**by_customer, **by_telegram_user, OutboxMessage: or_(own_outbox, own_chat)})


async def load_rows(session: AsyncSession, subject: Subject) -> SubjectRows:
    """The subject's row conditions, after looking up the order numbers and tickets that audit entries name."""
    customer_id = subject.customer.id if subject.customer is not None else None
    order_numbers = list((await session.scalars(select(Order.number).where(Order.customer_id == customer_id))).all())
    ticket_ids = list((await session.scalars(select(Ticket.id).where(Ticket.customer_id == customer_id))).all())
    return subject_rows(subject, order_numbers, ticket_ids)
