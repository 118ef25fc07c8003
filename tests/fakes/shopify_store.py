"""A fake Shopify store for the tests, speaking the GraphQL Admin API's documented wire format: the access token
header, cost-based throttling (a leaky bucket reported in extensions.cost.throttleStatus, THROTTLED errors),
bulk operations whose result is a JSONL file with nested objects on lines of their own (__parentId, children
after every parent, since Shopify promises no order), order editing, refundCreate with the @idempotent key, and
webhooks signed as Shopify signs them, and tax as Shopify charges it (taxLines on every line, added on top where the
shop's prices exclude tax; refunds beyond what was paid refused). Payloads start from tests/fixtures/shopify/.

Operations are told apart by their operation name (the adapter names every one) and read from their variables;
it is a fake of the answers, not a GraphQL server.
"""

import base64
import copy
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.webhook_receiver import serving_in_thread

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"
ALL_SCOPES = ("read_products", "read_inventory", "write_orders", "write_order_edits", "read_customers")
BIG_ID = 5_720_000_000_000  # Shopify's ids pass 32 bits
LOCATION_ID = 24826418  # the shop's one location (inventory_levels_update.json's)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def _num(gid: str) -> int:
    return int(str(gid).rsplit("/", 1)[-1])


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Variant:
    id: int
    product_id: int
    product_title: str
    title: str
    sku: str
    price: str
    inventory_item_id: int
    available: int
    tracked: bool = True
    product_type: str = "audio"
    updated_at: datetime | None = None  # its product's last change; None: long ago
    vendor: str = "Acme"  # Shopify's default is the shop's own name; products/update's example says Acme


@dataclass
class LineItem:
    id: int
    variant_id: int
    sku: str
    quantity: int  # as ordered
    current_quantity: int
    price: str
    fulfilled: int = 0
    discount_per_unit: str = "0.00"
    tax: Decimal = Decimal("0.00")  # of the line as ordered, after discounts and before returns (taxLines' priceSet)


@dataclass
class FakeOrder:
    id: int
    name: str
    email: str | None
    first_name: str
    last_name: str
    phone: str | None
    locale: str
    currency: str
    created_at: datetime
    updated_at: datetime
    line_items: list[LineItem]
    cancelled_at: datetime | None = None
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    transaction_id: int = 0
    edits: int = 0
    paid: Decimal = Decimal("0.00")  # the sale transaction

    @property
    def open(self) -> bool:
        return self.cancelled_at is None and any(line.current_quantity > line.fulfilled for line in self.line_items)


@dataclass
class FakeShopify:
    """The store's state, its faults, and what the connector asked of it."""

    shop: str = "backorder-demo.myshopify.com"
    token: str = "shpat_good"
    client_secret: str = "shpss_secret"
    scopes: tuple[str, ...] = ALL_SCOPES
    currency: str = "EUR"
    # Tax as Shopify charges it: one rate on every line; prices with tax in them (taxesIncluded) or tax on top.
    tax_rate: Decimal | None = None
    taxes_included: bool = True
    bucket_size: float = 2000.0
    restore_rate: float = 100.0
    variants: dict[int, Variant] = field(default_factory=dict)
    orders: dict[int, FakeOrder] = field(default_factory=dict)
    subscriptions: list[dict[str, str]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # HTTP statuses to answer the next calls with
    throttle_next: int = 0  # answer this many next calls THROTTLED
    down: bool = False  # answer every call 503 until back up
    url: str = ""
    calls: list[str] = field(default_factory=list)  # operation names, in order
    throttled: int = 0
    idempotent_refunds: dict[str, int] = field(default_factory=dict)
    bulk_operations: dict[int, dict[str, Any]] = field(default_factory=dict)
    _available: float = 2000.0
    _last: float = field(default_factory=time.monotonic)
    _ids: Any = field(default_factory=lambda: itertools.count(BIG_ID + 1))
    _calculated: dict[int, dict[str, Any]] = field(default_factory=dict)

    # Building the store

    def next_id(self) -> int:
        return next(self._ids)

    def add_variant(self, sku: str, title: str, price: str, available: int, *, tracked: bool = True, product_type: str = "audio") -> Variant:
        product_id = self.next_id()
        variant = Variant(self.next_id(), product_id, title, "Default Title", sku, price, self.next_id(), available, tracked, product_type)
        self.variants[variant.id] = variant
        return variant

    def variant_by_sku(self, sku: str) -> Variant:
        return next(variant for variant in self.variants.values() if variant.sku == sku)

    def add_order(
        self, number: int, email: str | None, lines: list[tuple[str, int]], *, placed_at: datetime, name: str = "Anna Klein",
        locale: str = "de-DE", phone: str | None = "+4915123456789", fulfilled: dict[str, int] | None = None,
    ) -> FakeOrder:
        """An order as a checkout makes it: stock committed ("continue selling when out of stock")."""
        items = []
        for sku, quantity in lines:
            variant = self.variant_by_sku(sku)
            items.append(LineItem(self.next_id(), variant.id, sku, quantity, quantity, variant.price, (fulfilled or {}).get(sku, 0),
                                  tax=self.line_tax(Decimal(variant.price), quantity)))
            if variant.tracked:
                variant.available -= quantity
        first, _, last = name.partition(" ")
        order = FakeOrder(self.next_id(), f"#{number}", email, first, last, phone, locale, self.currency, placed_at, placed_at, items,
                          transaction_id=self.next_id())
        order.paid = self.total(order)
        self.orders[order.id] = order
        return order

    # Money, as Shopify counts it

    def line_tax(self, unit_price: Decimal, quantity: int) -> Decimal:
        """A line's tax: on top of its price, or the part of its price that is tax; rounded per line."""
        if self.tax_rate is None:
            return Decimal("0.00")
        price = unit_price * quantity
        tax = price * self.tax_rate / (1 + self.tax_rate) if self.taxes_included else price * self.tax_rate
        return tax.quantize(Decimal("0.01"))

    def total(self, order: FakeOrder) -> Decimal:
        """What the order costs as it stands (current quantities), tax included."""
        total = Decimal("0.00")
        for line in order.line_items:
            price = Decimal(line.price) - Decimal(line.discount_per_unit)
            total += price * line.current_quantity
            if not self.taxes_included:
                total += self.line_tax(price, line.current_quantity)
        return total

    def refunded(self, order: FakeOrder) -> Decimal:
        return sum((Decimal(refund["amount"]) for refund in order.refunds), Decimal("0.00"))

    def balance(self, order: FakeOrder) -> Decimal:
        """What the shop still owes the customer (negative: what the customer owes), Shopify's net payment less the total."""
        return self.paid_net(order) - self.total(order)

    def paid_net(self, order: FakeOrder) -> Decimal:
        return order.paid - self.refunded(order)

    def _tax_lines(self, line: LineItem, rest: bool) -> list[dict[str, Any]]:
        """The line's taxLines (GraphQL) or tax_lines (REST), from the documented examples."""
        if self.tax_rate is None:
            return []
        amount = str(line.tax)
        if rest:
            template = fixture("orders_create.json")["line_items"][0]["tax_lines"][0]
            money = {"amount": amount, "currency_code": self.currency}
            return [{**template, "title": "VAT", "rate": float(self.tax_rate), "price": amount,
                     "price_set": {"shop_money": money, "presentment_money": money}}]
        template = fixture("tax_line.json")
        money = {"amount": amount, "currencyCode": self.currency}
        return [{**template, "title": "VAT", "rate": float(self.tax_rate), "ratePercentage": float(self.tax_rate * 100),
                 "priceSet": {"shopMoney": money, "presentmentMoney": money}}]

    def order_by_name(self, name: str) -> FakeOrder:
        return next(order for order in self.orders.values() if order.name == name)

    # Webhook payloads, from the documented examples

    def order_payload(self, order: FakeOrder) -> dict[str, Any]:
        payload = fixture("orders_create.json")
        template = payload["line_items"][0]
        payload.update(
            id=order.id, admin_graphql_api_id=_gid("Order", order.id), name=order.name, order_number=int(order.name[1:]),
            email=order.email, contact_email=order.email, phone=order.phone, created_at=_iso(order.created_at),
            updated_at=_iso(order.updated_at), cancelled_at=_iso(order.cancelled_at) if order.cancelled_at else None,
            currency=order.currency, customer_locale=order.locale, taxes_included=self.taxes_included,
            customer={**payload["customer"], "id": order.id + 7, "email": order.email, "first_name": order.first_name,
                      "last_name": order.last_name, "phone": order.phone},
            line_items=[
                {**template, "id": line.id, "admin_graphql_api_id": _gid("LineItem", line.id), "variant_id": line.variant_id,
                 "sku": line.sku, "name": line.sku, "title": line.sku, "quantity": line.quantity,
                 "current_quantity": line.current_quantity, "fulfillable_quantity": line.current_quantity - line.fulfilled,
                 "price": line.price, "discount_allocations": [], "tax_lines": self._tax_lines(line, rest=True)}
                for line in order.line_items
            ],
            fulfillments=copy.deepcopy(order.fulfillments),
        )
        return payload

    def product_payload(self, variant: Variant) -> dict[str, Any]:
        payload = fixture("products_update.json")
        template = payload["variants"][0]
        payload.update(id=variant.product_id, admin_graphql_api_id=_gid("Product", variant.product_id), title=variant.product_title,
                       product_type=variant.product_type, vendor=variant.vendor, updated_at=_iso(datetime.now(timezone.utc)))
        payload["variants"] = [{
            **template, "id": variant.id, "product_id": variant.product_id, "title": variant.title, "price": variant.price,
            "sku": variant.sku, "inventory_item_id": variant.inventory_item_id,
            "inventory_management": "shopify" if variant.tracked else None, "inventory_quantity": variant.available,
        }]
        return payload

    def inventory_payload(self, variant: Variant, at: datetime) -> dict[str, Any]:
        payload = fixture("inventory_levels_update.json")
        payload.update(inventory_item_id=variant.inventory_item_id, available=variant.available, updated_at=_iso(at))
        return payload

    def fulfil(self, order: FakeOrder, sku: str, quantity: int, tracking_number: str, at: datetime) -> dict[str, Any]:
        """Fulfil units of a line in the store; the fulfillments/create body."""
        line = next(line for line in order.line_items if line.sku == sku)
        line.fulfilled += quantity
        payload = fixture("fulfillments_create.json")
        payload.update(id=self.next_id(), order_id=order.id, created_at=_iso(at), updated_at=_iso(at), tracking_number=tracking_number,
                       tracking_numbers=[tracking_number], name=f"{order.name}.{len(order.fulfillments) + 1}",
                       line_items=[{"id": line.id, "variant_id": line.variant_id, "sku": sku, "quantity": quantity}])
        order.fulfillments.append(payload)
        order.updated_at = at
        return payload

    # Webhooks out

    async def send_webhook(
        self, target: str, topic: str, payload: dict[str, Any], *, secret: str | None = None, webhook_id: str | None = None,
        signature: str | None = None, triggered_at: datetime | None = None, raw: bytes | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """POST a webhook as Shopify does: the raw body signed, the topic, shop and delivery id in headers."""
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": self.shop,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Api-Version": "2026-01",
            "X-Shopify-Triggered-At": (triggered_at or datetime.now(timezone.utc)).isoformat(),
            "X-Shopify-Hmac-Sha256": signature if signature is not None else sign(body, secret or self.client_secret),
        }
        async with aiohttp.ClientSession() as session, session.post(target, data=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    # The API

    def _cost_answer(self, requested: float) -> dict[str, Any]:
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": requested, "throttleStatus": {
            "maximumAvailable": self.bucket_size, "currentlyAvailable": round(self._available), "restoreRate": self.restore_rate}}}

    def _refill(self) -> None:
        now = time.monotonic()
        self._available = min(self.bucket_size, self._available + (now - self._last) * self.restore_rate)
        self._last = now

    async def graphql(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Shopify-Access-Token") != self.token:
            return web.json_response({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, status=401)
        if self.down:
            return web.Response(status=503, text="Service Unavailable")
        if self.failures:
            status = self.failures.pop(0)
            return web.Response(status=status, text="failure", headers={"Retry-After": "0"} if status == 429 else {})
        body = await request.json()
        match = re.search(r"(query|mutation)\s+(\w+)", body["query"])
        name = match.group(2) if match else "anonymous"
        self.calls.append(name)
        cost = float(_COSTS.get(name, 10))
        self._refill()
        if self.throttle_next or self._available < cost:
            self.throttle_next = max(0, self.throttle_next - 1)
            self.throttled += 1
            answer = fixture("throttled.json")
            answer["extensions"] = self._cost_answer(cost)
            return web.json_response(answer)
        self._available -= cost
        data = getattr(self, "_op_" + name)(body.get("variables") or {}, body["query"])
        if isinstance(data, web.Response):
            return data
        return web.json_response({"data": data, "extensions": self._cost_answer(cost)})

    def _op_ShopCheck(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        return {"shop": {"name": "Backorder Demo", "myshopifyDomain": self.shop, "currencyCode": self.currency},
                "currentAppInstallation": {"accessScopes": [{"handle": scope} for scope in self.scopes]},
                "location": {"id": _gid("Location", LOCATION_ID), "name": "Warehouse"}}

    def _op_WebhookSubscriptions(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        return {"webhookSubscriptions": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": self.subscriptions}}

    def _op_WebhookSubscriptionCreate(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        if not variables["uri"].startswith("https://") and "127.0.0.1" not in variables["uri"]:
            return {"webhookSubscriptionCreate": {"webhookSubscription": None,
                                                  "userErrors": [{"field": ["webhookSubscription", "uri"], "message": "Address is invalid"}]}}
        node = {"id": _gid("WebhookSubscription", self.next_id()), "topic": variables["topic"], "uri": variables["uri"]}
        self.subscriptions.append(node)
        return {"webhookSubscriptionCreate": {"webhookSubscription": node, "userErrors": []}}

    def _variant_node(self, variant: Variant) -> dict[str, Any]:
        return {"id": _gid("ProductVariant", variant.id), "sku": variant.sku, "title": variant.title, "price": variant.price,
                "inventoryQuantity": variant.available,
                "inventoryItem": {"id": _gid("InventoryItem", variant.inventory_item_id), "tracked": variant.tracked},
                "product": {"id": _gid("Product", variant.product_id), "title": variant.product_title,
                            "productType": variant.product_type, "vendor": variant.vendor,
                            "updatedAt": _iso(variant.updated_at) if variant.updated_at else "2026-11-01T10:00:00Z"}}

    def _op_StockAtLocation(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        answer = self._op_ProductVariants(variables, query)
        here = _num(variables["location"]) == LOCATION_ID
        for node in answer["productVariants"]["nodes"]:
            variant = self.variants[_num(node["id"])]
            level = {"quantities": [{"name": "available", "quantity": variant.available}]} if here else None
            node["inventoryItem"] = {**node["inventoryItem"], "inventoryLevel": level}
        return answer

    def _op_ProductVariants(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        ordered = sorted(self.variants.values(), key=lambda variant: variant.id)
        start = int(variables.get("cursor") or 0)
        page = ordered[start : start + int(variables["first"])]
        end = start + len(page)
        return {"productVariants": {"pageInfo": {"hasNextPage": end < len(ordered), "endCursor": str(end)},
                                    "nodes": [self._variant_node(variant) for variant in page]},
                "productVariantsCount": {"count": len(ordered)}}

    def _op_VariantsUpdatedSince(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        since = datetime.fromisoformat(re.search(r"updated_at:>'([^']+)'", variables["query"]).group(1).replace("Z", "+00:00"))
        changed = sorted((v for v in self.variants.values() if v.updated_at and v.updated_at > since), key=lambda v: v.id)
        start = int(variables.get("cursor") or 0)
        page = changed[start : start + int(variables["first"])]
        end = start + len(page)
        return {"productVariants": {"pageInfo": {"hasNextPage": end < len(changed), "endCursor": str(end)},
                                    "nodes": [self._variant_node(variant) for variant in page]}}

    def _order_node(self, order: FakeOrder) -> dict[str, Any]:
        return {"__typename": "Order", "id": _gid("Order", order.id), "name": order.name, "createdAt": _iso(order.created_at),
                "updatedAt": _iso(order.updated_at), "cancelledAt": _iso(order.cancelled_at) if order.cancelled_at else None,
                "email": order.email, "phone": order.phone, "customerLocale": order.locale, "currencyCode": order.currency,
                "taxesIncluded": self.taxes_included,
                "customer": {"firstName": order.first_name, "lastName": order.last_name,
                             "displayName": f"{order.first_name} {order.last_name}", "phone": order.phone},
                "fulfillments": [{"id": _gid("Fulfillment", fulfillment["id"])} for fulfillment in order.fulfillments]}

    def _line_node(self, line: LineItem, order: FakeOrder) -> dict[str, Any]:
        return {"__typename": "LineItem", "id": _gid("LineItem", line.id), "sku": line.sku, "quantity": line.quantity,
                "currentQuantity": line.current_quantity, "unfulfilledQuantity": line.current_quantity - line.fulfilled,
                "originalUnitPriceSet": {"shopMoney": {"amount": line.price}},
                "discountedUnitPriceAfterAllDiscountsSet": {"shopMoney": {"amount": line.price}},
                "taxLines": self._tax_lines(line, rest=False),
                "variant": {"id": _gid("ProductVariant", line.variant_id)}, "__parentId": _gid("Order", order.id)}

    def _op_BulkOperationRunQuery(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        if any(operation["status"] == "RUNNING" for operation in self.bulk_operations.values()):
            return {"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": [
                {"field": None, "message": "A bulk query operation for this app and shop is already in progress"}]}}
        if "orders(" not in variables["query"]:
            raise AssertionError("the fake runs bulk queries of orders only")
        operation_id = self.next_id()
        open_orders = [order for order in self.orders.values() if order.open]
        # Parents first, then every child: Shopify promises no order of lines, so neither does the fake.
        lines = [json.dumps(self._order_node(order)) for order in open_orders]
        lines += [json.dumps(self._line_node(line, order)) for order in open_orders for line in order.line_items]
        self.bulk_operations[operation_id] = {"status": "RUNNING", "polls": 0, "jsonl": "\n".join(lines) + ("\n" if lines else ""),
                                              "count": len(lines)}
        return {"bulkOperationRunQuery": {"bulkOperation": {"id": _gid("BulkOperation", operation_id), "status": "CREATED"}, "userErrors": []}}

    def _op_BulkOperationStatus(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        operation_id = _num(variables["id"])
        operation = self.bulk_operations.get(operation_id)
        if operation is None:
            return {"node": None}
        operation["polls"] += 1
        if operation["status"] == "RUNNING" and operation["polls"] >= 2:
            operation["status"] = "COMPLETED"
        completed = operation["status"] == "COMPLETED"
        return {"node": {"id": variables["id"], "status": operation["status"], "errorCode": None, "objectCount": str(operation["count"]),
                         "url": f"{self.url}/bulk/{operation_id}.jsonl" if completed and operation["count"] else None,
                         "partialDataUrl": None}}

    async def bulk_file(self, request: web.Request) -> web.Response:
        if "X-Shopify-Access-Token" in request.headers:
            return web.Response(status=400, text="the signed URL takes no token")
        operation = self.bulk_operations.get(int(request.match_info["operation"]))
        if operation is None or operation["status"] != "COMPLETED":
            return web.Response(status=404)
        return web.Response(body=operation["jsonl"].encode(), content_type="application/jsonl")

    def _op_OrdersUpdatedSince(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        since = datetime.fromisoformat(re.search(r"updated_at:>'([^']+)'", variables["query"]).group(1).replace("Z", "+00:00"))
        found = sorted((order for order in self.orders.values() if order.updated_at > since), key=lambda order: order.updated_at)
        nodes = [{**self._order_node(order), "lineItems": {"nodes": [self._line_node(line, order) for line in order.line_items]}} for order in found]
        return {"orders": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": nodes}}

    def _op_OrderForWriteBack(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        order = self.orders.get(_num(variables["id"]))
        if order is None:
            return {"order": None}
        return {"order": {"id": _gid("Order", order.id), "note": order.note, "tags": order.tags,
                          "transactions": [{"id": _gid("OrderTransaction", order.transaction_id), "kind": "SALE", "status": "SUCCESS", "gateway": "shopify_payments"}],
                          "refunds": [{"id": _gid("Refund", refund["id"]), "note": refund["note"]} for refund in order.refunds]}}

    def _op_OrderEditBegin(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        order = self.orders[_num(variables["id"])]
        calculated_id = self.next_id()
        lines = {line.id: {"quantity": line.current_quantity, "variant_id": line.variant_id, "sku": line.sku} for line in order.line_items}
        self._calculated[calculated_id] = {"order": order.id, "lines": lines, "added": [], "discounts": {}}
        return {"orderEditBegin": {"calculatedOrder": {"id": _gid("CalculatedOrder", calculated_id), "lineItems": {"nodes": [
            {"id": _gid("CalculatedLineItem", line_id), "quantity": line["quantity"], "sku": line["sku"],
             "variant": {"id": _gid("ProductVariant", line["variant_id"])}} for line_id, line in lines.items()]}}, "userErrors": []}}

    def _op_OrderEditSetQuantity(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        edit = self._calculated[_num(variables["id"])]
        line_id = _num(variables["lineItemId"])
        order = self.orders[edit["order"]]
        fulfilled = next(line.fulfilled for line in order.line_items if line.id == line_id)
        if variables["quantity"] < fulfilled:
            return {"orderEditSetQuantity": {"calculatedLineItem": None, "userErrors": [
                {"field": ["quantity"], "message": "Quantity cannot be less than the fulfilled quantity"}]}}
        edit["lines"][line_id]["quantity"] = variables["quantity"]
        return {"orderEditSetQuantity": {"calculatedLineItem": {"id": variables["lineItemId"], "quantity": variables["quantity"]}, "userErrors": []}}

    def _op_OrderEditAddVariant(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        edit = self._calculated[_num(variables["id"])]
        variant = self.variants.get(_num(variables["variantId"]))
        if variant is None:
            return {"orderEditAddVariant": {"calculatedLineItem": None, "userErrors": [{"field": ["variantId"], "message": "Variant does not exist"}]}}
        added_id = self.next_id()
        edit["added"].append((added_id, variant.id, variables["quantity"]))
        return {"orderEditAddVariant": {"calculatedLineItem": {"id": _gid("CalculatedLineItem", added_id), "quantity": variables["quantity"]}, "userErrors": []}}

    def _op_OrderEditAddLineItemDiscount(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        edit = self._calculated[_num(variables["id"])]
        edit["discounts"][_num(variables["lineItemId"])] = variables["discount"]["fixedValue"]["amount"]
        return {"orderEditAddLineItemDiscount": {"calculatedLineItem": {"id": variables["lineItemId"]}, "userErrors": []}}

    def _op_OrderEditCommit(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        edit = self._calculated.pop(_num(variables["id"]))
        order = self.orders[edit["order"]]
        for line in order.line_items:
            removed = line.current_quantity - edit["lines"][line.id]["quantity"]
            line.current_quantity = edit["lines"][line.id]["quantity"]
            if removed > 0:  # restock: true
                self.variants[line.variant_id].available += removed
        for added_id, variant_id, quantity in edit["added"]:
            variant = self.variants[variant_id]
            price = Decimal(variant.price) - Decimal(edit["discounts"].get(added_id, "0"))
            order.line_items.append(LineItem(added_id, variant_id, variant.sku, quantity, quantity, str(variant.price),
                                             discount_per_unit=str(Decimal(variant.price) - price), tax=self.line_tax(price, quantity)))
            variant.available -= quantity
        order.edits += 1
        order.updated_at = datetime.now(timezone.utc)
        return {"orderEditCommit": {"order": {"id": _gid("Order", order.id)}, "userErrors": []}}

    def _op_RefundCreate(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        key = variables.get("key")
        if not key or "@idempotent" not in query:
            return web.json_response({"errors": [{"message": "The @idempotent directive is required for this mutation.",
                                                  "extensions": {"code": "BAD_REQUEST"}}]})  # type: ignore[return-value]
        if key in self.idempotent_refunds:
            return {"refundCreate": {"refund": {"id": _gid("Refund", self.idempotent_refunds[key])}, "userErrors": []}}
        payload = variables["input"]
        order = self.orders[_num(payload["orderId"])]
        refund_id = self.next_id()
        amount = sum(Decimal(transaction["amount"]) for transaction in payload["transactions"])
        if amount > self.paid_net(order):
            return {"refundCreate": {"refund": None, "userErrors": [
                {"field": ["transactions", "0", "amount"], "message": "Amount cannot be greater than the refundable amount"}]}}
        order.refunds.append({"id": refund_id, "note": payload.get("note"), "amount": str(amount)})
        self.idempotent_refunds[key] = refund_id
        return {"refundCreate": {"refund": {"id": _gid("Refund", refund_id)}, "userErrors": []}}

    def _op_OrderNote(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        order = self.orders[_num(variables["input"]["id"])]
        order.note = variables["input"]["note"]
        return {"orderUpdate": {"order": {"id": _gid("Order", order.id), "note": order.note}, "userErrors": []}}

    def _op_TagsAdd(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        order = self.orders[_num(variables["id"])]
        order.tags = sorted(set(order.tags) | set(variables["tags"]))
        return {"tagsAdd": {"node": {"id": variables["id"]}, "userErrors": []}}


# Requested costs, roughly as Shopify's calculator would put them (connections: `first` × the node's cost).
_COSTS = {
    "ShopCheck": 3, "WebhookSubscriptions": 12, "WebhookSubscriptionCreate": 10, "ProductVariants": 252, "StockAtLocation": 502,
    "BulkOperationRunQuery": 10, "BulkOperationStatus": 1, "OrdersUpdatedSince": 400, "OrderForWriteBack": 20,
    "OrderEditBegin": 10, "OrderEditSetQuantity": 10, "OrderEditAddVariant": 10, "OrderEditAddLineItemDiscount": 10,
    "OrderEditCommit": 10, "RefundCreate": 10, "OrderNote": 10, "TagsAdd": 10,
}


async def running_shopify(store: FakeShopify) -> AsyncIterator[FakeShopify]:
    app = web.Application()
    app.router.add_post("/admin/api/{version}/graphql.json", store.graphql)
    app.router.add_get("/bulk/{operation}.jsonl", store.bulk_file)
    store._available = store.bucket_size
    async with TestServer(app) as server:
        store.url = str(server.make_url("")).rstrip("/")
        yield store


def days_ago(now: datetime, days: int, hours: int = 0) -> datetime:
    return now - timedelta(days=days, hours=hours)



@contextmanager
def shopify_in_thread(store: FakeShopify) -> Iterator[FakeShopify]:
    """The fake on a loop of its own, for tests that run the command (which runs its own loop)."""
    with serving_in_thread(running_shopify(store)) as running:
        yield running
