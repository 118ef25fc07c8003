"""What the merchant API reads and writes about suppliers, their track records and reorder suggestions."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from bot.services.intake.field_rules import SPACE
from bot.services.intake.import_records import MAX_LEAD_TIME_DAYS
from bot.services.purchasing.reorder_suggestions import ReorderSuggestion
from bot.services.purchasing.supplier_record import ReceivedShipment, Trend
from bot.services.purchasing.suppliers import SupplierFields, SupplierPerformance, SupplierView
from bot.web.api_models import NOT_BLANK, RequestModel, Sku, whole


class SupplierIn(RequestModel):
    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=f"[^{SPACE}]",
        description="The supplier's key: no two share it.",
        json_schema_extra={"pattern": NOT_BLANK},
    )
    contact: str | None = Field(None, max_length=300, description="E-mail, phone or a person; as you write it.")
    lead_time_days: whole(ge=0, le=MAX_LEAD_TIME_DAYS) | None = Field(None, description="Its usual lead time.")

    def fields(self) -> SupplierFields:
        return SupplierFields(self.name.strip(), (self.contact or "").strip() or None, self.lead_time_days)


class SupplierProductsIn(RequestModel):
    skus: list[Sku] = Field(
        min_length=1, max_length=1000, description="SKUs it supplies by default: their new purchase orders are its."
    )


class SupplierOut(BaseModel):
    id: int
    name: str
    contact: str | None
    lead_time_days: int | None
    eta_slip_days: int | None = Field(
        description="Days added to its promised dates in customers' ETAs now; null: its record is too short, or"
        " the adjustment is off."
    )
    skus: list[str]
    created_at: datetime

    @classmethod
    def of(cls, view: SupplierView) -> "SupplierOut":
        return cls(**{**vars(view), "skus": list(view.skus)})


class SuppliersOut(BaseModel):
    suppliers: list[SupplierOut]


class ReceivedShipmentOut(BaseModel):
    reference: str
    sku: str
    first_expected_on: date = Field(description="The date first promised.")
    last_expected_on: date = Field(description="The date promised last, before it arrived.")
    received_on: date
    days_late: int = Field(description="Against the date last promised; negative: early.")
    days_late_vs_first: int = Field(description="Against the date first promised; negative: early.")
    date_moves: int = Field(description="How many times its date was moved.")

    @classmethod
    def of(cls, shipment: ReceivedShipment) -> "ReceivedShipmentOut":
        return cls(
            **vars(shipment), days_late=shipment.days_late, days_late_vs_first=shipment.days_late_vs_first
        )


class PerformanceOut(BaseModel):
    supplier: SupplierOut
    window_days: int
    since: date = Field(description="Shipments received on or after this day count.")
    received: int = Field(description="Purchase orders received in full within the window.")
    minimum_received: int = Field(description="From this many, customers' ETAs allow for its usual slip.")
    on_time_rate: float | None = Field(description="Share received on or before the date last promised.")
    median_days_late: float | None
    p80_days_late: int | None = Field(description="80th percentile of lateness against the date last promised.")
    median_days_late_vs_first: float | None
    p80_days_late_vs_first: int | None
    date_moves: int = Field(description="Date moves of the received purchase orders, added up.")
    trend: Trend | None = Field(description="The newer half of the window against the older; null below four.")
    shipments: list[ReceivedShipmentOut] = Field(description="Oldest first.")

    @classmethod
    def of(cls, performance: SupplierPerformance) -> "PerformanceOut":
        record = performance.record
        return cls(
            supplier=SupplierOut.of(performance.supplier),
            window_days=record.window_days,
            since=record.since,
            received=record.received,
            minimum_received=performance.minimum_received,
            on_time_rate=record.on_time_rate,
            median_days_late=record.median_days_late,
            p80_days_late=record.p80_days_late,
            median_days_late_vs_first=record.median_days_late_vs_first,
            p80_days_late_vs_first=record.p80_days_late_vs_first,
            date_moves=record.date_moves,
            trend=record.trend,
            shipments=[ReceivedShipmentOut.of(shipment) for shipment in record.shipments],
        )


class ReorderSuggestionOut(BaseModel):
    sku: str
    product_name: str
    supplier: str | None = Field(description="The product's default supplier.")
    ordered_7_days: int = Field(description="Units ordered in the last 7 days, backordered ones included.")
    ordered_30_days: int
    ordered_90_days: int
    waiting: int = Field(description="Units customers wait for.")
    waiting_lines: int
    on_hand: int = Field(description="Unallocated stock.")
    incoming: int = Field(description="Still outstanding on open purchase orders.")
    lead_time_days: int = Field(description="Planned with: the usual lead time plus the supplier's recent lateness.")
    supplier_days_late: int
    suggested_quantity: int
    order_by: date
    explanation: str

    @classmethod
    def of(cls, suggestion: ReorderSuggestion, explanation: str) -> "ReorderSuggestionOut":
        figures = {name: value for name, value in vars(suggestion).items() if name in cls.model_fields}
        return cls(
            **figures,
            supplier=suggestion.supplier_name,
            lead_time_days=suggestion.lead_time_days,
            explanation=explanation,
        )


class ReorderSuggestionsOut(BaseModel):
    suggestions: list[ReorderSuggestionOut] = Field(description="The most urgent first.")
