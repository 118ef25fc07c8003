"""Merchant CSV exports in: products, orders, purchase orders and shipments; all or nothing, and safe to repeat.

A file is checked in full before anything is written. If any row is bad, ImportRejected lists every problem
with its row number as a spreadsheet shows it (the header is row 1) and nothing changes. Importing the same
file again changes nothing; a dry run checks and reports what would change without writing. The columns are
documented in README.md, "Importing CSV files".
"""

from dataclasses import dataclass

from bot.services.audit import Actor
from bot.services.errors import DomainError, ImportRejected, RowProblem
from bot.services.fulfilment.shipments import ShipmentResult, ship
from bot.services.intake.csv_reader import read_orders, read_products, read_purchase_orders, read_shipments
from bot.services.intake.import_records import NO_PROGRESS, ImportProgress, ImportResult
from bot.services.intake.order_import import import_order_records
from bot.services.intake.product_import import import_product_records
from bot.services.intake.purchase_order_import import import_purchase_order_records
from bot.services.unit_of_work import UnitOfWork

__all__ = [
    "ImportResult", "ShipmentImport", "import_orders", "import_products", "import_purchase_orders", "import_shipments",
]


async def import_products(
    uow: UnitOfWork, text: str, actor: Actor, *, dry_run: bool = False, progress: ImportProgress = NO_PROGRESS
) -> ImportResult:
    """Create or update products by SKU, with their tags, substitutes and (optionally) unallocated stock."""
    batch = read_products(text, progress)
    return await import_product_records(uow, batch, actor, dry_run=dry_run, progress=progress)


async def import_orders(
    uow: UnitOfWork,
    text: str,
    actor: Actor,
    default_phone_region: str,
    *,
    dry_run: bool = False,
    progress: ImportProgress = NO_PROGRESS,
) -> ImportResult:
    """Create orders once, one row per line; new lines get stock in queue order, the rest wait with an ETA."""
    batch = read_orders(text, uow.clock.now(), uow.clock.tz, default_phone_region, progress)
    return await import_order_records(
        uow, batch, actor, default_phone_region, dry_run=dry_run, progress=progress
    )


async def import_purchase_orders(
    uow: UnitOfWork, text: str, actor: Actor, *, dry_run: bool = False, progress: ImportProgress = NO_PROGRESS
) -> ImportResult:
    """Add, move, resize or cancel supplier purchase orders by reference, then recompute the ETAs they feed."""
    batch = read_purchase_orders(text, uow.clock.today(), progress)
    return await import_purchase_order_records(uow, batch, actor, dry_run=dry_run, progress=progress)


@dataclass(frozen=True)
class ShipmentImport:
    recorded: list[ShipmentResult]
    repeated: list[ShipmentResult]  # their tracking numbers were recorded before; nothing changed


async def import_shipments(uow: UnitOfWork, text: str, actor: Actor, *, dry_run: bool = False) -> ShipmentImport:
    """Record a file's shipments (one per order and tracking number) in one transaction: all of them, or none.

    A dry run records them all in its transaction, then rolls it back: nothing is written and nobody is told.
    """
    shipments, problems = read_shipments(text, uow.clock.now(), uow.clock.tz)
    if problems:
        raise ImportRejected(problems)
    results: list[ShipmentResult] = []
    async with uow:
        for row_number, shipment in shipments:
            try:
                results.append(await ship(uow, shipment, actor))
            except DomainError as refused:  # refused before it changed anything; the others still get checked
                problems.append(RowProblem(row_number, "", refused.message))
        if problems:
            raise ImportRejected(problems)
        if not dry_run:
            await uow.commit()
    return ShipmentImport(
        [result for result in results if not result.already_done], [result for result in results if result.already_done]
    )
