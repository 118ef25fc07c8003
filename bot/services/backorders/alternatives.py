"""In-stock alternatives for a waiting item, and switching to one: the shop waives a dearer price, refunds a cheaper."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.added_tax import highest_catalogue_price, with_added_tax
from bot.services.audit import Actor, record
from bot.services.backorders.eta import REASON_QUEUE_CHANGED, EtaMove, recompute_etas
from bot.services.backorders.notifications import notify_eta_moves, notify_substituted
from bot.services.backorders.ownership import customer_line, locked_customer_line
from bot.services.backorders.results import SubstitutionResult
from bot.services.errors import AlternativeNotOffered, AlternativeSoldOut, LineNotWaiting
from bot.services.event_log import line_substituted
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.models import (
    OPEN_LINE_STATUSES,
    AuditEntry,
    LineStatus,
    OrderLine,
    Product,
    ProductSubstitute,
    Refund,
    RefundReason,
    RefundStatus,
    StockLevel,
)

MAX_ALTERNATIVES = 3
SUBSTITUTED_ACTION = "line.substituted"


@dataclass(frozen=True)
class Alternative:
    product_id: int
    sku: str
    name: str
    unit_price_minor: int
    currency: str
    price_difference_minor: int  # for the whole waiting quantity: positive when dearer
    customer_pays_difference_minor: int  # 0: a dearer alternative's difference is waived
    waived_minor: int  # what the shop covers when dearer
    refund_minor: int  # what the customer gets back when cheaper
    is_merchant_choice: bool


@dataclass(frozen=True)
class AlternativesResult:
    line_id: int
    sku: str
    product_name: str
    open_quantity: int
    unit_price_minor: int
    currency: str
    alternatives: list[Alternative]


@dataclass(frozen=True)
class _Candidate:
    product: Product
    available: int
    merchant_rank: int | None


async def list_alternatives(uow: UnitOfWork, customer_id: int, line_id: int) -> AlternativesResult:
    """Up to three in-stock alternatives for a waiting line, best first; LineNotWaiting if it no longer waits.

    Offered: another product in the same currency, in stock for the whole waiting quantity and at most the
    shop's surcharge cap dearer, that the merchant named as a substitute or that is of the same kind: in the
    same category, with the same first tag (a mixer for a mixer, never a knife for a mixer).
    Ranked: the merchant's substitutes by their rank, then by tags shared with the item, closeness of price, SKU.
    """
    async with uow.read_only():
        line = await customer_line(uow.session, customer_id, line_id)
        _check_waiting(line)
        candidates = await _candidates(uow.session, line, uow.policy)
        in_stock = [candidate for candidate in candidates if candidate.available >= line.open_quantity]
        return AlternativesResult(
            line_id=line.id,
            sku=line.product.sku,
            product_name=line.product.name,
            open_quantity=line.open_quantity,
            unit_price_minor=line.unit_price_minor,
            currency=line.order.currency,
            alternatives=[_offer(line, candidate) for candidate in in_stock[:MAX_ALTERNATIVES]],
        )


async def pick_alternative(
    uow: UnitOfWork, customer_id: int, line_id: int, product_id: int, actor: Actor
) -> SubstitutionResult:
    """Swap the line's waiting quantity for an in-stock alternative, in one transaction.

    A repeat of the same pick returns the first result; the stock is taken with a conditional update, so
    when several customers race for the last units exactly as many as there are units succeed, and the
    others get AlternativeSoldOut.
    """
    async with uow:
        session = uow.session
        line = await locked_customer_line(session, customer_id, line_id, also_stock_of=[product_id])
        if line.substituted_quantity and not line.open_quantity:
            return await _earlier_pick(session, line, product_id)
        _check_waiting(line)
        # Stock is left to the conditional update below, so a customer who saw the offer hears "sold out".
        offered = {candidate.product.id: candidate for candidate in await _candidates(session, line, uow.policy)}
        if product_id not in offered:
            raise AlternativeNotOffered()
        alternative = offered[product_id].product
        offer = _offer(line, offered[product_id])
        quantity = line.open_quantity
        now = uow.clock.now()
        await _take_stock(session, product_id, quantity, now)
        new_line = _substitute(line, alternative, quantity, now)
        session.add(new_line)
        await session.flush()
        refund = _refund(line, offer.refund_minor, now) if offer.refund_minor else None
        if refund is not None:
            session.add(refund)
        record(
            session,
            actor,
            SUBSTITUTED_ACTION,
            "order_line",
            line.id,
            at=now,
            order_number=line.order.number,
            old_sku=line.product.sku,
            new_sku=alternative.sku,
            new_line_id=new_line.id,
            quantity=quantity,
            waived_minor=offer.waived_minor,
            refund_minor=offer.refund_minor,
        )
        await session.flush()
        await line_substituted(session, line, new_line.id, alternative, quantity, refund.id if refund else None, actor, now)
        # The old SKU's queue got shorter; the alternative's stock fell, which its own ETAs may count on.
        moves = await recompute_etas(
            session, uow.clock, uow.policy, REASON_QUEUE_CHANGED, [line.product_id, product_id]
        )
        result = _result(line, new_line, alternative, offer.waived_minor, offer.refund_minor, False, moves)
        await notify_substituted(uow, actor, result)
        await notify_eta_moves(uow, moves)
        await uow.commit()
        return result


def _check_waiting(line: OrderLine) -> None:
    if line.status not in OPEN_LINE_STATUSES or line.open_quantity <= 0:
        raise LineNotWaiting(line.status.value)


async def _candidates(session: AsyncSession, line: OrderLine, policy: ShopPolicy) -> list[_Candidate]:
    """Every product that may stand in for the line apart from stock, best first, with what is available."""
    cap = 100 + policy.alternative_surcharge_cap_percent
    # Charged as the line was (with the tax a tax-exclusive store adds), at most the cap above the unit price.
    highest = highest_catalogue_price(line.unit_price_minor * cap // 100, line.added_tax_ppm)
    rows = await session.execute(
        select(Product, StockLevel.available, ProductSubstitute.rank)
        .outerjoin(StockLevel, StockLevel.product_id == Product.id)
        .outerjoin(
            ProductSubstitute,
            and_(ProductSubstitute.product_id == line.product_id, ProductSubstitute.substitute_id == Product.id),
        )
        .where(
            Product.id != line.product_id,
            Product.currency == line.order.currency,
            Product.price_minor <= highest,
            or_(ProductSubstitute.substitute_id.is_not(None), Product.category == line.product.category),
        )
    )
    kind = product_kind(line.product)
    candidates = [
        _Candidate(product, available or 0, rank)
        for product, available, rank in rows
        if rank is not None or (kind is not None and product_kind(product) == kind)
    ]
    tags = set(line.product.tags or [])

    def rank(candidate: _Candidate) -> tuple[int, int, int, int, str]:
        product = candidate.product
        merchant_rank = candidate.merchant_rank
        return (
            0 if merchant_rank is not None else 1,
            merchant_rank or 0,
            -len(tags & set(product.tags or [])),
            abs(charged_price(product, line) - line.unit_price_minor),
            product.sku,
        )

    return sorted(candidates, key=rank)


def charged_price(product: Product, line: OrderLine) -> int:
    """The product's price for one unit as the line's order is charged: with the tax its store adds, if it does."""
    return with_added_tax(product.price_minor, line.added_tax_ppm)


def product_kind(product: Product) -> str | None:
    """What the product is (its first tag: "mixer", "tent"); the other tags say how it is (wireless, 5 L)."""
    return product.tags[0].strip().lower() if product.tags else None


def _offer(line: OrderLine, candidate: _Candidate) -> Alternative:
    product = candidate.product
    price = charged_price(product, line)
    difference = (price - line.unit_price_minor) * line.open_quantity
    return Alternative(
        product_id=product.id,
        sku=product.sku,
        name=product.name,
        unit_price_minor=price,
        currency=product.currency,
        price_difference_minor=difference,
        customer_pays_difference_minor=0,
        waived_minor=max(difference, 0),
        refund_minor=max(-difference, 0),
        is_merchant_choice=candidate.merchant_rank is not None,
    )


async def _take_stock(session: AsyncSession, product_id: int, quantity: int, now: datetime) -> None:
    """Take the units only if they are still there; AlternativeSoldOut otherwise."""
    taken = await session.execute(
        update(StockLevel)
        .where(StockLevel.product_id == product_id, StockLevel.available >= quantity)
        .values(available=StockLevel.available - quantity, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 0:  # type: ignore[attr-defined]
        raise AlternativeSoldOut()


def _substitute(line: OrderLine, alternative: Product, quantity: int, now: datetime) -> OrderLine:
    """Close the waiting quantity of `line` and return the allocated line that replaces it."""
    line.substituted_quantity += quantity
    # What was allocated before still ships from the old line.
    line.status = LineStatus.ALLOCATED if line.allocated_quantity else LineStatus.SUBSTITUTED
    line.resolved_at = now
    line.updated_at = now
    return OrderLine(
        order_id=line.order_id,
        product_id=alternative.id,
        quantity=quantity,
        # The customer never pays more than they agreed to; a cheaper alternative is charged at its price.
        unit_price_minor=min(charged_price(alternative, line), line.unit_price_minor),
        added_tax_ppm=line.added_tax_ppm,
        status=LineStatus.ALLOCATED,
        allocated_quantity=quantity,
        cancelled_quantity=0,
        substituted_quantity=0,
        queued_at=now,
        substitute_for_line_id=line.id,
        resolved_at=now,
        created_at=now,
        updated_at=now,
    )


def _refund(line: OrderLine, amount: int, now: datetime) -> Refund:
    return Refund(
        line_id=line.id,
        amount_minor=amount,
        currency=line.order.currency,
        reason=RefundReason.SUBSTITUTE_CHEAPER,
        status=RefundStatus.OWED,
        created_at=now,
    )


async def _earlier_pick(session: AsyncSession, line: OrderLine, product_id: int) -> SubstitutionResult:
    """The result of the swap already made for this line; LineNotWaiting if it was to another product."""
    new_line = (
        (
            await session.execute(
                select(OrderLine).where(OrderLine.substitute_for_line_id == line.id).order_by(OrderLine.id.desc())
            )
        )
        .scalars()
        .first()
    )
    if new_line is None or new_line.product_id != product_id:
        raise LineNotWaiting(line.status.value)
    alternative = await session.get_one(Product, product_id)
    # The amounts as they were agreed when the swap was made, not at today's prices.
    details = (
        await session.execute(
            select(AuditEntry.details)
            .where(
                AuditEntry.entity_type == "order_line",
                AuditEntry.entity_id == str(line.id),
                AuditEntry.action == SUBSTITUTED_ACTION,
            )
            .order_by(AuditEntry.id.desc())
        )
    ).scalars().first() or {}
    return _result(
        line, new_line, alternative, details.get("waived_minor", 0), details.get("refund_minor", 0), True, []
    )


def _result(
    line: OrderLine,
    new_line: OrderLine,
    alternative: Product,
    waived: int,
    refund: int,
    already_done: bool,
    moves: list[EtaMove],
) -> SubstitutionResult:
    return SubstitutionResult(
        old_line_id=line.id,
        new_line_id=new_line.id,
        order_number=line.order.number,
        old_sku=line.product.sku,
        new_sku=alternative.sku,
        product_name=alternative.name,
        quantity=new_line.quantity,
        unit_price_minor=new_line.unit_price_minor,
        currency=line.order.currency,
        waived_minor=waived,
        refund_minor=refund,
        already_done=already_done,
        eta_moves=tuple(moves),
    )
