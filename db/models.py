"""The shop's data: customers, products, stock, supplier purchase orders, orders and their history."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.transaction_order import current_transaction_number
from db.types import UTCDateTime

# Stable constraint names, so migrations can alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(enum_class: type[StrEnum], name: str) -> Enum:
    """A portable enum column: a short string with a CHECK constraint, storing the enum's value."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [member.value for member in members],
    )


class LineStatus(StrEnum):
    ALLOCATED = "allocated"
    PARTIALLY_ALLOCATED = "partially_allocated"
    BACKORDERED = "backordered"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    SUBSTITUTED = "substituted"


OPEN_LINE_STATUSES = (LineStatus.BACKORDERED, LineStatus.PARTIALLY_ALLOCATED)


class EtaBasis(StrEnum):
    IN_STOCK = "in_stock"  # unallocated stock covers it; ships after handling
    PURCHASE_ORDER = "purchase_order"  # confirmed by a supplier shipment
    LEAD_TIME = "lead_time"  # estimated from the supplier's usual lead time


class PurchaseOrderStatus(StrEnum):
    OPEN = "open"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class RefundStatus(StrEnum):
    OWED = "owed"
    PAID = "paid"


class RefundReason(StrEnum):
    CANCELLED = "cancelled"
    SUBSTITUTE_CHEAPER = "substitute_cheaper"


class ActorType(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    MERCHANT = "merchant"
    SYSTEM = "system"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164
    language: Mapped[str | None] = mapped_column(String(8))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    notifications_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    bot_blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    orders: Mapped[list["Order"]] = relationship(back_populates="customer")


class Supplier(Base):
    """A company the shop buys from, and what its track record says about its dates."""

    __tablename__ = "suppliers"
    __table_args__ = (
        CheckConstraint("lead_time_days IS NULL OR lead_time_days >= 0", name="lead_time_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    contact: Mapped[str | None] = mapped_column(String(300))  # e-mail, phone or a person, as the merchant writes it
    lead_time_days: Mapped[int | None] = mapped_column(Integer)  # its usual lead time
    # Days its shipments have recently arrived after the promised date, added to the ETAs resting on them;
    # None while its record is too short or the adjustment is off. Kept up to date as shipments arrive.
    eta_slip_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), index=True)
    price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    lead_time_days: Mapped[int] = mapped_column(Integer)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)  # the default supplier
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    stock: Mapped["StockLevel | None"] = relationship(back_populates="product")


class ProductSubstitute(Base):
    """A substitute the merchant chose for a product; lower rank is offered first."""

    __tablename__ = "product_substitutes"
    __table_args__ = (CheckConstraint("product_id <> substitute_id", name="not_itself"),)

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    substitute_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)


class StockLevel(Base):
    """Units on hand and not allocated to any order line."""

    __tablename__ = "stock_levels"
    __table_args__ = (CheckConstraint("available >= 0", name="available_not_negative"),)

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    available: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    product: Mapped[Product] = relationship(back_populates="stock")


class PurchaseOrder(Base):
    """An inbound shipment a supplier has promised."""

    __tablename__ = "purchase_orders"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("received_quantity >= 0 AND received_quantity <= quantity", name="received_in_range"),
        Index("ix_purchase_orders_supply", "product_id", "status", "expected_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    received_quantity: Mapped[int] = mapped_column(Integer, default=0)
    expected_on: Mapped[date] = mapped_column(Date)  # the date last promised
    status: Mapped[PurchaseOrderStatus] = mapped_column(
        _enum(PurchaseOrderStatus, "purchase_order_status"), default=PurchaseOrderStatus.OPEN
    )
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    # The supplier's track record: the date first promised, how often it moved, and the day it all arrived.
    first_expected_on: Mapped[date | None] = mapped_column(Date)
    date_moves: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    received_on: Mapped[date | None] = mapped_column(Date)  # shop time
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    product: Mapped[Product] = relationship()

    @property
    def outstanding(self) -> int:
        return self.quantity - self.received_quantity


class PurchaseOrderReceipt(Base):
    """One delivery against a purchase order; its key makes a retried receipt a no-op."""

    __tablename__ = "purchase_order_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    ready_line_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3))
    # The ship-by date the shop promised at checkout; the delay-notice policy measures delays against it.
    promised_ship_by: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship(back_populates="orders")
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", order_by="OrderLine.id")


class OrderLine(Base):
    """One product on an order, and how much of it is allocated, cancelled or swapped.

    The open (still waiting) quantity is what is left: quantity - allocated - cancelled - substituted.
    """

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price_not_negative"),
        CheckConstraint(
            "allocated_quantity >= 0 AND cancelled_quantity >= 0 AND substituted_quantity >= 0"
            " AND allocated_quantity + cancelled_quantity + substituted_quantity <= quantity",
            name="quantities_in_range",
        ),
        # The first-come-first-served queue of each SKU, kept small by indexing waiting lines only.
        Index(
            "ix_order_lines_waiting_queue",
            "product_id",
            "queued_at",
            "id",
            sqlite_where=text("status IN ('backordered', 'partially_allocated')"),
            postgresql_where=text("status IN ('backordered', 'partially_allocated')"),
        ),
        # 60 % of each page free, so rewriting a line's ETA or allocation, even the first ETA that makes it longer,
        # is a heap-only update on PostgreSQL (see migrations 0016_order_lines_fillfactor and 0022).
        {"postgresql_with": {"fillfactor": 40}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    # What the customer paid for one unit, tax included (a tax-exclusive store's tax is added on import).
    unit_price_minor: Mapped[int] = mapped_column(Integer)
    # The tax rate the store added on top of its prices for this line, in millionths (0: prices include tax);
    # a substitute's catalogue price is charged with it (bot/services/added_tax.py).
    added_tax_ppm: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    status: Mapped[LineStatus] = mapped_column(_enum(LineStatus, "line_status"))
    allocated_quantity: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    substituted_quantity: Mapped[int] = mapped_column(Integer, default=0)
    # Of the allocated quantity, what the shop has shipped; never more than is allocated.
    shipped_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # The order's placed_at, copied here so the queue of a SKU is one index range.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    eta: Mapped[date | None] = mapped_column(Date)
    eta_basis: Mapped[EtaBasis | None] = mapped_column(_enum(EtaBasis, "eta_basis"))
    # The purchase order the ETA waits for. No foreign key: only the recompute writes it, from the purchase order it
    # reads in the same statement, and purchase orders are never deleted; checking it line by line was a quarter of
    # a full recompute on PostgreSQL (migration 0021_line_eta_po_without_fk).
    eta_purchase_order_id: Mapped[int | None] = mapped_column(Integer)
    substitute_for_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    eta_purchase_order: Mapped[PurchaseOrder | None] = relationship(
        primaryjoin="foreign(OrderLine.eta_purchase_order_id) == PurchaseOrder.id"
    )

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.allocated_quantity - self.cancelled_quantity - self.substituted_quantity


class EtaChange(Base):
    """A line's ETA moved: from what, to what, and why."""

    __tablename__ = "eta_changes"
    __table_args__ = (Index("ix_eta_changes_line_changed", "line_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key, as in the audit log: the rows are written only from order_lines in the statement that moves
    # the ETA, and checking 100,000 of them one by one took a third of a full recompute on PostgreSQL (migration
    # 0020_eta_changes_without_line_fk).
    line_id: Mapped[int] = mapped_column(Integer)
    old_eta: Mapped[date | None] = mapped_column(Date)
    new_eta: Mapped[date | None] = mapped_column(Date)
    old_basis: Mapped[EtaBasis | None] = mapped_column(_enum(EtaBasis, "old_eta_basis"))
    new_basis: Mapped[EtaBasis | None] = mapped_column(_enum(EtaBasis, "new_eta_basis"))
    reason: Mapped[str] = mapped_column(String(40))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Refund(Base):
    """Money the shop owes a customer: one per cancel or swap of a line (the line's lock keeps a retry from owing
    twice); a line the store lowered step by step owes one per step."""

    __tablename__ = "refunds"
    __table_args__ = (
        Index("ix_refunds_line_id", "line_id"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[RefundReason] = mapped_column(_enum(RefundReason, "refund_reason"))
    status: Mapped[RefundStatus] = mapped_column(_enum(RefundStatus, "refund_status"), default=RefundStatus.OWED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_reference: Mapped[str | None] = mapped_column(String(100))  # the shop's, e.g. its payment system's id


class AuditEntry(Base):
    """Who changed what, and when; written in the same transaction as the change."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_type: Mapped[ActorType] = mapped_column(_enum(ActorType, "actor_type"))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ImportRun(Base):
    """A large import on its way through the staging table: whose it is, which process runs it, how far it got.

    Its rows wait in staged_order_lines (orders) or staged_import_rows (products, purchase orders) until the run is
    committed (moved_at): from then on it is moved into the shop a few thousand rows per transaction (moved_through:
    the last staged row moved), then the SKUs it touches are allocated and given ETAs a few at a time (an orders
    run's settled_through: the last product id done; a catalogue run's are staged rows of their own). A run whose
    process died is finished, or discarded if it was not committed, by the next import or the daily jobs
    (bot/services/intake/import_runs.py).
    """

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    actor_type: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(128))  # host:pid of the importing process
    alive_at: Mapped[datetime] = mapped_column(UTCDateTime)  # renewed as the run goes on
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # committed: its rows go into the shop
    moved_through: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # The shop's last customer id at the commit: only customers up to it are known ones, whose details it fills in.
    known_customers_through: Mapped[int | None] = mapped_column(Integer)
    settled_through: Mapped[int] = mapped_column(Integer, default=0)


class StagedOrderLine(Base):
    """An order line of a large import, checked and waiting to be moved into the shop with the rest of its file.

    No foreign keys: a run's rows are deleted a chunk at a time before the run itself, and nothing else reads them.
    """

    __tablename__ = "staged_order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)  # the file's order
    run_id: Mapped[int] = mapped_column(Integer, index=True)
    row: Mapped[int] = mapped_column(Integer)  # the file's row, for a problem found at the move
    order_number: Mapped[str] = mapped_column(String(64))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    email: Mapped[str] = mapped_column(String(320))
    customer_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(8))
    product_id: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(Integer)
    added_tax_ppm: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # The order's audit details, on its first line only: which lines mark where an order starts.
    order_details: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class StagedImportRow(Base):
    """A row of a large products or purchase-orders import, checked and planned, waiting to be written into the
    shop with the rest of its file (bot/services/intake/catalogue_staging.py).

    What it writes is its payload, as the importer planned it: the same table serves both importers, whose writes
    go through Python (audit details, changes) either way. No foreign keys, as for staged_order_lines.
    """

    __tablename__ = "staged_import_rows"

    id: Mapped[int] = mapped_column(primary_key=True)  # the order of writing
    run_id: Mapped[int] = mapped_column(Integer, index=True)
    step: Mapped[int] = mapped_column(Integer)  # the importer's steps run in order, each in its own chunks
    row: Mapped[int] = mapped_column(Integer)  # the file's row, for a problem found at the commit
    # The SKU or reference a row adds to the shop: nobody may have added it by the commit.
    adds: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class LinkMethod(StrEnum):
    DEEP_LINK = "deep_link"
    PHONE = "phone"
    ORDER_EMAIL = "order_email"


class TelegramUser(Base):
    """What the bot keeps about a Telegram user, linked or not: language and where the conversation stands.

    Conversation state lives here rather than in process memory, so a restart or a second instance
    carries on where the customer left off.
    """

    __tablename__ = "telegram_users"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(String(8))  # chosen with /language
    telegram_language_code: Mapped[str | None] = mapped_column(String(16))
    conversation_state: Mapped[str | None] = mapped_column(String(40))
    conversation_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    misunderstood_in_a_row: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LinkAttempt(Base):
    """One try to link a Telegram user to a customer; failed ones count against the hourly limit."""

    __tablename__ = "link_attempts"
    __table_args__ = (Index("ix_link_attempts_user_at", "telegram_user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[LinkMethod] = mapped_column(_enum(LinkMethod, "link_method"))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessedUpdate(Base):
    """A Telegram update already handled; Telegram may deliver one twice."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ApiToken(Base):
    """A merchant API bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the first characters, to recognise a token in a list
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotentRequest(Base):
    """The first answer to a POST with an Idempotency-Key, replayed when the same key comes again."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("token_id", "key", name="uq_idempotent_requests_token_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker whose lease runs until lease_expires_at
    SENT = "sent"
    FAILED = "failed"  # gave up after retries
    BLOCKED = "blocked"  # the customer blocked the bot
    CANCELLED = "cancelled"  # e.g. its broadcast was cancelled


class BroadcastStatus(StrEnum):
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(Base):
    """A merchant's message to exactly the customers an audience names."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[str] = mapped_column(String(100))
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    texts: Mapped[dict[str, str]] = mapped_column(JSON)  # language -> text; the default language is required
    new_eta: Mapped[date | None] = mapped_column(Date)
    status: Mapped[BroadcastStatus] = mapped_column(_enum(BroadcastStatus, "broadcast_status"))
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    # Sent through the shop's quiet hours: its messages are not optional, so they do not wait for the morning.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Where a merchant started it from Telegram, the progress message to keep up to date.
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """One proactive message waiting to be, or already, delivered; the only way the bot writes first.

    The text is rendered when it is sent, from `template` and `params`, in `language`.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "status", "not_before", "priority", "id"),
        Index("ix_outbox_messages_queue", "status", "priority", "id"),  # claims, in the order they take messages
        Index("ix_outbox_messages_broadcast", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"))
    template: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    language: Mapped[str] = mapped_column(String(8))
    # Optional messages (ETA changes, broadcasts) respect the opt-out and quiet hours; legal notices do not opt out.
    optional: Mapped[bool] = mapped_column(Boolean, default=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # lower goes first; broadcasts yield to the rest
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker_id: Mapped[str | None] = mapped_column(String(64))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DelayResponse(StrEnum):
    AGREED = "agreed"  # the customer agreed to wait
    CANCELLED = "cancelled"  # the customer cancelled for a full refund
    AUTO_CANCELLED = "auto_cancelled"  # no consent to a further delay by its deadline


class DelayNotice(Base):
    """A notice that a line will miss its promised ship date, and what came of it."""

    __tablename__ = "delay_notices"
    __table_args__ = (UniqueConstraint("line_id", "sequence", name="uq_delay_notices_line_sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)  # 1 = first notice; 2+ = a further delay
    promised_ship_by: Mapped[date] = mapped_column(Date)  # the date being missed
    new_ship_by: Mapped[date | None] = mapped_column(Date)  # None: not yet known
    respond_by: Mapped[date | None] = mapped_column(Date)  # consent needed by then (further delays)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    response: Mapped[DelayResponse | None] = mapped_column(_enum(DelayResponse, "delay_response"))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TicketStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Ticket(Base):
    """A customer's chat escalated to people, with its forum topic in the support group."""

    __tablename__ = "tickets"
    __table_args__ = (
        # One open ticket per customer: writing again while one is open continues it.
        Index(
            "uq_tickets_one_open_per_customer",
            "customer_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    customer_chat_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus, "ticket_status"), default=TicketStatus.OPEN)
    reason: Mapped[str] = mapped_column(String(60))
    support_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    topic_thread_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # None in a group without topics
    context_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The customer's latest "a person will answer" message, whose ✅ Resolved button goes once the ticket is closed.
    resolved_button_message_id: Mapped[int | None] = mapped_column(BigInteger)
    assignee_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    rating: Mapped[int | None] = mapped_column(Integer)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RelayDirection(StrEnum):
    TO_AGENTS = "to_agents"
    TO_CUSTOMER = "to_customer"


class RelayStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class TicketMessage(Base):
    """One message relayed between a customer and the support group; pending ones survive a restart."""

    __tablename__ = "ticket_messages"
    __table_args__ = (
        UniqueConstraint("source_chat_id", "source_message_id", name="uq_ticket_messages_source"),
        Index("ix_ticket_messages_pending", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    direction: Mapped[RelayDirection] = mapped_column(_enum(RelayDirection, "relay_direction"))
    author_telegram_id: Mapped[int] = mapped_column(BigInteger)
    source_chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    target_chat_id: Mapped[int] = mapped_column(BigInteger)
    target_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    target_message_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[RelayStatus] = mapped_column(_enum(RelayStatus, "relay_status"), default=RelayStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The retry schedule lives here, not in a process, so it survives a restart and is shared by every instance.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Held by the worker copying it until then; an expired lease means that worker died mid-attempt.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CannedReply(Base):
    """A saved answer agents send with /reply KEY, per language."""

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("key", "language", name="uq_canned_replies_key_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Event(Base):
    """Something the shop must act on or know, written in the same transaction as the change that caused it.

    Read in (transaction_number, id) order by the feed and the webhook deliveries (db/transaction_order.py).
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_feed", "transaction_number", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "evt_…", what consumers see
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Webhook deliveries of one order number go out in order; events of no order have none.
    order_number: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    transaction_number: Mapped[int] = mapped_column(BigInteger, default=current_transaction_number())


class Shipment(Base):
    """A parcel the shop sent for an order; a tracking number ships once per order, so a repeat is a no-op."""

    __tablename__ = "shipments"
    __table_args__ = (UniqueConstraint("order_id", "tracking_number", name="uq_shipments_order_tracking"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    carrier: Mapped[str | None] = mapped_column(String(60))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    lines: Mapped[list["ShipmentLine"]] = relationship(order_by="ShipmentLine.line_id")


class ShipmentLine(Base):
    """How many units of an order line a shipment carried."""

    __tablename__ = "shipment_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)


class WebhookEndpointStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # by the merchant, by 410 Gone, or after failing for a day


class WebhookEndpoint(Base):
    """A merchant's URL that receives the events of the types it names, signed (Standard Webhooks)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSON)  # e.g. ["line.*", "refund.paid"]; empty: every type
    secret: Mapped[str] = mapped_column(String(100))  # "whsec_…"; deliveries are signed with it
    # During a rotation's overlap deliveries carry a signature with the old secret too.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[WebhookEndpointStatus] = mapped_column(
        _enum(WebhookEndpointStatus, "webhook_endpoint_status"), default=WebhookEndpointStatus.ACTIVE
    )
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first failure since the last success
    last_error: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How far the event log has been copied into this endpoint's deliveries (the feed's cursor).
    fanned_out_transaction: Mapped[int] = mapped_column(BigInteger, default=0)
    fanned_out_event: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after retrying for more than a day


class WebhookDelivery(Base):
    """One event on its way to one endpoint; retried on its own schedule, independent of Telegram's outbox."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_due", "endpoint_id", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "endpoint_id", "ordering_key", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    # Deliveries of one order number go out one at a time, in order; None for events of no order.
    ordering_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        _enum(WebhookDeliveryStatus, "webhook_delivery_status"), default=WebhookDeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)  # the endpoint's HTTP status, None if none came
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobLease(Base):
    """Which process runs a job that must run in one process at a time, until when, and the day it last ran."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    # Renewed while the holder lives; once passed, any other process may take the job over.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_on: Mapped[date | None] = mapped_column(Date)


class FloodLane(Base):
    """Telegram's overall sending limit, shared by every process of the bot on PostgreSQL: the next turn not booked.

    Times are seconds since the epoch on the database server's clock, the one clock all processes share.
    """

    __tablename__ = "flood_lanes"

    lane: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_turn_at: Mapped[float] = mapped_column(Float)
    paused_until: Mapped[float] = mapped_column(Float)  # after a 429, nobody sends before this
    # The last move back of the turns after a late send, and by how much (db/flood_limit.py, push_back_turns).
    pushed_at: Mapped[float] = mapped_column(Float, default=0, server_default=text("0"))
    pushed_by: Mapped[float] = mapped_column(Float, default=0, server_default=text("0"))
    # The turn of the last reply that went before its turn (db/flood_limit.py, claim_reply_turn).
    reply_early_at: Mapped[float] = mapped_column(Float, default=0, server_default=text("0"))
    # The latest outbox turn a sender has started: a reply takes over only turns after it (db/flood_limit.py).
    last_started_at: Mapped[float] = mapped_column(Float, default=0, server_default=text("0"))


class FloodChat(Base):
    """When the next message may go to a chat (one a second, a group one in three), whichever process sends it.

    Rows are kept a minute past that time, then deleted: nothing here outlives the limit it keeps.
    """

    __tablename__ = "flood_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    free_at: Mapped[float] = mapped_column(Float)


class FloodTurn(Base):
    """An outbox turn booked on the shared flood limit and not yet started: a reply may take it over, moving it and
    every later one on (db/flood_limit.py). Its sender deletes it as it starts, recording it as the lane's last
    started; one left by a process that died goes a minute on."""

    __tablename__ = "flood_turns"
    __table_args__ = (Index("ix_flood_turns_lane_at", "lane", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    lane: Mapped[str] = mapped_column(String(32))
    at: Mapped[float] = mapped_column(Float)  # seconds since the epoch on the database server's clock
    chat_id: Mapped[int] = mapped_column(BigInteger)


class WebhookUpdate(Base):
    """A Telegram update received by webhook and not yet handled: stored before Telegram is told 200, so an
    instance that dies loses none, and handled in update_id order per chat by whichever instance holds the chat.

    Deleted once handled; the update's id stays in processed_updates, which keeps it from being handled twice.
    """

    __tablename__ = "webhook_updates"
    __table_args__ = (Index("ix_webhook_updates_chat", "chat_key", "update_id"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_key: Mapped[int] = mapped_column(BigInteger)  # the chat's id, else the user's, else 0
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The instance that began handling it; still set when found again, that instance died midway.
    started_by: Mapped[str | None] = mapped_column(String(64))


class StoreConnectionStatus(StrEnum):
    ACTIVE = "active"
    FAILING = "failing"  # the last call to the store failed; retried
    DISCONNECTED = "disconnected"  # the shop asked to be forgotten (shop/redact) or the merchant disconnected


class StoreConnection(Base):
    """A shop's online store (Shopify, WooCommerce) the bot keeps in step with, both ways."""

    __tablename__ = "store_connections"
    __table_args__ = (UniqueConstraint("platform", "shop", name="uq_store_connections_platform_shop"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(24))
    shop: Mapped[str] = mapped_column(String(300))  # the shop's domain or base URL
    credentials: Mapped[dict[str, Any]] = mapped_column(JSON)  # secret: never logged, never shown
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)  # the merchant's choices, e.g. refunds_by_hand
    status: Mapped[StoreConnectionStatus] = mapped_column(
        _enum(StoreConnectionStatus, "store_connection_status"), default=StoreConnectionStatus.ACTIVE
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_webhook_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # reconciled up to here
    # How far the event log has been turned into write-back jobs (the feed's cursor).
    fanned_out_transaction: Mapped[int] = mapped_column(BigInteger, default=0)
    fanned_out_event: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoreBackfill(Base):
    """How far a connection's first load of one resource (products, orders, stock) has got: resumable."""

    __tablename__ = "store_backfills"

    connection_id: Mapped[int] = mapped_column(ForeignKey("store_connections.id", ondelete="CASCADE"), primary_key=True)
    resource: Mapped[str] = mapped_column(String(24), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)  # the store's own, opaque; None: from the start
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    finished: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StoreLink(Base):
    """One of the store's ids (product, variant, inventory item, order, line item) and what it is here."""

    __tablename__ = "store_links"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "store_id", name="uq_store_links_store_id"),
        Index("ix_store_links_our_key", "connection_id", "kind", "our_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("store_connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    store_id: Mapped[str] = mapped_column(String(64))  # text: the stores' ids exceed 32 bits
    our_key: Mapped[str] = mapped_column(String(64))  # SKU, order number, or our line id
    store_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the newest version applied
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what write-back needs


class StoreWebhookStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"  # older than what was applied already (out of order)
    FAILED = "failed"  # gave up after retrying


class StoreWebhook(Base):
    """A webhook the store sent, verified and queued to be applied; its key keeps a retried delivery out."""

    __tablename__ = "store_webhooks"
    __table_args__ = (
        UniqueConstraint("connection_id", "delivery_key", name="uq_store_webhooks_delivery"),
        Index("ix_store_webhooks_due", "status", "next_attempt_at"),
        Index("ix_store_webhooks_resource", "connection_id", "resource_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("store_connections.id", ondelete="CASCADE"))
    delivery_key: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    resource_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # cleared once applied: it holds personal data
    status: Mapped[StoreWebhookStatus] = mapped_column(
        _enum(StoreWebhookStatus, "store_webhook_status"), default=StoreWebhookStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StoreWriteBackStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    BY_HAND = "by_hand"  # tagged and noted on the store order; the merchant refunds by hand
    FAILED = "failed"  # gave up after retrying for two days


class StoreWriteBack(Base):
    """A change made here (a cancel, a swap) on its way to the store order; retried until the store has it."""

    __tablename__ = "store_write_backs"
    __table_args__ = (
        UniqueConstraint("connection_id", "event_id", name="uq_store_write_backs_event"),
        Index("ix_store_write_backs_due", "status", "next_attempt_at"),
        Index("ix_store_write_backs_order", "connection_id", "order_number", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("store_connections.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    kind: Mapped[str] = mapped_column(String(24))
    order_number: Mapped[str] = mapped_column(String(64))
    status: Mapped[StoreWriteBackStatus] = mapped_column(
        _enum(StoreWriteBackStatus, "store_write_back_status"), default=StoreWriteBackStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    steps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # done in the store already
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
