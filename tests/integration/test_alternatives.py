"""Alternatives for a waiting item: which are offered in what order, and swapping to one, also under a race."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.audit import Actor
from bot.services.backorders.alternatives import list_alternatives, pick_alternative
from bot.services.backorders.eta import recompute_etas
from bot.services.backorders.status import get_backorder_status
from bot.services.errors import AlternativeNotOffered, AlternativeSoldOut, LineNotFound, LineNotWaiting
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
from db.models import Customer, EtaBasis, LineStatus, OrderLine, Product, RefundReason, RefundStatus, StockLevel
from tests import readback
from tests.shop import T0, add_customer, add_order, add_product, add_substitute, minutes_after

Sessions = async_sessionmaker[AsyncSession]
PRICE = 10_000
KIND = "headphones"  # the first tag: what a product is; only products of the waiting one's kind stand in for it


async def _waiting_line(
    session: AsyncSession, quantity: int = 2, allocated: int = 0, tags: list[str] | None = None
) -> tuple[Customer, Product, OrderLine]:
    """A customer waiting for `quantity` of a €100 pair of headphones."""
    product = await add_product(session, "HP-WAIT", price=PRICE, category="audio", tags=tags or [KIND, "wireless", "black"])
    customer = await add_customer(session)
    order = await add_order(session, customer, [(product, quantity)], allocated=[allocated])
    return customer, product, order.lines[0]


async def _offered(uow: UnitOfWork, customer: Customer, line: OrderLine) -> list[str]:
    return [alternative.sku for alternative in (await list_alternatives(uow, customer.id, line.id)).alternatives]


async def test_the_merchants_substitutes_come_first_in_their_order(uow: UnitOfWork, session: AsyncSession) -> None:
    customer, product, line = await _waiting_line(session)
    perfect_match = await add_product(session, "SAME-TAGS", price=PRICE, tags=[KIND, "wireless", "black"], available=5)
    second_choice = await add_product(session, "MERCHANT-2", price=9000, category="other", available=5)
    first_choice = await add_product(session, "MERCHANT-1", price=11000, category="other", available=5)
    await add_substitute(session, product, second_choice, rank=2)
    await add_substitute(session, product, first_choice, rank=1)
    await session.commit()

    result = await list_alternatives(uow, customer.id, line.id)

    assert [(a.sku, a.is_merchant_choice) for a in result.alternatives] == [
        ("MERCHANT-1", True),
        ("MERCHANT-2", True),
        (perfect_match.sku, False),
    ]


async def test_same_category_ranks_by_shared_tags_then_closeness_of_price_then_sku(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    customer, _, line = await _waiting_line(session, tags=[KIND, "wireless", "black", "over-ear"])
    await add_product(session, "ONE-TAG", price=PRICE, tags=[KIND, "black"], available=5)
    await add_product(session, "TWO-TAGS", price=8000, tags=[KIND, "wireless", "black", "kids"], available=5)
    await add_product(session, "B-NO-TAG", price=PRICE + 500, tags=[KIND, "white"], available=5)
    await add_product(session, "A-NO-TAG", price=PRICE - 500, tags=[KIND], available=5)
    await add_product(session, "CLOSE-NO-TAG", price=PRICE - 100, available=5, tags=[KIND])
    # Sharing two tags does not make a speaker an alternative for headphones.
    await add_product(session, "SPEAKER", price=PRICE, tags=["speaker", "wireless", "black"], available=5)
    await session.commit()

    assert await _offered(uow, customer, line) == ["TWO-TAGS", "ONE-TAG", "CLOSE-NO-TAG"]

    for sku in ("TWO-TAGS", "ONE-TAG", "CLOSE-NO-TAG"):
        await _set_stock(session, sku, 0)
    await session.commit()

    # The same distance from the price: the SKU decides.
    assert await _offered(uow, customer, line) == ["A-NO-TAG", "B-NO-TAG"]


async def _set_stock(session: AsyncSession, sku: str, available: int) -> None:
    product_id = (await session.execute(select(Product.id).where(Product.sku == sku))).scalar_one()
    (await session.get_one(StockLevel, product_id)).available = available


async def test_only_products_in_stock_for_the_whole_wait_in_the_same_currency_and_within_the_cap_are_offered(
    uow: UnitOfWork, session: AsyncSession, policy: ShopPolicy
) -> None:
    customer, product, line = await _waiting_line(session, quantity=2)
    cap_price = PRICE * (100 + policy.alternative_surcharge_cap_percent) // 100
    await add_product(session, "AT-CAP", price=cap_price, available=2, tags=[KIND])
    await add_product(session, "OVER-CAP", price=cap_price + 1, available=9, tags=[KIND])
    await add_product(session, "TOO-FEW", price=PRICE, available=1, tags=[KIND])
    await add_product(session, "DOLLARS", price=PRICE, currency="USD", available=9, tags=[KIND])
    await add_product(session, "OTHER-AISLE", price=PRICE, category="kitchen", available=9, tags=[KIND])
    merchant_but_dear = await add_product(session, "MERCHANT-DEAR", price=cap_price + 1, category="x", available=9)
    await add_substitute(session, product, merchant_but_dear)
    await add_order(session, await add_customer(session, "Ben Roth"), [(product, 1)])  # the same product waits too
    await session.commit()

    assert await _offered(uow, customer, line) == ["AT-CAP"]


async def test_the_price_difference_is_for_the_whole_line_refunded_when_cheaper_and_waived_when_dearer(
    uow: UnitOfWork, session: AsyncSession
) -> None:
    customer, _, line = await _waiting_line(session, quantity=3, allocated=1)
    await add_product(session, "CHEAPER", price=PRICE - 1500, available=5, tags=[KIND])
    await add_product(session, "DEARER", price=PRICE + 1000, available=5, tags=[KIND])
    await session.commit()

    result = await list_alternatives(uow, customer.id, line.id)

    offers = {a.sku: a for a in result.alternatives}
    cheaper, dearer = offers["CHEAPER"], offers["DEARER"]
    assert result.open_quantity == 2
    assert (cheaper.price_difference_minor, cheaper.refund_minor, cheaper.customer_pays_difference_minor) == (
        -3000, 3000, 0,
    )  # fmt: skip
    assert (dearer.price_difference_minor, dearer.waived_minor, dearer.refund_minor) == (2000, 2000, 0)
    assert dearer.customer_pays_difference_minor == 0


async def test_picking_a_cheaper_alternative_swaps_the_line_takes_the_stock_and_owes_the_difference(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, clock: ManualClock
) -> None:
    customer, _, line = await _waiting_line(session, quantity=2)
    cheaper = await add_product(session, "CHEAPER", price=PRICE - 1500, available=5, tags=[KIND])
    await session.commit()

    result = await pick_alternative(uow, customer.id, line.id, cheaper.id, Actor.customer(customer.id))

    assert (result.quantity, result.unit_price_minor, result.refund_minor) == (2, 8500, 3000)
    assert not result.already_done
    old = await readback.line(session_factory, line.id)
    assert (old.status, old.substituted_quantity, old.open_quantity, old.resolved_at) == (
        LineStatus.SUBSTITUTED, 2, 0, clock.now(),
    )  # fmt: skip
    [new] = await readback.substitutes_of(session_factory, line.id)
    assert (new.id, new.order_id, new.product_id) == (result.new_line_id, old.order_id, cheaper.id)
    assert (new.status, new.quantity, new.allocated_quantity) == (LineStatus.ALLOCATED, 2, 2)
    assert new.unit_price_minor == 8500
    assert new.queued_at == clock.now()
    assert await readback.available(session_factory, cheaper.id) == 3
    [refund] = await readback.refunds(session_factory, line.id)
    assert (refund.amount_minor, refund.reason) == (3000, RefundReason.SUBSTITUTE_CHEAPER)
    assert refund.status == RefundStatus.OWED
    [entry] = await readback.audit_entries(session_factory, "line.substituted")
    assert (entry.actor_id, entry.entity_id, entry.details["new_sku"]) == (str(customer.id), str(line.id), "CHEAPER")


async def test_picking_a_dearer_alternative_keeps_the_agreed_price_and_owes_no_refund(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer, _, line = await _waiting_line(session, quantity=3, allocated=1)
    dearer = await add_product(session, "DEARER", price=PRICE + 1000, available=5, tags=[KIND])
    await session.commit()

    result = await pick_alternative(uow, customer.id, line.id, dearer.id, Actor.customer(customer.id))

    assert (result.quantity, result.unit_price_minor, result.waived_minor, result.refund_minor) == (2, PRICE, 2000, 0)
    old = await readback.line(session_factory, line.id)
    # The unit allocated before still ships from the old line.
    assert (old.status, old.allocated_quantity, old.substituted_quantity) == (LineStatus.ALLOCATED, 1, 2)
    assert await readback.refunds(session_factory) == []
    assert await readback.available(session_factory, dearer.id) == 3


async def test_picking_the_same_alternative_again_changes_nothing_and_another_is_refused(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer, _, line = await _waiting_line(session, quantity=1)
    cheaper = await add_product(session, "CHEAPER", price=PRICE - 1000, available=5, tags=[KIND])
    other = await add_product(session, "OTHER", price=PRICE, available=5, tags=[KIND])
    await session.commit()
    actor = Actor.customer(customer.id)

    first = await pick_alternative(uow, customer.id, line.id, cheaper.id, actor)
    again = await pick_alternative(uow, customer.id, line.id, cheaper.id, actor)

    assert again.already_done and not first.already_done
    assert (again.new_line_id, again.quantity, again.unit_price_minor, again.refund_minor) == (
        first.new_line_id, first.quantity, first.unit_price_minor, first.refund_minor,
    )  # fmt: skip
    assert await readback.available(session_factory, cheaper.id) == 4
    assert len(await readback.refunds(session_factory)) == 1
    assert len(await readback.audit_entries(session_factory, "line.substituted")) == 1
    with pytest.raises(LineNotWaiting):
        await pick_alternative(uow, customer.id, line.id, other.id, actor)
    with pytest.raises(LineNotWaiting):
        await list_alternatives(uow, customer.id, line.id)
    assert await readback.available(session_factory, other.id) == 5


async def test_an_alternative_sold_out_since_it_was_offered_is_refused_and_nothing_changes(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    customer, _, line = await _waiting_line(session, quantity=2)
    alternative = await add_product(session, "LAST-TWO", price=PRICE, available=2, tags=[KIND])
    await session.commit()
    assert await _offered(uow, customer, line) == ["LAST-TWO"]
    await _set_stock(session, "LAST-TWO", 1)
    await session.commit()

    with pytest.raises(AlternativeSoldOut):
        await pick_alternative(uow, customer.id, line.id, alternative.id, Actor.customer(customer.id))

    assert (await readback.line(session_factory, line.id)).status == LineStatus.BACKORDERED
    assert await readback.substitutes_of(session_factory, line.id) == []
    assert await readback.available(session_factory, alternative.id) == 1


async def test_a_product_that_is_not_an_alternative_cannot_be_picked(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions, policy: ShopPolicy
) -> None:
    customer, product, line = await _waiting_line(session, quantity=1)
    elsewhere = await add_product(session, "KITCHEN", category="kitchen", price=PRICE, available=5, tags=[KIND])
    too_dear = await add_product(session, "TOO-DEAR", price=PRICE * 2, available=5, tags=[KIND])
    await session.commit()

    for refused in (elsewhere, too_dear, product):
        with pytest.raises(AlternativeNotOffered):
            await pick_alternative(uow, customer.id, line.id, refused.id, Actor.customer(customer.id))

    assert (await readback.line(session_factory, line.id)).status == LineStatus.BACKORDERED
    assert await readback.line_count(session_factory) == 1


async def test_when_twelve_customers_race_for_three_units_exactly_three_get_them(
    session: AsyncSession, session_factory: Sessions, clock: ManualClock, policy: ShopPolicy
) -> None:
    product = await add_product(session, "HP-WAIT", price=PRICE, available=0, tags=[KIND])
    last_three = await add_product(session, "LAST-THREE", price=PRICE, available=3, tags=[KIND])
    lines = []
    for index in range(12):
        customer = await add_customer(session, f"Customer {index}")
        order = await add_order(session, customer, [(product, 1)], placed_at=minutes_after(T0, index))
        lines.append((customer.id, order.lines[0].id))
    await recompute_etas(session, clock, policy, "recalculated")
    await session.commit()

    async def pick(customer_id: int, line_id: int) -> object:
        # Each customer in their own unit of work and session, as separate chat updates would be.
        own = UnitOfWork(session_factory, clock, policy)
        return await pick_alternative(own, customer_id, line_id, last_three.id, Actor.customer(customer_id))

    outcomes = await asyncio.gather(*(pick(*line) for line in lines), return_exceptions=True)

    unexpected = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, AlternativeSoldOut)]
    assert unexpected == []
    assert sum(not isinstance(outcome, BaseException) for outcome in outcomes) == 3
    assert sum(isinstance(outcome, AlternativeSoldOut) for outcome in outcomes) == 9
    assert await readback.available(session_factory, last_three.id) == 0
    swapped = [line_id for _, line_id in lines if await readback.substitutes_of(session_factory, line_id)]
    assert len(swapped) == 3
    assert await readback.line_count(session_factory) == 15


async def test_after_a_swap_the_customers_behind_move_up(
    uow: UnitOfWork, session: AsyncSession, clock: ManualClock, policy: ShopPolicy
) -> None:
    product = await add_product(session, "HP-WAIT", price=PRICE, lead_time_days=30, available=1, tags=[KIND])
    alternative = await add_product(session, "ALT", price=PRICE, available=5, tags=[KIND])
    first, behind = await add_customer(session), await add_customer(session, "Ben Roth")
    first_line = (await add_order(session, first, [(product, 1)], placed_at=T0)).lines[0]
    behind_line = (await add_order(session, behind, [(product, 1)], placed_at=minutes_after(T0, 1))).lines[0]
    await recompute_etas(session, clock, policy, "recalculated")
    await session.commit()
    [before] = (await get_backorder_status(uow, behind.id)).waiting

    result = await pick_alternative(uow, first.id, first_line.id, alternative.id, Actor.customer(first.id))

    [after] = (await get_backorder_status(uow, behind.id)).waiting
    assert (before.queue_position, before.eta_basis) == (2, EtaBasis.LEAD_TIME)
    assert (after.queue_position, after.eta_basis) == (1, EtaBasis.IN_STOCK)
    assert after.eta == clock.today() + timedelta(days=policy.handling_days)
    assert [(move.line_id, move.new_eta, move.reason) for move in result.eta_moves] == [
        (behind_line.id, after.eta, "queue_changed")
    ]


async def test_someone_elses_line_gets_no_alternatives_and_looks_missing(
    uow: UnitOfWork, session: AsyncSession, session_factory: Sessions
) -> None:
    _, _, line = await _waiting_line(session, quantity=1)
    alternative = await add_product(session, "ALT", price=PRICE, available=5, tags=[KIND])
    stranger = await add_customer(session, "Ben Roth")
    await session.commit()
    actor = Actor.customer(stranger.id)

    for attempt in (
        lambda line_id: list_alternatives(uow, stranger.id, line_id),
        lambda line_id: pick_alternative(uow, stranger.id, line_id, alternative.id, actor),
    ):
        with pytest.raises(LineNotFound) as someone_elses:
            await attempt(line.id)
        with pytest.raises(LineNotFound) as missing:
            await attempt(line.id + 1000)
        assert someone_elses.value.message == missing.value.message

    assert await readback.available(session_factory, alternative.id) == 5
    assert (await readback.line(session_factory, line.id)).status == LineStatus.BACKORDERED
