"""What the merchant API reads and writes for the shop's side of an order's life: events, shipments,
shop-side cancels, refunds and the fulfilment to-do. Money is in minor units, as everywhere."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.services.backorders.cancel import OrderCancelResult
from bot.services.event_log import CURSOR_PATTERN, EVENT_TYPE_NAMES, MAX_PAGE, TYPES_PATTERN, EventPage, EventView
from bot.services.fulfilment.refunds import RefundView
from bot.services.fulfilment.shipments import ShipmentResult
from bot.services.fulfilment.to_do import LineToShip
from bot.services.intake.field_rules import WEB_ADDRESS_PATTERN
from bot.services.webhooks.endpoints import ENDPOINT_URL_PATTERN, EndpointView, EndpointWithSecret
from bot.web.api_models import Instant, RequestModel, Sku, whole
from db.models import LineStatus, RefundStatus, WebhookEndpointStatus


class EventQuery(BaseModel):
    """Query-string filters of the feed; values arrive as text, so they are converted rather than strict."""

    model_config = ConfigDict(extra="forbid")

    after: str | None = Field(
        None,
        description="`next_cursor` of the previous page; absent: from the first event.",
        json_schema_extra={"pattern": f"^{CURSOR_PATTERN}$"},
    )
    types: str | None = Field(
        None,
        description="Comma-separated event types; `line.*` names a family.",
        examples=["line.*,refund.owed"],
        json_schema_extra={"pattern": TYPES_PATTERN},
    )
    limit: int = Field(100, ge=1, le=MAX_PAGE, description="Events per page.")


class EventOut(BaseModel):
    id: str = Field(description="Stable: the same event always has this id, also in webhook deliveries.")
    type: str = Field(examples=["line.cancelled"])
    occurred_at: datetime
    order_number: str | None
    data: dict[str, Any] = Field(description="Self-contained: order number, SKU, quantities, money with currency.")
    cursor: str = Field(description="Where this event stands in the feed.")

    @classmethod
    def of(cls, event: EventView) -> "EventOut":
        return cls(
            id=event.id,
            type=event.type,
            occurred_at=event.occurred_at,
            order_number=event.order_number,
            data=event.data,
            cursor=event.cursor.encode(),
        )


class EventPageOut(BaseModel):
    events: list[EventOut] = Field(description="Oldest first.")
    next_cursor: str | None = Field(
        description="Store it and pass it as `after` next time, also when this page is empty; null only while the"
        " log is empty. Paging with it never skips or repeats an event."
    )

    @classmethod
    def of(cls, page: EventPage) -> "EventPageOut":
        return cls(
            events=[EventOut.of(event) for event in page.events],
            next_cursor=page.next_cursor.encode() if page.next_cursor else None,
        )


class ShipmentLineIn(RequestModel):
    sku: Sku
    quantity: whole(ge=1, le=1_000_000)


class ShipmentIn(RequestModel):
    order_number: str = Field(min_length=1, max_length=64)
    lines: list[ShipmentLineIn] = Field(min_length=1, max_length=500, description="Each SKU once.")
    carrier: str | None = Field(None, min_length=1, max_length=60, examples=["DHL"])
    tracking_number: str | None = Field(
        None, min_length=1, max_length=100, description="Sending the same number for the order again changes nothing."
    )
    tracking_url: str | None = Field(
        None, max_length=500, pattern=f"^{WEB_ADDRESS_PATTERN}$", description="Shown to the customer as a Track button."
    )
    shipped_at: Instant | None = Field(
        None, description="Left out: now. Not in the future (an hour's grace for a clock running ahead), at most a year ago."
    )


class ShippedLineOut(BaseModel):
    line_id: int
    sku: str
    product_name: str
    quantity: int
    status: LineStatus


class ShipmentOut(BaseModel):
    shipment_id: int
    order_number: str
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    shipped_at: datetime
    lines: list[ShippedLineOut]
    replayed: bool = Field(description="The same tracking number was recorded before; nothing changed.")

    @classmethod
    def of(cls, result: ShipmentResult) -> "ShipmentOut":
        return cls(
            shipment_id=result.shipment_id,
            order_number=result.order_number,
            carrier=result.parcel.carrier,
            tracking_number=result.parcel.tracking_number,
            tracking_url=result.parcel.tracking_url,
            shipped_at=result.shipped_at,
            lines=[ShippedLineOut(**vars(line)) for line in result.lines],
            replayed=result.already_done,
        )


class OrderCancelIn(RequestModel):
    skus: list[Sku] = Field(default_factory=list, description="Only these SKUs' lines; left out or empty: the whole order.")


class CancelledLineOut(BaseModel):
    line_id: int
    sku: str
    cancelled_quantity: int
    still_shipping_quantity: int
    refund_minor: int


class KeptLineOut(BaseModel):
    line_id: int
    sku: str
    status: LineStatus
    reason: str


class OrderCancelOut(BaseModel):
    order_number: str
    cancelled: list[CancelledLineOut]
    kept: list[KeptLineOut] = Field(description="Lines that could not be cancelled (packed or shipped), and why.")
    refund_minor: int
    currency: str
    replayed: bool

    @classmethod
    def of(cls, result: OrderCancelResult) -> "OrderCancelOut":
        return cls(
            order_number=result.order_number,
            cancelled=[
                CancelledLineOut(
                    line_id=line.line_id, sku=line.sku, cancelled_quantity=line.cancelled_quantity,
                    still_shipping_quantity=line.kept_quantity, refund_minor=line.refund_minor,
                )
                for line in result.cancelled
            ],
            kept=[KeptLineOut(line_id=line.line_id, sku=line.sku, status=line.status, reason=line.reason) for line in result.kept],
            refund_minor=result.refund_minor,
            currency=result.currency,
            replayed=result.already_done,
        )


class RefundPaidIn(RequestModel):
    payment_reference: str = Field(min_length=1, max_length=100, description="The shop's payment id, for the record.")


class RefundQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: RefundStatus | None = Field(None, description="Only owed or only paid refunds.")


class RefundOut(BaseModel):
    id: int
    order_number: str
    line_id: int
    sku: str
    product_name: str
    customer_name: str
    customer_email: str
    amount_minor: int
    currency: str
    reason: str
    status: RefundStatus
    owed_since: datetime
    paid_at: datetime | None
    payment_reference: str | None

    @classmethod
    def of(cls, refund: RefundView) -> "RefundOut":
        fields = vars(refund).copy()
        fields.pop("already_done")
        return cls(**fields)


class RefundsOut(BaseModel):
    refunds: list[RefundOut] = Field(description="Oldest first.")


class LineToShipOut(BaseModel):
    line_id: int
    order_number: str
    customer_name: str
    sku: str
    product_name: str
    quantity: int = Field(description="Allocated and not yet shipped.")
    ready_since: datetime
    instead_of_sku: str | None = Field(description="A swapped line: the SKU the customer ordered; ship this one instead.")
    instead_of_name: str | None

    @classmethod
    def of(cls, line: LineToShip) -> "LineToShipOut":
        return cls(**vars(line))


class FulfilmentOut(BaseModel):
    lines: list[LineToShipOut] = Field(description="Ready to ship, the longest-waiting first.")


class WebhookEndpointIn(RequestModel):
    url: str = Field(
        min_length=1,
        max_length=500,
        examples=["https://shop.example.com/hooks/backorder-desk"],
        json_schema_extra={"pattern": f"^{ENDPOINT_URL_PATTERN}$"},
    )
    event_types: list[Annotated[str, Field(json_schema_extra={"enum": list(EVENT_TYPE_NAMES)})]] = Field(
        default_factory=list, description="Event types; `line.*` names a family; empty: every type.",
        examples=[["line.*", "refund.*"]],
    )


class WebhookEndpointOut(BaseModel):
    id: int
    url: str
    event_types: list[str]
    status: WebhookEndpointStatus
    disabled_reason: str | None = Field(description="Why it was disabled: 410 Gone, a day of failures, or by hand.")
    failing_since: datetime | None
    last_error: str | None
    last_success_at: datetime | None
    pending_deliveries: int
    rotating_until: datetime | None = Field(description="Until then deliveries are also signed with the old secret.")
    created_at: datetime

    @classmethod
    def of(cls, endpoint: EndpointView) -> "WebhookEndpointOut":
        return cls(**vars(endpoint))


class WebhookSecretOut(BaseModel):
    endpoint: WebhookEndpointOut
    secret: str = Field(description="The signing secret (whsec_…), shown only in this answer.")

    @classmethod
    def of(cls, created: EndpointWithSecret) -> "WebhookSecretOut":
        return cls(endpoint=WebhookEndpointOut.of(created.endpoint), secret=created.secret)


class WebhookEndpointsOut(BaseModel):
    endpoints: list[WebhookEndpointOut]


class WebhookTestOut(BaseModel):
    delivered: bool
    status: int | None = Field(description="The endpoint's HTTP status; null when no answer came.")
    error: str | None
