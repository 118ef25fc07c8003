"""The weekly digest the shop's people get in Telegram: SKUs customers wait for with nothing on order, suppliers
slipping, and the oldest backorders.

Queued through the outbox by the daily job; its key names the ISO week, so each merchant gets it once a week
(on the first daily run of the week, normally Monday's) however often the job runs.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import exists, func, select

from bot.services.backorders.allocation import open_quantity, waiting
from bot.services.outbox import OutgoingMessage, enqueue
from bot.services.purchasing.supplier_record import Trend, track_records
from bot.services.unit_of_work import UnitOfWork
from db.models import Order, OrderLine, Product, PurchaseOrder, PurchaseOrderStatus, Supplier

TEMPLATE = "merchant_digest"
LISTED = 5  # of each kind, the most pressing


@dataclass(frozen=True)
class UnorderedSku:
    sku: str
    product_name: str
    waiting: int  # units


@dataclass(frozen=True)
class SlippingSupplier:
    name: str
    median_days_late: float
    worsening: bool


@dataclass(frozen=True)
class OldBackorder:
    order_number: str
    sku: str
    days_waiting: int


@dataclass(frozen=True)
class WeeklyDigest:
    unordered: tuple[UnorderedSku, ...]
    unordered_total: int
    slipping: tuple[SlippingSupplier, ...]
    oldest: tuple[OldBackorder, ...]

    def params(self) -> dict[str, object]:
        """As the outbox keeps it (JSON)."""
        return asdict(self)


async def weekly_digest(uow: UnitOfWork) -> WeeklyDigest:
    """This week's digest: what needs the merchant's attention now."""
    today = uow.clock.today()
    async with uow.read_only():
        session = uow.session
        on_order = exists().where(
            PurchaseOrder.product_id == OrderLine.product_id, PurchaseOrder.status == PurchaseOrderStatus.OPEN
        )
        unordered = (
            await session.execute(
                select(Product.sku, Product.name, func.sum(open_quantity()).label("units"))
                .join(Product, Product.id == OrderLine.product_id)
                .where(waiting(), ~on_order)
                .group_by(Product.sku, Product.name)
                .order_by(func.sum(open_quantity()).desc(), Product.sku)
            )
        ).all()
        oldest = (
            await session.execute(
                select(Order.number, Product.sku, OrderLine.queued_at)
                .join(Order, Order.id == OrderLine.order_id)
                .join(Product, Product.id == OrderLine.product_id)
                .where(waiting())
                .order_by(OrderLine.queued_at, OrderLine.id)
                .limit(LISTED)
            )
        ).all()
        names = dict((await session.execute(select(Supplier.id, Supplier.name))).all())
        records = await track_records(session, today, uow.policy.supplier_record.window_days)
    slipping = sorted(
        (
            SlippingSupplier(names[supplier_id], float(record.median_days_late), record.trend == Trend.WORSENING)
            for supplier_id, record in records.items()
            if record.median_days_late is not None
            and (record.median_days_late > 0 or record.trend == Trend.WORSENING)
        ),
        key=lambda supplier: (-supplier.median_days_late, supplier.name),
    )
    return WeeklyDigest(
        unordered=tuple(UnorderedSku(sku, name, int(units)) for sku, name, units in unordered[:LISTED]),
        unordered_total=len(unordered),
        slipping=tuple(slipping[:LISTED]),
        oldest=tuple(
            OldBackorder(number, sku, (today - queued_at.astimezone(uow.clock.tz).date()).days)
            for number, sku, queued_at in oldest
        ),
    )


async def queue_weekly_digest(uow: UnitOfWork, merchant_chat_ids: Sequence[int], language: str) -> int:
    """Queue this week's digest for each merchant who has not had it; returns how many were queued."""
    if not merchant_chat_ids:
        return 0
    digest = await weekly_digest(uow)
    year, week, _ = uow.clock.today().isocalendar()
    async with uow:
        queued = await enqueue(
            uow.session,
            uow.clock,
            [
                OutgoingMessage(
                    chat_id=chat_id,
                    template=TEMPLATE,
                    language=language,
                    params=digest.params(),
                    dedupe_key=f"merchant-digest:{year}-W{week:02d}:{chat_id}",
                )
                for chat_id in merchant_chat_ids
            ],
        )
        await uow.commit()
    return queued
