"""Orders in, created once with their customers and lines: new lines take stock in queue order, the rest wait
with an ETA. An order already in the shop with the same content is left unchanged; with other content it is a
problem, since an imported order is never rewritten."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.services.audit import Actor, record
from bot.services.backorders.allocation import AllocationChange, allocate_available_stock
from bot.services.backorders.eta import EtaMove, recompute_etas
from bot.services.backorders.notifications import notify_stock_and_eta_changes
from bot.services.errors import ImportRejected, RowProblem
from bot.services.intake.field_rules import amount_text
from bot.services.intake.import_records import Batch, ImportResult, OrderLineRecord
from bot.services.intake.record_checks import check_batch, check_order_line
from bot.services.intake.shop_lookup import REASON_ORDERS_IMPORTED, products_by_sku, rows_in, unknown_skus
from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, LineStatus, Order, OrderLine, Product


async def import_order_records(
    uow: UnitOfWork, batch: Batch[OrderLineRecord], actor: Actor, default_phone_region: str
) -> ImportResult:
    """Create the batch's orders (one record per order line) that the shop does not have yet."""
    now, tz = uow.clock.now(), uow.clock.tz
    checked = check_batch(
        batch, lambda given, problems: check_order_line(given, problems, now, tz, default_phone_region)
    )
    lines, problems, bad_rows = checked.records, checked.problems, checked.bad_rows
    orders: dict[str, list[OrderLineRecord]] = {}
    for line in lines:
        orders.setdefault(line.order_number, []).append(line)
    async with uow:
        session = uow.session
        named = [(line.row, line.sku) for line in lines] + [(bad.row, bad.sku) for bad in bad_rows]
        products = await products_by_sku(session, {sku for _, sku in named if sku})
        problems += unknown_skus(named, products)
        existing = await _orders_by_number(session, orders)
        # An order with a bad row is incomplete here; comparing it with the stored one would only mislead.
        incomplete = {bad.order_number for bad in bad_rows}
        for number, order in existing.items():
            difference = None if number in incomplete else _difference(order, orders[number])
            if difference:
                problems += [RowProblem(line.row, "order_number", difference) for line in orders[number]]
        if problems:
            raise ImportRejected(problems)
        new_orders = {number: lines for number, lines in orders.items() if number not in existing}
        written = await _write_orders(uow, new_orders, products, actor)
        # Stock given to the new lines as they came in is no news; waiting lines they overtook are.
        await notify_stock_and_eta_changes(uow, moves=written.eta_moves)
        await uow.commit()
    return ImportResult(
        kind="orders",
        created=written.created,
        unchanged=tuple(existing),
        customers_created=written.customers_created,
        allocations=written.allocations,
        eta_moves=written.eta_moves,
    )


async def _orders_by_number(session: AsyncSession, numbers: Iterable[str]) -> dict[str, Order]:
    rows = await rows_in(
        session,
        numbers,
        lambda chunk: select(Order)
        .where(Order.number.in_(chunk))
        .options(selectinload(Order.customer), selectinload(Order.lines).selectinload(OrderLine.product)),
    )
    return {order.number: order for (order,) in rows}


def _difference(order: Order, lines: list[OrderLineRecord]) -> str | None:
    """Why the batch's order is not the one already in the shop, or None if it is the same."""
    first = lines[0]
    prefix = f"order {order.number} is already in the shop"
    if order.customer.email != first.email:
        return f"{prefix} for another customer"
    if order.placed_at != first.placed_at:
        return f"{prefix}, placed at {order.placed_at.isoformat()}"
    if order.currency != first.currency:
        return f"{prefix} in {order.currency}"
    # Lines a customer swapped in through the chat are the shop's doing, not the export's.
    stored = {
        line.product.sku: (line.quantity, line.unit_price_minor)
        for line in order.lines
        if line.substitute_for_line_id is None
    }
    given = {line.sku: (line.quantity, line.unit_price_minor) for line in lines}
    differing = sorted(sku for sku in stored.keys() | given.keys() if stored.get(sku) != given.get(sku))
    if differing:
        return f"{prefix} with other lines (differing: {', '.join(differing)}); an imported order is never changed"
    return None


@dataclass(frozen=True)
class _OrdersWritten:
    created: tuple[str, ...]
    customers_created: int
    allocations: tuple[AllocationChange, ...]
    eta_moves: tuple[EtaMove, ...]


async def _write_orders(
    uow: UnitOfWork, orders: dict[str, list[OrderLineRecord]], products: dict[str, Product], actor: Actor
) -> _OrdersWritten:
    session, now = uow.session, uow.clock.now()
    customers, customers_created = await _customers_for(uow, [lines[0] for lines in orders.values()], actor)
    affected: set[int] = set()
    for number, lines in orders.items():
        first = lines[0]
        # Linked through the relationships, so one flush inserts all orders and then all lines in batches.
        order = Order(
            number=number,
            customer=customers[first.email],
            placed_at=first.placed_at,
            currency=first.currency,
            created_at=now,
            lines=[
                OrderLine(
                    product_id=products[line.sku].id,
                    quantity=line.quantity,
                    unit_price_minor=line.unit_price_minor,
                    status=LineStatus.BACKORDERED,
                    allocated_quantity=0,
                    cancelled_quantity=0,
                    substituted_quantity=0,
                    queued_at=first.placed_at,
                    created_at=now,
                    updated_at=now,
                )
                for line in lines
            ],
        )
        session.add(order)
        affected.update(products[line.sku].id for line in lines)
        record(
            session,
            actor,
            "order.imported",
            "order",
            number,
            at=now,
            lines=[[line.sku, line.quantity, amount_text(line.unit_price_minor, line.currency)] for line in lines],
        )
    await session.flush()
    allocations: list[AllocationChange] = []
    for product_id in sorted(affected):
        allocations += await allocate_available_stock(session, uow.clock, actor, product_id)
    moves = await recompute_etas(session, uow.clock, uow.policy, REASON_ORDERS_IMPORTED, sorted(affected))
    return _OrdersWritten(tuple(orders), customers_created, tuple(allocations), tuple(moves))


async def _customers_for(
    uow: UnitOfWork, firsts: list[OrderLineRecord], actor: Actor
) -> tuple[dict[str, Customer], int]:
    """The customers of these orders by e-mail: new ones created; known ones only get missing details filled in."""
    session, now = uow.session, uow.clock.now()
    rows = await rows_in(
        session, {line.email for line in firsts}, lambda chunk: select(Customer).where(Customer.email.in_(chunk))
    )
    customers: dict[str, Customer] = {customer.email: customer for (customer,) in rows}
    created: list[Customer] = []
    for line in firsts:
        customer = customers.get(line.email)
        if customer is None:
            customer = Customer(
                name=line.customer_name, email=line.email, phone=line.phone, language=line.language, created_at=now
            )
            session.add(customer)
            customers[line.email] = customer
            created.append(customer)
            continue
        filled = []
        if customer.phone is None and line.phone:
            customer.phone = line.phone
            filled.append("phone")
        if customer.language is None and line.language:
            customer.language = line.language
            filled.append("language")
        if filled:
            record(session, actor, "customer.updated", "customer", customer.id, at=now, filled=filled)
    await session.flush()
    for customer in created:
        record(session, actor, "customer.created", "customer", customer.id, at=now, source="orders import")
    return customers, len(created)
