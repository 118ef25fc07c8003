"""Erasing a person on request: personal fields pseudonymised or cleared in place, bookkeeping kept."""

from dataclasses import dataclass, field

from sqlalchemy import delete, select, update

from bot.services import event_log
from bot.services.audit import Actor, record
from bot.services.privacy.personal_data import PERSONAL_DETAIL_KEYS
from bot.services.privacy.subjects import PersonNotFound, Subject, SubjectQuery, find_subject, load_rows
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    AuditEntry,
    Customer,
    LinkAttempt,
    Order,
    OutboxMessage,
    OutboxStatus,
    TelegramUser,
    Ticket,
    TicketMessage,
    TicketStatus,
)

ERASED_NAME = "Erased customer"
ERASED_EMAIL_DOMAIN = "erased.invalid"  # .invalid never resolves (RFC 2606), so nothing can be sent there


@dataclass(frozen=True)
class ErasureResult:
    """What erasure did; `erased` is False when there was nothing (left) to erase."""

    erased: bool
    customer_id: int | None = None
    removed: dict[str, int] = field(default_factory=dict)


def erased_email(customer_id: int) -> str:
    return f"erased-{customer_id}@{ERASED_EMAIL_DOMAIN}"


async def erase_customer(uow: UnitOfWork, query: SubjectQuery, actor: Actor) -> ErasureResult:
    """Erase everything personal about the person in one transaction; asking again changes nothing."""
    async with uow:
        try:
            subject = await find_subject(uow.session, query)
        except PersonNotFound:
            return ErasureResult(erased=False)
        if subject.customer is not None and subject.customer.email == erased_email(subject.customer.id):
            return ErasureResult(erased=False, customer_id=subject.customer.id)
        removed = await _erase(uow, subject)
        customer_id = subject.customer.id if subject.customer is not None else None
        if customer_id is not None:
            await _tell_the_shop(uow, customer_id, actor)
        # The entry names no one: a customer id (a pseudonym once erased) and how much went, never who.
        record(
            uow.session, actor, "customer.erased", "customer" if customer_id else "telegram_user",
            customer_id or "unlinked", at=uow.clock.now(), **removed,
        )
        await uow.commit()
        return ErasureResult(erased=True, customer_id=customer_id, removed=removed)


async def _tell_the_shop(uow: UnitOfWork, customer_id: int, actor: Actor) -> None:
    """A `customer.erased` event naming the person's orders, so the shop's systems erase them too; nothing personal."""
    numbers = await uow.session.scalars(select(Order.number).where(Order.customer_id == customer_id).order_by(Order.number))
    data = {"customer_id": customer_id, "order_numbers": list(numbers), **event_log.by(actor)}
    event_log.emit(uow.session, event_log.EventType.CUSTOMER_ERASED, uow.clock.now(), data)


async def _erase(uow: UnitOfWork, subject: Subject) -> dict[str, int]:
    session, now = uow.session, uow.clock.now()
    rows = await load_rows(session, subject)
    removed: dict[str, int] = {}
    for model in (TicketMessage, TelegramUser, LinkAttempt):
        result = await session.execute(delete(model).where(rows.where[model]))
        removed[model.__tablename__] = result.rowcount
    await session.execute(
        update(OutboxMessage)
        .where(rows.where[OutboxMessage], OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        .values(status=OutboxStatus.CANCELLED, lease_expires_at=None, worker_id=None)
    )
    await session.execute(
        update(OutboxMessage).where(rows.where[OutboxMessage]).values(chat_id=0, params={}, last_error=None)
    )
    await session.execute(
        update(Ticket)
        .where(rows.where[Ticket], Ticket.status == TicketStatus.OPEN)
        .values(status=TicketStatus.CLOSED, closed_at=now, closed_by="erasure")
    )
    await session.execute(
        update(Ticket).where(rows.where[Ticket]).values(customer_chat_id=0, resolved_button_message_id=None)
    )
    for entry in await session.scalars(select(AuditEntry).where(rows.where[AuditEntry])):
        if PERSONAL_DETAIL_KEYS & entry.details.keys():
            entry.details = {key: value for key, value in entry.details.items() if key not in PERSONAL_DETAIL_KEYS}
    customer = subject.customer
    if customer is not None:
        customer.name = ERASED_NAME
        customer.email = erased_email(customer.id)
        customer.phone = None
        customer.language = None
        customer.telegram_user_id = None
        customer.notifications_opt_out = True  # no one left to write to
    await session.flush()
    return removed
