"""Tax in a cancel's refund and a swap's price difference, against the fake Shopify charging tax as Shopify does.

In a shop whose prices exclude tax, Shopify adds each line's tax on top (its taxLines); what the customer paid for a
unit is the price and its share of that tax, so that is what the bot promises in the chat and refunds in the store,
and a substitute is charged with the same rate. In a shop whose prices include tax, the price is what was paid. After
the write-back the store order is settled: what the customer paid less the refunds is what the order now costs.
"""

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.connectors.backfill_run import run_backfill
from bot.connectors.shopify.adapter import ShopifyAdapter
from bot.connectors.worker import ConnectorWorker
from bot.services.audit import Actor
from bot.services.backorders.alternatives import list_alternatives, pick_alternative
from bot.services.backorders.cancel import cancel_line
from bot.services.unit_of_work import UnitOfWork
from db.models import Product, ProductSubstitute, Refund, RefundStatus
from tests.fakes.shopify_fixtures import Naps, connect, stocked_store
from tests.fakes.shopify_store import FakeShopify, running_shopify
from tests.integration.test_shopify_write_back import _line  # (customer id, line id) of an order's line

VAT = Decimal("0.19")


@pytest.fixture(params=[False, True], ids=["tax-exclusive", "tax-inclusive"])
async def taxed_shop(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[FakeShopify]:
    store = stocked_store(clock, tax_rate=VAT, taxes_included=request.param)
    store.add_variant("HS-250", "Studio Pro Wireless Headset II", "159.00", 4)  # a dearer stand-in, in stock
    async for running in running_shopify(store):
        yield running


@pytest.fixture
async def worker(uow: UnitOfWork, naps: Naps, taxed_shop: FakeShopify) -> AsyncIterator[ConnectorWorker]:
    config = await connect(uow, taxed_shop)
    adapter = ShopifyAdapter(config, poll_seconds=0.01, sleep=naps)
    await run_backfill(uow, adapter, config)
    await adapter.aclose()
    running = ConnectorWorker(lambda: uow, lambda config: ShopifyAdapter(config, poll_seconds=0.01, sleep=naps), reconcile_every=None)
    yield running
    await running.aclose()


def _paid_per_unit(shop: FakeShopify, price: str) -> int:
    """What the customer paid for one unit at that catalogue price, in cents."""
    charged = Decimal(price) * (1 if shop.taxes_included else 1 + VAT)
    return int(charged.quantize(Decimal("0.01")) * 100)


async def _refunds(session: AsyncSession) -> list[tuple[int, RefundStatus]]:
    rows = (await session.execute(select(Refund.amount_minor, Refund.status).order_by(Refund.id))).all()
    await session.rollback()
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def _may_swap(session: AsyncSession, sku: str, substitute: str) -> dict[str, int]:
    products = dict((await session.execute(select(Product.sku, Product.id))).all())
    session.add(ProductSubstitute(product_id=products[sku], substitute_id=products[substitute], rank=0))
    await session.commit()
    return products


async def test_a_cancel_refunds_what_was_paid_for_the_units_tax_included(
    uow: UnitOfWork, session: AsyncSession, taxed_shop: FakeShopify, worker: ConnectorWorker
) -> None:
    customer_id, line_id = await _line(session, "1002", "HS-200")  # Ben: two headsets at 149.00

    cancelled = await cancel_line(uow, customer_id, line_id, Actor.customer(customer_id))
    await worker.run_once()

    promised = 2 * _paid_per_unit(taxed_shop, "149.00")  # 354.62 with 19 % on top, 298.00 with it included
    assert cancelled.refund_minor == promised  # the amount the chat states
    order = taxed_shop.order_by_name("#1002")
    assert [Decimal(refund["amount"]) * 100 for refund in order.refunds] == [promised]
    assert await _refunds(session) == [(promised, RefundStatus.PAID)]
    assert taxed_shop.balance(order) == 0  # the customer got back all they paid for the cancelled units


async def test_a_cheaper_swap_refunds_the_difference_tax_included(
    uow: UnitOfWork, session: AsyncSession, taxed_shop: FakeShopify, worker: ConnectorWorker
) -> None:
    products = await _may_swap(session, "HS-200", "HS-120")
    customer_id, line_id = await _line(session, "1001", "HS-200")

    offered = await list_alternatives(uow, customer_id, line_id)
    swapped = await pick_alternative(uow, customer_id, line_id, products["HS-120"], Actor.customer(customer_id))
    await worker.run_once()

    difference = _paid_per_unit(taxed_shop, "149.00") - _paid_per_unit(taxed_shop, "89.00")  # 71.40, or 60.00
    assert [(alternative.sku, alternative.unit_price_minor, alternative.refund_minor) for alternative in offered.alternatives] == [
        ("HS-120", _paid_per_unit(taxed_shop, "89.00"), difference)
    ]
    assert swapped.refund_minor == difference
    order = taxed_shop.order_by_name("#1001")
    assert [Decimal(refund["amount"]) * 100 for refund in order.refunds] == [difference]
    assert taxed_shop.balance(order) == 0


async def test_a_dearer_swap_is_charged_as_the_original_in_the_store(
    uow: UnitOfWork, session: AsyncSession, taxed_shop: FakeShopify, worker: ConnectorWorker
) -> None:
    products = await _may_swap(session, "HS-200", "HS-250")
    customer_id, line_id = await _line(session, "1001", "HS-200")

    swapped = await pick_alternative(uow, customer_id, line_id, products["HS-250"], Actor.customer(customer_id))
    await worker.run_once()

    assert swapped.waived_minor == _paid_per_unit(taxed_shop, "159.00") - _paid_per_unit(taxed_shop, "149.00")
    assert swapped.refund_minor == 0
    order = taxed_shop.order_by_name("#1001")
    assert order.refunds == [] and order.line_items[-1].sku == "HS-250"
    assert taxed_shop.balance(order) == 0  # the shop's discount on the substitute, before tax, covers the difference
