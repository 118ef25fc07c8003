"""The typed records every front end (a CSV file, the merchant API's batches) hands to the import use cases.

A record's `row` says where it came from, so problems can be reported there: the spreadsheet row of a file
(the header is row 1), or the front end's own numbering for a request.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, Protocol, TypeVar

from bot.services.backorders.allocation import AllocationChange
from bot.services.backorders.eta import EtaMove
from bot.services.errors import RowProblem
from db.models import PurchaseOrderStatus

MAX_QUANTITY = 1_000_000
MAX_LEAD_TIME_DAYS = 730
MAX_MINOR_UNITS = 2**31 - 1  # INTEGER columns on PostgreSQL


@dataclass(frozen=True, slots=True)
class ProductRecord:
    row: int
    sku: str
    name: str
    category: str
    price_minor: int
    currency: str
    lead_time_days: int
    tags: tuple[str, ...] | None = None  # None: leave them as they are
    substitutes: tuple[str, ...] | None = None
    available: int | None = None  # None: leave the stock as it is
    supplier: str | None = None  # its default supplier's name, added when new; None: leave it as it is


@dataclass(frozen=True, slots=True)
class OrderLineRecord:
    """One line of an order, with the order's and its customer's fields (the same on every line of an order)."""

    row: int
    order_number: str
    placed_at: datetime  # aware
    email: str
    customer_name: str
    phone: str | None
    language: str | None
    sku: str
    quantity: int
    unit_price_minor: int  # tax included
    currency: str
    added_tax_ppm: int = 0  # the tax rate a tax-exclusive store added (bot/services/added_tax.py)
    # What a store supplied from its own stock when it marked the rest as backordered: reserved at once, and only
    # the rest waits. None: the source does not say, and the line takes its turn in the queue.
    in_stock_quantity: int | None = None


@dataclass(frozen=True, slots=True)
class PurchaseOrderRecord:
    row: int
    reference: str
    sku: str
    quantity: int
    expected_on: date
    status: PurchaseOrderStatus = PurchaseOrderStatus.OPEN
    # Whose shipment it is, by name, added when new; None: the product's default supplier's for a new purchase order,
    # unchanged for a known one.
    supplier: str | None = None


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row a front end could not turn into a record; what it names is still checked against the shop."""

    row: int
    sku: str | None = None
    substitutes: tuple[str, ...] = ()
    order_number: str | None = None


Record = TypeVar("Record", ProductRecord, OrderLineRecord, PurchaseOrderRecord)


@dataclass(frozen=True)
class Batch(Generic[Record]):
    """What a front end read: the records, the problems it found already and the rows it could not read."""

    records: Sequence[Record]
    problems: Sequence[RowProblem] = ()
    bad_rows: Sequence[BadRow] = field(default_factory=tuple)
    # The CSV reader puts every cell through the field rules as it reads it; other front ends leave that to the
    # use case.
    checked: bool = False


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


class ImportProgress(Protocol):
    """Told how far a long import has got: rows checked as the file is read, then rows written."""

    def rows_checked(self, count: int) -> None: ...

    def rows_written(self, count: int) -> None: ...


class NoProgress:
    """Progress nobody watches (the API, the tests)."""

    def rows_checked(self, count: int) -> None:
        pass

    def rows_written(self, count: int) -> None:
        pass


NO_PROGRESS = NoProgress()
