"""Refunds the bot promised: which are owed or paid, and the shop recording one as paid."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from bot.services.audit import Actor, record
from bot.services.backorders.notifications import line_recipients, message_about
from bot.services.errors import RefundAlreadyPaid, RefundNotFound
from bot.services.event_log import refund_facts, refund_paid
from bot.services.outbox import enqueue
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, Order, OrderLine, Product, Refund, RefundStatus
from db.types import MAX_ROW_ID

TEMPLATE_REFUND_PAID = "refund_paid"


@dataclass(frozen=True)
class RefundView:
    id: int
    order_number: str
    line_id: int
    sku: str
    product_name: str
    customer_name: str
    customer_email: str
    amount_minor: int
    currency: str
    reason: str
    status: RefundStatus
    owed_since: datetime
    paid_at: datetime | None
    payment_reference: str | None
    already_done: bool = False


async def list_refunds(uow: UnitOfWork, status: RefundStatus | None = None) -> list[RefundView]:
    """Refunds, oldest first; only those owed or paid when `status` says so."""
    query = _refunds()
    if status is not None:
        query = query.where(Refund.status == status)
    async with uow.read_only():
        return [_view(*row) for row in (await uow.session.execute(query.order_by(Refund.created_at, Refund.id))).all()]


async def mark_refund_paid(uow: UnitOfWork, refund_id: int, payment_reference: str, actor: Actor) -> RefundView:
    """Record that the shop paid the refund; the customer is told the money is on its way. A repeat changes nothing.

    RefundAlreadyPaid when it was recorded as paid with another payment reference.
    """
    if not 1 <= refund_id <= MAX_ROW_ID:  # no such row, and PostgreSQL refuses ids past 32 bits outright
        raise RefundNotFound(refund_id)
    async with uow:
        session = uow.session
        row = (await session.execute(_refunds().where(Refund.id == refund_id).with_for_update(of=Refund))).one_or_none()
        if row is None:
            raise RefundNotFound(refund_id)
        refund, line = row[0], row[1]
        if refund.status is RefundStatus.PAID:
            if refund.payment_reference != payment_reference:
                raise RefundAlreadyPaid(refund_id, refund.payment_reference)
            return _view(*row, already_done=True)
        now = uow.clock.now()
        refund.status = RefundStatus.PAID
        refund.paid_at = now
        refund.payment_reference = payment_reference
        record(session, actor, "refund.paid", "refund", refund.id, at=now, payment_reference=payment_reference,
               amount_minor=refund.amount_minor)
        facts = refund_facts(refund.id, row[2], line.id, row[3], refund.amount_minor, refund.currency, refund.reason.value)
        refund_paid(session, now, facts, payment_reference, actor)
        recipient = (await line_recipients(session, [line.id], uow.policy.default_language)).get(line.id)
        if recipient is not None:
            message = message_about(
                recipient, TEMPLATE_REFUND_PAID, f"refund_paid:{refund.id}", optional=False,
                refund_minor=refund.amount_minor, currency=refund.currency,
            )
            await enqueue(session, uow.clock, [message])
        await uow.commit()
        return _view(*row)


def _refunds() -> Select[Any]:
    return (
        select(Refund, OrderLine, Order.number, Product.sku, Product.name, Customer.name, Customer.email)
        .join(OrderLine, OrderLine.id == Refund.line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(Customer, Customer.id == Order.customer_id)
    )


def _view(
    refund: Refund, line: OrderLine, number: str, sku: str, product: str, customer: str, email: str,
    already_done: bool = False,
) -> RefundView:
    return RefundView(
        id=refund.id,
        order_number=number,
        line_id=line.id,
        sku=sku,
        product_name=product,
        customer_name=customer,
        customer_email=email,
        amount_minor=refund.amount_minor,
        currency=refund.currency,
        reason=refund.reason.value,
        status=refund.status,
        owed_since=refund.created_at,
        paid_at=refund.paid_at,
        payment_reference=refund.payment_reference,
        already_done=already_done,
    )
