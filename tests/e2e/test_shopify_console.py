"""The console's Store page shows a connected Shopify store as `--status` does: its health, last webhook,
backfill, and a write-back failing with the store's own error message."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.connectors.backfill_run import run_backfill
from bot.connectors.shopify.adapter import ShopifyAdapter
from bot.connectors.worker import ConnectorWorker
from bot.services.audit import Actor
from bot.services.backorders.cancel import cancel_line
from bot.services.connectors import ConnectionConfig
from bot.services.unit_of_work import UnitOfWork
from db.models import AuditEntry, Order, OrderLine
from tests.e2e.test_console_http import Console, console, console_deps, signed_in, token  # noqa: F401 - fixtures
from tests.fakes.shopify_fixtures import Naps
from tests.fakes.shopify_store import FakeShopify


async def _backfill_and_cancel_1002(
    uow: UnitOfWork, session: AsyncSession, adapter: ShopifyAdapter, connection: ConnectionConfig
) -> None:
    """The store's orders are backfilled, then the customer of order 1002 cancels its line: a write-back to make."""
    await run_backfill(uow, adapter, connection)
    customer_id, line_id = (
        await session.execute(
            select(Order.customer_id, OrderLine.id).join(OrderLine, OrderLine.order_id == Order.id).where(Order.number == "1002")
        )
    ).one()
    await session.rollback()
    await cancel_line(uow, line_id=line_id, customer_id=customer_id, actor=Actor.customer(customer_id))


async def test_the_store_page_shows_health_backfill_and_a_failing_write_back(
    signed_in: Console, uow: UnitOfWork, session: AsyncSession, shopify: FakeShopify, shopify_adapter: ShopifyAdapter,
    shopify_connection: ConnectionConfig, naps: Naps,
) -> None:
    empty = await signed_in.get("/console/stores")
    assert empty.status == 200 and "Shopify: backorder-demo.myshopify.com" in empty.text and "working" in empty.text

    await _backfill_and_cancel_1002(uow, session, shopify_adapter, shopify_connection)
    shopify.down = True
    worker = ConnectorWorker(lambda: uow, lambda config: ShopifyAdapter(config, sleep=naps, retry_delays=(0.01,)), reconcile_every=None)
    await worker.run_once()
    await worker.aclose()

    page = await signed_in.get("/console/stores")
    assert "needs attention" in page.text
    assert "Cancel of order 1002" in page.text and "Shopify answered 503" in page.text
    assert "orders 3 / 3 done" in " ".join(page.text.split())


async def test_a_write_back_that_gave_up_is_queued_again_from_the_store_page_and_audited(
    signed_in: Console, uow: UnitOfWork, session: AsyncSession, shopify: FakeShopify, shopify_adapter: ShopifyAdapter,
    shopify_connection: ConnectionConfig, naps: Naps,
) -> None:
    await _backfill_and_cancel_1002(uow, session, shopify_adapter, shopify_connection)
    shopify.token = "shpat_rotated"  # the merchant rotated the app's token in the Shopify admin: refused for good
    worker = ConnectorWorker(lambda: uow, lambda config: ShopifyAdapter(config, sleep=naps), reconcile_every=None)
    await worker.run_once()
    page = await signed_in.get("/console/stores")
    assert "given up" in page.text and "Try the 1 change that gave up again" in page.text

    forged = await signed_in.post(f"/console/stores/{shopify_connection.id}/retry-failed", {"csrf": "not ours"})
    assert forged.status == 403
    shopify.token = "shpat_good"  # the token is mended
    form = {"csrf": page.field("csrf"), "form_id": page.field("form_id")}
    retried = await signed_in.post(f"/console/stores/{shopify_connection.id}/retry-failed", form)
    assert retried.status == 303
    again = await signed_in.post(f"/console/stores/{shopify_connection.id}/retry-failed", form)  # a double click
    assert again.status == 303 and again.location == retried.location
    shown = await signed_in.get(retried.location.removeprefix(str(signed_in.client.make_url(""))))
    assert "1 change is queued again" in shown.text and "gave up again" not in shown.text
    await worker.run_once()
    await worker.aclose()
    order = shopify.order_by_name("#1002")
    assert len(order.refunds) == 1 and "Backorder Desk" in (order.note or "")
    audit = (await session.execute(select(AuditEntry.action, AuditEntry.actor_type).where(AuditEntry.action == "store.write_backs_retried"))).all()
    await session.rollback()
    assert [(action, str(actor)) for action, actor in audit] == [("store.write_backs_retried", "merchant")]
