"""What the merchant API reads and writes: pydantic models for request bodies, query strings and answers.

Request models are strict (JSON types as written, no "5" for 5) and refuse unknown fields, so a misspelt field
is an error rather than silently ignored. Money is in minor units (cents), as everywhere in Backorder Desk.
"""

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from bot.services.backorders.allocation import AllocationChange
from bot.services.backorders.backorder_list import CURSOR_PATTERN, MAX_PAGE_SIZE, WaitingLine
from bot.services.backorders.delay_notices import DelayNoticeView
from bot.services.backorders.eta import EtaMove
from bot.services.intake import field_rules
from bot.services.intake.field_rules import CURRENCIES, EMAIL_PATTERN, SKU_CHARACTER, SPACE, SUPPLIER_NAME_LIMIT
from bot.services.intake.import_records import MAX_LEAD_TIME_DAYS, MAX_MINOR_UNITS, MAX_QUANTITY
from bot.i18n import SUPPORTED_LANGUAGES
from bot.services.outreach.broadcasts import MAX_TEXT_LENGTH, BroadcastView
from bot.services.purchasing.purchase_orders import PurchaseOrderResult
from db.models import BroadcastStatus, DelayResponse, EtaBasis, LineStatus, PurchaseOrderStatus


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# What the document says beyond what pydantic checks, where the import rules or read_body check the rest
# (NUL characters are refused in every text: PostgreSQL cannot store them).
NOT_BLANK = rf"^[^\x00]*[^{SPACE}\x00][^\x00]*$"


# `|` separates list items in the shop's import format, so a tag or SKU cannot contain one.
Tag = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=r"^[^|]+$"),
    Field(json_schema_extra={"pattern": r"^[^|\x00]+$"}),
]
SupplierName = Annotated[
    str,
    Field(
        min_length=1, max_length=SUPPLIER_NAME_LIMIT, pattern=f"[^{SPACE}]", examples=["Nordic Audio AB"],
        json_schema_extra={"pattern": NOT_BLANK},
    ),
]
Sku = Annotated[
    str,
    Field(
        min_length=1, max_length=64, description="No spaces or `|`.", examples=["HS-200"],
        json_schema_extra={"pattern": f"^{SKU_CHARACTER}+$"},
    ),
]
# Checked with the import's rules, so one answer lists every problem of a batch; small letters are read as capitals.
Currency = Annotated[
    str, Field(description="ISO 4217 code.", examples=["EUR"], json_schema_extra={"enum": sorted(CURRENCIES)})
]
Email = Annotated[
    str, Field(max_length=320, json_schema_extra={"pattern": f"^{EMAIL_PATTERN}$"}, examples=["anna@example.com"])
]
def _whole(value: Any) -> Any:
    """JSON has one kind of number: 5.0 is the integer 5, as JSON Schema counts (the text "5" is not)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def whole(**bounds: int) -> Any:
    """An integer field within `bounds` (ge, le) that takes 5.0 for 5; the bounds stay in the document."""
    return Annotated[int, Field(**bounds), BeforeValidator(_whole)]  # type: ignore[arg-type]


Quantity = whole(ge=1, le=MAX_QUANTITY)


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-12:00 is past the calendar's end in UTC
        raise ValueError("lies outside the calendar (years 1 to 9999) in UTC") from None


def _clamped_to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # before the calendar's start or after its end in UTC: as a filter, the nearest end
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


Instant = Annotated[AwareDatetime, AfterValidator(_in_utc)]
_RFC_3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})")


def _rfc_3339(value: Any) -> Any:
    """A query's date and time as written (RFC 3339), not a number of seconds, which pydantic would also take."""
    if isinstance(value, str) and not _RFC_3339.fullmatch(value):
        raise ValueError(f"{value!r} is not a date and time like 2026-11-20T14:05:00+01:00")
    return value


# For filters: any instant is a place in time, even one the calendar cannot hold in UTC.
UtcInstant = Annotated[AwareDatetime, BeforeValidator(_rfc_3339), AfterValidator(_clamped_to_utc)]
MinorUnits = Annotated[
    int,
    Field(
        ge=0,
        description="In minor units of the currency: 14900 is 149.00 EUR.",
        json_schema_extra={"maximum": MAX_MINOR_UNITS},
    ),
    BeforeValidator(_whole),
]


# ---- requests -------------------------------------------------------------------------------------------


class ProductFields(RequestModel):
    name: str = Field(min_length=1, max_length=200, description="Shown to customers.")
    category: str = Field(min_length=1, max_length=100, examples=["audio"])
    price_minor: MinorUnits
    currency: Currency
    lead_time_days: whole(ge=0, le=MAX_LEAD_TIME_DAYS) = Field(
        description="The supplier's usual lead time; ETAs without a purchase order use it."
    )
    tags: list[Tag] | None = Field(
        None, description="Alternatives are matched on tags. Left out: kept as they are; []: none."
    )
    substitutes: list[Sku] | None = Field(
        None,
        description="SKUs of the shop (or of the same batch) offered instead, best first; not the product's own."
        " Left out: kept as they are; []: none.",
    )
    available: whole(ge=0, le=MAX_QUANTITY) | None = Field(
        None,
        description="Units on hand and not allocated, counted now; waiting lines take them first. Left out: unchanged.",
    )
    supplier: SupplierName | None = Field(
        None,
        description="The default supplier's name (new purchase orders of the SKU are its); one the shop does not have"
        " by that exact name is added. Left out: unchanged.",
    )


class ProductIn(ProductFields):
    sku: Sku


class ProductBatchIn(RequestModel):
    products: list[ProductIn] = Field(min_length=1, description="All are written, or (if any is invalid) none.")


class StockIn(RequestModel):
    available: whole(ge=0, le=MAX_QUANTITY) = Field(description="Units on hand and not allocated to any order, now.")


class CustomerIn(RequestModel):
    email: Email = Field(description="The customer's key; case does not matter.")
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(None, description="Any usual spelling; without a country code, DEFAULT_PHONE_REGION's.")
    language: str | None = Field(None, description="Language code for the chat, e.g. `de` or `en`.", examples=["de"])


class OrderLineIn(RequestModel):
    sku: Sku
    quantity: Quantity
    unit_price_minor: MinorUnits


class OrderIn(RequestModel):
    number: str = Field(min_length=1, max_length=64, description="The order's key, as the customer knows it.")
    placed_at: str = Field(
        description="ISO 8601 with offset, or a date (midnight); without an offset, in SHOP_TIMEZONE. Not in the"
        " future, and not more than 20 years ago (the server's clock decides: a schema cannot).",
        examples=["2026-11-20T09:15:00+01:00"],
        json_schema_extra={"anyOf": [{"format": "date"}, {"format": "date-time"}]},
    )
    currency: Currency
    customer: CustomerIn
    lines: list[OrderLineIn] = Field(min_length=1, description="One per SKU.")


class OrderBatchIn(RequestModel):
    orders: list[OrderIn] = Field(
        min_length=1,
        description="Orders are created once: one already in the shop with the same content is left unchanged;"
        " with other content the whole batch is refused.",
    )


EXPECTED_ON = "At most a year overdue and at most three years ahead (of the server's date: a schema cannot say)."


class PurchaseOrderIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"not": {"required": ["supplier_id", "supplier"]}})

    reference: str = Field(min_length=1, max_length=64, description="The supplier shipment's key.")
    sku: Sku
    quantity: Quantity
    expected_on: date = Field(description=EXPECTED_ON)
    supplier_id: whole(ge=1) | None = Field(
        None, description="Whose shipment it is; left out (and no `supplier`), the product's default supplier's."
    )
    supplier: SupplierName | None = Field(
        None,
        description="Whose shipment it is, by name, instead of `supplier_id`; one the shop has no supplier of by that"
        " name is added.",
    )

    @model_validator(mode="after")
    def _one_supplier(self) -> "PurchaseOrderIn":
        if {"supplier_id", "supplier"} <= self.model_fields_set:  # as the schema's "not" says: even one of them null
            raise ValueError("give supplier_id or supplier, not both")
        return self


class PurchaseOrderMoveIn(RequestModel):
    expected_on: date = Field(description=EXPECTED_ON)


class ReceiptIn(RequestModel):
    quantity: Quantity | None = Field(None, description="Units delivered; left out, all that is outstanding.")


class AudienceIn(RequestModel):
    """Customers still waiting on any of these SKUs, on any product of the category, or on these orders; at least
    one of them, and only what the shop has."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["skus"], "properties": {"skus": {"minItems": 1}}},
                {"required": ["category"], "properties": {"category": {"type": "string"}}},
                {"required": ["order_numbers"], "properties": {"order_numbers": {"minItems": 1}}},
            ]
        }
    )

    skus: list[Sku] = Field(default_factory=list)
    category: str | None = Field(None, max_length=100, json_schema_extra={"pattern": NOT_BLANK})
    order_numbers: list[Annotated[str, Field(max_length=64, json_schema_extra={"pattern": NOT_BLANK})]] = Field(
        default_factory=list
    )


def require_text_in(document: dict[str, Any], language: str) -> None:
    """Say in `document` that a broadcast needs a text, not blank, in the shop's default `language`."""
    texts = document["components"]["schemas"]["BroadcastIn"]["properties"]["texts"]
    texts["required"] = [language]
    texts["properties"] = {language: {"type": "string", "maxLength": MAX_TEXT_LENGTH, "pattern": NOT_BLANK}}


class BroadcastIn(RequestModel):
    audience: AudienceIn
    texts: dict[str, str] = Field(
        min_length=1,
        description="The message per language code; the shop's default language is required. Each customer gets"
        " theirs, or the default language's. At most 4096 characters each (UTF-16 code units, as Telegram counts).",
        examples=[{"en": "The headsets arrive next week.", "de": "Die Kopfhörer kommen nächste Woche."}],
        json_schema_extra={
            "propertyNames": {"enum": list(SUPPORTED_LANGUAGES)},
            "additionalProperties": {"type": "string", "maxLength": MAX_TEXT_LENGTH},
        },
    )
    new_eta: date | None = Field(
        None,
        description="Also give every waiting line of the audience this ETA (recorded in its ETA history): from today"
        " to three years ahead (the server's date decides: a schema cannot).",
    )
    urgent: bool = Field(
        False,
        description="Deliver it during the shop's quiet hours too (QUIET_HOURS_START to QUIET_HOURS_END), instead"
        " of holding it until they end. Recorded in the audit log.",
    )


class DelayNoticeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: UtcInstant | None = Field(
        None, description="Only notices sent or answered since then; ISO 8601 with offset (URL-encode the `+`)."
    )


class BackorderQuery(BaseModel):
    """Query-string filters; values arrive as text, so they are converted rather than strict."""

    model_config = ConfigDict(extra="forbid")

    sku: Annotated[Sku, AfterValidator(field_rules.sku)] | None = Field(None, description="Only this SKU's waiting lines, in queue order.")
    category: str | None = Field(None, description="Only products of this category.")
    min_age_days: int | None = Field(None, ge=0, le=3650, description="Only orders placed at least this many days ago.")
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description="Lines per page.")
    cursor: str | None = Field(
        None, description="`next_cursor` of the previous page.", json_schema_extra={"pattern": f"^{CURSOR_PATTERN}$"}
    )


# ---- answers --------------------------------------------------------------------------------------------


class EtaMoveOut(BaseModel):
    """A waiting line whose ETA, or what it rests on, changed."""

    line_id: int
    order_number: str
    customer_id: int
    sku: str
    old_eta: date | None
    new_eta: date | None
    old_basis: EtaBasis | None
    new_basis: EtaBasis | None
    reason: str

    @classmethod
    def of(cls, move: EtaMove) -> "EtaMoveOut":
        return cls.model_validate(move, from_attributes=True)


class AllocationOut(BaseModel):
    """Units just allocated to a waiting line."""

    line_id: int
    order_number: str
    customer_id: int
    sku: str
    allocated_now: int

    @classmethod
    def of(cls, change: AllocationChange) -> "AllocationOut":
        return cls.model_validate(change, from_attributes=True)


class Effects(BaseModel):
    """What a change did to the lines waiting for stock."""

    ready_to_ship: list[AllocationOut] = Field(description="Lines now allocated in full: pick, pack and ship them.")
    partly_allocated: list[AllocationOut] = Field(description="Lines that got some units and still wait for the rest.")
    eta_moves: list[EtaMoveOut] = Field(description="Lines whose ETA moved.")


def effects(allocations: Iterable[AllocationChange], eta_moves: Iterable[EtaMove]) -> dict[str, Any]:
    allocations = list(allocations)
    return {
        "ready_to_ship": [AllocationOut.of(change) for change in allocations if change.ready_to_ship],
        "partly_allocated": [AllocationOut.of(change) for change in allocations if not change.ready_to_ship],
        "eta_moves": [EtaMoveOut.of(move) for move in eta_moves],
    }


class ProductOut(Effects):
    sku: str
    outcome: Literal["created", "updated", "unchanged"]


class ProductBatchOut(Effects):
    created: list[str]
    updated: list[str]
    unchanged: list[str]


class StockOut(Effects):
    sku: str
    counted: int
    available: int = Field(description="What is left unallocated after the waiting lines took their share.")


class OrderBatchOut(Effects):
    created: list[str]
    unchanged: list[str]
    customers_created: int


class PurchaseOrderOut(BaseModel):
    reference: str
    sku: str
    quantity: int
    received_quantity: int
    outstanding: int
    expected_on: date
    status: PurchaseOrderStatus

    @classmethod
    def of(cls, result: PurchaseOrderResult) -> "PurchaseOrderOut":
        return cls.model_validate(result, from_attributes=True)


class PurchaseOrderChangeOut(BaseModel):
    purchase_order: PurchaseOrderOut
    changed: bool = Field(description="False when the request repeated what was already so.")
    eta_moves: list[EtaMoveOut]

    @classmethod
    def of(cls, result: PurchaseOrderResult) -> "PurchaseOrderChangeOut":
        return cls(
            purchase_order=PurchaseOrderOut.of(result),
            changed=result.changed,
            eta_moves=[EtaMoveOut.of(move) for move in result.eta_moves],
        )


class ReceiptOut(Effects):
    purchase_order: PurchaseOrderOut
    received_now: int
    replayed: bool = Field(description="True when this delivery was booked before (same Idempotency-Key).")


class AudienceOut(BaseModel):
    skus: list[str]
    category: str | None
    order_numbers: list[str]


class BroadcastOut(BaseModel):
    """A broadcast and how its delivery stands."""

    id: int
    status: BroadcastStatus
    recipient_count: int = Field(description="Customers it was queued for.")
    sent: int
    failed: int
    blocked: int = Field(description="Customers who had blocked the bot.")
    pending: int = Field(description="Not sent yet.")
    cancelled: int
    created_at: datetime
    finished_at: datetime | None
    audience: AudienceOut
    texts: dict[str, str]
    new_eta: date | None
    eta_lines_updated: int = Field(description="Waiting lines given `new_eta` when it was created.")
    urgent: bool = Field(description="Delivered during the shop's quiet hours too.")
    held: int = Field(description="Of `pending`, the messages waiting for the shop's quiet hours to end.")
    held_until: datetime | None = Field(
        description="When the shop's quiet hours end and the held messages go out (shop time); null when none wait."
    )

    @classmethod
    def of(cls, view: BroadcastView) -> "BroadcastOut":
        return cls.model_validate(view, from_attributes=True)


class DelayNoticeOut(BaseModel):
    """A notice that a line will miss the date promised at checkout, and the customer's answer."""

    notice_id: int
    line_id: int
    order_number: str
    customer_id: int
    customer_name: str
    sku: str
    product_name: str
    sequence: int = Field(description="1 for the first notice; 2 and up for further delays.")
    promised_ship_by: date
    new_ship_by: date | None
    respond_by: date | None = Field(description="Consent needed by then (further delays); null: silence is consent.")
    response: DelayResponse | None
    notified_at: datetime
    responded_at: datetime | None

    @classmethod
    def of(cls, view: DelayNoticeView) -> "DelayNoticeOut":
        return cls.model_validate(view, from_attributes=True)


class DelayNoticesOut(BaseModel):
    delay_notices: list[DelayNoticeOut] = Field(description="Oldest first.")


class BackorderOut(BaseModel):
    line_id: int
    order_number: str
    placed_at: datetime
    customer_id: int
    customer_name: str
    customer_email: str
    sku: str
    product_name: str
    category: str
    quantity: int
    open_quantity: int = Field(description="Units still waiting.")
    allocated_quantity: int
    status: LineStatus
    days_waiting: int
    queue_position: int = Field(description="1 is served first from the SKU's next stock.")
    eta: date | None
    eta_basis: EtaBasis | None
    purchase_order_reference: str | None

    @classmethod
    def of(cls, line: WaitingLine) -> "BackorderOut":
        return cls.model_validate(line, from_attributes=True)


class BackorderPageOut(BaseModel):
    backorders: list[BackorderOut] = Field(description="Oldest order first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


# ---- privacy requests ----------------------------------------------------------------------------------

CustomerEmail = Annotated[
    Email, AfterValidator(field_rules.email), Field(description="The customer's e-mail; case does not matter.")
]


class CustomerQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: CustomerEmail


class CustomerErasureIn(RequestModel):
    email: CustomerEmail


class CustomerExportOut(BaseModel):
    """Everything stored about the person: one section per table, each a list of its rows as stored."""

    format: str = Field(examples=["backorder-desk.personal-data.v1"])
    exported_at: AwareDatetime
    data: dict[str, list[dict[str, Any]]]


class CustomerErasureOut(BaseModel):
    erased: bool = Field(description="False when nothing personal was stored (any more): erasing again is safe.")
    customer_id: int | None = Field(description="The erased customer's id, now a pseudonym; orders keep it.")
