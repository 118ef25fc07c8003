"""Telling customers first what happened to their waiting items, queued in the transaction of the change.

Who hears what (only customers linked to a chat; `outbox.enqueue` drops blocked customers):

- an ETA moved by a day or more, with the old and new date and why. Not a line's first ETA, and at most one
  message per line per recompute. Optional: respects the customer's opt-out.
- stock arrived and a line is ready to ship. Optional.
- an agent, the merchant or the system cancelled or swapped a line. Not optional: it changes what they pay
  for. The customer's own cancels and swaps are answered in the chat, so they are not notified.

Each message carries a dedupe key, so a change that is retried or replayed never notifies twice. The
`notify_*` helpers take the caller's session and never commit: the services that make the change call them
before their commit, so the change and its messages are stored together or not at all.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Actor, record
from bot.services.conversations.chat_session import resolve_language
from bot.services.outbox import PRIORITY_NOTIFICATION, OutgoingMessage, enqueue
from bot.services.unit_of_work import UnitOfWork
from db.models import ActorType, Customer, Order, OrderLine, OutboxMessage, OutboxStatus, Product, TelegramUser

if TYPE_CHECKING:
    from bot.services.backorders.allocation import AllocationChange
    from bot.services.backorders.eta import EtaMove
    from bot.services.backorders.results import CancelResult, SubstitutionResult

TEMPLATE_ETA_MOVED = "eta_moved"
TEMPLATE_READY_TO_SHIP = "ready_to_ship"
TEMPLATE_LINE_CANCELLED = "line_cancelled"
TEMPLATE_LINE_SUBSTITUTED = "line_substituted"

OPTED_OUT = "the customer turned notifications off"
_CHUNK = 500  # IN lists in pieces, under SQLite's limit on bound parameters


@dataclass(frozen=True)
class Recipient:
    """Where and in which language a customer is written to."""

    customer_id: int
    chat_id: int
    language: str


@dataclass(frozen=True)
class LineRecipient:
    """A line's customer as a recipient, with what a message about the line says."""

    recipient: Recipient
    line_id: int
    order_number: str
    product_name: str
    currency: str


def customer_language(chosen: str | None, customer: str | None, telegram_code: str | None, default_language: str) -> str:
    """The language a customer is written to in: their choice in the chat, their own, their Telegram's, the shop's."""
    return resolve_language(chosen, customer, telegram_code, default_language)


async def line_recipients(session: AsyncSession, line_ids: Iterable[int], default_language: str) -> dict[int, LineRecipient]:
    """For each line whose customer is linked to a chat: who to write to, in which language, about what."""
    ids = sorted(set(line_ids))
    found: dict[int, LineRecipient] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = await session.execute(
            select(
                OrderLine.id,
                Order.number,
                Order.currency,
                Product.name,
                Customer.id.label("customer_id"),
                Customer.telegram_user_id,
                Customer.language,
                TelegramUser.language.label("chosen_language"),
                TelegramUser.telegram_language_code,
                TelegramUser.chat_id,
            )
            .join(Order, Order.id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id)
            .join(Customer, Customer.id == Order.customer_id)
            .outerjoin(TelegramUser, TelegramUser.telegram_user_id == Customer.telegram_user_id)
            .where(OrderLine.id.in_(ids[start : start + _CHUNK]), Customer.telegram_user_id.is_not(None))
        )
        for row in rows:
            recipient = Recipient(
                customer_id=row.customer_id,
                # A private chat's id is the user's id; the stored chat id says so too once they have written.
                chat_id=row.chat_id or row.telegram_user_id,
                language=customer_language(
                    row.chosen_language, row.language, row.telegram_language_code, default_language
                ),
            )
            found[row.id] = LineRecipient(recipient, row.id, row.number, row.name, row.currency)
    return found


def message_about(
    line: LineRecipient,
    template: str,
    dedupe_key: str,
    *,
    optional: bool,
    **params: Any,
) -> OutgoingMessage:
    """A message to the line's customer, with the line's order and product in its params."""
    return OutgoingMessage(
        chat_id=line.recipient.chat_id,
        customer_id=line.recipient.customer_id,
        template=template,
        language=line.recipient.language,
        params={
            "line_id": line.line_id,
            "order_number": line.order_number,
            "product_name": line.product_name,
            **params,
        },
        optional=optional,
        dedupe_key=dedupe_key,
        priority=PRIORITY_NOTIFICATION,
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%S.%f")


def worth_telling(moves: Iterable["EtaMove"]) -> list["EtaMove"]:
    """One move per line (first old date to last new date), kept only when a known date moved by a day or more."""
    by_line: dict[int, EtaMove] = {}
    for move in moves:
        earlier = by_line.get(move.line_id)
        by_line[move.line_id] = move if earlier is None else _joined(earlier, move)
    return [
        move
        for move in by_line.values()
        # The first ETA a line gets is no news; nor is a new basis for the same date.
        if move.old_eta is not None and move.new_eta is not None and move.old_eta != move.new_eta
    ]


def _joined(first: "EtaMove", second: "EtaMove") -> "EtaMove":
    return second._replace(old_eta=first.old_eta, old_basis=first.old_basis)


async def notify_eta_moves(uow: UnitOfWork, moves: Sequence["EtaMove"]) -> int:
    """Queue "your ETA moved" for each line whose known ETA moved by a day or more; returns how many were queued.

    In the caller's transaction of `uow`, as are the other notify_ use cases.
    """
    news = worth_telling(moves)
    if not news:
        return 0
    recipients = await line_recipients(uow.session, (move.line_id for move in news), uow.policy.default_language)
    stamp = _stamp(uow.clock.now())
    messages = [
        message_about(
            recipients[move.line_id],
            TEMPLATE_ETA_MOVED,
            # The recompute's time makes the key: the same move notified again in a retry is dropped, a
            # later move back and forth is news again.
            f"eta:{move.line_id}:{move.old_eta}:{move.new_eta}:{stamp}",
            optional=True,
            old_eta=_iso(move.old_eta),
            new_eta=_iso(move.new_eta),
            basis=move.new_basis.value if move.new_basis else None,
            reason=move.reason,
        )
        for move in news
        if move.line_id in recipients
    ]
    return await enqueue(uow.session, uow.clock, messages)


async def notify_ready_to_ship(uow: UnitOfWork, changes: Sequence["AllocationChange"]) -> int:
    """Queue "ready to ship" for each line that no longer waits for anything; a line is told once, ever."""
    ready = [change for change in changes if change.ready_to_ship]
    if not ready:
        return 0
    recipients = await line_recipients(uow.session, (change.line_id for change in ready), uow.policy.default_language)
    messages = [
        message_about(
            recipients[change.line_id],
            TEMPLATE_READY_TO_SHIP,
            f"ready:{change.line_id}",
            optional=True,
            allocated_now=change.allocated_now,
        )
        for change in ready
        if change.line_id in recipients
    ]
    return await enqueue(uow.session, uow.clock, messages)


async def notify_stock_and_eta_changes(
    uow: UnitOfWork, allocations: Sequence["AllocationChange"] = (), moves: Sequence["EtaMove"] = ()
) -> int:
    """Both of the above, for a change that allocated stock and recomputed ETAs; returns how many were queued."""
    ready = await notify_ready_to_ship(uow, allocations)
    return ready + await notify_eta_moves(uow, moves)


def told_by_chat(actor: Actor) -> bool:
    """The customer did it themselves in the chat, which already answered them."""
    return actor.type == ActorType.CUSTOMER


async def notify_cancelled(uow: UnitOfWork, actor: Actor, results: Sequence["CancelResult"]) -> int:
    """Queue "your item was cancelled" for cancels the customer did not make themselves (not optional)."""
    done = [result for result in results if not result.already_done]
    if told_by_chat(actor) or not done:
        return 0
    recipients = await line_recipients(uow.session, (result.line_id for result in done), uow.policy.default_language)
    messages = [
        message_about(
            recipients[result.line_id],
            TEMPLATE_LINE_CANCELLED,
            f"cancelled:{result.line_id}",
            optional=False,
            quantity=result.cancelled_quantity,
            kept_quantity=result.kept_quantity,
            refund_minor=result.refund_minor,
            currency=result.currency,
        )
        for result in done
        if result.line_id in recipients
    ]
    return await enqueue(uow.session, uow.clock, messages)


async def notify_substituted(uow: UnitOfWork, actor: Actor, result: "SubstitutionResult") -> int:
    """Queue "your item was swapped" for a swap the customer did not make themselves (not optional)."""
    if told_by_chat(actor) or result.already_done:
        return 0
    recipients = await line_recipients(uow.session, [result.old_line_id], uow.policy.default_language)
    line = recipients.get(result.old_line_id)
    if line is None:
        return 0
    message = message_about(
        line,
        TEMPLATE_LINE_SUBSTITUTED,
        f"substituted:{result.old_line_id}",
        optional=False,
        new_product_name=result.product_name,
        quantity=result.quantity,
        refund_minor=result.refund_minor,
        currency=result.currency,
    )
    return await enqueue(uow.session, uow.clock, [message])


async def chat_language(uow: UnitOfWork, telegram_user_id: int) -> str:
    """The language to write to a Telegram user in, linked or not (a merchant, say)."""
    async with uow:
        row = (
            await uow.session.execute(
                select(TelegramUser.language, Customer.language.label("customer_language"), TelegramUser.telegram_language_code)
                .outerjoin(Customer, Customer.telegram_user_id == TelegramUser.telegram_user_id)
                .where(TelegramUser.telegram_user_id == telegram_user_id)
            )
        ).one_or_none()
    if row is None:
        return uow.policy.default_language
    return customer_language(row.language, row.customer_language, row.telegram_language_code, uow.policy.default_language)


# --- the customer's switch -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationSetting:
    """Whether optional updates reach the customer; legal notices and changes by the shop always do."""

    customer_id: int
    enabled: bool
    changed: bool = False


async def notification_setting(uow: UnitOfWork, customer_id: int) -> NotificationSetting:
    """The customer's current choice."""
    async with uow:
        opted_out = await uow.session.scalar(select(Customer.notifications_opt_out).where(Customer.id == customer_id))
    return NotificationSetting(customer_id, enabled=not opted_out)


async def set_notifications(uow: UnitOfWork, customer_id: int, enabled: bool) -> NotificationSetting:
    """Turn optional updates on or off for the customer; setting what is already set changes nothing."""
    async with uow:
        changed = await uow.session.scalar(
            update(Customer)
            .where(Customer.id == customer_id, Customer.notifications_opt_out.is_(enabled))
            .values(notifications_opt_out=not enabled)
            .returning(Customer.id)
        )
        if changed is not None:
            # Off means off: optional messages already queued (held for quiet hours, say) are withdrawn too.
            withdrawn = 0 if enabled else await _withdraw_optional_messages(uow.session, customer_id)
            record(
                uow.session,
                Actor.customer(customer_id),
                "notifications.turned_on" if enabled else "notifications.turned_off",
                "customer",
                customer_id,
                at=uow.clock.now(),
                **({} if enabled else {"queued_messages_withdrawn": withdrawn}),
            )
            await uow.commit()
    return NotificationSetting(customer_id, enabled=enabled, changed=changed is not None)


async def _withdraw_optional_messages(session: AsyncSession, customer_id: int) -> int:
    """Cancel the customer's optional messages still waiting in the outbox; how many there were."""
    withdrawn = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.customer_id == customer_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.optional.is_(True),
        )
        .values(status=OutboxStatus.CANCELLED, last_error=OPTED_OUT)
        .execution_options(synchronize_session=False)
    )
    return int(withdrawn.rowcount)  # type: ignore[attr-defined]
