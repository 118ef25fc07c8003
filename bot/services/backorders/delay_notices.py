"""Delay notices: telling a customer their item will miss the promised ship date, and acting on their answer.

The `ftc` policy follows the US FTC Mail, Internet or Telephone Order Merchandise Rule:

- The promised date is the order's `promised_ship_by`, else the order date + DELAY_NOTICE_DEFAULT_DAYS.
  A waiting line *misses* a date when its ETA is after it or unknown.
- First notice, as soon as a line will miss the promised date: the new date (or "not yet known") and the
  choice to wait or cancel for a full refund. With a definite new date at most 30 days after the promised
  one, silence is consent to it. Otherwise (later, or unknown) the customer must agree by a deadline
  (`respond_by`: the new date, or the promised date + 30 days when unknown).
- Renewed notice, when the line will also miss the date of the latest notice: silence is not consent.
  Unless the customer agrees by `respond_by` (the date of the latest notice, or today if that has already
  passed), the line is cancelled automatically with a full refund, and the customer is told.
- A customer who agreed to an unknown date (an indefinite delay) gets no further notices.

The `eu` policy follows EU consumer law (Consumer Rights Directive 2011/83/EU, Art. 18: a consumer whose order
is late may set the trader a further period and then terminate; the refund is due without undue delay). The
notices go out on the same dates with the new date, and the customer may wait or cancel at any time until the
item ships, but silence never cancels: there is no deadline (`respond_by` stays empty) and no automatic
cancellation.

Only customers the bot can write to (linked, not blocked) get notices; the others are counted in the run's
result as `unreachable`, for the shop to reach another way. A notice goes out even to customers who
turned optional updates off: it is a legal notice. Every notice, answer and automatic cancellation is a
DelayNotice row plus an audit entry. Running the job again the same day sends nothing new.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.services.audit import Actor, record
from bot.services.backorders.allocation import waiting
from bot.services.backorders.cancel import cancel_waiting_line
from bot.services.backorders.eta import REASON_QUEUE_CHANGED, recompute_etas
from bot.services.backorders.notifications import line_recipients, message_about, notify_eta_moves
from bot.services.backorders.ownership import locked_customer_line
from bot.services.backorders.results import CancelResult
from bot.services.errors import DelayNoticeNotFound, DelayNoticeSuperseded
from bot.services.event_log import delay_notice_answered, delay_notice_sent, money
from bot.services.outbox import enqueue
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    OPEN_LINE_STATUSES,
    Customer,
    DelayNotice,
    DelayResponse,
    Order,
    OrderLine,
    Product,
)

TEMPLATE_DELAY_NOTICE = "delay_notice"
TEMPLATE_DELAY_AUTO_CANCELLED = "delay_auto_cancelled"
CONSENT_WINDOW_DAYS = 30  # FTC: silence consents to a definite delay of up to 30 days beyond the promised date


@dataclass(frozen=True)
class DelayNoticePolicy:
    """The merchant's delay-notice choices: the `ftc` or the `eu` preset, or off."""

    enabled: bool = True
    rule: str = "ftc"  # "ftc": silence after a renewed delay cancels the line; "eu": silence never cancels
    default_days: int = 30  # the promised ship date when an order promised none: its date + this
    consent_window_days: int = CONSENT_WINDOW_DAYS


@dataclass(frozen=True)
class DelayRunResult:
    """What one run of the delay-notice job did."""

    first_notices: int = 0
    further_notices: int = 0
    auto_cancelled: int = 0
    unreachable: int = 0  # lines that needed a notice whose customer the bot cannot write to

    @property
    def notices_sent(self) -> int:
        return self.first_notices + self.further_notices


@dataclass(frozen=True)
class DelayNoticeView:
    notice_id: int
    line_id: int
    order_number: str
    customer_id: int
    customer_name: str
    sku: str
    product_name: str
    sequence: int
    promised_ship_by: date
    new_ship_by: date | None
    respond_by: date | None
    response: DelayResponse | None
    notified_at: datetime
    responded_at: datetime | None

    @property
    def silence_is_consent(self) -> bool:
        return self.respond_by is None

    @property
    def auto_cancelled(self) -> bool:
        return self.response == DelayResponse.AUTO_CANCELLED


@dataclass(frozen=True)
class DelayAnswer:
    """The customer's answer to a notice as it now stands; `already_done` when it had been given before."""

    notice_id: int
    line_id: int
    response: DelayResponse | None  # None: the item no longer waits, so there was nothing to answer
    new_ship_by: date | None
    already_done: bool
    cancel: CancelResult | None = None


@dataclass(frozen=True)
class _LineState:
    """A waiting line, the date it was promised by, and its latest notice (if any)."""

    line_id: int
    customer_id: int
    eta: date | None
    promised: date
    notice: DelayNotice | None


# --- the job --------------------------------------------------------------------------------------------


async def process_delay_notices(uow: UnitOfWork, policy: DelayNoticePolicy) -> DelayRunResult:
    """The daily job: send the notices that are due and cancel lines whose consent deadline passed; one transaction."""
    if not policy.enabled:
        return DelayRunResult()
    async with uow:
        session, today = uow.session, uow.clock.today()
        states = await _waiting_lines(session, uow.clock.tz, policy)
        overdue = [state for state in states if _consent_overdue(state, today)]
        cancelled = await _auto_cancel(uow, overdue, policy)
        if cancelled:
            # The lines behind the cancelled ones moved up: decide on their new ETAs.
            states = await _waiting_lines(session, uow.clock.tz, policy)
        due = [(state, notice) for state in states if (notice := _notice_due(state, today, policy)) is not None]
        first, further, unreachable = await _send_notices(uow, due, policy)
        await uow.commit()
    return DelayRunResult(first, further, cancelled, unreachable)


def promised_date(placed_at: datetime, promised_ship_by: date | None, tz: Any, default_days: int) -> date:
    """The ship date the shop promised: the order's own, or its date plus the default days."""
    if promised_ship_by is not None:
        return promised_ship_by
    return placed_at.astimezone(tz).date() + timedelta(days=default_days)


def _misses(eta: date | None, by: date) -> bool:
    return eta is None or eta > by


def _consent_overdue(state: _LineState, today: date) -> bool:
    """The latest notice needed the customer's consent by a date that has passed, and none came."""
    notice = state.notice
    return (
        notice is not None
        and notice.respond_by is not None
        and notice.response is None
        and today > notice.respond_by
    )


@dataclass(frozen=True)
class _DueNotice:
    sequence: int
    missed: date
    new_ship_by: date | None
    respond_by: date | None


def _notice_due(state: _LineState, today: date, policy: DelayNoticePolicy) -> _DueNotice | None:
    """The notice the line needs now, if any; under the `eu` rule it never asks for an answer by a date."""
    due = _ftc_notice_due(state, today, policy)
    if due is not None and policy.rule == "eu":
        return replace(due, respond_by=None)
    return due


def _ftc_notice_due(state: _LineState, today: date, policy: DelayNoticePolicy) -> _DueNotice | None:
    latest = state.notice
    if latest is None:
        if not _misses(state.eta, state.promised):
            return None
        window_end = state.promised + timedelta(days=policy.consent_window_days)
        silence_is_consent = state.eta is not None and state.eta <= window_end
        respond_by = None if silence_is_consent else (state.eta or window_end)
        return _DueNotice(1, state.promised, state.eta, respond_by)
    # An unknown date needs no renewal: the customer agreed to wait indefinitely, or must by its deadline.
    if latest.new_ship_by is None or not _misses(state.eta, latest.new_ship_by):
        return None
    return _DueNotice(latest.sequence + 1, latest.new_ship_by, state.eta, max(latest.new_ship_by, today))


async def _waiting_lines(session: AsyncSession, tz: Any, policy: DelayNoticePolicy) -> list[_LineState]:
    latest_sequence = (
        select(DelayNotice.line_id, func.max(DelayNotice.sequence).label("sequence"))
        .group_by(DelayNotice.line_id)
        .subquery("latest_sequence")
    )
    latest = aliased(DelayNotice, name="latest")
    rows = await session.execute(
        select(OrderLine.id, OrderLine.eta, Order.customer_id, Order.placed_at, Order.promised_ship_by, latest)
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(latest_sequence, latest_sequence.c.line_id == OrderLine.id)
        .outerjoin(
            latest, and_(latest.line_id == OrderLine.id, latest.sequence == latest_sequence.c.sequence)
        )
        .where(waiting())
        .order_by(OrderLine.id)
    )
    return [
        _LineState(
            line_id=row.id,
            customer_id=row.customer_id,
            eta=row.eta,
            promised=promised_date(row.placed_at, row.promised_ship_by, tz, policy.default_days),
            notice=row.latest,
        )
        for row in rows
    ]


async def _send_notices(
    uow: UnitOfWork, due: list[tuple[_LineState, _DueNotice]], policy: DelayNoticePolicy
) -> tuple[int, int, int]:
    """Record and queue the notices due; returns (first, further, unreachable)."""
    session, now = uow.session, uow.clock.now()
    recipients = await line_recipients(session, (state.line_id for state, _ in due), uow.policy.default_language)
    reachable = await _reachable_customers(session, {line.recipient.customer_id for line in recipients.values()})
    facts = await _line_facts(session, [state.line_id for state, _ in due])
    first = further = unreachable = 0
    messages = []
    for state, due_notice in due:
        line = recipients.get(state.line_id)
        if line is None or line.recipient.customer_id not in reachable:
            unreachable += 1
            continue
        notice = DelayNotice(
            line_id=state.line_id,
            sequence=due_notice.sequence,
            promised_ship_by=due_notice.missed,
            new_ship_by=due_notice.new_ship_by,
            respond_by=due_notice.respond_by,
            notified_at=now,
        )
        session.add(notice)
        await session.flush()
        quantity, unit_price, sku = facts[state.line_id]
        record(
            session,
            Actor.system(),
            "delay_notice.sent",
            "order_line",
            state.line_id,
            at=now,
            notice_id=notice.id,
            sequence=notice.sequence,
            promised_ship_by=notice.promised_ship_by.isoformat(),
            new_ship_by=_iso(notice.new_ship_by),
            respond_by=_iso(notice.respond_by),
        )
        delay_notice_sent(session, now, notice, line.order_number, sku, quantity, money(quantity * unit_price, line.currency))
        messages.append(
            message_about(
                line,
                TEMPLATE_DELAY_NOTICE,
                f"delay:{state.line_id}:{notice.sequence}",
                optional=False,  # a legal notice: it reaches customers who turned updates off
                notice_id=notice.id,
                sequence=notice.sequence,
                promised_ship_by=notice.promised_ship_by.isoformat(),
                new_ship_by=_iso(notice.new_ship_by),
                respond_by=_iso(notice.respond_by),
                quantity=quantity,
                refund_minor=quantity * unit_price,
                currency=line.currency,
                rule=policy.rule,
            )
        )
        if notice.sequence == 1:
            first += 1
        else:
            further += 1
    await enqueue(session, uow.clock, messages)
    return first, further, unreachable


async def _auto_cancel(uow: UnitOfWork, overdue: list[_LineState], policy: DelayNoticePolicy) -> int:
    """Cancel, with a full refund, each line whose customer did not consent to a further delay in time."""
    if not overdue:
        return 0
    session, now = uow.session, uow.clock.now()
    actor = Actor.system()
    recipients = await line_recipients(session, (state.line_id for state in overdue), uow.policy.default_language)
    product_ids: set[int] = set()
    messages = []
    for state in overdue:
        notice = state.notice
        assert notice is not None and notice.respond_by is not None
        line = await locked_customer_line(session, state.customer_id, state.line_id)
        result = await cancel_waiting_line(uow, line, actor)
        product_ids.add(line.product_id)
        notice.response = DelayResponse.AUTO_CANCELLED
        notice.responded_at = now
        record(
            session,
            actor,
            "delay_notice.auto_cancelled",
            "order_line",
            state.line_id,
            at=now,
            notice_id=notice.id,
            respond_by=notice.respond_by.isoformat(),
            reason="no consent to a further delay by its deadline",
            refund_minor=result.refund_minor,
        )
        recipient = recipients.get(state.line_id)
        if recipient is not None:
            messages.append(
                message_about(
                    recipient,
                    TEMPLATE_DELAY_AUTO_CANCELLED,
                    f"delay_cancelled:{state.line_id}",
                    optional=False,
                    notice_id=notice.id,
                    respond_by=notice.respond_by.isoformat(),
                    quantity=result.cancelled_quantity,
                    kept_quantity=result.kept_quantity,
                    refund_minor=result.refund_minor,
                    currency=result.currency,
                )
            )
    await session.flush()
    moves = await recompute_etas(session, uow.clock, uow.policy, REASON_QUEUE_CHANGED, product_ids)
    await enqueue(session, uow.clock, messages)
    await notify_eta_moves(uow, moves)
    return len(overdue)


async def _reachable_customers(session: AsyncSession, customer_ids: set[int]) -> set[int]:
    if not customer_ids:
        return set()
    ids = sorted(customer_ids)
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        found.update(
            await session.scalars(
                select(Customer.id).where(Customer.id.in_(ids[start : start + 500]), Customer.bot_blocked.is_(False))
            )
        )
    return found


async def _line_facts(session: AsyncSession, line_ids: list[int]) -> dict[int, tuple[int, int, str]]:
    """Each line's waiting quantity, unit price and SKU."""
    facts: dict[int, tuple[int, int, str]] = {}
    for start in range(0, len(line_ids), 500):
        rows = await session.execute(
            select(OrderLine, Product.sku)
            .join(Product, Product.id == OrderLine.product_id)
            .where(OrderLine.id.in_(line_ids[start : start + 500]))
        )
        facts.update({line.id: (line.open_quantity, line.unit_price_minor, sku) for line, sku in rows})
    return facts


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- the customer's answer ------------------------------------------------------------------------------


async def agree_to_wait(uow: UnitOfWork, customer_id: int, notice_id: int) -> DelayAnswer:
    """The customer agrees to the delay in the notice; agreeing again changes nothing."""
    async with uow:
        session = uow.session
        notice, line = await _answerable(session, customer_id, notice_id)
        if notice.response is not None:
            return _answer(notice, already_done=True)
        if line.status not in OPEN_LINE_STATUSES:
            return DelayAnswer(notice.id, notice.line_id, None, notice.new_ship_by, already_done=True)
        now = uow.clock.now()
        notice.response = DelayResponse.AGREED
        notice.responded_at = now
        record(
            session,
            Actor.customer(customer_id),
            "delay_notice.agreed",
            "order_line",
            line.id,
            at=now,
            notice_id=notice.id,
            new_ship_by=_iso(notice.new_ship_by),
        )
        await delay_notice_answered(session, now, notice, line, Actor.customer(customer_id))
        await uow.commit()
        return _answer(notice, already_done=False)


async def cancel_for_refund(uow: UnitOfWork, customer_id: int, notice_id: int) -> DelayAnswer:
    """The customer cancels the delayed item for a full refund, as with their own cancel; a repeat changes nothing.

    LineNotCancellable when it is no longer waiting (reserved or shipped meanwhile).
    """
    async with uow:
        session = uow.session
        notice, line = await _answerable(session, customer_id, notice_id)
        line = await locked_customer_line(session, customer_id, line.id)
        actor = Actor.customer(customer_id)
        result = await cancel_waiting_line(uow, line, actor)
        if result.already_done:
            return _answer(notice, already_done=True, cancel=result)
        now = uow.clock.now()
        notice.response = DelayResponse.CANCELLED
        notice.responded_at = now
        record(
            session,
            actor,
            "delay_notice.cancelled",
            "order_line",
            line.id,
            at=now,
            notice_id=notice.id,
            refund_minor=result.refund_minor,
        )
        await delay_notice_answered(session, now, notice, line, actor)
        await session.flush()
        moves = await recompute_etas(session, uow.clock, uow.policy, REASON_QUEUE_CHANGED, [line.product_id])
        await notify_eta_moves(uow, moves)
        await uow.commit()
        return _answer(notice, already_done=False, cancel=result)


async def delay_notice_line(uow: UnitOfWork, customer_id: int, notice_id: int) -> int:
    """The line a notice of the customer's is about; DelayNoticeNotFound for anyone else's."""
    async with uow:
        line_id = await uow.session.scalar(
            select(DelayNotice.line_id)
            .join(OrderLine, OrderLine.id == DelayNotice.line_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(DelayNotice.id == notice_id, Order.customer_id == customer_id)
        )
    if line_id is None:
        raise DelayNoticeNotFound()
    return line_id


async def _answerable(session: AsyncSession, customer_id: int, notice_id: int) -> tuple[DelayNotice, OrderLine]:
    """The customer's notice and its line; DelayNoticeNotFound for anyone else's, Superseded for an old one."""
    row = (
        await session.execute(
            select(DelayNotice, OrderLine)
            .join(OrderLine, OrderLine.id == DelayNotice.line_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(DelayNotice.id == notice_id, Order.customer_id == customer_id)
        )
    ).one_or_none()
    if row is None:
        raise DelayNoticeNotFound()
    notice, line = row
    newer = await session.scalar(
        select(func.count()).where(DelayNotice.line_id == notice.line_id, DelayNotice.sequence > notice.sequence)
    )
    if newer:
        raise DelayNoticeSuperseded()
    return notice, line


def _answer(notice: DelayNotice, *, already_done: bool, cancel: CancelResult | None = None) -> DelayAnswer:
    return DelayAnswer(notice.id, notice.line_id, notice.response, notice.new_ship_by, already_done, cancel)


# --- the record -----------------------------------------------------------------------------------------


async def list_delay_notices(uow: UnitOfWork, since: datetime | None = None) -> list[DelayNoticeView]:
    """Every delay notice with its line, order, customer and answer; `since`: those sent or answered since then."""
    async with uow:
        statement = (
            select(DelayNotice, Order.number, Customer.id, Customer.name, Product.sku, Product.name.label("product"))
            .join(OrderLine, OrderLine.id == DelayNotice.line_id)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Customer, Customer.id == Order.customer_id)
            .join(Product, Product.id == OrderLine.product_id)
            .order_by(DelayNotice.notified_at, DelayNotice.id)
        )
        if since is not None:
            statement = statement.where(or_(DelayNotice.notified_at >= since, DelayNotice.responded_at >= since))
        rows = (await uow.session.execute(statement)).all()
        return [
            DelayNoticeView(
                notice_id=notice.id,
                line_id=notice.line_id,
                order_number=number,
                customer_id=customer_id,
                customer_name=customer_name,
                sku=sku,
                product_name=product,
                sequence=notice.sequence,
                promised_ship_by=notice.promised_ship_by,
                new_ship_by=notice.new_ship_by,
                respond_by=notice.respond_by,
                response=notice.response,
                notified_at=notice.notified_at,
                responded_at=notice.responded_at,
            )
            for notice, number, customer_id, customer_name, sku, product in rows
        ]
