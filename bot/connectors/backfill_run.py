"""The first load of a connected store: products, then open orders, then stock, page by page from where an
interrupted run stopped, each page applied through the connector use cases before its cursor is saved."""

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.services.connectors import (
    RESOURCES,
    ConnectionConfig,
    StoreAdapter,
    SyncReport,
    advance_backfill,
    apply_orders,
    apply_products,
    apply_stock_counts,
    start_backfill,
)
from bot.services.unit_of_work import UnitOfWork


class BackfillProgress(Protocol):
    """Told after every page: the resource, how many of it are done and, when the store says, how many there are."""

    def page_done(self, resource: str, done: int, total: int | None) -> None: ...


class NoBackfillProgress:
    def page_done(self, resource: str, done: int, total: int | None) -> None:
        pass


async def run_backfill(
    uow: UnitOfWork, adapter: StoreAdapter, connection: ConnectionConfig, progress: BackfillProgress = NoBackfillProgress()
) -> SyncReport:
    """Load everything the bot needs from the store; resumes an interrupted run, and repeats harmlessly."""
    report = SyncReport()
    pages: dict[str, Callable[[str | None], Awaitable[Any]]] = {
        "products": adapter.product_page, "orders": adapter.open_order_page, "stock": adapter.stock_page,
    }
    appliers: dict[str, Callable[[list[Any]], Awaitable[SyncReport]]] = {
        "products": lambda items: apply_products(uow, connection, items),
        "orders": lambda items: apply_orders(uow, connection, items),
        "stock": lambda items: apply_stock_counts(uow, connection, items),
    }
    for resource in RESOURCES:
        state = await start_backfill(uow, connection.id, resource)
        progress.page_done(resource, state.done, state.total)
        while not state.finished:
            page = await pages[resource](state.cursor)
            report.merge(await appliers[resource](page.items))
            state = await advance_backfill(uow, connection.id, resource, page.next_cursor, len(page.items), page.total)
            progress.page_done(resource, state.done, state.total)
    return report
