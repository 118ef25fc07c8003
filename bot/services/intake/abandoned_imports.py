"""What killed large imports left, of every kind: cleared if they had not committed, finished if they had."""

from bot.services.intake import import_runs
from bot.services.intake.order_staging import ORDERS
from bot.services.intake.product_staging import PRODUCTS
from bot.services.intake.purchase_order_staging import PURCHASE_ORDERS
from bot.services.unit_of_work import UnitOfWork

_KINDS = {"orders": ORDERS, "products": PRODUCTS.run_kind(), "purchase-orders": PURCHASE_ORDERS.run_kind()}


async def finish_abandoned_runs(uow: UnitOfWork) -> int:
    """Delete what killed imports left staged; write the rest of those committed into the shop. How many."""
    return await import_runs.finish_abandoned_runs(uow, _KINDS)
