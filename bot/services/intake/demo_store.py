"""A realistic demo shop: products, customers, two months of orders, the supplier shipments they wait on, and
the suppliers with half a year of deliveries behind them.

Everything is generated from one seed and placed relative to the clock, so the same day gives the same
shop. A handful of named customers (DEMO_CUSTOMERS) have hand-made orders that show each part of the bot;
the README lists them.
"""

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from bot.services.audit import Actor, record
from bot.services.backorders.allocation import allocate_available_stock
from bot.services.backorders.eta import REASON_RECALCULATED, recompute_etas
from bot.services.errors import DemoNeedsEmptyShop
from bot.services.phone import normalise_phone
from bot.services.purchasing.supplier_record import refresh_eta_slips
from bot.services.unit_of_work import UnitOfWork
from db.models import (
    OPEN_LINE_STATUSES,
    Customer,
    EtaBasis,
    LineStatus,
    Order,
    OrderLine,
    Product,
    ProductSubstitute,
    PurchaseOrder,
    PurchaseOrderReceipt,
    PurchaseOrderStatus,
    Refund,
    RefundReason,
    RefundStatus,
    StockLevel,
    Supplier,
)

SEED = 42
CURRENCY = "EUR"
DEMO_ACTOR = Actor.merchant("demo")
RANDOM_ORDERS = 291  # with the nine scripted orders below, 300
RANDOM_CUSTOMERS = 115  # with the five demo customers, 120
HISTORY_DAYS = 60
# Items the shop keeps plenty of ship within a few days of the order; only the recent ones are still open.
WELL_STOCKED = 10
SHIPS_AFTER_DAYS = 3


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    category: str
    price: str
    lead_time_days: int
    tags: tuple[str, ...]
    stock: int  # units on hand before the open orders are served
    supply: tuple[tuple[str, int, int], ...] = ()  # open purchase orders: (reference, days from today, quantity)
    substitutes: tuple[str, ...] = ()
    popularity: int = 3  # weight in the generated orders; 0 = only in the demo customers' stories


# fmt: off
CATALOG: tuple[DemoProduct, ...] = (
    DemoProduct("AUD-HS-200", "Studio Pro Wireless Headset", "audio", "149.00", 28, ("headset", "wireless", "noise-cancelling"), 0, (("PO-2026-118", 9, 6),), ("AUD-HS-120",), 0),
    DemoProduct("AUD-HS-120", "Studio Wired Headset", "audio", "89.00", 14, ("headset", "wired"), 25, (), ("AUD-HS-200",)),
    DemoProduct("AUD-EB-300", "AirBeat ANC Earbuds", "audio", "129.00", 21, ("earbuds", "wireless", "noise-cancelling"), 2, (("PO-2026-124", 26, 20),), ("AUD-EB-150", "AUD-EB-220"), 0),
    DemoProduct("AUD-EB-150", "AirBeat Lite Earbuds", "audio", "79.00", 14, ("earbuds", "wireless"), 60, popularity=4),
    DemoProduct("AUD-EB-220", "SoundCore Sport Earbuds", "audio", "99.00", 14, ("earbuds", "wireless", "sport"), 30, popularity=2),
    DemoProduct("AUD-SP-400", "Boombox Outdoor Speaker", "audio", "119.00", 35, ("speaker", "bluetooth", "waterproof"), 3, (("PO-2026-120", 16, 10),)),
    DemoProduct("PHN-SM-128", "Nova S Smartphone 128 GB", "phones", "499.00", 30, ("smartphone", "5g"), 0, (("PO-2026-115", 12, 8), ("PO-2026-127", 40, 15)), ("PHN-SM-256",)),
    DemoProduct("PHN-SM-256", "Nova S Smartphone 256 GB", "phones", "559.00", 30, ("smartphone", "5g"), 6, (), ("PHN-SM-128",), 2),
    DemoProduct("PHN-CH-65", "USB-C Fast Charger 65 W", "phones", "34.90", 10, ("charger", "usb-c"), 120, popularity=6),
    DemoProduct("PHN-CS-NS", "Nova S Clear Case", "phones", "19.90", 10, ("case",), 80, popularity=5),
    DemoProduct("PHN-PB-20", "PowerBank 20,000 mAh", "phones", "44.90", 21, ("power bank", "usb-c"), 0),
    DemoProduct("PHN-SW-02", "Pulse Smartwatch 2", "phones", "199.00", 28, ("smartwatch", "fitness"), 4, (("PO-2026-121", 20, 12),), popularity=2),
    DemoProduct("KIT-MX-500", "ProMix Stand Mixer 5 L", "kitchen", "349.00", 42, ("mixer", "baking"), 0, (), ("KIT-MX-300",), 2),
    DemoProduct("KIT-MX-300", "ProMix Compact Stand Mixer 3.5 L", "kitchen", "249.00", 42, ("mixer", "baking"), 8, popularity=1),
    DemoProduct("KIT-ES-100", "Barista One Espresso Machine", "kitchen", "429.00", 35, ("espresso", "coffee"), 2, (("PO-2026-129", 6, 10),), popularity=2),
    DemoProduct("KIT-KT-17", "Glass Kettle 1.7 L", "kitchen", "39.90", 14, ("kettle",), 50, popularity=4),
    DemoProduct("KIT-KN-20", "Chef's Knife 20 cm", "kitchen", "59.00", 21, ("knife",), 25),
    DemoProduct("KIT-AF-55", "AirCrisp Air Fryer 5.5 L", "kitchen", "129.00", 21, ("air fryer",), 0, (("PO-2026-131", 3, 30),)),
    DemoProduct("OUT-TN-200", "TrailLite 2-Person Tent", "outdoor", "219.00", 49, ("tent", "camping", "lightweight"), 0, (), ("OUT-TN-300",), 2),
    DemoProduct("OUT-TN-300", "TrailLite 3-Person Tent", "outdoor", "249.00", 49, ("tent", "camping"), 12, popularity=1),
    DemoProduct("OUT-SB-05", "Down Sleeping Bag -5 °C", "outdoor", "149.00", 28, ("sleeping bag", "camping"), 12, popularity=2),
    DemoProduct("OUT-BP-40", "Summit Backpack 40 L", "outdoor", "99.00", 21, ("backpack", "hiking"), 20),
    DemoProduct("OUT-HL-400", "Headlamp 400 lm", "outdoor", "29.90", 14, ("headlamp", "camping"), 0, (("PO-2026-119", 8, 40),)),
    DemoProduct("OUT-ST-01", "Compact Camping Stove", "outdoor", "49.90", 21, ("stove", "camping"), 14, popularity=2),
    DemoProduct("TOY-BR-1000", "Brick Castle, 1000 pieces", "toys", "89.90", 28, ("building set", "8+"), 0, (("PO-2026-125", 34, 12),), ("TOY-BR-500",)),
    DemoProduct("TOY-BR-500", "Brick Farm, 500 pieces", "toys", "49.90", 28, ("building set", "6+"), 25),
    DemoProduct("TOY-RC-12", "Racer RC Car 1:12", "toys", "69.90", 35, ("rc car", "8+"), 4),
    DemoProduct("TOY-PZ-1000", "Alpine Lake Puzzle, 1000 pieces", "toys", "19.90", 14, ("puzzle",), 40, popularity=4),
    DemoProduct("TOY-PL-30", "Bruno the Plush Bear", "toys", "24.90", 14, ("plush",), 30),
    DemoProduct("TOY-BG-01", "Harbour Family Board Game", "toys", "34.90", 21, ("board game", "8+"), 0, (("PO-2026-130", 5, 15),)),
    DemoProduct("OFF-CH-900", "ErgoFlex Office Chair", "office", "329.00", 35, ("chair", "ergonomic"), 1, (("PO-2026-122", 18, 6),), popularity=2),
    DemoProduct("OFF-DK-120", "LiftDesk Standing Desk 120 cm", "office", "459.00", 42, ("desk", "standing"), 0, (("PO-2026-123", 23, 4),), ("OFF-DK-140",)),
    DemoProduct("OFF-DK-140", "LiftDesk Standing Desk 140 cm", "office", "499.00", 42, ("desk", "standing"), 3, (), ("OFF-DK-120",), 1),
    DemoProduct("OFF-MN-27", "ClearView 27\" 4K Monitor", "office", "299.00", 21, ("monitor", "4k"), 15),
    DemoProduct("OFF-KB-01", "Quiet Mechanical Keyboard", "office", "89.00", 14, ("keyboard",), 20),
    DemoProduct("OFF-LM-02", "LED Desk Lamp", "office", "39.90", 14, ("lamp", "led"), 35),
)
# fmt: on


@dataclass(frozen=True)
class DemoSupplier:
    """A supplier of some demo products, with the purchase orders it delivered in the last months."""

    name: str
    contact: str
    lead_time_days: int
    skus: tuple[str, ...]
    # Received in full, oldest first: (reference, SKU, days ago, days late against the last date, date moves).
    delivered: tuple[tuple[str, str, int, int, int], ...]


# Punctual, habitually late and getting later (Ben's earbuds), erratic, and one whose record is too short yet.
# fmt: off
SUPPLIERS: tuple[DemoSupplier, ...] = (
    DemoSupplier("Studio Sound GmbH", "orders@studiosound.example", 28, ("AUD-HS-200", "AUD-HS-120"), (
        ("PO-2026-061", "AUD-HS-200", 150, 0, 0), ("PO-2026-068", "AUD-HS-120", 128, -1, 0),
        ("PO-2026-074", "AUD-HS-200", 104, 0, 0), ("PO-2026-081", "AUD-HS-120", 80, 0, 0),
        ("PO-2026-088", "AUD-HS-200", 57, -2, 0), ("PO-2026-095", "AUD-HS-200", 33, 0, 0),
    )),
    DemoSupplier("Nordic Audio AB", "sales@nordic-audio.example", 21, ("AUD-EB-300", "AUD-EB-150", "AUD-EB-220", "AUD-SP-400"), (
        ("PO-2026-058", "AUD-EB-150", 160, 2, 0), ("PO-2026-064", "AUD-SP-400", 132, 2, 0),
        ("PO-2026-071", "AUD-EB-300", 110, 3, 0), ("PO-2026-079", "AUD-EB-220", 86, 4, 1),
        ("PO-2026-086", "AUD-EB-150", 60, 4, 0), ("PO-2026-093", "AUD-EB-300", 38, 3, 0),
    )),
    DemoSupplier("Alpen Outdoor", "service@alpen-outdoor.example", 35, ("OUT-TN-200", "OUT-TN-300", "OUT-SB-05", "OUT-BP-40", "OUT-HL-400", "OUT-ST-01"), (
        ("PO-2026-055", "OUT-HL-400", 170, -2, 0), ("PO-2026-062", "OUT-BP-40", 140, 6, 1),
        ("PO-2026-069", "OUT-TN-300", 115, 0, 0), ("PO-2026-076", "OUT-ST-01", 90, 9, 2),
        ("PO-2026-084", "OUT-HL-400", 64, 1, 0),
    )),  # and PO-2026-101, the sleeping bags David waited for
    DemoSupplier("Casa Cucina", "ordini@casacucina.example", 30, ("KIT-MX-500", "KIT-MX-300", "KIT-ES-100", "KIT-AF-55"), (
        ("PO-2026-090", "KIT-ES-100", 45, 0, 0), ("PO-2026-097", "KIT-AF-55", 20, -1, 0),
    )),
)
# fmt: on


@dataclass(frozen=True)
class DemoCustomer:
    """A named demo customer anyone can link in the chat (order number + e-mail, or phone)."""

    name: str
    email: str
    phone: str
    language: str
    order_numbers: tuple[str, ...]
    shows: str


DEMO_CUSTOMERS: tuple[DemoCustomer, ...] = (
    DemoCustomer(
        "Anna Klein", "anna@example.com", "+49 151 23456789", "de", ("1042",),
        "Studio Pro Wireless Headset backordered, 3rd of 4 in line, ETA confirmed by purchase order PO-2026-118"
        " (due in 9 days); the puzzle on the same order has shipped",
    ),
    DemoCustomer(
        "Ben Carter", "ben@example.com", "+44 20 7946 0321", "en", ("1043",),
        "order partly backordered: charger allocated, 1 of 2 AirBeat ANC Earbuds allocated and 1 waiting on"
        " PO-2026-124 (in 26 days) from a supplier running late, so the ETA allows 4 more days; two cheaper earbuds"
        " are in stock as alternatives",
    ),
    DemoCustomer(
        "Clara Schmidt", "clara@example.com", "+49 160 98765432", "de", ("1044",),
        "stand mixer and tent backordered with no supplier shipment: both ETAs estimated from lead times;"
        " a compact mixer and a 3-person tent are in stock as alternatives",
    ),
    DemoCustomer(
        "David Okafor", "david@example.com", "+44 20 7946 0456", "en", ("1045",),
        "shipped order: the sleeping bag waited 13 days for PO-2026-101, which arrived; both items shipped 3 days ago",
    ),
    DemoCustomer(
        "Emma Weber", "emma@example.com", "+49 171 2345678", "de", ("1046",),
        "cancelled the office chair yesterday (refund owed); the air fryer is due on PO-2026-131 in 3 days",
    ),
)
DEMO_MARKER_SKU = "AUD-HS-200"


@dataclass(frozen=True)
class DemoSummary:
    """What seeding did; `created` is False when the demo store was already there and nothing changed."""

    created: bool
    products: int = 0
    customers: int = 0
    orders: int = 0
    order_lines: int = 0
    waiting_lines: int = 0
    purchase_orders: int = 0
    suppliers: int = 0

    @property
    def try_as(self) -> str:
        anna = DEMO_CUSTOMERS[0]
        return f"{anna.email} with order {anna.order_numbers[0]}"


@dataclass
class _PlannedLine:
    sku: str
    quantity: int
    status: LineStatus = LineStatus.BACKORDERED  # waiting lines are served by the allocation afterwards
    resolved_at: datetime | None = None
    eta: date | None = None  # resolved lines that once waited keep the ETA they had
    eta_basis: EtaBasis | None = None
    eta_reference: str | None = None
    refund: RefundStatus | None = None


@dataclass
class _PlannedOrder:
    email: str
    placed_at: datetime
    lines: list[_PlannedLine]
    number: str | None = None  # generated orders are numbered by date afterwards


@dataclass
class _PlannedCustomer:
    name: str
    email: str
    phone: str | None
    language: str


@dataclass(frozen=True)
class _Delivered:
    """A purchase order received in full."""

    reference: str
    sku: str
    quantity: int
    expected_on: date  # the date last promised
    received_at: datetime
    date_moves: int = 0

    @property
    def first_expected_on(self) -> date:
        """Each move put the date back a week."""
        return self.expected_on - timedelta(weeks=self.date_moves)


@dataclass
class _Plan:
    customers: list[_PlannedCustomer] = field(default_factory=list)
    orders: list[_PlannedOrder] = field(default_factory=list)
    received: list[_Delivered] = field(default_factory=list)


async def seed_demo_store(uow: UnitOfWork) -> DemoSummary:
    """Load the demo store into an empty shop; if it is already loaded, change nothing and say so."""
    async with uow:
        session = uow.session
        if await _scalar(session, select(Product.id).where(Product.sku == DEMO_MARKER_SKU)) is not None:
            return DemoSummary(created=False)
        if await _scalar(session, select(func.count()).select_from(Product)) or await _scalar(
            session, select(func.count()).select_from(Customer)
        ):
            raise DemoNeedsEmptyShop()
        plan = _plan(uow.clock.now(), uow.clock.today(), random.Random(SEED))
        summary = await _write(uow, plan)
        await uow.commit()
    return summary


async def _scalar(session: AsyncSession, statement: Executable) -> Any:
    return (await session.execute(statement)).scalar()


# --- the plan (no database) --------------------------------------------------------------------------------


def _plan(now: datetime, today: date, rng: random.Random) -> _Plan:
    plan = _Plan()
    plan.customers += [
        _PlannedCustomer(c.name, c.email, normalise_phone(c.phone, "DE"), c.language) for c in DEMO_CUSTOMERS
    ]
    plan.customers += _generated_customers(rng)
    crowd = [customer.email for customer in plan.customers[len(DEMO_CUSTOMERS) :]]
    generated = _generated_orders(now, rng, crowd)
    generated += _queue_fillers(now, crowd)
    generated.sort(key=lambda order: order.placed_at)
    for number, order in enumerate(generated, start=2001):
        order.number = str(number)
    plan.orders = _demo_customer_orders(now, today) + generated
    plan.received = _supplier_history(now, today)
    plan.received.append(_Delivered("PO-2026-101", "OUT-SB-05", 20, today - timedelta(days=5), now - timedelta(days=4, hours=1)))
    return plan


def _supplier_history(now: datetime, today: date) -> list[_Delivered]:
    return [
        _Delivered(reference, sku, 10, today - timedelta(days=days_ago + late), now - timedelta(days=days_ago), moves)
        for supplier in SUPPLIERS
        for reference, sku, days_ago, late, moves in supplier.delivered
    ]


_FIRST_NAMES = {
    "de": ["Lukas", "Mia", "Jonas", "Lea", "Felix", "Hannah", "Paul", "Sophie", "Leon", "Marie", "Finn", "Lena",
           "Elias", "Laura", "Noah", "Julia", "Tim", "Katharina", "Jan", "Sarah", "Moritz", "Johanna", "Niklas",
           "Greta"],
    "en": ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Grace", "Charlie", "Freya", "Thomas",
           "Lily", "James", "Emily", "William", "Chloe", "Samuel", "Ella", "Daniel", "Ruby"],
}  # fmt: skip
_LAST_NAMES = {
    "de": ["Müller", "Schneider", "Fischer", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Richter",
           "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hartmann", "Lange", "Werner"],
    "en": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
           "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke"],
}  # fmt: skip


def _generated_customers(rng: random.Random) -> list[_PlannedCustomer]:
    customers: list[_PlannedCustomer] = []
    taken = {customer.email for customer in DEMO_CUSTOMERS}
    phones = {normalise_phone(customer.phone, "DE") for customer in DEMO_CUSTOMERS}
    while len(customers) < RANDOM_CUSTOMERS:
        language = "de" if rng.random() < 0.6 else "en"
        first, last = rng.choice(_FIRST_NAMES[language]), rng.choice(_LAST_NAMES[language])
        email = f"{_ascii(first)}.{_ascii(last)}@example.org"
        suffix = 2
        while email in taken:
            email, suffix = f"{_ascii(first)}.{_ascii(last)}{suffix}@example.org", suffix + 1
        taken.add(email)
        phone = _phone(rng, language, phones) if rng.random() < 0.6 else None
        customers.append(_PlannedCustomer(f"{first} {last}", email, phone, language))
    return customers


def _ascii(name: str) -> str:
    name = name.lower().replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("ß", "ss")
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def _phone(rng: random.Random, language: str, taken: set[str]) -> str:
    """A new valid number: German mobiles, or the UK's range reserved for drama (020 7946 0xxx)."""
    while True:
        if language == "de":
            raw = f"+49 1{rng.choice('567')}{rng.randint(0, 9)} {rng.randint(1000000, 9999999)}"
        else:
            raw = f"+44 20 7946 0{rng.randint(0, 999):03d}"
        try:
            phone = normalise_phone(raw, "DE")
        except ValueError:
            continue
        if phone not in taken:
            taken.add(phone)
            return phone


def _generated_orders(now: datetime, rng: random.Random, crowd: list[str]) -> list[_PlannedOrder]:
    """Two months of ordinary orders: most ship, some wait for stock, a few are cancelled."""
    products = [product for product in CATALOG if product.popularity]
    weights = [product.popularity for product in products]
    regulars = crowd[: len(crowd) // 3]  # a third of the customers order more often
    orders = []
    for _ in range(RANDOM_ORDERS):
        placed_at = now - timedelta(minutes=rng.randint(45, HISTORY_DAYS * 24 * 60))
        email = rng.choice(regulars) if rng.random() < 0.4 else rng.choice(crowd)
        size = rng.choices((1, 2, 3), weights=(60, 30, 10))[0]
        chosen: list[DemoProduct] = []
        while len(chosen) < size:
            product = rng.choices(products, weights=weights)[0]
            if product not in chosen:
                chosen.append(product)
        cancelled = now - placed_at > timedelta(days=2) and rng.random() < 0.04
        lines = []
        for product in chosen:
            quantity = rng.choices((1, 2, 3), weights=(82, 14, 4))[0]
            handled_at = placed_at + timedelta(hours=rng.randint(4, 40))
            if cancelled:
                line = _PlannedLine(product.sku, quantity, LineStatus.CANCELLED, handled_at, refund=RefundStatus.PAID)
            elif product.stock >= WELL_STOCKED and now - placed_at > timedelta(days=SHIPS_AFTER_DAYS):
                line = _PlannedLine(product.sku, quantity, LineStatus.SHIPPED, handled_at)
            else:
                line = _PlannedLine(product.sku, quantity)
            lines.append(line)
        orders.append(_PlannedOrder(email, placed_at, lines))
    return orders


def _queue_fillers(now: datetime, crowd: list[str]) -> list[_PlannedOrder]:
    """The other customers in the demo customers' queues, placed so each story holds."""
    return [
        _PlannedOrder(crowd[3], now - timedelta(days=12, hours=3), [_PlannedLine("AUD-HS-200", 1)]),
        _PlannedOrder(crowd[17], now - timedelta(days=8, hours=6), [_PlannedLine("AUD-HS-200", 2)]),
        _PlannedOrder(crowd[42], now - timedelta(days=2, hours=1), [_PlannedLine("AUD-HS-200", 1)]),
        _PlannedOrder(crowd[8], now - timedelta(days=9, hours=2), [_PlannedLine("AUD-EB-300", 1)]),
    ]


def _demo_customer_orders(now: datetime, today: date) -> list[_PlannedOrder]:
    """The demo customers' orders, as README's "Demo store" table describes them."""
    anna, ben, clara, david, emma = (customer.email for customer in DEMO_CUSTOMERS)

    def days(count: int, hours: int = 0) -> datetime:
        return now - timedelta(days=count, hours=hours)

    david_shipped = days(3, 2)
    return [
        _PlannedOrder(anna, days(5, 4), [
            _PlannedLine("AUD-HS-200", 1),
            _PlannedLine("TOY-PZ-1000", 1, LineStatus.SHIPPED, days(4)),
        ], "1042"),
        _PlannedOrder(ben, days(1, 5), [
            _PlannedLine("PHN-CH-65", 1),
            _PlannedLine("AUD-EB-300", 2),
        ], "1043"),
        _PlannedOrder(clara, days(6, 2), [
            _PlannedLine("KIT-MX-500", 1),
            _PlannedLine("OUT-TN-200", 1),
        ], "1044"),
        _PlannedOrder(david, days(16, 3), [
            _PlannedLine(
                "OUT-SB-05", 1, LineStatus.SHIPPED, david_shipped,
                eta=today - timedelta(days=3), eta_basis=EtaBasis.PURCHASE_ORDER, eta_reference="PO-2026-101",
            ),
            _PlannedLine("PHN-CH-65", 2, LineStatus.SHIPPED, david_shipped),
        ], "1045"),
        _PlannedOrder(emma, days(10, 5), [
            _PlannedLine(
                "OFF-CH-900", 1, LineStatus.CANCELLED, days(1, 3),
                eta=today + timedelta(days=30), eta_basis=EtaBasis.LEAD_TIME, refund=RefundStatus.OWED,
            ),
            _PlannedLine("KIT-AF-55", 1),
        ], "1046"),
    ]  # fmt: skip


# --- writing -----------------------------------------------------------------------------------------------


async def _write(uow: UnitOfWork, plan: _Plan) -> DemoSummary:
    session, now, today = uow.session, uow.clock.now(), uow.clock.today()
    suppliers = {
        demo.name: Supplier(
            name=demo.name,
            contact=demo.contact,
            lead_time_days=demo.lead_time_days,
            created_at=now - timedelta(days=365),
            updated_at=now - timedelta(days=365),
        )
        for demo in SUPPLIERS
    }
    session.add_all(suppliers.values())
    await session.flush()
    supplier_of = {sku: suppliers[demo.name].id for demo in SUPPLIERS for sku in demo.skus}
    products = {
        demo.sku: Product(
            sku=demo.sku,
            name=demo.name,
            category=demo.category,
            price_minor=_minor(demo.price),
            currency=CURRENCY,
            tags=list(demo.tags),
            lead_time_days=demo.lead_time_days,
            supplier_id=supplier_of.get(demo.sku),
            created_at=now - timedelta(days=HISTORY_DAYS + 30),
            updated_at=now - timedelta(days=HISTORY_DAYS + 30),
        )
        for demo in CATALOG
    }
    session.add_all(products.values())
    await session.flush()
    for demo in CATALOG:
        product = products[demo.sku]
        session.add(StockLevel(product_id=product.id, available=demo.stock, updated_at=now))
        session.add_all(
            ProductSubstitute(product_id=product.id, substitute_id=products[sku].id, rank=rank)
            for rank, sku in enumerate(demo.substitutes)
        )

    purchase_orders = _open_purchase_orders(products, now, today)
    for delivered in plan.received:
        product = products[delivered.sku]
        purchase_orders[delivered.reference] = PurchaseOrder(
            reference=delivered.reference,
            product_id=product.id,
            supplier_id=product.supplier_id,
            quantity=delivered.quantity,
            received_quantity=delivered.quantity,
            expected_on=delivered.expected_on,
            first_expected_on=delivered.first_expected_on,
            date_moves=delivered.date_moves,
            received_on=delivered.received_at.astimezone(uow.clock.tz).date(),
            status=PurchaseOrderStatus.RECEIVED,
            created_at=delivered.received_at - timedelta(days=product.lead_time_days),
            updated_at=delivered.received_at,
        )
    session.add_all(purchase_orders.values())

    customers = {
        planned.email: Customer(
            name=planned.name,
            email=planned.email,
            phone=planned.phone,
            language=planned.language,
            created_at=now - timedelta(days=HISTORY_DAYS + 1),
        )
        for planned in plan.customers
    }
    session.add_all(customers.values())
    await session.flush()

    lines = await _write_orders(session, plan.orders, customers, products, purchase_orders)
    for delivered in plan.received:
        session.add(
            PurchaseOrderReceipt(
                purchase_order_id=purchase_orders[delivered.reference].id,
                quantity=delivered.quantity,
                idempotency_key=None,
                ready_line_ids=[line.id for line, planned in lines if planned.eta_reference == delivered.reference],
                received_at=delivered.received_at,
            )
        )
    await session.flush()

    for product in products.values():
        await allocate_available_stock(session, uow.clock, DEMO_ACTOR, product.id)
    # Suppliers whose record says they run late get their slip before the ETAs are computed, as every day.
    await refresh_eta_slips(session, today, uow.policy.supplier_record)
    await recompute_etas(session, uow.clock, uow.policy, REASON_RECALCULATED)
    waiting = await _scalar(
        session, select(func.count()).select_from(OrderLine).where(OrderLine.status.in_(OPEN_LINE_STATUSES))
    )
    summary = DemoSummary(
        created=True,
        products=len(products),
        customers=len(customers),
        orders=len(plan.orders),
        order_lines=len(lines),
        waiting_lines=int(waiting or 0),
        purchase_orders=sum(po.status == PurchaseOrderStatus.OPEN for po in purchase_orders.values()),
        suppliers=len(suppliers),
    )
    record(
        session,
        DEMO_ACTOR,
        "demo_store.loaded",
        "shop",
        "demo",
        at=now,
        seed=SEED,
        products=summary.products,
        customers=summary.customers,
        orders=summary.orders,
    )
    return summary


def _open_purchase_orders(products: dict[str, Product], now: datetime, today: date) -> dict[str, PurchaseOrder]:
    return {
        reference: PurchaseOrder(
            reference=reference,
            product_id=products[demo.sku].id,
            supplier_id=products[demo.sku].supplier_id,
            quantity=quantity,
            received_quantity=0,
            expected_on=today + timedelta(days=days),
            first_expected_on=today + timedelta(days=days),
            status=PurchaseOrderStatus.OPEN,
            created_at=now - timedelta(days=14),
            updated_at=now - timedelta(days=14),
        )
        for demo in CATALOG
        for reference, days, quantity in demo.supply
    }


async def _write_orders(
    session: AsyncSession,
    planned_orders: list[_PlannedOrder],
    customers: dict[str, Customer],
    products: dict[str, Product],
    purchase_orders: dict[str, PurchaseOrder],
) -> list[tuple[OrderLine, _PlannedLine]]:
    orders = [
        Order(
            number=planned.number,
            customer_id=customers[planned.email].id,
            placed_at=planned.placed_at,
            currency=CURRENCY,
            created_at=planned.placed_at,
        )
        for planned in planned_orders
    ]
    session.add_all(orders)
    await session.flush()
    lines: list[tuple[OrderLine, _PlannedLine]] = []
    for order, planned_order in zip(orders, planned_orders, strict=True):
        for planned in planned_order.lines:
            product = products[planned.sku]
            resolved = planned.status in (LineStatus.SHIPPED, LineStatus.CANCELLED)
            line = OrderLine(
                order_id=order.id,
                product_id=product.id,
                quantity=planned.quantity,
                unit_price_minor=product.price_minor,
                status=planned.status,
                allocated_quantity=planned.quantity if planned.status == LineStatus.SHIPPED else 0,
                cancelled_quantity=planned.quantity if planned.status == LineStatus.CANCELLED else 0,
                substituted_quantity=0,
                queued_at=order.placed_at,
                eta=planned.eta,
                eta_basis=planned.eta_basis,
                eta_purchase_order_id=purchase_orders[planned.eta_reference].id if planned.eta_reference else None,
                resolved_at=planned.resolved_at,
                created_at=order.placed_at,
                updated_at=planned.resolved_at if resolved else order.placed_at,
            )
            session.add(line)
            lines.append((line, planned))
    await session.flush()
    for line, planned in lines:
        if planned.refund is not None:
            session.add(
                Refund(
                    line_id=line.id,
                    amount_minor=line.quantity * line.unit_price_minor,
                    currency=CURRENCY,
                    reason=RefundReason.CANCELLED,
                    status=planned.refund,
                    created_at=planned.resolved_at,
                )
            )
    return lines


def _minor(price: str) -> int:
    return int(Decimal(price) * 100)
