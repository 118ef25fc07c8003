"""A customer's cancel and swap, written back to the Shopify order: edited (order editing), refunded (refundCreate
with an idempotency key), noted — once, however often it is retried, through a store outage, or tagged and noted
only when the merchant refunds by hand."""

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.connectors.backfill_run import run_backfill
from bot.connectors.shopify.adapter import TAG_BY_HAND, ShopifyAdapter
from bot.connectors.worker import ConnectorWorker
from bot.services.audit import Actor
from bot.services.backorders.alternatives import pick_alternative
from bot.services.backorders.cancel import cancel_line
from bot.services.connectors import ConnectionConfig, connection_statuses
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    Order,
    OrderLine,
    Product,
    ProductSubstitute,
    Refund,
    RefundStatus,
    StoreWriteBack,
    StoreWriteBackStatus,
)
from tests.fakes.shopify_fixtures import Naps, connect
from tests.fakes.shopify_store import FakeShopify


@pytest.fixture
async def worker(uow: UnitOfWork, naps: Naps) -> AsyncIterator[ConnectorWorker]:
    running = ConnectorWorker(
        lambda: uow, lambda config: ShopifyAdapter(config, poll_seconds=0.01, sleep=naps, retry_delays=(0.01,)),
        reconcile_every=None,
    )
    yield running
    await running.aclose()


async def _backfill(uow: UnitOfWork, config: ConnectionConfig, naps: Naps) -> None:
    adapter = ShopifyAdapter(config, poll_seconds=0.01, sleep=naps)
    await run_backfill(uow, adapter, config)
    await adapter.aclose()


async def _line(session: AsyncSession, number: str, sku: str) -> tuple[int, int]:
    """(customer id, line id) of the order's line of that SKU."""
    row = (
        await session.execute(
            select(Order.customer_id, OrderLine.id)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Order.number == number, Product.sku == sku)
        )
    ).one()
    await session.rollback()
    return row[0], row[1]


async def _customer_cancels(uow: UnitOfWork, session: AsyncSession, number: str, sku: str) -> None:
    customer_id, line_id = await _line(session, number, sku)
    await cancel_line(uow, customer_id, line_id, Actor.customer(customer_id))


async def _jobs(session: AsyncSession) -> list[tuple[StoreWriteBackStatus, int, str | None]]:
    rows = (await session.execute(select(StoreWriteBack.status, StoreWriteBack.attempts, StoreWriteBack.last_error))).all()
    await session.rollback()
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def _refunds(session: AsyncSession) -> list[tuple[int, RefundStatus, str | None]]:
    rows = (await session.execute(select(Refund.amount_minor, Refund.status, Refund.payment_reference))).all()
    await session.rollback()
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_a_customers_cancel_edits_refunds_and_notes_the_store_order_once(
    uow: UnitOfWork, session: AsyncSession, shopify: FakeShopify, shopify_connection: ConnectionConfig, naps: Naps,
    worker: ConnectorWorker,
) -> None:
    await _backfill(uow, shopify_connection, naps)
    await _customer_cancels(uow, session, "1002", "HS-200")

    await worker.run_once()
    await worker.run_once()  # nothing left to do: no second refund

    order = shopify.order_by_name("#1002")
    assert order.line_items[0].current_quantity == 0
    assert [refund["amount"] for refund in order.refunds] == ["298.00"]
    assert "The customer cancelled 2 × HS-200" in (order.note or "")
    assert await _jobs(session) == [(StoreWriteBackStatus.DONE, 1, None)]
    [(amount, status, reference)] = await _refunds(session)
    assert (amount, status, reference) == (29800, RefundStatus.PAID, f"shopify:{order.refunds[0]['id']}")
    assert shopify.variant_by_sku("HS-200").available == -1  # restocked: only order 1001's unit is still committed


async def test_a_swap_puts_the_substitute_on_the_order_and_refunds_the_difference(
    uow: UnitOfWork, session: AsyncSession, shopify: FakeShopify, shopify_connection: ConnectionConfig, naps: Naps,
    worker: ConnectorWorker,
) -> None:
    await _backfill(uow, shopify_connection, naps)
    products = dict((await session.execute(select(Product.sku, Product.id))).all())
    session.add(ProductSubstitute(product_id=products["HS-200"], substitute_id=products["HS-120"], rank=0))
    await session.commit()
    customer_id, line_id = await _line(session, "1001", "HS-200")
    await pick_alternative(uow, customer_id, line_id, products["HS-120"], Actor.customer(customer_id))

    await worker.run_once()

    order = shopify.order_by_name("#1001")
    quantities = [(line.sku, line.current_quantity) for line in order.line_items]
    assert quantities == [("HS-200", 0), ("HS-120", 1), ("HS-120", 1)]  # the one ordered, and the swap's
    assert [Decimal(refund["amount"]) for refund in order.refunds] == [Decimal("60.00")]
    assert "swapped 1 × HS-200" in (order.note or "")
    assert await _jobs(session) == [(StoreWriteBackStatus.DONE, 1, None)]


async def test_a_store_outage_loses_nothing_and_never_refunds_twice(
    uow: UnitOfWork, session: AsyncSession, shopify: FakeShopify, shopify_connection: ConnectionConfig, naps: Naps,
    worker: ConnectorWorker, clock,
) -> None:

    await _backfill(uow, shopify_connection, naps)
    await _customer_cancels(uow, session, "1002", "HS-200")

    shopify.down = True
    await worker.run_once()
    [(status, attempts, error)] = await _jobs(session)
    assert (status, attempts) == (StoreWriteBackStatus.PENDING, 1) and "503" in (error or "")
    [shown] = await connection_statuses(uow, "shopify")
    assert shown.problems and "503" in (shown.problems[0].error or "")

    for _ in range(5):  # an hour of the store down: retried on its schedule, never given up
        clock.advance(minutes=15)
        await worker.run_once()
    assert (await _jobs(session))[0][0] is StoreWriteBackStatus.PENDING

    shopify.down = False
    clock.advance(hours=1, minutes=15)
    await worker.run_once()
    assert (await _jobs(session))[0][0] is StoreWriteBackStatus.DONE
    assert len(shopify.order_by_name("#1002").refunds) == 1


async def test_a_refund_lost_in_flight_is_not_made_again(
    uow: UnitOfWork, session: AsyncSession, shopify: FakeShopify, shopify_connection: ConnectionConfig, naps: Naps,
    worker: ConnectorWorker, clock,
) -> None:
    """Shopify made the refund but the answer never came: the retry's idempotency key returns the same refund."""

    await _backfill(uow, shopify_connection, naps)
    await _customer_cancels(uow, session, "1002", "HS-200")
    original = shopify._op_RefundCreate

    def made_then_lost(variables, query):  # type: ignore[no-untyped-def]
        original(variables, query)
        shopify.down = True  # the connection drops before the answer
        from aiohttp import web

        return web.Response(status=502)

    shopify._op_RefundCreate = made_then_lost  # type: ignore[method-assign]
    await worker.run_once()
    shopify._op_RefundCreate = original  # type: ignore[method-assign]
    shopify.down = False
    clock.advance(minutes=5)
    await worker.run_once()
    assert len(shopify.order_by_name("#1002").refunds) == 1
    assert (await _jobs(session))[0][0] is StoreWriteBackStatus.DONE


async def test_refunds_by_hand_tag_and_note_the_order_and_leave_the_refund_owed(
    uow: UnitOfWork, session: AsyncSession, shopify: FakeShopify, naps: Naps, worker: ConnectorWorker,
) -> None:
    config = await connect(uow, shopify, refunds_by_hand=True)
    await _backfill(uow, config, naps)
    await _customer_cancels(uow, session, "1002", "HS-200")

    await worker.run_once()

    order = shopify.order_by_name("#1002")
    assert TAG_BY_HAND in order.tags and "Refund owed: 298.00 EUR" in (order.note or "")
    assert order.refunds == [] and order.line_items[0].current_quantity == 2
    assert await _jobs(session) == [(StoreWriteBackStatus.BY_HAND, 1, None)]
    assert [status for _, status, _ in await _refunds(session)] == [RefundStatus.OWED]


async def test_the_stores_own_cancels_are_not_written_back(
    uow: UnitOfWork, session: AsyncSession, shopify: FakeShopify, shopify_connection: ConnectionConfig, naps: Naps,
    worker: ConnectorWorker,
) -> None:
    from bot.services.backorders.cancel import cancel_for_shop

    await _backfill(uow, shopify_connection, naps)
    await cancel_for_shop(uow, "1002", Actor.merchant("shopify"))
    await worker.run_once()
    assert await _jobs(session) == []
