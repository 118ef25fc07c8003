"""What a store adapter hands the connector use cases: products, orders, stock, changes and write-back requests in
words of our own, whatever the platform's wire format. Store ids are text, as they exceed 32 bits."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")

UNTRACKED_STOCK = 100_000  # a variant whose stock the store does not track is never backordered


class StoreError(Exception):
    """A store call that failed; `steps` holds what a write-back had done in the store before it did."""

    def __init__(self, message: str, steps: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.steps = steps or {}


class StoreRefused(StoreError):
    """The store said no for good (wrong token, missing scope, a refused edit): retrying will not help."""


class StoreUnavailable(StoreError):
    """The store could not be reached or asked us to wait (timeout, 429, 5xx, throttled): try again later.

    Its `steps` let the retry carry on where the write-back stopped.
    """


class WebhookRefused(Exception):
    """A webhook request that is not the store's (unsigned, badly signed, stale): answered with `status`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class StoreIdentity:
    """Who the credentials belong to, as the store says."""

    shop: str
    name: str
    currency: str
    scopes: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)  # learned from the store, kept on the connection


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None  # None: this was the last page
    total: int | None = None  # how many there are in all, when the store says


@dataclass(frozen=True)
class StoreVariant:
    """One sellable thing with a SKU: a variant of a product (Shopify) or a simple product or variation (Woo)."""

    store_id: str
    sku: str | None  # variants without one are skipped
    name: str
    category: str
    price_minor: int
    currency: str
    tracked: bool = True
    available: int | None = None  # the store's count after committed orders; may be negative; None: unknown
    inventory_item_id: str | None = None
    # The store's id of a count this variant shares with others (a WooCommerce variable product keeping the stock
    # of its variations); None: the variant has a count of its own.
    shared_stock_id: str | None = None


@dataclass(frozen=True)
class StoreProduct:
    store_id: str
    variants: list[StoreVariant]
    updated_at: datetime | None = None
    supplier: str | None = None  # its supplier's name where the store keeps one (Shopify's vendor; WooCommerce has none)


@dataclass(frozen=True)
class StockCount:
    """The store's available count of one variant, named by SKU or by the store's inventory item id; or of a count
    several variants share (`shared_stock_id`), which is the count of every variant linked as sharing it."""

    available: int
    sku: str | None = None
    inventory_item_id: str | None = None
    updated_at: datetime | None = None
    shared_stock_id: str | None = None


@dataclass(frozen=True)
class StoreLine:
    store_id: str
    sku: str | None
    quantity: int  # as the order stands now, after edits and removals
    unit_price_minor: int  # what the customer paid for a unit, tax included
    fulfilled_quantity: int = 0
    variant_id: str | None = None
    backordered_quantity: int | None = None  # what the store itself marks as waiting for stock; None: it does not say
    added_tax_ppm: int = 0  # the tax rate a tax-exclusive store added to the line's price (bot/services/added_tax.py)


@dataclass(frozen=True)
class StoreFulfillment:
    store_id: str
    items: list[tuple[str, int]]  # (SKU, quantity)
    shipped_at: datetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True)
class StoreOrder:
    store_id: str
    number: str  # what the customer knows
    placed_at: datetime
    updated_at: datetime
    email: str | None
    customer_name: str
    phone: str | None
    language: str | None
    currency: str
    lines: list[StoreLine]
    cancelled: bool = False
    fulfillments: list[StoreFulfillment] = field(default_factory=list)
    # Every fulfilment the store has made of the order, by id, where its contents are not read (GraphQL's orders):
    # those made before the order is imported were taken off what it brings in, so none ships here again.
    fulfillment_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProductsSeen:
    products: list[StoreProduct]


@dataclass(frozen=True)
class ProductDeleted:
    store_id: str


@dataclass(frozen=True)
class StockCounted:
    counts: list[StockCount]
    # A recount of the whole catalogue (the reconcile's): the counts the store gave last time are left alone.
    only_changed: bool = False


@dataclass(frozen=True)
class OrderSeen:
    """An order as the store has it now (created or updated)."""

    order: StoreOrder


@dataclass(frozen=True)
class OrderCancelled:
    store_id: str
    number: str
    at: datetime


@dataclass(frozen=True)
class OrderDeleted:
    store_id: str


@dataclass(frozen=True)
class FulfillmentSeen:
    order_store_id: str
    fulfillment: StoreFulfillment


@dataclass(frozen=True)
class RefundSeen:
    """The store refunded (some of) an order: refunds we owe on these lines count as paid."""

    order_store_id: str
    refund_store_id: str
    line_store_ids: list[str]


PrivacyKind = Literal["customer_redact", "customer_data_request", "shop_redact"]


@dataclass(frozen=True)
class PrivacyRequest:
    kind: PrivacyKind
    email: str | None = None
    phone: str | None = None
    store_customer_id: str | None = None


@dataclass(frozen=True)
class WebhooksChecked:
    """The bot's webhooks the store had turned off (WooCommerce does after failed deliveries), seen at a reconcile:
    those set active again, and those still off with the store's answer to turning them on."""

    revived: list[str]
    still_off: list[str] = field(default_factory=list)
    error: str | None = None


StoreChange = (
    ProductsSeen | ProductDeleted | StockCounted | OrderSeen | OrderCancelled | OrderDeleted | FulfillmentSeen
    | RefundSeen | PrivacyRequest | WebhooksChecked
)


@dataclass(frozen=True)
class ReceivedWebhook:
    """A verified webhook, ready to queue; `ping` ones (a store checking the address) are answered and dropped."""

    delivery_key: str
    topic: str
    payload: dict[str, Any]
    resource_id: str | None = None
    resource_updated_at: datetime | None = None
    ping: bool = False


WriteBackKind = Literal["cancel", "swap"]


@dataclass(frozen=True)
class WriteBackRequest:
    """A change made here, for the store order: what to remove (and add), what to refund, what to note."""

    kind: WriteBackKind
    idempotency_key: str  # the event's id: the same on every retry
    order_number: str
    order_store_id: str
    line_store_id: str | None
    sku: str
    quantity: int  # removed from the line (cancelled, or swapped away)
    keep_quantity: int  # what the store line keeps afterwards: set absolutely, so doing it twice is harmless
    refund_minor: int  # 0: nothing to refund
    currency: str
    note: str
    refunds_by_hand: bool
    steps: dict[str, Any]  # what an earlier attempt did already
    substitute_sku: str | None = None
    substitute_variant_id: str | None = None
    substitute_quantity: int = 0
    substitute_discount_minor: int = 0  # per unit: a dearer substitute at the original price, the shop waiving it


@dataclass(frozen=True)
class WriteBackResult:
    steps: dict[str, Any]
    refund_reference: str | None = None  # the store's refund id, when it refunded
