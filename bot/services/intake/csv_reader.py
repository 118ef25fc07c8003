"""A merchant's CSV export read into typed records: the header checked, every cell parsed, every problem noted
with its row number as a spreadsheet shows it (the header is row 1). The columns are documented in README.md,
"Importing CSV files"."""

import csv
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.services.errors import ImportRejected, RowProblem
from bot.services.fulfilment.shipments import Parcel, ShipmentItem, ShipmentRequest
from bot.services.intake import cell_formats, field_rules
from bot.services.intake.import_records import (
    MAX_LEAD_TIME_DAYS,
    MAX_QUANTITY,
    NO_PROGRESS,
    BadRow,
    Batch,
    ImportProgress,
    OrderLineRecord,
    ProductRecord,
    PurchaseOrderRecord,
    Record,
)
from db.models import PurchaseOrderStatus

T = TypeVar("T")


@dataclass(frozen=True)
class Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


PRODUCT_COLUMNS = Columns(
    ("sku", "name", "category", "price", "currency", "lead_time_days"), ("tags", "substitutes", "available", "supplier")
)
ORDER_COLUMNS = Columns(
    ("order_number", "placed_at", "customer_email", "customer_name", "sku", "quantity", "unit_price", "currency"),
    ("customer_phone", "customer_language"),
)
PURCHASE_ORDER_COLUMNS = Columns(("reference", "sku", "quantity", "expected_on"), ("status", "supplier"))


class _Row:
    """One data row: its spreadsheet row number and cells by column; records what is wrong with it."""

    __slots__ = ("number", "cells", "_problems", "ok", "_nul_free")

    def __init__(self, number: int, cells: dict[str, str], problems: list[RowProblem], nul_free: bool = False) -> None:
        self.number = number
        self.cells = cells
        self._problems = problems
        self.ok = True
        self._nul_free = nul_free  # the whole file has no NUL character, so no cell needs checking for one

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
            return parse(raw if self._nul_free else field_rules.no_nul(raw))
        except ValueError as bad:
            self.problem(column, str(bad))
            return None


def _table_rows(text: str, columns: Columns, problems: list[RowProblem]) -> Iterator[_Row]:
    """The file's data rows one at a time, keyed by normalised column name; a bad header rejects the file at once.

    Rows are read as they are checked, so a large file is never held as a table of cells.
    """
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ImportRejected([RowProblem(1, "", "the file is empty; the first row must name the columns")])
    header_line = text[: text.find("\n")] if "\n" in text else text
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(_lines(text), delimiter=delimiter, strict=True)
    nul_free = "\x00" not in text
    number = 1
    try:
        names = [_column_name(cell) for cell in next(reader)]
        _check_header(names, columns)
        every_column_named = all(names)
        for number, record_ in enumerate(reader, start=2):
            cells = [cell.strip() for cell in record_]
            if not any(cells):
                continue  # spreadsheets leave blank rows; they mean nothing
            if every_column_named and len(cells) == len(names):  # the usual row, read at the speed it comes
                yield _Row(number, dict(zip(names, cells)), problems, nul_free)
                continue
            row = _Row(number, {name: "" for name in names if name}, problems, nul_free)
            for index, cell in enumerate(cells):
                name = names[index] if index < len(names) else ""
                if name:
                    row.cells[name] = cell
                elif cell:
                    row.problem("", f"has a value in column {_column_letter(index)}, which has no heading")
            yield row
    except csv.Error as bad:
        raise ImportRejected([RowProblem(number + 1, "", f"cannot be read as CSV ({bad})")]) from None


def _lines(text: str) -> Iterator[str]:
    """The text's lines one at a time, each with its line break, as csv reads a file's.

    io.StringIO would hold a copy of the whole text at four bytes a character: 27 MB for 100,000 products.
    A file whose lines end in a bare carriage return (old Mac exports) is split on that instead.
    """
    newline = "\n" if "\n" in text else "\r"
    start, length = 0, len(text)
    while start < length:
        end = text.find(newline, start)
        end = length if end == -1 else end + 1
        yield text[start:end]
        start = end


def _column_name(heading: str) -> str:
    return re.sub(r"[\s\-]+", "_", heading.strip().lower())


def _column_letter(index: int) -> str:
    letters, number = "", index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _check_header(names: list[str], columns: Columns) -> None:
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


def _unique(
    rows: Iterable[_Row], key: Callable[[_Row], Any], column: str, label: Callable[[Any], str]
) -> Iterator[_Row]:
    """The rows, each whose key an earlier row already had marked."""
    first_row: dict[Any, int] = {}
    for row in rows:
        value = key(row)
        if value:
            if value in first_row:
                row.problem(column, f"{label(value)} appears again (first in row {first_row[value]})")
            else:
                first_row[value] = row.number
        yield row


_PROGRESS_EVERY = 1000  # rows between two reports of progress


def _batch(
    rows: Iterable[_Row],
    record_of: Callable[[_Row], Record | None],
    problems: list[RowProblem],
    bad_row: Callable[[_Row], BadRow],
    progress: ImportProgress,
) -> Batch[Record]:
    """The rows as records, those with a problem as bad rows."""
    records: list[Record] = []
    bad_rows: list[BadRow] = []
    count = 0
    for count, row in enumerate(rows, start=1):
        if count % _PROGRESS_EVERY == 0:
            progress.rows_checked(_PROGRESS_EVERY)
        record = record_of(row)
        if record is None or not row.ok:
            bad_rows.append(bad_row(row))
        else:
            records.append(record)
    progress.rows_checked(count % _PROGRESS_EVERY)
    return Batch(records, problems, bad_rows, checked=True)


def _text(limit: int) -> Callable[[str], str]:
    return partial(field_rules.text, limit=limit)


def _shared_text(limit: int) -> Callable[[str], str]:
    """Text that many rows repeat (a category, a tag): one copy of it in memory, however many records hold it."""
    return lambda raw: sys.intern(field_rules.text(raw, limit))


def _whole_number(minimum: int, maximum: int) -> Callable[[str], int]:
    return lambda raw: field_rules.whole_number(cell_formats.whole_number(raw), minimum, maximum)


_TEXT_64, _TEXT_200 = _text(64), _text(200)
_CATEGORY = _shared_text(100)
_QUANTITY = _whole_number(1, MAX_QUANTITY)
_LEAD_TIME = _whole_number(0, MAX_LEAD_TIME_DAYS)
_STOCK = _whole_number(0, MAX_QUANTITY)
_TAGS = partial(cell_formats.separated_list, item=_shared_text(50))
_SKUS = partial(cell_formats.separated_list, item=field_rules.sku)


def _named_sku(row: _Row) -> str | None:
    sku = row.cells.get("sku", "")
    try:
        return field_rules.sku(sku)
    except ValueError:
        return None  # reported when the row was read


# --- products ----------------------------------------------------------------------------------------------


def read_products(text: str, progress: ImportProgress = NO_PROGRESS) -> Batch[ProductRecord]:
    """A products file as records: SKU, name, category, price, currency, lead time; tags, substitutes, stock,
    default supplier."""
    problems: list[RowProblem] = []
    rows = _unique(
        _table_rows(text, PRODUCT_COLUMNS, problems), lambda row: row.cells.get("sku"), "sku", lambda sku: f"SKU {sku}"
    )
    return _batch(
        rows,
        _product_record,
        problems,
        lambda row: BadRow(row.number, _named_sku(row), _named_substitutes(row)),
        progress,
    )


def _product_record(row: _Row) -> ProductRecord | None:
    sku = row.value("sku", field_rules.sku)
    name = row.value("name", _TEXT_200)
    category = row.value("category", _CATEGORY)
    currency = row.value("currency", field_rules.currency)
    price_minor = row.value("price", partial(cell_formats.amount, currency=currency))
    lead_time_days = row.value("lead_time_days", _LEAD_TIME)
    tags = row.value("tags", _TAGS, required=False)
    substitutes = row.value("substitutes", _SKUS, required=False)
    available = row.value("available", _STOCK, required=False)
    supplier = row.value("supplier", field_rules.supplier_name, required=False)
    if not row.ok:
        return None
    assert sku and name and category and currency and price_minor is not None and lead_time_days is not None
    return ProductRecord(
        row=row.number,
        sku=sku,
        name=name,
        category=category,
        price_minor=price_minor,
        currency=currency,
        lead_time_days=lead_time_days,
        tags=(tags or ()) if row.has("tags") else None,
        substitutes=(substitutes or ()) if row.has("substitutes") else None,
        available=available,
        supplier=supplier,
    )


def _named_substitutes(row: _Row) -> tuple[str, ...]:
    try:
        return cell_formats.separated_list(row.cells.get("substitutes", ""), field_rules.sku)
    except ValueError:
        return ()  # a malformed cell, reported when the row was read


# --- orders ------------------------------------------------------------------------------------------------


def read_orders(
    text: str, now: datetime, tz: ZoneInfo, default_phone_region: str, progress: ImportProgress = NO_PROGRESS
) -> Batch[OrderLineRecord]:
    """An orders file as records, one row per order line; the rows of one order must agree on the order."""
    problems: list[RowProblem] = []
    rows = _unique(
        _table_rows(text, ORDER_COLUMNS, problems),
        lambda row: (row.cells.get("order_number"), row.cells.get("sku")) if row.cells.get("sku") else None,
        "sku",
        lambda key: f"order {key[0]}, SKU {key[1]}",
    )
    phone = partial(field_rules.phone, default_region=default_phone_region)
    placed_at = partial(_placed_at, now=now, tz=tz)
    first_lines: dict[str, OrderLineRecord] = {}

    def record_of(row: _Row) -> OrderLineRecord | None:
        line = _order_line_record(row, placed_at, phone)
        if line is not None:
            _check_agrees(row, line, first_lines.setdefault(line.order_number, line))
        return line

    return _batch(
        rows,
        record_of,
        problems,
        lambda row: BadRow(row.number, _named_sku(row), order_number=row.cells.get("order_number")),
        progress,
    )


def _placed_at(raw: str, now: datetime, tz: ZoneInfo) -> datetime:
    return field_rules.placed_at(cell_formats.instant(raw, tz), now, tz)


def _order_line_record(
    row: _Row, placed_at_of: Callable[[str], datetime], phone: Callable[[str], str]
) -> OrderLineRecord | None:
    order_number = row.value("order_number", _TEXT_64)
    placed_at = row.value("placed_at", placed_at_of)
    email = row.value("customer_email", field_rules.email)
    customer_name = row.value("customer_name", _TEXT_200)
    phone_number = row.value("customer_phone", phone, required=False)
    language = row.value("customer_language", field_rules.language, required=False)
    sku = row.value("sku", field_rules.sku)
    quantity = row.value("quantity", _QUANTITY)
    currency = row.value("currency", field_rules.currency)
    unit_price_minor = row.value("unit_price", partial(cell_formats.amount, currency=currency))
    if not row.ok:
        return None
    assert order_number and placed_at and email and customer_name and sku and quantity and currency
    assert unit_price_minor is not None
    return OrderLineRecord(
        row=row.number,
        order_number=order_number,
        placed_at=placed_at,
        email=email,
        customer_name=customer_name,
        phone=phone_number,
        language=language,
        sku=sku,
        quantity=quantity,
        unit_price_minor=unit_price_minor,
        currency=currency,
    )


def _order_fields(line: OrderLineRecord) -> dict[str, Any]:
    """What every row of one order must agree on."""
    return {
        "placed_at": line.placed_at,
        "customer_email": line.email,
        "customer_name": line.customer_name,
        "customer_phone": line.phone,
        "customer_language": line.language,
        "currency": line.currency,
    }


def _check_agrees(row: _Row, line: OrderLineRecord, first: OrderLineRecord) -> None:
    """Mark the row where it disagrees with its order's first readable row."""
    if first is line:
        return
    wanted = _order_fields(first)
    for column, value in _order_fields(line).items():
        if value != wanted[column]:
            row.problem(column, f"differs from row {first.row} of the same order")


# --- purchase orders ---------------------------------------------------------------------------------------


def read_purchase_orders(
    text: str, today: date, progress: ImportProgress = NO_PROGRESS
) -> Batch[PurchaseOrderRecord]:
    """A purchase-orders file as records: reference, SKU, quantity, expected date and (optionally) status and
    supplier."""
    problems: list[RowProblem] = []
    rows = _unique(
        _table_rows(text, PURCHASE_ORDER_COLUMNS, problems),
        lambda row: row.cells.get("reference"),
        "reference",
        lambda ref: f"purchase order {ref}",
    )
    return _batch(
        rows,
        partial(_purchase_order_record, today=today),
        problems,
        lambda row: BadRow(row.number, _named_sku(row)),
        progress,
    )


def _purchase_order_record(row: _Row, today: date) -> PurchaseOrderRecord | None:
    reference = row.value("reference", _TEXT_64)
    sku = row.value("sku", field_rules.sku)
    quantity = row.value("quantity", _QUANTITY)
    expected_on = row.value(
        "expected_on", lambda raw: field_rules.expected_on(cell_formats.calendar_date(raw), today)
    )
    status = row.value("status", field_rules.purchase_order_status, required=False) or PurchaseOrderStatus.OPEN
    supplier = row.value("supplier", field_rules.supplier_name, required=False)
    if not row.ok:
        return None
    assert reference and sku and quantity and expected_on
    return PurchaseOrderRecord(row.number, reference, sku, quantity, expected_on, status, supplier)


# --- shipments ---------------------------------------------------------------------------------------------

SHIPMENT_COLUMNS = Columns(
    ("order_number", "sku", "quantity"), ("carrier", "tracking_number", "tracking_url", "shipped_at")
)


def read_shipments(
    text: str, now: datetime, tz: ZoneInfo
) -> tuple[list[tuple[int, ShipmentRequest]], list[RowProblem]]:
    """A shipments file as one shipment per order number and tracking number (first row number, shipment),
    its parcel's cells the same on every row of it, each SKU once; and the rows' problems."""
    problems: list[RowProblem] = []
    groups: dict[tuple[str, str], list[tuple[_Row, ShipmentItem, Parcel, datetime | None]]] = {}
    for row in _table_rows(text, SHIPMENT_COLUMNS, problems):
        number = row.value("order_number", _text(64))
        sku = row.value("sku", field_rules.sku)
        quantity = row.value("quantity", _whole_number(1, MAX_QUANTITY))
        parcel = Parcel(
            row.value("carrier", _text(60), required=False),
            row.value("tracking_number", _text(100), required=False),
            row.value("tracking_url", field_rules.web_address, required=False),
        )
        shipped_at = row.value(
            "shipped_at", lambda raw: field_rules.shipped_at(cell_formats.instant(raw, tz), now, tz), required=False
        )
        if row.ok and number and sku and quantity:
            key = (number, parcel.tracking_number or "")
            groups.setdefault(key, []).append((row, ShipmentItem(sku, quantity), parcel, shipped_at))
    shipments = []
    for (number, _), members in groups.items():
        first, _, parcel, shipped_at = members[0]
        skus: set[str] = set()
        for row, item, other_parcel, other_shipped_at in members:
            if (other_parcel, other_shipped_at) != (parcel, shipped_at):
                row.problem("", f"carrier, tracking URL or shipped_at differ from row {first.number} of this parcel")
            if item.sku in skus:
                row.problem("sku", f"{item.sku} is already in this parcel on another row")
            skus.add(item.sku)
        items = [item for _, item, _, _ in members]
        shipments.append((first.number, ShipmentRequest(number, items, parcel, shipped_at)))
    return shipments, problems
