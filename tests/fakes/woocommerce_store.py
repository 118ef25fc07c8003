"""A fake WooCommerce store speaking REST API v3 (`/wp-json/wc/v3`) and sending webhooks, for the tests.

Built from WooCommerce's REST API documentation (woocommerce-rest-api-docs, wp-api-v3) and the behaviour of its
core that the connector depends on; every resource starts as a documented example from tests/fixtures/woocommerce/:

- Auth: consumer key and secret over HTTP Basic auth, or as `consumer_key`/`consumer_secret` query parameters.
  A wrong key or secret is 401 `woocommerce_rest_authentication_error`; a read-only key writing is 401 too.
- Errors are `{"code", "message", "data": {"status"}}`; an unknown route is 404 `rest_no_route`.
- Lists page with `page`/`per_page` (at most 100) and say `X-WP-Total` and `X-WP-TotalPages`.
- Checkout reduces managed stock, into the negative where backorders are allowed; with `backorders: "notify"` the
  line item gets the meta `Backordered` (the quantity not in stock), as `wc_reduce_stock_levels` writes it.
  A variable product that manages stock counts for its variations without their own (`manage_stock: "parent"`,
  showing the product's count and backorders setting), and checkout reduces the product's count.
- Order update (`PUT`): a line item given with `quantity: 0` is removed, one without `id` is added; meta merges.
- Webhooks: creating one sends the unsigned, form-encoded `webhook_id=N` ping. Deliveries are WordPress's JSON
  (`\\/` for `/`, `\\uXXXX` for non-ASCII), signed with base64 HMAC-SHA256 of those bytes, with the
  `X-WC-Webhook-*` headers; the delivery id is derived from the webhook id and the current second, so it is not
  unique. A failed delivery is not retried; a failure finding more than five counted in a row disables the
  webhook, the seventh (WC_Webhook::failed_delivery; the documentation says "after 5").

Failure modes for the tests: `fail_next(status, ...)` scripts answers (429 with Retry-After, 5xx), `outage`
answers every request with 503, `delay` holds every answer.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from aiohttp.test_utils import TestServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "woocommerce"
PREFIX = "/wp-json/wc/v3"
MAX_WEBHOOK_FAILURES = 5
_NO_ORDER = "woocommerce_rest_shop_order_invalid_id"
JSON = dict[str, Any]


def fixture(name: str) -> JSON:
    """A documented example payload, fresh each time."""
    loaded: JSON = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded


def wordpress_json(payload: Any) -> bytes:
    """JSON as `wp_json_encode` writes it: compact, non-ASCII as \\uXXXX and `/` escaped as `\\/`."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _gmt(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _money(amount: float | int) -> str:
    return f"{amount:.2f}"


@dataclass
class ScriptedFault:
    status: int
    times: int
    path_contains: str = ""
    method: str | None = None
    retry_after: int | None = None


@dataclass
class Delivery:
    """One webhook delivery the store attempted, and what the receiver answered (None: no answer)."""

    webhook_id: int
    topic: str
    body: bytes
    headers: dict[str, str]
    status: int | None


@dataclass
class FakeWooCommerce:
    """The store's data, its REST API and its webhook sender. `now` is the store's clock."""

    key: str = "ck_" + "a1" * 20
    secret: str = "cs_" + "b2" * 20
    read_only_key: str = "ck_" + "c3" * 20
    read_only_secret: str = "cs_" + "d4" * 20
    currency: str = "EUR"
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    products: dict[int, JSON] = field(default_factory=dict)
    variations: dict[int, JSON] = field(default_factory=dict)
    orders: dict[int, JSON] = field(default_factory=dict)
    refunds: dict[int, list[JSON]] = field(default_factory=dict)
    notes: dict[int, list[JSON]] = field(default_factory=dict)
    webhooks: dict[int, JSON] = field(default_factory=dict)
    webhook_secrets: dict[int, str] = field(default_factory=dict)
    webhook_failures: dict[int, int] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    pings: list[tuple[int, int | None]] = field(default_factory=list)  # (webhook id, receiver's status)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path with query) as received
    faults: list[ScriptedFault] = field(default_factory=list)
    outage: bool = False
    delay: float = 0.0
    base_url: str = ""
    _next_id: int = 1000
    _server: TestServer | None = None
    _client: ClientSession | None = None

    # --- the store's own life: catalogue, checkout, edits in the admin ---------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_product(
        self,
        sku: str,
        name: str,
        price: str,
        *,
        stock: int | None = None,
        backorders: str = "no",
        category: str = "Clothing",
    ) -> JSON:
        """A simple product; `stock` None leaves stock unmanaged."""
        product = fixture("product_simple.json")
        product_id = self._new_id()
        self._stamp(product, product_id, f"products/{product_id}")
        product.update(name=name, slug=sku.lower(), sku=sku, price=price, regular_price=price, related_ids=[])
        product["categories"] = [{"id": 9, "name": category, "slug": category.lower()}]
        self._set_stock(product, stock, backorders)
        self.products[product_id] = product
        return product

    def add_variable_product(
        self, name: str, variants: list[tuple[str, str, int | None, str]], *, stock: int | None = None,
        backorders: str = "no",
    ) -> JSON:
        """A variable product with variations given as (sku, price, stock or None, backorders). With `stock`, the
        product manages stock ("Manage stock" on the product): variations given no stock of their own share its
        count (`manage_stock: "parent"`), and its backorders setting."""
        product = fixture("product_variable.json")
        product_id = self._new_id()
        self._stamp(product, product_id, f"products/{product_id}")
        product.update(name=name, slug=name.lower().replace(" ", "-"), related_ids=[], variations=[])
        self.products[product_id] = product
        for sku, price, own_stock, own_backorders in variants:
            variation = fixture("variation.json")
            variation_id = self._new_id()
            self._stamp(variation, variation_id, f"products/{product_id}/variations/{variation_id}")
            variation.update(sku=sku, price=price, regular_price=price, parent_id=product_id)
            variation["attributes"] = [{"id": 0, "name": "Size", "option": sku.rsplit("-", 1)[-1]}]
            self._set_stock(variation, own_stock, own_backorders)
            self.variations[variation_id] = variation
            product["variations"].append(variation_id)
        if stock is not None:
            self._set_stock(product, stock, backorders)
        return product

    def set_product_stock(self, product_id: int, stock: int) -> JSON:
        """The stock a variable product keeps for its variations, edited in the admin."""
        product = self.products[product_id]
        self._set_stock(product, stock, product["backorders"])
        self._touch(product)
        return product

    def set_stock(self, sku: str, stock: int) -> JSON:
        item = self.by_sku(sku)
        self._set_stock(item, stock, item["backorders"])
        self._touch(item)
        return item

    def by_sku(self, sku: str) -> JSON:
        for item in [*self.products.values(), *self.variations.values()]:
            if item["sku"] == sku:
                return item
        raise KeyError(sku)

    def order_by_number(self, number: str) -> JSON:
        return next(order for order in self.orders.values() if order["number"] == number)

    def webhook_id(self, topic: str) -> int:
        """The id of the store's webhook for `topic` (the bot registers one a topic)."""
        return next(webhook_id for webhook_id, webhook in self.webhooks.items() if webhook["topic"] == topic)

    def place_order(
        self,
        lines: list[tuple[str, int]],
        *,
        email: str = "john.doe@example.com",
        first_name: str = "John",
        last_name: str = "Doe",
        phone: str = "(555) 555-5555",
        country: str = "US",
        status: str = "processing",
        number: str | None = None,
        created: datetime | None = None,
    ) -> JSON:
        """An order as checkout makes it: stock reduced, backordered quantities marked on the line items."""
        order = fixture("order.json")
        order_id = self._new_id()
        self._stamp(order, order_id, f"orders/{order_id}", created)
        order.update(number=number or str(order_id), status=status, currency=self.currency, order_key=f"wc_order_{order_id}")
        order["billing"].update(email=email, first_name=first_name, last_name=last_name, phone=phone, country=country)
        order["shipping"].update(first_name=first_name, last_name=last_name, country=country)
        order["line_items"] = [self._line_item(sku, quantity) for sku, quantity in lines]
        order["tax_lines"] = []
        order["shipping_lines"] = []
        self._total(order)
        self.orders[order_id] = order
        self.refunds[order_id] = []
        self.notes[order_id] = []
        return order

    def _line_item(self, sku: str, quantity: int, price: str | None = None) -> JSON:
        item = self.by_sku(sku)
        unit = float(price if price is not None else item["price"])
        product_id = item["parent_id"] if item["id"] in self.variations else item["id"]
        line: JSON = {
            "id": self._new_id(),
            "name": self.products[product_id]["name"],
            "product_id": product_id,
            "variation_id": item["id"] if item["id"] in self.variations else 0,
            "quantity": quantity,
            "tax_class": "",
            "subtotal": _money(unit * quantity),
            "subtotal_tax": "0.00",
            "total": _money(unit * quantity),
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": [],
            "sku": sku,
            "price": unit,
        }
        counted = self.products[product_id] if item["manage_stock"] == "parent" else item
        if counted["manage_stock"] is True:
            stock = counted["stock_quantity"]
            short = quantity - max(0, stock)
            if short > 0 and counted["backorders"] == "notify":
                line["meta_data"].append(
                    {"id": self._new_id(), "key": "Backordered", "value": short, "display_key": "Backordered",
                     "display_value": str(short)}
                )
            self._set_stock(counted, stock - quantity, counted["backorders"])
        return line

    def edit_order(self, order_id: int, **changes: Any) -> JSON:
        """A change made in the store's admin (status, billing...)."""
        order = self.orders[order_id]
        for key, value in changes.items():
            if isinstance(value, dict):
                order[key].update(value)
            else:
                order[key] = value
        self._total(order)
        self._touch(order)
        return order

    def _set_stock(self, item: JSON, stock: int | None, backorders: str) -> None:
        managed = stock is not None
        item.update(manage_stock=managed, stock_quantity=stock, backorders=backorders,
                    backorders_allowed=backorders != "no", backordered=managed and stock is not None and stock < 0)
        if not managed:
            item["stock_status"] = "instock"
        elif stock is not None and stock > 0:
            item["stock_status"] = "instock"
        else:
            item["stock_status"] = "onbackorder" if backorders != "no" else "outofstock"
        for variation_id in item.get("variations", ()) if item.get("type") == "variable" else ():
            # As WC_Product_Variation reads them: a variation without stock of its own shows its product's.
            variation = self.variations[variation_id]
            if variation["manage_stock"] is not True:
                variation.update(manage_stock="parent" if managed else False, stock_quantity=stock, backorders=backorders,
                                 backorders_allowed=item["backorders_allowed"], backordered=item["backordered"],
                                 stock_status=item["stock_status"])

    def _stamp(self, resource: JSON, resource_id: int, path: str, created: datetime | None = None) -> None:
        now = created or self.now()
        resource.update(id=resource_id, date_created=_gmt(now), date_created_gmt=_gmt(now), date_modified=_gmt(now),
                        date_modified_gmt=_gmt(now))
        resource["_links"] = {"self": [{"href": f"https://example.com{PREFIX}/{path}"}]}

    def _touch(self, resource: JSON) -> None:
        now = self.now()
        # WooCommerce keeps second precision; a change within the same second keeps the same date_modified.
        resource.update(date_modified=_gmt(now), date_modified_gmt=_gmt(now))

    def _total(self, order: JSON) -> None:
        lines = sum(float(line["total"]) + float(line["total_tax"]) for line in order["line_items"])
        order["total"] = _money(lines)

    # --- webhooks the store sends ---------------------------------------------------------------------------

    async def fire(self, topic: str, resource_id: int) -> list[Delivery]:
        """Deliver `topic` about a resource to every active webhook of that topic, once, without retrying."""
        resource, event = topic.split(".")
        if event == "deleted":
            payload: JSON = {"id": resource_id}
        elif resource == "order":
            payload = self.orders[resource_id]
        else:
            payload = self.products[resource_id]
        sent = []
        for webhook_id, webhook in sorted(self.webhooks.items()):
            if webhook["topic"] == topic and webhook["status"] == "active":
                sent.append(await self.deliver(webhook_id, payload))
        return sent

    async def deliver(
        self, webhook_id: int, payload: JSON, *, body: bytes | None = None, tamper: Callable[[bytes], bytes] | None = None
    ) -> Delivery:
        """One delivery of `payload` (or exactly `body`) to a webhook, counted towards disabling it if it fails.

        `tamper` changes the bytes after they were signed, as someone in between would."""
        webhook = self.webhooks[webhook_id]
        raw = body if body is not None else wordpress_json(payload)
        topic = webhook["topic"]
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
            "X-WC-Webhook-Source": "https://example.com/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": webhook["resource"],
            "X-WC-Webhook-Event": webhook["event"],
            "X-WC-Webhook-Signature": signature(self.webhook_secrets[webhook_id], raw),
            "X-WC-Webhook-ID": str(webhook_id),
            "X-WC-Webhook-Delivery-ID": self.delivery_id(webhook_id),
        }
        if tamper is not None:
            raw = tamper(raw)
        status = await self._post(webhook["delivery_url"], raw, headers)
        delivery = Delivery(webhook_id, topic, raw, headers, status)
        self.deliveries.append(delivery)
        # As WC_Webhook::log_delivery and failed_delivery: 2xx, 301 and 302 succeed; a failure finding more than
        # five counted already disables the webhook (the seventh in a row), else it is counted.
        if status is not None and 200 <= status < 303:
            self.webhook_failures[webhook_id] = 0
        elif self.webhook_failures.get(webhook_id, 0) > MAX_WEBHOOK_FAILURES:
            webhook["status"] = "disabled"
        else:
            self.webhook_failures[webhook_id] = self.webhook_failures.get(webhook_id, 0) + 1
        return delivery

    def delivery_id(self, webhook_id: int) -> str:
        """As `WC_Webhook::get_new_delivery_id`: a hash of the webhook id and the current second."""
        second = int(self.now().timestamp())
        return hashlib.md5(f"{webhook_id}{second}".encode()).hexdigest()

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int | None:
        assert self._client is not None, "start the fake store first"
        try:
            async with self._client.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status
        except (TimeoutError, OSError):
            return None

    # --- the REST API ---------------------------------------------------------------------------------------

    async def start(self) -> "FakeWooCommerce":
        app = web.Application(middlewares=[self._middleware])
        routes = [
            ("GET", "", self._index),
            ("GET", "/data/currencies/current", self._current_currency),
            ("GET", "/products", self._list_products),
            ("GET", "/products/{id}", self._get_product),
            ("GET", "/products/{id}/variations", self._list_variations),
            ("GET", "/orders", self._list_orders),
            ("GET", "/orders/{id}", self._get_order),
            ("PUT", "/orders/{id}", self._update_order),
            ("GET", "/orders/{id}/refunds", self._list_refunds),
            ("POST", "/orders/{id}/refunds", self._create_refund),
            ("GET", "/orders/{id}/notes", self._list_notes),
            ("POST", "/orders/{id}/notes", self._create_note),
            ("GET", "/webhooks", self._list_webhooks),
            ("POST", "/webhooks", self._create_webhook),
            ("GET", "/webhooks/{id}", self._get_webhook),
            ("PUT", "/webhooks/{id}", self._update_webhook),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, PREFIX + path, handler)
        self._server = TestServer(app)
        await self._server.start_server()
        self.base_url = str(self._server.make_url("")).rstrip("/")
        self._client = ClientSession(timeout=ClientTimeout(total=10))
        return self

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._server is not None:
            await self._server.close()

    def fail_next(
        self, status: int, times: int = 1, *, path_contains: str = "", method: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.faults.append(ScriptedFault(status, times, path_contains, method, retry_after))

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.outage:
            return _error(503, "http_request_failed", "Service Unavailable")
        for fault in self.faults:
            if fault.times > 0 and fault.path_contains in request.path and fault.method in (None, request.method):
                fault.times -= 1
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                return _error(fault.status, "fake_fault", "Scripted failure", headers)
        if not request.path.startswith(PREFIX):
            return web.Response(status=404, text="<html><body>Not Found</body></html>", content_type="text/html")
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        try:
            response: web.StreamResponse = await handler(request)
        except _NotFound as missing:
            return _error(404, missing.code, "Invalid ID.")
        except web.HTTPNotFound:
            return _error(404, "rest_no_route", "No route was found matching the URL and request method")
        except web.HTTPMethodNotAllowed:
            return _error(404, "rest_no_route", "No route was found matching the URL and request method")
        return response

    def _authenticate(self, request: web.Request) -> web.Response | None:
        """As WC_REST_Authentication over HTTPS: Basic auth, else the query string."""
        key = secret = None
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                key, _, secret = base64.b64decode(credentials, validate=True).decode().partition(":")
            except ValueError:
                pass
        if key is None:
            key, secret = request.query.get("consumer_key"), request.query.get("consumer_secret")
        if key is None:
            return _error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        keys = {self.key: (self.secret, "read_write"), self.read_only_key: (self.read_only_secret, "read")}
        if key not in keys:
            return _error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        expected, permissions = keys[key]
        if not hmac.compare_digest(expected, secret or ""):
            return _error(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
        if permissions == "read" and request.method != "GET":
            return _error(401, "woocommerce_rest_authentication_error",
                          "The API key provided does not have write permissions.")
        return None

    async def _index(self, request: web.Request) -> web.Response:
        return web.json_response({"namespace": "wc/v3", "routes": {}})

    async def _current_currency(self, request: web.Request) -> web.Response:
        return web.json_response({"code": self.currency, "name": self.currency, "symbol": "&euro;"})

    async def _list_products(self, request: web.Request) -> web.Response:
        products = list(self.products.values())
        if "sku" in request.query:  # matches variations too
            products = [item for item in [*products, *self.variations.values()] if item["sku"] == request.query["sku"]]
        if "type" in request.query:
            products = [item for item in products if item.get("type") == request.query["type"]]
        return self._page(request, products)

    async def _get_product(self, request: web.Request) -> web.Response:
        product = _found(self.products, request, "woocommerce_rest_product_invalid_id")
        return web.json_response(product)

    async def _list_variations(self, request: web.Request) -> web.Response:
        product = _found(self.products, request, "woocommerce_rest_product_invalid_id")
        return self._page(request, [self.variations[variation_id] for variation_id in product["variations"]])

    async def _list_orders(self, request: web.Request) -> web.Response:
        orders = list(self.orders.values())
        statuses = request.query.get("status", "any").split(",")
        if "any" not in statuses:
            orders = [order for order in orders if order["status"] in statuses]
        return self._page(request, orders)

    async def _get_order(self, request: web.Request) -> web.Response:
        order = _found(self.orders, request, _NO_ORDER)
        return web.json_response(order)

    async def _update_order(self, request: web.Request) -> web.Response:
        order = _found(self.orders, request, _NO_ORDER)
        body = await request.json()
        for given in body.get("line_items", []):
            if "id" in given:
                line = next((line for line in order["line_items"] if line["id"] == int(given["id"])), None)
                if line is None:
                    return _error(400, "woocommerce_rest_invalid_item_id", "Order item ID provided is not associated with order.")
                if int(given.get("quantity", line["quantity"])) == 0:
                    order["line_items"].remove(line)
                    continue
                unit = float(line["total"]) / line["quantity"]
                line["quantity"] = int(given.get("quantity", line["quantity"]))
                line["total"] = line["subtotal"] = _money(float(given.get("total", unit * line["quantity"])))
            else:
                sku = self._sku_of(int(given.get("variation_id") or given.get("product_id") or 0))
                if sku is None:
                    return _error(400, "woocommerce_rest_invalid_product_id", "Product ID provided is invalid.")
                line = self._line_item(sku, int(given["quantity"]))
                if "total" in given:
                    line["total"] = line["subtotal"] = _money(float(given["total"]))
                order["line_items"].append(line)
        for meta in body.get("meta_data", []):
            known = next((m for m in order["meta_data"] if m["key"] == meta["key"]), None)
            if known is not None:
                known["value"] = meta["value"]
            else:
                order["meta_data"].append({"id": self._new_id(), "key": meta["key"], "value": meta["value"]})
        if "status" in body:
            order["status"] = body["status"]
        self._total(order)
        self._touch(order)
        return web.json_response(order)

    def _sku_of(self, item_id: int) -> str | None:
        item = self.variations.get(item_id) or self.products.get(item_id)
        return item["sku"] if item else None

    async def _list_refunds(self, request: web.Request) -> web.Response:
        _found(self.orders, request, _NO_ORDER)
        return self._page(request, self.refunds[_id(request)])

    async def _create_refund(self, request: web.Request) -> web.Response:
        order_id = _id(request)
        order = _found(self.orders, request, _NO_ORDER)
        body = await request.json()
        amount = float(body.get("amount") or sum(float(line.get("refund_total", 0)) for line in body.get("line_items", [])))
        refunded = sum(float(refund["amount"]) for refund in self.refunds[order_id])
        if amount <= 0 or refunded + amount > float(order["total"]) + 1e-9:
            return _error(400, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.")
        refund = fixture("refund.json")
        refund_id = self._new_id()
        self._stamp(refund, refund_id, f"orders/{order_id}/refunds/{refund_id}")
        refund.update(amount=_money(amount), reason=body.get("reason", ""), refunded_payment=bool(body.get("api_refund", True)))
        refund["line_items"] = [{"id": int(line["id"]), "quantity": -abs(int(line.get("quantity", 0))),
                                 "total": _money(-float(line.get("refund_total", 0)))} for line in body.get("line_items", [])]
        if body.get("api_restock", True):
            for given in body.get("line_items", []):
                line = next((line for line in order["line_items"] if line["id"] == int(given["id"])), None)
                item = self.by_sku(line["sku"]) if line is not None else None
                if item is not None and item["manage_stock"] is True:
                    self._set_stock(item, item["stock_quantity"] + abs(int(given.get("quantity", 0))), item["backorders"])
        self.refunds[order_id].append(refund)
        order["refunds"].append({"id": refund_id, "reason": refund["reason"], "total": _money(-amount)})
        self._touch(order)
        return web.json_response(refund, status=201)

    async def _list_notes(self, request: web.Request) -> web.Response:
        _found(self.orders, request, _NO_ORDER)
        return web.json_response(self.notes[_id(request)])

    async def _create_note(self, request: web.Request) -> web.Response:
        order_id = _id(request)
        _found(self.orders, request, _NO_ORDER)
        body = await request.json()
        if not body.get("note"):
            return _error(400, "rest_missing_callback_param", "Missing parameter(s): note")
        note = fixture("order_note.json")
        note_id = self._new_id()
        self._stamp(note, note_id, f"orders/{order_id}/notes/{note_id}")
        note.update(note=body["note"], customer_note=bool(body.get("customer_note", False)))
        self.notes[order_id].append(note)
        return web.json_response(note, status=201)

    async def _list_webhooks(self, request: web.Request) -> web.Response:
        return self._page(request, list(self.webhooks.values()))

    async def _create_webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        topic = body.get("topic", "")
        if topic.count(".") != 1 or not body.get("delivery_url"):
            return _error(400, "rest_invalid_param", "Invalid parameter(s): topic, delivery_url")
        webhook = fixture("webhook.json")
        webhook_id = self._new_id()
        resource, event = topic.split(".")
        self._stamp(webhook, webhook_id, f"webhooks/{webhook_id}")
        webhook.update(name=body.get("name", ""), topic=topic, resource=resource, event=event,
                       delivery_url=body["delivery_url"], status=body.get("status", "active"))
        self.webhooks[webhook_id] = webhook
        self.webhook_secrets[webhook_id] = body.get("secret") or hashlib.md5(b"1|admin").hexdigest()
        self.webhook_failures[webhook_id] = 0
        status = await self._post(body["delivery_url"], f"webhook_id={webhook_id}".encode(),
                                  {"Content-Type": "application/x-www-form-urlencoded",
                                   "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)"})
        self.pings.append((webhook_id, status))
        return web.json_response(webhook, status=201)

    async def _get_webhook(self, request: web.Request) -> web.Response:
        webhook = _found(self.webhooks, request, "woocommerce_rest_webhook_invalid_id")
        return web.json_response(webhook)

    async def _update_webhook(self, request: web.Request) -> web.Response:
        webhook_id = _id(request)
        webhook = _found(self.webhooks, request, "woocommerce_rest_webhook_invalid_id")
        body = await request.json()
        for key in ("name", "status", "delivery_url"):
            if key in body:
                webhook[key] = body[key]
        if "secret" in body:
            self.webhook_secrets[webhook_id] = body["secret"]
        if body.get("status") == "active":
            self.webhook_failures[webhook_id] = 0
        self._touch(webhook)
        return web.json_response(webhook)

    def _page(self, request: web.Request, items: list[JSON]) -> web.Response:
        """A page of a list, filtered by `modified_after` (GMT) and sorted by `orderby`/`order`, as WP_Query pages."""
        try:
            page = int(request.query.get("page", "1"))
            per_page = int(request.query.get("per_page", "10"))
        except ValueError:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): page")
        if not 1 <= per_page <= 100 or page < 1:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        after = request.query.get("modified_after")
        if after:
            items = [item for item in items if item.get("date_modified_gmt", "") > after[:19]]
        key = "id" if request.query.get("orderby") == "id" else "date_created_gmt"
        items = sorted(items, key=lambda item: (item.get(key, 0), item["id"]), reverse=request.query.get("order", "desc") == "desc")
        total = len(items)
        pages = max(1, math.ceil(total / per_page)) if total else 0
        chunk = items[(page - 1) * per_page : page * per_page]
        return web.json_response(chunk, headers={"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)})


class _NotFound(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _found(table: dict[int, JSON], request: web.Request, code: str) -> JSON:
    """The resource the request's id names; WooCommerce's 404 with `code` when there is none."""
    found = table.get(_id(request))
    if found is None:
        raise _NotFound(code)
    return found


def _id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"code": code, "message": message, "data": {"status": status}}, status=status, headers=headers)
