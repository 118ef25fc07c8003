"""The field rules applied to whole records, for front ends whose input arrives typed (the merchant API, a shop
platform's backfill): each record comes back as the shop keeps it, or its problems are listed."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Generic
from zoneinfo import ZoneInfo

from bot.services.errors import RowProblem
from bot.services.intake import field_rules
from bot.services.intake.import_records import (
    MAX_LEAD_TIME_DAYS,
    MAX_QUANTITY,
    BadRow,
    Batch,
    OrderLineRecord,
    ProductRecord,
    PurchaseOrderRecord,
    Record,
)


class _Check:
    """Runs rules on one record's fields, keeping the normalised values and the problems."""

    def __init__(self, row: int, problems: list[RowProblem]) -> None:
        self.row = row
        self.problems = problems
        self.ok = True
        self.values: dict[str, Any] = {}

    def __call__(self, attribute: str, column: str, rule: Callable[..., Any], value: Any, *args: Any) -> None:
        if value is None:
            return
        try:
            self.values[attribute] = rule(value, *args)
        except ValueError as bad:
            self.problems.append(RowProblem(self.row, column, str(bad)))
            self.ok = False


def _each(items: tuple[str, ...] | None, rule: Callable[[str], str]) -> tuple[str, ...] | None:
    return None if items is None else tuple(rule(item) for item in items)


def check_product(record: ProductRecord, problems: list[RowProblem]) -> ProductRecord | None:
    check = _Check(record.row, problems)
    check("sku", "sku", field_rules.sku, record.sku)
    check("name", "name", field_rules.text, record.name, 200)
    check("category", "category", field_rules.text, record.category, 100)
    check("currency", "currency", field_rules.currency, record.currency)
    check("price_minor", "price", field_rules.minor_units, record.price_minor, record.currency.upper())
    check("lead_time_days", "lead_time_days", field_rules.whole_number, record.lead_time_days, 0, MAX_LEAD_TIME_DAYS)
    check("tags", "tags", _each, record.tags, lambda tag: field_rules.text(tag, 50))
    check("substitutes", "substitutes", _each, record.substitutes, field_rules.sku)
    check("available", "available", field_rules.whole_number, record.available, 0, MAX_QUANTITY)
    check("supplier", "supplier", field_rules.supplier_name, record.supplier)
    return replace(record, **check.values) if check.ok else None


def check_order_line(
    record: OrderLineRecord, problems: list[RowProblem], now: datetime, tz: ZoneInfo, default_phone_region: str
) -> OrderLineRecord | None:
    check = _Check(record.row, problems)
    check("order_number", "order_number", field_rules.text, record.order_number, 64)
    check("placed_at", "placed_at", field_rules.placed_at, record.placed_at, now, tz)
    check("email", "customer_email", field_rules.email, record.email)
    check("customer_name", "customer_name", field_rules.text, record.customer_name, 200)
    check("phone", "customer_phone", field_rules.phone, record.phone, default_phone_region)
    check("language", "customer_language", field_rules.language, record.language)
    check("sku", "sku", field_rules.sku, record.sku)
    check("quantity", "quantity", field_rules.whole_number, record.quantity, 1, MAX_QUANTITY)
    check("currency", "currency", field_rules.currency, record.currency)
    check("unit_price_minor", "unit_price", field_rules.minor_units, record.unit_price_minor, record.currency.upper())
    return replace(record, **check.values) if check.ok else None


def check_purchase_order(
    record: PurchaseOrderRecord, problems: list[RowProblem], today: date
) -> PurchaseOrderRecord | None:
    check = _Check(record.row, problems)
    check("reference", "reference", field_rules.text, record.reference, 64)
    check("sku", "sku", field_rules.sku, record.sku)
    check("quantity", "quantity", field_rules.whole_number, record.quantity, 1, MAX_QUANTITY)
    check("expected_on", "expected_on", field_rules.expected_on, record.expected_on, today)
    check("supplier", "supplier", field_rules.supplier_name, record.supplier)
    return replace(record, **check.values) if check.ok else None


def bad_row(record: Record) -> BadRow:
    """A record that broke a rule, as a row whose SKUs are still checked against the shop."""
    substitutes = getattr(record, "substitutes", None) or ()
    return BadRow(record.row, record.sku, tuple(substitutes), getattr(record, "order_number", None))


@dataclass(frozen=True)
class Checked(Generic[Record]):
    """A batch after the field rules: the records that keep them, every problem so far and the rows that broke them."""

    records: list[Record]
    problems: list[RowProblem]
    bad_rows: list[BadRow]


def check_batch(
    batch: Batch[Record], check: Callable[[Record, list[RowProblem]], Record | None]
) -> Checked[Record]:
    """Each record through `check` (unless its front end did that already); the ones that break a rule become
    bad rows."""
    if batch.checked:
        return Checked(list(batch.records), list(batch.problems), list(batch.bad_rows))
    problems = list(batch.problems)
    bad_rows = list(batch.bad_rows)
    records = []
    for given in batch.records:
        checked = check(given, problems)
        if checked is None:
            bad_rows.append(bad_row(given))
        else:
            records.append(checked)
    return Checked(records, problems, bad_rows)
