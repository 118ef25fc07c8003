"""The Shopify adapter: checks a custom app's token and scopes, registers the webhooks, loads products and stock
page by page and the open orders with a bulk operation, reads webhooks, and writes cancels and swaps back to the
order (order editing, refundCreate with an idempotency key, an order note), or tags and notes the order when the
merchant refunds by hand."""

import asyncio
import json
import os
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import aiohttp
from babel.numbers import get_currency_precision

from bot.connectors.shopify import queries
from bot.connectors.shopify.graphql_client import ShopifyGraphQL, user_errors
from bot.connectors.shopify.mapping import (
    fulfillment_from_payload,
    gid,
    number_of,
    order_from_node,
    order_from_payload,
    parse_time,
    product_from_payload,
    products_from_variant_nodes,
    stock_from_variant_node,
)
from bot.services.connectors import ConnectionConfig
from bot.services.connectors.store_records import (
    FulfillmentSeen,
    OrderDeleted,
    OrderSeen,
    Page,
    PrivacyRequest,
    ProductDeleted,
    ProductsSeen,
    RefundSeen,
    StockCount,
    StockCounted,
    StoreChange,
    StoreIdentity,
    StoreOrder,
    StoreProduct,
    StoreRefused,
    StoreUnavailable,
    WriteBackRequest,
    WriteBackResult,
)

VARIANTS_PER_PAGE = 250
ORDERS_PER_PAGE = 250  # of a bulk operation's result, applied (and the cursor saved) at a time
BULK_POLL_SECONDS = 2.0
TAG_BY_HAND = "backorder-desk-refund-by-hand"
_BULK_PREFIX = "bulk:"


class ShopifyAdapter:
    platform = "shopify"

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        poll_seconds: float = BULK_POLL_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retry_delays: tuple[float, ...] | None = None,
    ) -> None:
        self._config = config
        options: dict[str, Any] = {"sleep": sleep}
        if retry_delays is not None:
            options["retry_delays"] = retry_delays
        self.api = ShopifyGraphQL(
            config.shop, config.credentials.get("access_token", ""), base_url=config.settings.get("api_base_url"), **options
        )
        self._currency = str(config.settings.get("currency", "USD"))
        # Stock is counted at the location the shop ships from: webhooks of other locations' levels are not ours.
        self._location = str(config.settings["location_id"]) if config.settings.get("location_id") else None
        self._poll_seconds = poll_seconds
        self._sleep = sleep
        self._bulk: _BulkResult | None = None

    def __repr__(self) -> str:
        return f"ShopifyAdapter(shop={self._config.shop!r})"

    async def aclose(self) -> None:
        await self.api.aclose()
        if self._bulk is not None:
            self._bulk.remove()
            self._bulk = None

    # Connecting

    async def check_credentials(self) -> StoreIdentity:
        data = await self.api.execute(queries.SHOP_CHECK, cost=3)
        shop = data["shop"]
        granted = {scope["handle"] for scope in (data.get("currentAppInstallation") or {}).get("accessScopes", [])}
        # write_x implies read_x, as Shopify grants them.
        granted |= {"read_" + scope[len("write_"):] for scope in granted if scope.startswith("write_")}
        missing = [scope for scope in queries.REQUIRED_SCOPES if scope not in granted]
        if missing:
            raise StoreRefused(
                f"The app's access token lacks the scope(s) {', '.join(missing)}: add them to the custom app's Admin API"
                " scopes, install the app again and use its new token."
            )
        self._currency = shop["currencyCode"]
        location = data.get("location") or {}
        learned = {"location_id": number_of(location["id"])} if location.get("id") else {}
        return StoreIdentity(shop["myshopifyDomain"], shop["name"], shop["currencyCode"], tuple(sorted(granted)), learned)

    async def register_webhooks(self, callback_url: str) -> list[str]:
        existing: set[tuple[str, str]] = set()
        cursor = None
        while True:
            data = await self.api.execute(queries.WEBHOOK_SUBSCRIPTIONS, {"cursor": cursor}, cost=12)
            page = data["webhookSubscriptions"]
            existing |= {(node["topic"], node.get("uri") or "") for node in page["nodes"]}
            if not page["pageInfo"]["hasNextPage"]:
                break
            cursor = page["pageInfo"]["endCursor"]
        for topic in queries.WEBHOOK_TOPICS:
            if (topic, callback_url) in existing:
                continue
            data = await self.api.execute(queries.WEBHOOK_SUBSCRIPTION_CREATE, {"topic": topic, "uri": callback_url})
            problem = user_errors(data["webhookSubscriptionCreate"])
            if problem:
                raise StoreRefused(f"Shopify refused the {topic} webhook: {problem}")
        # The enum's name is the topic with its last underscore a slash: INVENTORY_LEVELS_UPDATE, inventory_levels/update.
        return ["/".join(topic.lower().rsplit("_", 1)) for topic in queries.WEBHOOK_TOPICS]

    # Backfill

    async def product_page(self, cursor: str | None) -> Page[StoreProduct]:
        nodes, next_cursor, total = await self._variants(cursor)
        return Page(products_from_variant_nodes(nodes, self._currency), next_cursor, total)

    async def stock_page(self, cursor: str | None) -> Page[StockCount]:
        if self._location is None:
            nodes, next_cursor, total = await self._variants(cursor)
        else:
            nodes, next_cursor, total = await self._variants(
                cursor, queries.STOCK_AT_LOCATION, {"location": gid("Location", self._location)}
            )
        counts = [count for count in map(stock_from_variant_node, nodes) if count is not None]
        return Page(counts, next_cursor, total)

    async def _variants(
        self, cursor: str | None, document: str = queries.PRODUCT_VARIANTS, extra: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], str | None, int | None]:
        variables = {"first": VARIANTS_PER_PAGE, "cursor": cursor, **(extra or {})}
        data = await self.api.execute(document, variables, cost=VARIANTS_PER_PAGE * 3 + 2)
        page = data["productVariants"]
        info = page["pageInfo"]
        total = (data.get("productVariantsCount") or {}).get("count")
        return page["nodes"], info["endCursor"] if info["hasNextPage"] else None, total

    async def open_order_page(self, cursor: str | None) -> Page[StoreOrder]:
        """A page of the open orders from a bulk operation's result; the cursor names the operation and the place."""
        operation_id, start = _bulk_cursor(cursor)
        result = await self._bulk_result(operation_id)
        orders = result.orders(start, ORDERS_PER_PAGE)
        end = start + len(orders)
        next_cursor = f"{_BULK_PREFIX}{result.operation_id}:{end}" if end < result.count else None
        return Page(orders, next_cursor, result.count)

    async def _bulk_result(self, operation_id: str | None) -> "_BulkResult":
        if self._bulk is not None and self._bulk.operation_id == operation_id:
            return self._bulk
        operation = await self._finished_operation(operation_id) if operation_id else None
        if operation is None:  # none yet, or expired or failed: start one (applying a page again changes nothing)
            operation = await self._finished_operation(await self._start_bulk())
            if operation is None:
                raise StoreUnavailable("Shopify's bulk operation for the open orders did not finish")
        if self._bulk is not None:
            self._bulk.remove()
        self._bulk = await _BulkResult.download(self.api.session, number_of(operation["id"]), operation.get("url"))
        return self._bulk

    async def _start_bulk(self) -> str:
        data = await self.api.execute(queries.BULK_RUN, {"query": queries.OPEN_ORDERS_BULK})
        payload = data["bulkOperationRunQuery"]
        problem = user_errors(payload)
        if problem:
            raise StoreUnavailable(f"Shopify did not start the bulk operation: {problem}")
        return number_of(payload["bulkOperation"]["id"])

    async def _finished_operation(self, operation_id: str) -> dict[str, Any] | None:
        """The operation once completed; None when it expired, failed or was cancelled."""
        while True:
            data = await self.api.execute(queries.BULK_STATUS, {"id": gid("BulkOperation", operation_id)}, cost=1)
            operation = data.get("node")
            if not operation:
                return None
            status = operation["status"]
            if status == "COMPLETED":
                return operation
            if status in ("FAILED", "CANCELED", "CANCELING", "EXPIRED"):
                return None
            await self._sleep(self._poll_seconds)

    async def changes_since(self, since: datetime) -> list[StoreChange]:
        """Orders and products updated since then, and the stock counts that changed, for webhooks that never came.

        A stock change leaves the product's updated_at alone, so the stock of every variant is read again (the
        backfill's pages); the counts the store gave last time change nothing."""
        changes: list[StoreChange] = []
        query = f"updated_at:>'{since.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        cursor = None
        while True:
            data = await self.api.execute(queries.ORDERS_UPDATED_SINCE, {"query": query, "cursor": cursor}, cost=400)
            page = data["orders"]
            changes += [OrderSeen(order_from_node(node, node["lineItems"]["nodes"])) for node in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            cursor = page["pageInfo"]["endCursor"]
        products: list[StoreProduct] = []
        cursor = None
        while True:
            nodes, cursor, _ = await self._variants(cursor, queries.VARIANTS_UPDATED_SINCE, {"query": query})
            products += products_from_variant_nodes(nodes, self._currency)
            if cursor is None:
                break
        counts: list[StockCount] = []
        cursor = None
        while True:
            page = await self.stock_page(cursor)
            counts += page.items
            if (cursor := page.next_cursor) is None:
                break
        # Products first: an order of a product that is new since must find it; stock last, with those orders here.
        return ([ProductsSeen(products)] if products else []) + changes + [StockCounted(counts, only_changed=True)]

    # Webhooks

    def parse_webhook(self, topic: str, payload: dict[str, Any]) -> list[StoreChange]:
        if topic in ("orders/create", "orders/updated", "orders/cancelled", "orders/fulfilled", "orders/partially_fulfilled", "orders/edited"):
            if topic == "orders/edited":  # carries only the edit; the orders/updated that follows has the order
                return []
            return [OrderSeen(order_from_payload(payload))]
        if topic == "orders/delete":
            return [OrderDeleted(str(payload["id"]))]
        if topic in ("fulfillments/create", "fulfillments/update"):
            return [FulfillmentSeen(str(payload["order_id"]), fulfillment_from_payload(payload))]
        if topic in ("products/create", "products/update"):
            return [ProductsSeen([product_from_payload(payload, self._currency)])]
        if topic == "products/delete":
            return [ProductDeleted(str(payload["id"]))]
        if topic == "inventory_levels/update":
            if payload.get("available") is None or (self._location and str(payload.get("location_id")) != self._location):
                return []
            updated = payload.get("updated_at")
            return [StockCounted([StockCount(int(payload["available"]), inventory_item_id=str(payload["inventory_item_id"]),
                                             updated_at=parse_time(updated) if updated else None)])]
        if topic == "refunds/create":
            lines = [str(item["line_item_id"]) for item in payload.get("refund_line_items", [])]
            return [RefundSeen(str(payload["order_id"]), str(payload["id"]), lines)]
        if topic in ("customers/redact", "customers/data_request"):
            customer = payload.get("customer") or {}
            kind = "customer_redact" if topic == "customers/redact" else "customer_data_request"
            return [PrivacyRequest(kind, customer.get("email"), customer.get("phone"), str(customer.get("id", "")) or None)]  # type: ignore[arg-type]
        if topic == "shop/redact":
            return [PrivacyRequest("shop_redact")]
        return []

    # Write-back

    async def write_back(self, request: WriteBackRequest) -> WriteBackResult:
        steps = dict(request.steps)
        try:
            order = (await self.api.execute(queries.ORDER_FOR_WRITE_BACK, {"id": gid("Order", request.order_store_id)}, cost=20))["order"]
            if order is None:
                raise StoreRefused(f"Shopify has no order {request.order_number} (id {request.order_store_id}) any more")
            if request.refunds_by_hand:
                if not steps.get("tagged"):
                    await self._mutate(queries.TAGS_ADD, {"id": order["id"], "tags": [TAG_BY_HAND]}, "tagsAdd")
                    steps["tagged"] = True
                await self._note(order, request, steps)
                steps["by_hand"] = True
                return WriteBackResult(steps)
            if not steps.get("edited"):
                await self._edit(order["id"], request)
                steps["edited"] = True
            if request.refund_minor > 0 and not steps.get("refund_id"):
                steps["refund_id"] = await self._refund(order, request)
            await self._note(order, request, steps)
            return WriteBackResult(steps, steps.get("refund_id"))
        except StoreUnavailable as down:
            raise StoreUnavailable(down.message, steps) from down
        except StoreRefused as refused:
            raise StoreRefused(refused.message, steps) from refused

    async def _mutate(self, document: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
        payload = (await self.api.execute(document, variables))[field]
        problem = user_errors(payload)
        if problem:
            raise StoreRefused(f"Shopify refused {field}: {problem}")
        return payload

    async def _edit(self, order_id: str, request: WriteBackRequest) -> None:
        """Take the units off the line (set to what it keeps: harmless twice), add the substitute once, commit."""
        begun = await self._mutate(queries.ORDER_EDIT_BEGIN, {"id": order_id}, "orderEditBegin")
        calculated = begun["calculatedOrder"]
        lines = calculated["lineItems"]["nodes"]
        line = next((node for node in lines if request.line_store_id and number_of(node["id"]) == request.line_store_id), None)
        line = line or next((node for node in lines if node.get("sku") == request.sku), None)
        if line is None:
            raise StoreRefused(f"order {request.order_number} in Shopify has no line with SKU {request.sku} to change")
        if int(line["quantity"]) <= request.keep_quantity:
            return  # committed by an earlier attempt whose answer was lost: removal and addition go in one commit
        await self._mutate(
            queries.ORDER_EDIT_SET_QUANTITY,
            {"id": calculated["id"], "lineItemId": line["id"], "quantity": request.keep_quantity},
            "orderEditSetQuantity",
        )
        if request.kind == "swap":
            if not request.substitute_variant_id:
                raise StoreRefused(f"the substitute {request.substitute_sku} is not a product variant of the Shopify store")
            added = await self._mutate(
                queries.ORDER_EDIT_ADD_VARIANT,
                {"id": calculated["id"], "variantId": gid("ProductVariant", request.substitute_variant_id),
                 "quantity": request.substitute_quantity},
                "orderEditAddVariant",
            )
            if request.substitute_discount_minor > 0:
                await self._mutate(
                    queries.ORDER_EDIT_ADD_DISCOUNT,
                    {"id": calculated["id"], "lineItemId": added["calculatedLineItem"]["id"],
                     "discount": {"description": "Backorder Desk: the original price kept",
                                  "fixedValue": {"amount": _amount(request.substitute_discount_minor, request.currency),
                                                 "currencyCode": request.currency}}},
                    "orderEditAddLineItemDiscount",
                )
        await self._mutate(queries.ORDER_EDIT_COMMIT, {"id": calculated["id"], "staffNote": request.note[:255]}, "orderEditCommit")

    async def _refund(self, order: dict[str, Any], request: WriteBackRequest) -> str:
        marker = f"[{request.idempotency_key}]"
        for refund in order.get("refunds") or []:  # refunded before its id was saved here
            if marker in (refund.get("note") or ""):
                return number_of(refund["id"])
        paid = [
            transaction for transaction in order.get("transactions") or []
            if transaction["kind"] in ("SALE", "CAPTURE") and transaction["status"] == "SUCCESS"
        ]
        if not paid:
            raise StoreRefused(f"order {request.order_number} has no paid transaction in Shopify to refund")
        parent = paid[0]
        refund = await self._mutate(
            queries.REFUND_CREATE,
            {
                "key": f"{request.idempotency_key}:refund",
                "input": {
                    "orderId": order["id"],
                    "note": f"{request.note} {marker}"[:255],
                    "notify": True,
                    "transactions": [{
                        "orderId": order["id"], "parentId": parent["id"], "gateway": parent["gateway"], "kind": "REFUND",
                        "amount": _amount(request.refund_minor, request.currency),
                    }],
                },
            },
            "refundCreate",
        )
        return number_of(refund["refund"]["id"])

    async def _note(self, order: dict[str, Any], request: WriteBackRequest, steps: dict[str, Any]) -> None:
        """Add the change to the order's note, once: the note carries the change's key."""
        marker = f"[{request.idempotency_key}]"
        current = order.get("note") or ""
        if not steps.get("noted") and marker not in current:
            note = f"{current}\n{request.note} {marker}".strip()
            await self._mutate(queries.ORDER_NOTE, {"input": {"id": order["id"], "note": note}}, "orderUpdate")
            order["note"] = note
        steps["noted"] = True


def _amount(minor: int, currency: str) -> str:
    precision = get_currency_precision(currency)
    return str((Decimal(minor) / (10**precision)).quantize(Decimal(1).scaleb(-precision)))


def _bulk_cursor(cursor: str | None) -> tuple[str | None, int]:
    if not cursor or not cursor.startswith(_BULK_PREFIX):
        return None, 0
    operation_id, _, start = cursor[len(_BULK_PREFIX):].partition(":")
    return operation_id, int(start or 0)


class _BulkResult:
    """A finished bulk operation's JSONL on disk, with where each order's line and its line items' lines are.

    Shopify gives nested objects lines of their own, naming their parent by __parentId, in no promised order; so
    the file is indexed once (offsets only: memory stays small) and each page read back from it.
    """

    def __init__(self, operation_id: str, path: str | None) -> None:
        self.operation_id = operation_id
        self._path = path
        self._orders: list[int] = []
        self._children: dict[str, list[int]] = {}

    @property
    def count(self) -> int:
        return len(self._orders)

    @classmethod
    async def download(cls, session: aiohttp.ClientSession, operation_id: str, url: str | None) -> "_BulkResult":
        if not url:  # an operation that found nothing has no file
            return cls(operation_id, None)
        handle, path = tempfile.mkstemp(prefix="shopify-bulk-", suffix=".jsonl")
        try:
            with os.fdopen(handle, "wb") as file:
                # The file lies on Shopify's storage behind a signed URL: no access token goes with it.
                async with session.get(url) as response:
                    if response.status != 200:
                        raise StoreUnavailable(f"downloading the bulk operation's result answered {response.status}")
                    async for chunk in response.content.iter_chunked(1 << 16):
                        file.write(chunk)
        except (aiohttp.ClientError, TimeoutError) as failed:
            os.unlink(path)
            raise StoreUnavailable(f"downloading the bulk operation's result failed: {failed}") from failed
        except BaseException:
            os.unlink(path)
            raise
        result = cls(operation_id, path)
        await asyncio.to_thread(result._index)
        return result

    def _index(self) -> None:
        assert self._path is not None
        with open(self._path, "rb") as file:
            offset = 0
            for line in file:
                if line.strip():
                    parent = json.loads(line).get("__parentId")
                    if parent is None:
                        self._orders.append(offset)
                    else:
                        self._children.setdefault(number_of(parent), []).append(offset)
                offset += len(line)

    def orders(self, start: int, count: int) -> list[StoreOrder]:
        if self._path is None:
            return []
        orders = []
        with open(self._path, "rb") as file:
            for offset in self._orders[start : start + count]:
                file.seek(offset)
                node = json.loads(file.readline())
                lines = []
                for child in self._children.get(number_of(node["id"]), []):
                    file.seek(child)
                    lines.append(json.loads(file.readline()))
                orders.append(order_from_node(node, lines))
        return orders

    def remove(self) -> None:
        if self._path is not None and os.path.exists(self._path):
            os.unlink(self._path)
