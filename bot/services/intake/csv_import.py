"""Merchant CSV exports in: products, orders and purchase orders; all or nothing, and safe to repeat.

A file is checked in full before anything is written. If any row is bad, ImportRejected lists every problem
with its row number as a spreadsheet shows it (the header is row 1) and nothing changes. Importing the same
file again changes nothing; a dry run checks and reports what would change without writing. The columns are
documented in README.md, "Importing CSV files".
"""

from bot.services.audit import Actor
from bot.services.intake.csv_reader import read_orders, read_products, read_purchase_orders
from bot.services.intake.import_records import NO_PROGRESS, ImportProgress, ImportResult
from bot.services.intake.order_import import import_order_records
from bot.services.intake.product_import import import_product_records
from bot.services.intake.purchase_order_import import import_purchase_order_records
from bot.services.unit_of_work import UnitOfWork

__all__ = ["ImportResult", "import_orders", "import_products", "import_purchase_orders"]


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
