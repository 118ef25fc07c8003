"""A merchant's broadcast: one message to exactly the customers still waiting on what an audience names.

The audience is every open (waiting) line whose SKU is listed, or whose product is in the category, or whose
order is listed. Its recipients are the distinct customers of those lines whom the bot may write to now:
linked to a chat, not blocked, and not opted out (a broadcast is an optional message). Each gets one outbox
row in their language: the text in that language if the merchant wrote one, else the default language's.

A new ETA attached to a broadcast is written on every waiting line of the audience, with an ETA-history entry
(reason `merchant_update`); the line keeps its ETA basis, since the merchant's date is an update of the same
source (a supplier's shipment, or the estimate). It stands until the next recompute of that SKU, which works
the date out from stock and purchase orders again: book or move the purchase order so the two agree.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import SUPPORTED_LANGUAGES
from bot.services.audit import Actor, record
from bot.services.backorders.allocation import waiting
from bot.services.backorders.notifications import customer_language
from bot.services.errors import (
    NewEtaOutOfRange,
    AudienceInvalid,
    BroadcastNotFound,
    BroadcastTextMissing,
    BroadcastTextTooLong,
    UnsupportedLanguage,
)
from bot.services.merchant_access.idempotent_requests import Answered, Claimed, RequestKey, answer_in, claim_in
from bot.services.outbox import PRIORITY_BROADCAST, OutgoingMessage, enqueue
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    Broadcast,
    BroadcastStatus,
    Customer,
    EtaChange,
    Order,
    OrderLine,
    OutboxMessage,
    OutboxStatus,
    Product,
    TelegramUser,
)
from db.types import MAX_ROW_ID

TEMPLATE_BROADCAST = "broadcast"
REASON_MERCHANT_UPDATE = "merchant_update"
MAX_TEXT_LENGTH = 4096  # Telegram's limit for one message, in UTF-16 code units (see text_length)
# As far ahead as a purchase order may be due: an ETA years away would never be reached.
NEW_ETA_FUTURE_LIMIT = timedelta(days=3 * 365)
_CREATED = 201  # the answer kept for a send's key (a request's answers are HTTP statuses)


@dataclass(frozen=True)
class Audience:
    """Whom a broadcast is for: customers waiting on any of these SKUs, on this category, or on these orders."""

    skus: list[str] = field(default_factory=list)
    category: str | None = None
    order_numbers: list[str] = field(default_factory=list)

    def cleaned(self) -> "Audience":
        """Blank entries and repeats dropped, whitespace trimmed."""
        return Audience(
            skus=_unique(self.skus),
            category=(self.category or "").strip() or None,
            order_numbers=_unique(self.order_numbers),
        )

    @property
    def is_empty(self) -> bool:
        return not (self.skus or self.category or self.order_numbers)

    def to_json(self) -> dict[str, Any]:
        return {"skus": list(self.skus), "category": self.category, "order_numbers": list(self.order_numbers)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Audience":
        return cls(list(data.get("skus") or []), data.get("category"), list(data.get("order_numbers") or []))


@dataclass(frozen=True)
class BroadcastView:
    """A broadcast and how its delivery stands; `pending` counts messages not yet sent or being sent."""

    id: int
    status: BroadcastStatus
    recipient_count: int
    sent: int
    failed: int
    blocked: int
    pending: int
    cancelled: int
    created_at: datetime
    finished_at: datetime | None
    created_by: str = ""
    audience: Audience = field(default_factory=Audience)
    texts: dict[str, str] = field(default_factory=dict)
    new_eta: date | None = None
    eta_lines_updated: int = 0  # waiting lines given the new ETA when the broadcast was created
    progress_chat_id: int | None = None
    progress_message_id: int | None = None
    # Of `pending`, the messages held back by the shop's quiet hours, and when those end (shop time); 0 and None
    # outside quiet hours and for an urgent broadcast, which is delivered through them.
    held: int = 0
    held_until: datetime | None = None
    urgent: bool = False


# --- audience -------------------------------------------------------------------------------------------


async def preview_broadcast(uow: UnitOfWork, audience: Audience) -> int:
    """How many customers a broadcast to this audience would reach now; AudienceInvalid if it names nothing known."""
    async with uow:
        return await count_recipients(uow.session, await checked_audience(uow.session, audience))


async def count_waiting_customers(session: AsyncSession, audience: Audience) -> int:
    """How many customers wait on this (checked) audience, whether or not a broadcast can reach them."""
    statement = (
        select(func.count(func.distinct(Order.customer_id)))
        .select_from(Order)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(waiting(), _matches(audience))
    )
    return await session.scalar(statement) or 0


async def waiting_categories(session: AsyncSession) -> list[str]:
    """The categories with a waiting line, alphabetically: the audiences a merchant picks from."""
    statement = (
        select(Product.category)
        .join(OrderLine, OrderLine.product_id == Product.id)
        .where(waiting())
        .distinct()
        .order_by(Product.category)
    )
    return list(await session.scalars(statement))


async def count_recipients(session: AsyncSession, audience: Audience) -> int:
    """How many customers a broadcast to this (checked) audience would reach now."""
    return await session.scalar(select(func.count()).select_from(_recipients(audience).subquery())) or 0


async def checked_audience(session: AsyncSession, audience: Audience) -> Audience:
    """The audience cleaned up; AudienceInvalid when it is empty or names SKUs, a category or orders the shop lacks."""
    audience = audience.cleaned()
    if audience.is_empty:
        raise AudienceInvalid()
    known_skus = set(await _present(session, Product.sku, audience.skus))
    known_orders = set(await _present(session, Order.number, audience.order_numbers))
    unknown_category = None
    if audience.category is not None:
        category = await session.scalar(
            select(Product.category).where(func.lower(Product.category) == audience.category.lower()).limit(1)
        )
        if category is None:
            unknown_category = audience.category
        else:
            audience = Audience(audience.skus, category, audience.order_numbers)
    unknown_skus = [sku for sku in audience.skus if sku not in known_skus]
    unknown_orders = [number for number in audience.order_numbers if number not in known_orders]
    if unknown_skus or unknown_orders or unknown_category:
        raise AudienceInvalid(unknown_skus, unknown_orders, unknown_category)
    return audience


def _matches(audience: Audience) -> ColumnElement[bool]:
    """A waiting line the audience names (the query joins the line's order and product)."""
    named = []
    if audience.skus:
        named.append(Product.sku.in_(audience.skus))
    if audience.category:
        named.append(Product.category == audience.category)
    if audience.order_numbers:
        named.append(Order.number.in_(audience.order_numbers))
    return or_(*named)


def _waiting_lines_of(audience: Audience) -> Select[Any]:
    return (
        select(OrderLine.id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(waiting(), _matches(audience))
    )


def _recipients(audience: Audience) -> Select[Any]:
    """The customers to write to, once each, with what decides their language."""
    customers_waiting = (
        select(Order.customer_id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(waiting(), _matches(audience))
    )
    return (
        select(
            Customer.id,
            Customer.telegram_user_id,
            Customer.language,
            TelegramUser.language.label("chosen_language"),
            TelegramUser.telegram_language_code,
            TelegramUser.chat_id,
        )
        .outerjoin(TelegramUser, TelegramUser.telegram_user_id == Customer.telegram_user_id)
        .where(
            Customer.id.in_(customers_waiting),
            Customer.telegram_user_id.is_not(None),
            Customer.bot_blocked.is_(False),
            Customer.notifications_opt_out.is_(False),
        )
        .order_by(Customer.id)
    )


# --- creating -------------------------------------------------------------------------------------------


async def create_broadcast(
    uow: UnitOfWork,
    audience: Audience,
    texts: dict[str, str],
    actor: Actor,
    new_eta: date | None = None,
    *,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
    urgent: bool = False,
) -> BroadcastView:
    """Queue the broadcast to every recipient of the audience, in one transaction, and optionally set a new ETA.

    `texts` maps a language to its text; the shop's default language's text is required. An `urgent` broadcast
    goes out through the shop's quiet hours instead of waiting for them to end.
    """
    async with uow:
        view = await create_broadcast_in(
            uow,
            audience,
            texts,
            actor,
            new_eta,
            progress_chat_id=progress_chat_id,
            progress_message_id=progress_message_id,
            urgent=urgent,
        )
        await uow.commit()
    return view


def checked_new_eta(new_eta: date, today: date) -> date:
    """The ETA a broadcast gives its audience: from today, at most NEW_ETA_FUTURE_LIMIT ahead."""
    latest = today + NEW_ETA_FUTURE_LIMIT
    if not today <= new_eta <= latest:
        raise NewEtaOutOfRange(today, latest)
    return new_eta


async def create_broadcast_in(
    uow: UnitOfWork,
    audience: Audience,
    texts: dict[str, str],
    actor: Actor,
    new_eta: date | None = None,
    *,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
    urgent: bool = False,
) -> BroadcastView:
    """create_broadcast in the transaction the caller has open on `uow`; does not commit."""
    session, clock = uow.session, uow.clock
    quiet_until = _quiet_until(uow)
    default = uow.policy.default_language
    texts = checked_texts(texts, default)
    audience = await checked_audience(session, audience)
    if new_eta is not None:
        checked_new_eta(new_eta, clock.today())
    now = clock.now()
    broadcast = Broadcast(
        created_by=_actor_name(actor),
        audience=audience.to_json(),
        texts=texts,
        new_eta=new_eta,
        status=BroadcastStatus.SENDING,
        recipient_count=0,
        urgent=urgent,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
        created_at=now,
    )
    session.add(broadcast)
    await session.flush()
    recipients = (await session.execute(_recipients(audience))).all()
    messages = []
    for row in recipients:
        language = customer_language(row.chosen_language, row.language, row.telegram_language_code, default)
        text_language = language if language in texts else default
        messages.append(
            OutgoingMessage(
                chat_id=row.chat_id or row.telegram_user_id,
                customer_id=row.id,
                broadcast_id=broadcast.id,
                template=TEMPLATE_BROADCAST,
                language=text_language,
                params={"text": texts[text_language]},
                optional=not urgent,  # an urgent one is not held back by quiet hours
                dedupe_key=f"broadcast:{broadcast.id}:{row.id}",
                priority=PRIORITY_BROADCAST,
            )
        )
    broadcast.recipient_count = await enqueue(session, clock, messages)
    if broadcast.recipient_count == 0:
        broadcast.status = BroadcastStatus.DONE
        broadcast.finished_at = now
    eta_lines = await _set_merchant_eta(session, audience, new_eta, now) if new_eta is not None else 0
    record(
        session,
        actor,
        "broadcast.created",
        "broadcast",
        broadcast.id,
        at=now,
        audience=audience.to_json(),
        languages=sorted(texts),
        recipients=broadcast.recipient_count,
        new_eta=new_eta.isoformat() if new_eta else None,
        eta_lines_updated=eta_lines,
        urgent=urgent,
    )
    queued = _Tally({OutboxStatus.PENDING: broadcast.recipient_count}, 0 if urgent else broadcast.recipient_count)
    return _view(broadcast, queued, quiet_until, eta_lines)


def text_length(text: str) -> int:
    """A text's length as Telegram counts it: UTF-16 code units, so an emoji counts twice."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class BroadcastSent:
    """This request created the broadcast."""

    view: BroadcastView


@dataclass(frozen=True)
class AlreadySent:
    """The same request was sent before: the broadcast it created."""

    broadcast_id: int


@dataclass(frozen=True)
class NotSent:
    """The key belongs to a request still running, or came before with a different request."""


SendOutcome = BroadcastSent | AlreadySent | NotSent


async def send_broadcast_once(
    uow: UnitOfWork,
    request: RequestKey,
    audience: Audience,
    texts: dict[str, str],
    actor: Actor,
    new_eta: date | None = None,
    *,
    urgent: bool = False,
) -> SendOutcome:
    """Create the broadcast once per request key: a retry of the same request finds the broadcast it created.

    The key's claim, the broadcast and the key's answer are one transaction, so a refused or failed send leaves
    the key free for the next try, and of two sends racing with one key the second waits and finds the first's.
    """
    async with uow:
        session = uow.session
        claim = await claim_in(
            session, uow.clock.now(), request.token_id, request.key, request.method, request.path, request.fingerprint,
            stale_after=None,  # the claim is committed only with its answer: none is left behind to take over
        )
        if isinstance(claim, Answered):
            return AlreadySent(claim.body["broadcast_id"])
        if not isinstance(claim, Claimed):
            return NotSent()
        view = await create_broadcast_in(uow, audience, texts, actor, new_eta, urgent=urgent)
        await answer_in(session, claim.claim_id, _CREATED, {"broadcast_id": view.id})
        await uow.commit()
    return BroadcastSent(view)


def checked_texts(texts: dict[str, str], default_language: str) -> dict[str, str]:
    """The texts by language, trimmed and without blank ones; the default language's is required."""
    cleaned = {language.strip().lower(): text.strip() for language, text in texts.items() if text and text.strip()}
    for language, text in cleaned.items():
        if language not in SUPPORTED_LANGUAGES:
            raise UnsupportedLanguage(language)
        if text_length(text) > MAX_TEXT_LENGTH:
            raise BroadcastTextTooLong(language, MAX_TEXT_LENGTH)
    if default_language not in cleaned:
        raise BroadcastTextMissing(default_language)
    return cleaned


async def _set_merchant_eta(session: AsyncSession, audience: Audience, new_eta: date, now: datetime) -> int:
    """Give every waiting line of the audience the merchant's ETA, with a history entry; returns how many changed."""
    lines = OrderLine.__table__
    changing = _waiting_lines_of(audience).where(OrderLine.eta.is_distinct_from(new_eta))
    recorded = await session.execute(
        insert(EtaChange.__table__).from_select(
            ["line_id", "old_eta", "new_eta", "old_basis", "new_basis", "reason", "changed_at"],
            select(
                lines.c.id,
                lines.c.eta,
                literal(new_eta, EtaChange.new_eta.type),
                lines.c.eta_basis,
                lines.c.eta_basis,
                literal(REASON_MERCHANT_UPDATE, String),
                literal(now, EtaChange.changed_at.type),
            ).where(lines.c.id.in_(changing)),
        )
    )
    # The same lines: their ETA still differs until this statement sets it.
    await session.execute(
        update(lines).where(lines.c.id.in_(changing)).values(eta=new_eta, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    return recorded.rowcount  # type: ignore[attr-defined, no-any-return]


# --- following and stopping -----------------------------------------------------------------------------


async def broadcast_progress(uow: UnitOfWork, broadcast_id: int) -> BroadcastView:
    """How the broadcast's delivery stands; one with nothing left to send is marked done."""
    async with uow:
        broadcast = await _broadcast(uow.session, broadcast_id)
        counts = await _counts(uow.session, [broadcast.id])
        view = _view(broadcast, counts.get(broadcast.id), _quiet_until(uow))
        if broadcast.status == BroadcastStatus.SENDING and view.pending == 0:
            broadcast.status = BroadcastStatus.DONE
            broadcast.finished_at = uow.clock.now()
            record(
                uow.session,
                Actor.system(),
                "broadcast.finished",
                "broadcast",
                broadcast.id,
                at=uow.clock.now(),
                sent=view.sent,
                failed=view.failed,
                blocked=view.blocked,
            )
            await uow.commit()
            view = _view(broadcast, counts.get(broadcast.id), _quiet_until(uow))
    return view


async def cancel_broadcast(uow: UnitOfWork, broadcast_id: int, actor: Actor) -> BroadcastView:
    """Stop a broadcast: what has not been sent yet never will be; messages already on their way still arrive."""
    async with uow:
        session = uow.session
        broadcast = await _broadcast(session, broadcast_id, lock=True)
        if broadcast.status == BroadcastStatus.SENDING:
            now = uow.clock.now()
            stopped = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.broadcast_id == broadcast.id, OutboxMessage.status == OutboxStatus.PENDING)
                .values(status=OutboxStatus.CANCELLED)
                .execution_options(synchronize_session=False)
            )
            broadcast.status = BroadcastStatus.CANCELLED
            broadcast.finished_at = now
            record(
                session, actor, "broadcast.cancelled", "broadcast", broadcast.id, at=now, messages_cancelled=stopped.rowcount
            )
            await uow.commit()
        counts = await _counts(session, [broadcast.id])
        return _view(broadcast, counts.get(broadcast.id), _quiet_until(uow))


async def sending_broadcasts(uow: UnitOfWork, *, with_progress_message: bool = False) -> list[BroadcastView]:
    """The broadcasts still being delivered, oldest first."""
    async with uow:
        statement = select(Broadcast).where(Broadcast.status == BroadcastStatus.SENDING).order_by(Broadcast.id)
        if with_progress_message:
            statement = statement.where(Broadcast.progress_message_id.is_not(None))
        broadcasts = list(await uow.session.scalars(statement))
        counts = await _counts(uow.session, [broadcast.id for broadcast in broadcasts])
        quiet_until = _quiet_until(uow)
        return [_view(broadcast, counts.get(broadcast.id), quiet_until) for broadcast in broadcasts]


async def attach_progress_message(uow: UnitOfWork, broadcast_id: int, chat_id: int, message_id: int) -> None:
    """Remember the Telegram message that shows the broadcast's progress, to keep it up to date."""
    async with uow:
        broadcast = await _broadcast(uow.session, broadcast_id)
        broadcast.progress_chat_id = chat_id
        broadcast.progress_message_id = message_id
        await uow.commit()


async def _broadcast(session: AsyncSession, broadcast_id: int, *, lock: bool = False) -> Broadcast:
    if not 1 <= broadcast_id <= MAX_ROW_ID:
        raise BroadcastNotFound(broadcast_id)
    statement = select(Broadcast).where(Broadcast.id == broadcast_id)
    if lock:
        statement = statement.with_for_update()
    broadcast = await session.scalar(statement)
    if broadcast is None:
        raise BroadcastNotFound(broadcast_id)
    return broadcast


@dataclass
class _Tally:
    """A broadcast's outbox messages by status, and how many of the pending ones are optional."""

    by_status: dict[OutboxStatus, int] = field(default_factory=dict)
    optional_pending: int = 0


async def _counts(session: AsyncSession, broadcast_ids: list[int]) -> dict[int, _Tally]:
    """Outbox messages per broadcast and status."""
    if not broadcast_ids:
        return {}
    rows = await session.execute(
        select(OutboxMessage.broadcast_id, OutboxMessage.status, OutboxMessage.optional, func.count())
        .where(OutboxMessage.broadcast_id.in_(broadcast_ids))
        .group_by(OutboxMessage.broadcast_id, OutboxMessage.status, OutboxMessage.optional)
    )
    tallies: dict[int, _Tally] = {}
    for broadcast_id, status, optional, number in rows:
        tally = tallies.setdefault(broadcast_id, _Tally())
        tally.by_status[OutboxStatus(status)] = tally.by_status.get(OutboxStatus(status), 0) + number
        if optional and status == OutboxStatus.PENDING:
            tally.optional_pending += number
    return tallies


def _quiet_until(uow: UnitOfWork) -> datetime | None:
    """When the quiet hours the shop is in now end; None outside them."""
    return uow.policy.quiet_hours.end_of(uow.clock.now(), uow.clock.tz)


def _view(
    broadcast: Broadcast, tally: _Tally | None, quiet_until: datetime | None = None, eta_lines_updated: int = 0
) -> BroadcastView:
    tally = tally or _Tally()
    counts = tally.by_status
    held = tally.optional_pending if quiet_until is not None and broadcast.status == BroadcastStatus.SENDING else 0
    return BroadcastView(
        id=broadcast.id,
        status=broadcast.status,
        recipient_count=broadcast.recipient_count,
        sent=counts.get(OutboxStatus.SENT, 0),
        failed=counts.get(OutboxStatus.FAILED, 0),
        blocked=counts.get(OutboxStatus.BLOCKED, 0),
        pending=counts.get(OutboxStatus.PENDING, 0) + counts.get(OutboxStatus.SENDING, 0),
        cancelled=counts.get(OutboxStatus.CANCELLED, 0),
        created_at=broadcast.created_at,
        finished_at=broadcast.finished_at,
        created_by=broadcast.created_by,
        audience=Audience.from_json(broadcast.audience),
        texts=dict(broadcast.texts),
        new_eta=broadcast.new_eta,
        eta_lines_updated=eta_lines_updated,
        progress_chat_id=broadcast.progress_chat_id,
        progress_message_id=broadcast.progress_message_id,
        held=held,
        held_until=quiet_until if held else None,
        urgent=broadcast.urgent,
    )


async def _present(session: AsyncSession, column: Any, values: list[str]) -> list[str]:
    found: list[str] = []
    for start in range(0, len(values), 500):
        found.extend(await session.scalars(select(column).where(column.in_(values[start : start + 500]))))
    return found


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value and value.strip():
            seen.setdefault(value.strip(), None)
    return list(seen)


def _actor_name(actor: Actor) -> str:
    return f"{actor.type.value}:{actor.id}" if actor.id else actor.type.value
