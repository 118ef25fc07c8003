"""Merchant CSV exports in: products, orders and purchase orders; all or nothing, and safe to repeat.

A file is checked in full before anything is written. If any row is bad, ImportRejected lists every problem
with its row number as a spreadsheet shows it (the header is row 1) and nothing changes. Importing the same
file again changes nothing. The columns are documented in README.md, "Importing CSV files".
"""

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal
from functools import cache, partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_precision, list_currencies
from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.clock import Clock
from bot.services.audit import Actor, record
from bot.services.backorders.allocation import AllocationChange, allocate_available_stock
from bot.services.backorders.eta import (
    REASON_PURCHASE_ORDER_ADDED,
    REASON_PURCHASE_ORDER_CANCELLED,
    REASON_PURCHASE_ORDER_MOVED,
    REASON_STOCK_CHANGED,
    EtaMove,
    recompute_etas,
)
from bot.services.backorders.notifications import notify_stock_and_eta_changes
from bot.services.errors import ImportRejected, RowProblem
from bot.services.phone import normalise_phone
from bot.services.unit_of_work import ShopPolicy, UnitOfWork
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

REASON_ORDERS_IMPORTED = "orders_imported"
REASON_LEAD_TIME_CHANGED = "lead_time_changed"
REASON_PURCHASE_ORDERS_IMPORTED = "purchase_orders_imported"

MAX_QUANTITY = 1_000_000
MAX_LEAD_TIME_DAYS = 730
_MAX_MINOR_UNITS = 2**31 - 1  # INTEGER columns on PostgreSQL
_LOOKUP_CHUNK = 500  # keeps IN (...) lists well inside every driver's parameter limit

T = TypeVar("T")


@dataclass(frozen=True)
class ImportResult:
    """What an import did, by key: SKU, order number or purchase-order reference."""

    kind: str
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    customers_created: int = 0
    allocations: tuple[AllocationChange, ...] = ()
    eta_moves: tuple[EtaMove, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.cancelled)


# --- reading the file --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


PRODUCT_COLUMNS = _Columns(
    ("sku", "name", "category", "price", "currency", "lead_time_days"), ("tags", "substitutes", "available")
)
ORDER_COLUMNS = _Columns(
    ("order_number", "placed_at", "customer_email", "customer_name", "sku", "quantity", "unit_price", "currency"),
    ("customer_phone", "customer_language"),
)
PURCHASE_ORDER_COLUMNS = _Columns(("reference", "sku", "quantity", "expected_on"), ("status",))


class _Row:
    """One data row: its spreadsheet row number and cells by column; records what is wrong with it."""

    def __init__(self, number: int, cells: dict[str, str], problems: list[RowProblem]) -> None:
        self.number = number
        self.cells = cells
        self._problems = problems
        self.ok = True

    def has(self, column: str) -> bool:
        """Whether the file has this column at all (an empty cell still counts)."""
        return column in self.cells

    def problem(self, column: str, reason: str) -> None:
        self._problems.append(RowProblem(self.number, column, reason))
        self.ok = False

    def value(self, column: str, parse: Callable[[str], T], *, required: bool = True) -> T | None:
        """The parsed cell; None (and a problem, if required) when it is empty or bad."""
        raw = self.cells.get(column, "")
        if not raw:
            if required:
                self.problem(column, "no value given")
            return None
        try:
            return parse(raw)
        except ValueError as bad:
            self.problem(column, str(bad))
            return None


def _read_table(text: str, columns: _Columns, problems: list[RowProblem]) -> list[_Row]:
    """The file's data rows, keyed by normalised column name; a bad header rejects the file at once."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ImportRejected([RowProblem(1, "", "the file is empty; the first row must name the columns")])
    header_line = text.splitlines()[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    try:
        for record_ in reader:
            records.append(record_)
    except csv.Error as bad:
        raise ImportRejected([RowProblem(len(records) + 1, "", f"cannot be read as CSV ({bad})")]) from None

    names = [_column_name(cell) for cell in records[0]]
    _check_header(names, columns)
    rows = []
    for number, record_ in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record_):
            continue  # spreadsheets leave blank rows; they mean nothing
        row = _Row(number, {name: "" for name in names if name}, problems)
        for index, cell in enumerate(record_):
            name = names[index] if index < len(names) else ""
            if name:
                row.cells[name] = cell.strip()
            elif cell.strip():
                row.problem("", f"has a value in column {_column_letter(index)}, which has no heading")
        rows.append(row)
    return rows


def _record_rows(records: Sequence[Mapping[str, str]], columns: _Columns, problems: list[RowProblem]) -> list[_Row]:
    """Records as data rows, numbered as if they were a file's (the first is row 2)."""
    rows = []
    for number, record_ in enumerate(records, start=2):
        unknown = set(record_) - set(columns.all)
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}; the columns are {', '.join(columns.all)}")
        cells = {name: "" for name in columns.required} | {name: value.strip() for name, value in record_.items()}
        rows.append(_Row(number, cells, problems))
    return rows


def _column_name(heading: str) -> str:
    return re.sub(r"[\s\-]+", "_", heading.strip().lower())


def _column_letter(index: int) -> str:
    letters, number = "", index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _check_header(names: list[str], columns: _Columns) -> None:
    problems = []
    seen: set[str] = set()
    for name in names:
        if not name:
            continue
        if name in seen:
            problems.append(RowProblem(1, name, "this column appears twice"))
        elif name not in columns.all:
            problems.append(RowProblem(1, name, f"unknown column; the columns are {', '.join(columns.all)}"))
        seen.add(name)
    problems += [RowProblem(1, name, "required column is missing") for name in columns.required if name not in seen]
    if problems:
        raise ImportRejected(problems)


def _check_unique(rows: Iterable[_Row], key: Callable[[_Row], Any], column: str, label: Callable[[Any], str]) -> None:
    """Mark every row whose key an earlier row already had."""
    first_row: dict[Any, int] = {}
    for row in rows:
        value = key(row)
        if not value:
            continue
        if value in first_row:
            row.problem(column, f"{label(value)} appears again (first in row {first_row[value]})")
        else:
            first_row[value] = row.number


# --- cell formats ------------------------------------------------------------------------------------------

_CURRENCIES = frozenset(list_currencies())
_AMOUNT = re.compile(r"\d+(?:[.,]\d+)?")
_WHOLE_NUMBER = re.compile(r"[+-]?\d+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SKU = re.compile(r"[^\s|]{1,64}")


def _text(limit: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if len(raw) > limit:
            raise ValueError(f"is longer than {limit} characters")
        return raw

    return parse


def _whole_number(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not _WHOLE_NUMBER.fullmatch(raw):
            raise ValueError(f"{raw!r} is not a whole number")
        number = int(raw)
        if not minimum <= number <= maximum:
            raise ValueError(f"{number} is out of range ({minimum} to {maximum})")
        return number

    return parse


def _currency(raw: str) -> str:
    code = raw.upper()
    if code not in _CURRENCIES:
        raise ValueError(f"{raw!r} is not an ISO 4217 currency code such as EUR")
    return code


def _money(currency: str | None) -> Callable[[str], int]:
    """An amount such as "19.99" (or "19,99") in integer minor units of `currency`; never a float."""

    def parse(raw: str) -> int:
        if not _AMOUNT.fullmatch(raw):
            raise ValueError(f"{raw!r} is not an amount like 19.99 (no currency sign, no thousands separator)")
        amount = Decimal(raw.replace(",", "."))
        if currency is None:
            return 0  # the currency cell is bad and already reported; its precision is unknown
        digits = get_currency_precision(currency)
        minor = amount.scaleb(digits)
        if minor != minor.to_integral_value():
            raise ValueError(f"{raw} has more decimals than {currency} has ({digits})")
        if minor > _MAX_MINOR_UNITS:
            raise ValueError(f"{raw} is too large")
        return int(minor)

    return parse


def _date(raw: str) -> date:
    if not _DATE.fullmatch(raw):
        raise ValueError(f"{raw!r} is not a date like 2026-12-04 (YYYY-MM-DD)")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a date in the calendar") from None


def _instant(tz: ZoneInfo) -> Callable[[str], datetime]:
    """ISO 8601 with an offset; without one, or a date alone (midnight), it is read in the shop's time zone."""

    def parse(raw: str) -> datetime:
        if _DATE.fullmatch(raw):
            return datetime.combine(_date(raw), time(), tz).astimezone(timezone.utc)
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError(
                f"{raw!r} is not a date and time like 2026-11-20T14:05:00+01:00 or a date like 2026-11-20"
            ) from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        return value.astimezone(timezone.utc)

    return parse


def _email(raw: str) -> str:
    if len(raw) > 320 or not _EMAIL.fullmatch(raw):
        raise ValueError(f"{raw!r} is not an e-mail address")
    return raw.lower()


def _language(raw: str) -> str:
    try:
        return Locale.parse(raw.replace("-", "_")).language
    except (ValueError, TypeError, UnknownLocaleError):
        raise ValueError(f"{raw!r} is not a language code such as de or en") from None


def _sku(raw: str) -> str:
    if not _SKU.fullmatch(raw):
        raise ValueError(f"{raw!r} is not a SKU (up to 64 characters, no spaces, no |)")
    return raw


def _list(item: Callable[[str], str]) -> Callable[[str], list[str]]:
    """Items separated by `|`, in order, without blanks or repeats."""

    def parse(raw: str) -> list[str]:
        items: list[str] = []
        for part in raw.split("|"):
            value = item(part.strip()) if part.strip() else ""
            if value and value not in items:
                items.append(value)
        return items

    return parse


def _purchase_order_status(raw: str) -> PurchaseOrderStatus:
    status = raw.lower()
    if status not in (PurchaseOrderStatus.OPEN, PurchaseOrderStatus.CANCELLED):
        raise ValueError(f"{raw!r} is not a status here; use open or cancelled")
    return PurchaseOrderStatus(status)


def _amount_text(minor: int, currency: str) -> str:
    return f"{Decimal(minor).scaleb(-get_currency_precision(currency))} {currency}"


# --- looking things up -------------------------------------------------------------------------------------


async def _rows_in(
    session: AsyncSession, values: Iterable[Any], statement_for: Callable[[list[Any]], Select[Any]]
) -> list[Any]:
    """Run `statement_for(chunk)` for chunks of the distinct values and return all result rows."""
    distinct = sorted(set(values))
    rows: list[Any] = []
    for start in range(0, len(distinct), _LOOKUP_CHUNK):
        rows += (await session.execute(statement_for(distinct[start : start + _LOOKUP_CHUNK]))).all()
    return rows


async def _products_by_sku(session: AsyncSession, skus: Iterable[str]) -> dict[str, Product]:
    rows = await _rows_in(
        session, skus, lambda chunk: select(Product).where(Product.sku.in_(chunk)).options(selectinload(Product.stock))
    )
    return {product.sku: product for (product,) in rows}


# When one import moves a product's ETAs for several reasons, customers are told the weightiest.
_REASON_WEIGHT = (
    REASON_PURCHASE_ORDER_CANCELLED,
    REASON_PURCHASE_ORDER_MOVED,
    REASON_PURCHASE_ORDER_ADDED,
    REASON_STOCK_CHANGED,
    REASON_LEAD_TIME_CHANGED,
    REASON_PURCHASE_ORDERS_IMPORTED,
)


def _note_reason(reasons: dict[int, str], product_id: int, reason: str) -> None:
    current = reasons.get(product_id)
    if current is None or _REASON_WEIGHT.index(reason) < _REASON_WEIGHT.index(current):
        reasons[product_id] = reason


def _check_known_skus(rows: Iterable[_Row], products: dict[str, Product]) -> None:
    for row in rows:
        sku = row.cells["sku"]
        if _SKU.fullmatch(sku) and sku not in products:
            row.problem("sku", f"{sku} is not a product of the shop; import it first")


async def _recompute(
    session: AsyncSession, clock: Clock, policy: ShopPolicy, reasons: dict[int, str]
) -> tuple[EtaMove, ...]:
    """Recompute the ETAs of the products given, each with the reason its lines will be told."""
    moves: list[EtaMove] = []
    for reason in sorted(set(reasons.values())):
        product_ids = sorted(product_id for product_id, why in reasons.items() if why == reason)
        moves += await recompute_etas(session, clock, policy, reason, product_ids)
    return tuple(moves)


# --- products ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ProductRow:
    row: int
    sku: str
    name: str
    category: str
    price_minor: int
    currency: str
    lead_time_days: int
    tags: list[str] | None  # None: the file has no such column, so leave them as they are
    substitutes: list[str] | None
    available: int | None


async def import_products(uow: UnitOfWork, text: str, actor: Actor) -> ImportResult:
    """Create or update products by SKU, with their tags, substitutes and (optionally) unallocated stock."""
    problems: list[RowProblem] = []
    rows = _read_table(text, PRODUCT_COLUMNS, problems)
    return await _import_product_rows(uow, rows, problems, actor)


async def import_product_records(uow: UnitOfWork, records: Sequence[Mapping[str, str]], actor: Actor) -> ImportResult:
    """import_products for cells already split into records (the merchant API); record i is reported as row i + 2.

    A record without an optional key is like a file without that column: its tags or substitutes stay as they are.
    """
    problems: list[RowProblem] = []
    rows = _record_rows(records, PRODUCT_COLUMNS, problems)
    return await _import_product_rows(uow, rows, problems, actor)


async def _import_product_rows(uow: UnitOfWork, rows: list[_Row], problems: list[RowProblem], actor: Actor) -> ImportResult:
    _check_unique(rows, lambda row: row.cells.get("sku"), "sku", lambda sku: f"SKU {sku}")
    parsed = [product for row in rows if (product := _product_row(row)) is not None]
    async with uow:
        session = uow.session
        in_file = {row.cells["sku"] for row in rows}
        existing = await _products_by_sku(session, in_file | {sku for row in rows for sku in _named_substitutes(row)})
        _check_substitutes(rows, set(existing) | in_file)
        if problems:
            raise ImportRejected(problems)
        result = await _write_products(uow, parsed, existing, actor)
        await notify_stock_and_eta_changes(uow, result.allocations, result.eta_moves)
        await uow.commit()
    return result


def _product_row(row: _Row) -> _ProductRow | None:
    sku = row.value("sku", _sku)
    name = row.value("name", _text(200))
    category = row.value("category", _text(100))
    currency = row.value("currency", _currency)
    price_minor = row.value("price", _money(currency))
    lead_time_days = row.value("lead_time_days", _whole_number(0, MAX_LEAD_TIME_DAYS))
    tags = row.value("tags", _list(_text(50)), required=False)
    substitutes = row.value("substitutes", _list(_sku), required=False)
    available = row.value("available", _whole_number(0, MAX_QUANTITY), required=False)
    if not row.ok:
        return None
    return _ProductRow(
        row=row.number,
        sku=sku,
        name=name,
        category=category,
        price_minor=price_minor,
        currency=currency,
        lead_time_days=lead_time_days,
        tags=(tags or []) if row.has("tags") else None,
        substitutes=(substitutes or []) if row.has("substitutes") else None,
        available=available,
    )


def _named_substitutes(row: _Row) -> list[str]:
    try:
        return _list(_sku)(row.cells.get("substitutes", ""))  # the column is optional
    except ValueError:
        return []  # a malformed cell, reported when the row was read


def _check_substitutes(rows: list[_Row], known: set[str]) -> None:
    """Substitutes must name other products of the file or the shop; checked on bad rows too."""
    for row in rows:
        for sku in _named_substitutes(row):
            if sku == row.cells["sku"]:
                row.problem("substitutes", "a product cannot be its own substitute")
            elif sku not in known:
                row.problem("substitutes", f"{sku} is not a SKU of this file or of the shop")


async def _write_products(
    uow: UnitOfWork, parsed: list[_ProductRow], existing: dict[str, Product], actor: Actor
) -> ImportResult:
    session, now = uow.session, uow.clock.now()
    created: dict[str, Product] = {}
    changes: dict[str, dict[str, list[Any]]] = {}
    for row in parsed:
        product = existing.get(row.sku)
        if product is None:
            product = Product(
                sku=row.sku,
                name=row.name,
                category=row.category,
                price_minor=row.price_minor,
                currency=row.currency,
                lead_time_days=row.lead_time_days,
                tags=row.tags or [],
                created_at=now,
                updated_at=now,
            )
            session.add(product)
            created[row.sku] = product
        else:
            changes[row.sku] = _apply_product_fields(product, row)
    await session.flush()

    by_sku = existing | created
    current_substitutes = await _substitute_skus(session, [product.id for product in existing.values()])
    for row in parsed:
        product = by_sku[row.sku]
        before = current_substitutes.get(product.id, [])
        if row.substitutes is not None and row.substitutes != before:
            await session.execute(delete(ProductSubstitute).where(ProductSubstitute.product_id == product.id))
            session.add_all(
                ProductSubstitute(product_id=product.id, substitute_id=by_sku[sku].id, rank=rank)
                for rank, sku in enumerate(row.substitutes)
            )
            if row.sku in changes:
                changes[row.sku]["substitutes"] = [before, row.substitutes]
        if row.sku in created:
            session.add(StockLevel(product_id=product.id, available=row.available or 0, updated_at=now))
        elif row.available is not None:
            _apply_stock(session, product, row.available, changes[row.sku], now)

    reasons: dict[int, str] = {}
    for row in parsed:
        product = by_sku[row.sku]
        if row.sku in created:
            record(
                session,
                actor,
                "product.created",
                "product",
                row.sku,
                at=now,
                name=row.name,
                price_minor=row.price_minor,
                currency=row.currency,
                lead_time_days=row.lead_time_days,
                substitutes=row.substitutes or [],
                available=row.available or 0,
            )
        elif changes[row.sku]:
            product.updated_at = now
            record(session, actor, "product.updated", "product", row.sku, at=now, changes=changes[row.sku])
            if "available" in changes[row.sku]:
                _note_reason(reasons, product.id, REASON_STOCK_CHANGED)
            if "lead_time_days" in changes[row.sku]:
                _note_reason(reasons, product.id, REASON_LEAD_TIME_CHANGED)
    await session.flush()

    allocations: list[AllocationChange] = []
    for row in parsed:
        if "available" in changes.get(row.sku, {}):
            allocations += await allocate_available_stock(session, uow.clock, actor, by_sku[row.sku].id)
    moves = await _recompute(session, uow.clock, uow.policy, reasons)
    return ImportResult(
        kind="products",
        created=tuple(created),
        updated=tuple(sku for sku, changed in changes.items() if changed),
        unchanged=tuple(sku for sku, changed in changes.items() if not changed),
        allocations=tuple(allocations),
        eta_moves=moves,
    )


def _apply_product_fields(product: Product, row: _ProductRow) -> dict[str, list[Any]]:
    """Set the product's fields from the row; return {field: [old, new]} for those that changed."""
    wanted: dict[str, Any] = {
        "name": row.name,
        "category": row.category,
        "price_minor": row.price_minor,
        "currency": row.currency,
        "lead_time_days": row.lead_time_days,
    }
    if row.tags is not None:
        wanted["tags"] = row.tags
    changes: dict[str, list[Any]] = {}
    for field, new in wanted.items():
        old = getattr(product, field)
        if old != new:
            changes[field] = [old, new]
            setattr(product, field, new)
    return changes


def _apply_stock(
    session: AsyncSession, product: Product, available: int, changes: dict[str, list[Any]], now: datetime
) -> None:
    stock = product.stock
    if stock is None:
        session.add(StockLevel(product_id=product.id, available=available, updated_at=now))
        changes["available"] = [None, available]
    elif stock.available != available:
        changes["available"] = [stock.available, available]
        stock.available = available
        stock.updated_at = now


async def _substitute_skus(session: AsyncSession, product_ids: list[int]) -> dict[int, list[str]]:
    rows = await _rows_in(
        session,
        product_ids,
        lambda chunk: select(ProductSubstitute.product_id, Product.sku)
        .join(Product, Product.id == ProductSubstitute.substitute_id)
        .where(ProductSubstitute.product_id.in_(chunk))
        .order_by(ProductSubstitute.product_id, ProductSubstitute.rank, Product.sku),
    )
    substitutes: dict[int, list[str]] = {}
    for product_id, sku in rows:
        substitutes.setdefault(product_id, []).append(sku)
    return substitutes


# --- orders ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _OrderLineRow:
    row: int
    order_number: str
    placed_at: datetime
    email: str
    customer_name: str
    phone: str | None
    language: str | None
    sku: str
    quantity: int
    unit_price_minor: int
    currency: str

    def order_fields(self) -> dict[str, Any]:
        """What every row of one order must agree on."""
        return {
            "placed_at": self.placed_at,
            "customer_email": self.email,
            "customer_name": self.customer_name,
            "customer_phone": self.phone,
            "customer_language": self.language,
            "currency": self.currency,
        }


async def import_orders(uow: UnitOfWork, text: str, actor: Actor, default_phone_region: str) -> ImportResult:
    """Create orders once, one row per line; new lines get stock in queue order, the rest wait with an ETA.

    An order number already in the shop with the same content is left unchanged; with other content it is
    a row error, since an imported order is never rewritten.
    """
    problems: list[RowProblem] = []
    rows = _read_table(text, ORDER_COLUMNS, problems)
    return await _import_order_rows(uow, rows, problems, actor, default_phone_region)


async def import_order_records(
    uow: UnitOfWork, records: Sequence[Mapping[str, str]], actor: Actor, default_phone_region: str
) -> ImportResult:
    """import_orders for cells already split into records, one per order line (the merchant API); record i is
    reported as row i + 2."""
    problems: list[RowProblem] = []
    rows = _record_rows(records, ORDER_COLUMNS, problems)
    return await _import_order_rows(uow, rows, problems, actor, default_phone_region)


async def _import_order_rows(
    uow: UnitOfWork, rows: list[_Row], problems: list[RowProblem], actor: Actor, default_phone_region: str
) -> ImportResult:
    _check_unique(
        rows,
        lambda row: (row.cells.get("order_number"), row.cells.get("sku")) if row.cells.get("sku") else None,
        "sku",
        lambda key: f"order {key[0]}, SKU {key[1]}",
    )
    # A customer's phone repeats on every line of every order; parsing it is the slowest cell.
    phone = cache(partial(normalise_phone, default_region=default_phone_region))
    parsed = [line for row in rows if (line := _order_line_row(row, uow.clock, phone)) is not None]
    rows_by_number = {row.number: row for row in rows}
    orders = _group_orders(parsed, rows_by_number)
    async with uow:
        session = uow.session
        products = await _products_by_sku(session, {row.cells["sku"] for row in rows})
        _check_known_skus(rows, products)
        existing = await _orders_by_number(session, orders)
        # An order with a bad row is incomplete here; comparing it with the stored one would only mislead.
        incomplete = {row.cells.get("order_number") for row in rows if not row.ok}
        for number, order in existing.items():
            difference = None if number in incomplete else _difference(order, orders[number])
            if difference:
                for line in orders[number]:
                    rows_by_number[line.row].problem("order_number", difference)
        if problems:
            raise ImportRejected(problems)
        new_orders = {number: lines for number, lines in orders.items() if number not in existing}
        result = await _write_orders(uow, new_orders, products, actor)
        # Stock given to the new lines as they came in is no news; waiting lines they overtook are.
        await notify_stock_and_eta_changes(uow, moves=result.eta_moves)
        await uow.commit()
    return ImportResult(
        kind="orders",
        created=result.created,
        unchanged=tuple(existing),
        customers_created=result.customers_created,
        allocations=result.allocations,
        eta_moves=result.eta_moves,
    )


def _order_line_row(row: _Row, clock: Clock, phone_parser: Callable[[str], str]) -> _OrderLineRow | None:
    order_number = row.value("order_number", _text(64))
    placed_at = row.value("placed_at", _instant(clock.tz))
    if placed_at is not None and placed_at > clock.now():
        row.problem("placed_at", f"{row.cells['placed_at']} is in the future")
    email = row.value("customer_email", _email)
    customer_name = row.value("customer_name", _text(200))
    phone = row.value("customer_phone", phone_parser, required=False)
    language = row.value("customer_language", _language, required=False)
    sku = row.value("sku", _sku)
    quantity = row.value("quantity", _whole_number(1, MAX_QUANTITY))
    currency = row.value("currency", _currency)
    unit_price_minor = row.value("unit_price", _money(currency))
    if not row.ok:
        return None
    return _OrderLineRow(
        row=row.number,
        order_number=order_number,
        placed_at=placed_at,
        email=email,
        customer_name=customer_name,
        phone=phone,
        language=language,
        sku=sku,
        quantity=quantity,
        unit_price_minor=unit_price_minor,
        currency=currency,
    )


def _group_orders(parsed: list[_OrderLineRow], rows: dict[int, _Row]) -> dict[str, list[_OrderLineRow]]:
    """Lines by order number, in file order; marks rows that disagree with their order's first row."""
    orders: dict[str, list[_OrderLineRow]] = {}
    for line in parsed:
        lines = orders.setdefault(line.order_number, [])
        if lines:
            first = lines[0]
            for column, value in line.order_fields().items():
                if value != first.order_fields()[column]:
                    rows[line.row].problem(column, f"differs from row {first.row} of the same order")
        lines.append(line)
    return orders


async def _orders_by_number(session: AsyncSession, numbers: Iterable[str]) -> dict[str, Order]:
    rows = await _rows_in(
        session,
        numbers,
        lambda chunk: select(Order)
        .where(Order.number.in_(chunk))
        .options(selectinload(Order.customer), selectinload(Order.lines).selectinload(OrderLine.product)),
    )
    return {order.number: order for (order,) in rows}


def _difference(order: Order, lines: list[_OrderLineRow]) -> str | None:
    """Why the file's order is not the one already in the shop, or None if it is the same."""
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
    uow: UnitOfWork, orders: dict[str, list[_OrderLineRow]], products: dict[str, Product], actor: Actor
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
            lines=[[line.sku, line.quantity, _amount_text(line.unit_price_minor, line.currency)] for line in lines],
        )
    await session.flush()
    allocations: list[AllocationChange] = []
    for product_id in sorted(affected):
        allocations += await allocate_available_stock(session, uow.clock, actor, product_id)
    moves = await recompute_etas(session, uow.clock, uow.policy, REASON_ORDERS_IMPORTED, sorted(affected))
    return _OrdersWritten(tuple(orders), customers_created, tuple(allocations), tuple(moves))


async def _customers_for(
    uow: UnitOfWork, firsts: list[_OrderLineRow], actor: Actor
) -> tuple[dict[str, Customer], int]:
    """The customers of these orders by e-mail: new ones created; known ones only get missing details filled in."""
    session, now = uow.session, uow.clock.now()
    rows = await _rows_in(
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


# --- purchase orders ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PurchaseOrderRow:
    row: int
    reference: str
    sku: str
    quantity: int
    expected_on: date
    status: PurchaseOrderStatus


async def import_purchase_orders(uow: UnitOfWork, text: str, actor: Actor) -> ImportResult:
    """Add, move, resize or cancel supplier purchase orders by reference, then recompute the ETAs they feed."""
    problems: list[RowProblem] = []
    rows = _read_table(text, PURCHASE_ORDER_COLUMNS, problems)
    _check_unique(rows, lambda row: row.cells.get("reference"), "reference", lambda ref: f"purchase order {ref}")
    parsed = [purchase_order for row in rows if (purchase_order := _purchase_order_row(row)) is not None]
    rows_by_number = {row.number: row for row in rows}
    async with uow:
        session = uow.session
        products = await _products_by_sku(session, {row.cells["sku"] for row in rows})
        _check_known_skus(rows, products)
        existing = await _purchase_orders_by_reference(session, {po.reference for po in parsed})
        for po in parsed:
            if po.sku in products and po.reference in existing:
                for column, reason in _purchase_order_conflicts(existing[po.reference], po):
                    rows_by_number[po.row].problem(column, reason)
        if problems:
            raise ImportRejected(problems)
        result = await _write_purchase_orders(uow, parsed, products, existing, actor)
        await notify_stock_and_eta_changes(uow, moves=result.eta_moves)
        await uow.commit()
    return result


def _purchase_order_row(row: _Row) -> _PurchaseOrderRow | None:
    reference = row.value("reference", _text(64))
    sku = row.value("sku", _sku)
    quantity = row.value("quantity", _whole_number(1, MAX_QUANTITY))
    expected_on = row.value("expected_on", _date)
    status = row.value("status", _purchase_order_status, required=False) or PurchaseOrderStatus.OPEN
    if not row.ok:
        return None
    return _PurchaseOrderRow(row.number, reference, sku, quantity, expected_on, status)


async def _purchase_orders_by_reference(session: AsyncSession, references: Iterable[str]) -> dict[str, PurchaseOrder]:
    rows = await _rows_in(
        session,
        references,
        lambda chunk: select(PurchaseOrder)
        .where(PurchaseOrder.reference.in_(chunk))
        .options(selectinload(PurchaseOrder.product)),
    )
    return {purchase_order.reference: purchase_order for (purchase_order,) in rows}


def _purchase_order_conflicts(stored: PurchaseOrder, row: _PurchaseOrderRow) -> list[tuple[str, str]]:
    """Why the row cannot be applied to the purchase order already in the shop (nothing if it can)."""
    ref = stored.reference
    if stored.product.sku != row.sku:
        return [("sku", f"purchase order {ref} is for {stored.product.sku}; give this shipment a new reference")]
    same = stored.quantity == row.quantity and stored.expected_on == row.expected_on
    if stored.status == PurchaseOrderStatus.CANCELLED:
        if row.status == PurchaseOrderStatus.OPEN:
            return [("status", f"purchase order {ref} was cancelled; give a new shipment a new reference")]
        return []
    if stored.status == PurchaseOrderStatus.RECEIVED:
        if same and row.status == PurchaseOrderStatus.OPEN:
            return []
        return [("reference", f"purchase order {ref} has been received in full and cannot change")]
    if row.quantity < stored.received_quantity:
        return [("quantity", f"{stored.received_quantity} units of purchase order {ref} were already received")]
    return []


async def _write_purchase_orders(
    uow: UnitOfWork,
    parsed: list[_PurchaseOrderRow],
    products: dict[str, Product],
    existing: dict[str, PurchaseOrder],
    actor: Actor,
) -> ImportResult:
    session, now = uow.session, uow.clock.now()
    created, updated, cancelled, unchanged = [], [], [], []
    reasons: dict[int, str] = {}
    for row in parsed:
        product = products[row.sku]
        stored = existing.get(row.reference)
        if stored is None:
            session.add(
                PurchaseOrder(
                    reference=row.reference,
                    product_id=product.id,
                    quantity=row.quantity,
                    received_quantity=0,
                    expected_on=row.expected_on,
                    status=row.status,
                    created_at=now,
                    updated_at=now,
                )
            )
            record(
                session,
                actor,
                "purchase_order.added",
                "purchase_order",
                row.reference,
                at=now,
                sku=row.sku,
                quantity=row.quantity,
                expected_on=row.expected_on.isoformat(),
                status=row.status.value,
            )
            created.append(row.reference)
            if row.status == PurchaseOrderStatus.OPEN:
                _note_reason(reasons, product.id, REASON_PURCHASE_ORDER_ADDED)
        elif stored.status != PurchaseOrderStatus.OPEN:
            unchanged.append(row.reference)
        elif row.status == PurchaseOrderStatus.CANCELLED:
            stored.status = PurchaseOrderStatus.CANCELLED
            stored.updated_at = now
            record(
                session,
                actor,
                "purchase_order.cancelled",
                "purchase_order",
                row.reference,
                at=now,
                outstanding=stored.outstanding,
            )
            cancelled.append(row.reference)
            _note_reason(reasons, product.id, REASON_PURCHASE_ORDER_CANCELLED)
        else:
            changes = _apply_purchase_order_fields(stored, row)
            if not changes:
                unchanged.append(row.reference)
                continue
            stored.updated_at = now
            record(session, actor, "purchase_order.updated", "purchase_order", row.reference, at=now, changes=changes)
            updated.append(row.reference)
            moved = "expected_on" in changes
            _note_reason(reasons, product.id, REASON_PURCHASE_ORDER_MOVED if moved else REASON_PURCHASE_ORDERS_IMPORTED)
    await session.flush()
    moves = await _recompute(session, uow.clock, uow.policy, reasons)
    return ImportResult(
        kind="purchase-orders",
        created=tuple(created),
        updated=tuple(updated),
        cancelled=tuple(cancelled),
        unchanged=tuple(unchanged),
        eta_moves=moves,
    )


def _apply_purchase_order_fields(stored: PurchaseOrder, row: _PurchaseOrderRow) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    if stored.quantity != row.quantity:
        changes["quantity"] = [stored.quantity, row.quantity]
        stored.quantity = row.quantity
    if stored.expected_on != row.expected_on:
        changes["expected_on"] = [stored.expected_on.isoformat(), row.expected_on.isoformat()]
        stored.expected_on = row.expected_on
    return changes

