"""Builders that put a small shop into the test database: real rows, no mocks."""

from datetime import date, datetime, timedelta, timezone
from itertools import count

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.backorders.eta import recompute_all_etas
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    Customer,
    LineStatus,
    Order,
    OrderLine,
    Product,
    ProductSubstitute,
    PurchaseOrder,
    PurchaseOrderStatus,
    StockLevel,
)

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
# Far above the fixed numbers tests use (1042, …), so a generated number never collides with one.
_numbers = count(900_000)


async def add_product(
    session: AsyncSession,
    sku: str,
    *,
    price: int = 1000,
    category: str = "audio",
    tags: list[str] | None = None,
    lead_time_days: int = 21,
    available: int = 0,
    currency: str = "EUR",
    name: str | None = None,
) -> Product:
    product = Product(
        sku=sku,
        name=name or f"Product {sku}",
        category=category,
        price_minor=price,
        currency=currency,
        tags=tags or [],
        lead_time_days=lead_time_days,
        created_at=T0,
        updated_at=T0,
    )
    session.add(product)
    await session.flush()
    session.add(StockLevel(product_id=product.id, available=available, updated_at=T0))
    await session.flush()
    return product


async def add_substitute(session: AsyncSession, product: Product, substitute: Product, rank: int = 0) -> None:
    session.add(ProductSubstitute(product_id=product.id, substitute_id=substitute.id, rank=rank))
    await session.flush()


async def add_customer(
    session: AsyncSession, name: str = "Anna Klein", email: str | None = None, phone: str | None = None
) -> Customer:
    customer = Customer(
        name=name,
        email=email or f"{name.split()[0].lower()}.{next(_numbers)}@example.com",
        phone=phone,
        created_at=T0,
    )
    session.add(customer)
    await session.flush()
    return customer


async def add_chat_customer(
    session: AsyncSession, name: str, telegram_user_id: int | None, language: str | None = "en", **flags: bool
) -> Customer:
    """A customer as the chat knows them: their Telegram user (None: never linked), language and flags such as
    bot_blocked or notifications_opt_out."""
    customer = await add_customer(session, name)
    customer.telegram_user_id = telegram_user_id
    customer.language = language
    for flag, value in flags.items():
        setattr(customer, flag, value)
    await session.flush()
    return customer


async def add_order(
    session: AsyncSession,
    customer: Customer,
    lines: list[tuple[Product, int]],
    *,
    placed_at: datetime = T0,
    allocated: list[int] | None = None,
    number: str | None = None,
) -> Order:
    """An order whose lines are backordered except for the allocated quantities given."""
    order = Order(
        number=number or str(next(_numbers)),
        customer_id=customer.id,
        placed_at=placed_at,
        currency="EUR",
        created_at=placed_at,
    )
    session.add(order)
    await session.flush()
    for index, (product, quantity) in enumerate(lines):
        allocated_quantity = allocated[index] if allocated else 0
        session.add(
            OrderLine(
                order_id=order.id,
                product_id=product.id,
                quantity=quantity,
                unit_price_minor=product.price_minor,
                status=_status_for(quantity, allocated_quantity),
                allocated_quantity=allocated_quantity,
                cancelled_quantity=0,
                substituted_quantity=0,
                queued_at=placed_at,
                created_at=placed_at,
                updated_at=placed_at,
            )
        )
    await session.flush()
    await session.refresh(order, ["lines"])
    return order


def _status_for(quantity: int, allocated: int) -> LineStatus:
    if allocated >= quantity:
        return LineStatus.ALLOCATED
    return LineStatus.PARTIALLY_ALLOCATED if allocated else LineStatus.BACKORDERED


async def add_purchase_order(
    session: AsyncSession,
    product: Product,
    quantity: int,
    expected_on: date,
    *,
    reference: str | None = None,
    received: int = 0,
    status: PurchaseOrderStatus = PurchaseOrderStatus.OPEN,
) -> PurchaseOrder:
    purchase_order = PurchaseOrder(
        reference=reference or f"PO-{next(_numbers)}",
        product_id=product.id,
        quantity=quantity,
        received_quantity=received,
        expected_on=expected_on,
        status=status,
        created_at=T0,
        updated_at=T0,
    )
    session.add(purchase_order)
    await session.flush()
    return purchase_order


async def add_waiting_lines(
    session: AsyncSession, uow: UnitOfWork, quantities: list[int], sku: str, *, number_prefix: str | None = None
) -> list[int]:
    """Product `sku` with one order per quantity (numbered `{number_prefix or sku}-1` on), in queue order, their
    ETAs computed; the line ids. Commits `session`."""
    product = await add_product(session, sku)
    customer = await add_customer(session)
    line_ids = []
    for index, quantity in enumerate(quantities):
        order = await add_order(
            session, customer, [(product, quantity)], placed_at=minutes_after(T0, index),
            number=f"{number_prefix or sku}-{index + 1}",
        )
        line_ids.append(order.lines[0].id)
    await session.commit()
    await recompute_all_etas(uow)
    return line_ids


def minutes_after(start: datetime, minutes: int) -> datetime:
    return start + timedelta(minutes=minutes)
