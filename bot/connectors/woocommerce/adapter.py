"""A WooCommerce store as the connector use cases see it (StoreAdapter): credentials, webhooks, pages, changes,
write-back. Pages are numbered (`page`, `per_page` up to 100), oldest id first, so a resumed backfill goes on
where it stopped; lists of variable products fetch their variations too, and a reconcile asks every variable product
for the variations changed since."""

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from babel.numbers import UnknownCurrencyError, get_currency_precision

from bot.connectors.woocommerce import order_edits
from bot.connectors.woocommerce.rest_client import MAX_PER_PAGE, WooApiError, WooPage, WooRestClient, WooUnreachable
from bot.connectors.woocommerce.store_mapping import (
    BACKORDERED_META_KEYS,
    OPEN_STATUSES,
    shared_stock_count,
    stock_counts,
    store_order,
    store_product,
)
from bot.connectors.woocommerce.webhook_signature import TOPICS, DeliveryRefused, Ping, verify_delivery
from bot.services.connectors.store_records import (
    OrderDeleted,
    OrderSeen,
    Page,
    ProductDeleted,
    ProductsSeen,
    ReceivedWebhook,
    StockCount,
    StockCounted,
    StoreChange,
    StoreError,
    StoreIdentity,
    StoreOrder,
    StoreProduct,
    StoreRefused,
    StoreUnavailable,
    WebhookRefused,
    WebhooksChecked,
    WriteBackRequest,
    WriteBackResult,
)

log = logging.getLogger(__name__)

WEBHOOK_NAME = "Backorder Desk"
PAGES_AT_ONCE = 5
_OLDEST_FIRST = {"orderby": "id", "order": "asc"}
# WooCommerce compares modified_after with whole seconds; a second of overlap re-reads (harmlessly) what changed in it.
_RECONCILE_OVERLAP = timedelta(seconds=1)


class WooCommerceAdapter:
    platform = "woocommerce"

    def __init__(self, url: str, credentials: Mapping[str, Any], settings: Mapping[str, Any], **client_options: Any) -> None:
        self._client = WooRestClient(
            url, str(credentials.get("key", "")), str(credentials.get("secret", "")),
            query_string_auth=bool(settings.get("query_string_auth")), **client_options,
        )
        self._webhook_secret = str(credentials.get("webhook_secret", ""))
        self._backordered_keys = (*BACKORDERED_META_KEYS, *settings.get("backordered_meta_keys", ()))
        self._currency: str | None = settings.get("currency")

    async def aclose(self) -> None:
        await self._client.aclose()

    async def check_credentials(self) -> StoreIdentity:
        url = self._client.store_url
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise StoreRefused(f"{url} is not a store address like https://shop.example.com")
        if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
            raise StoreRefused(f"WooCommerce accepts API keys only over HTTPS: use https://{parts.netloc}{parts.path}")
        try:
            currency = await self._client.get("data/currencies/current")
            await self._client.page("webhooks", 1, per_page=1)
        except WooUnreachable as failure:
            raise StoreRefused(f"the store is unreachable: {failure}") from failure
        except WooApiError as failure:
            raise StoreRefused(_credential_problem(url, failure)) from failure
        self._currency = str(currency.get("code") or "") or None
        return StoreIdentity(shop=url, name=parts.netloc, currency=self._currency or "")

    async def register_webhooks(self, callback_url: str) -> list[str]:
        existing = await self._call(lambda: self._all("webhooks"))
        for topic in TOPICS:
            # Ours from before (at this address, or by name at an address the bot no longer has): active again,
            # at this address, signing with the secret we hold now.
            same = [
                hook for hook in existing
                if hook.get("topic") == topic
                and (hook.get("delivery_url") == callback_url or str(hook.get("name", "")).startswith(WEBHOOK_NAME))
            ]
            body = {"name": f"{WEBHOOK_NAME}: {topic}", "topic": topic, "delivery_url": callback_url,
                    "secret": self._webhook_secret, "status": "active"}
            if same:
                await self._call(lambda: self._client.put(f"webhooks/{int(same[0]['id'])}", body), write=True)
            else:
                await self._call(lambda: self._client.post("webhooks", body), write=True)
        return list(TOPICS)

    async def product_page(self, cursor: str | None) -> Page[StoreProduct]:
        page = _page_number(cursor)
        found = await self._call(lambda: self._client.page("products", page, params=_OLDEST_FIRST))
        products = await self._products(found.items)
        return Page(products, _next(page, found), found.total)

    async def open_order_page(self, cursor: str | None) -> Page[StoreOrder]:
        """Up to PAGES_AT_ONCE of WooCommerce's pages of 100, fetched side by side: its pages are slow to build (PHP
        loads every order whole), and the bot applies a larger batch in about the time of a small one."""
        query = {**_OLDEST_FIRST, "status": ",".join(OPEN_STATUSES)}
        first_page = _page_number(cursor)
        first = await self._call(lambda: self._client.page("orders", first_page, params=query))
        last_page = min(first.total_pages or first_page, first_page + PAGES_AT_ONCE - 1)
        rest = await asyncio.gather(
            *(self._call(lambda page=page: self._client.page("orders", page, params=query))
              for page in range(first_page + 1, last_page + 1))
        )
        found = [order for page in (first, *rest) for order in page.items]
        orders = [store_order(order, self._backordered_keys) for order in found]
        return Page(orders, _next(last_page, rest[-1] if rest else first), first.total)

    async def stock_page(self, cursor: str | None) -> Page[StockCount]:
        products = await self.product_page(cursor)
        return Page(stock_counts(products.items), products.next_cursor, products.total)

    def parse_webhook(self, topic: str, payload: dict) -> list[StoreChange]:  # type: ignore[type-arg]
        resource_id = str(payload.get("id", ""))
        if topic == "order.deleted":
            return [OrderDeleted(resource_id)]
        if topic == "product.deleted":
            return [ProductDeleted(resource_id)]
        if topic in ("order.created", "order.updated"):
            return [OrderSeen(store_order(payload, self._backordered_keys))]
        if topic == "product.updated":
            if payload.get("type") == "variable":
                # Its variations come as webhooks of their own, but not when only the count it keeps for them
                # changed (an order, or an edit of the product's stock): then that count is theirs.
                shared = shared_stock_count(payload)
                return [StockCounted([shared])] if shared else []
            product = store_product(payload, (), self._currency or "")
            return [ProductsSeen([product]), StockCounted(stock_counts([product]))]
        raise ValueError(f"topic {topic!r} is not one this connector subscribes to")

    async def changes_since(self, since: datetime) -> list[StoreChange]:
        """Orders and products modified since then, for the deliveries WooCommerce never retried; our webhooks
        it disabled after failing deliveries are set active again, or reported when the store keeps them off."""
        checked = await self._revive_webhooks()
        after = (since.astimezone(UTC) - _RECONCILE_OVERLAP).strftime("%Y-%m-%dT%H:%M:%S")
        query = {**_OLDEST_FIRST, "modified_after": after, "dates_are_gmt": "true"}
        orders = await self._call(lambda: self._all("orders", query))
        modified = await self._call(lambda: self._all("products", query))
        products = await self._products(modified) + await self._changed_variations(query, {item["id"] for item in modified})
        changes: list[StoreChange] = [checked]
        if products:
            changes += [ProductsSeen(products), StockCounted(stock_counts(products))]
        changes += [OrderSeen(store_order(order, self._backordered_keys)) for order in orders]
        return changes

    async def _changed_variations(self, query: Mapping[str, str], read: set[int]) -> list[StoreProduct]:
        """Variations changed on their own (a variation's stock or price): saving one leaves its product's
        modification time alone, so each variable product's variations are asked for what changed since."""
        currency = await self._store_currency()
        variable = [
            product for product in await self._call(lambda: self._all("products", {**_OLDEST_FIRST, "type": "variable"}))
            if product["id"] not in read
        ]
        limit = asyncio.Semaphore(PAGES_AT_ONCE)

        async def changed_of(product: dict[str, Any]) -> list[dict[str, Any]]:
            async with limit:
                return await self._call(lambda: self._all(f"products/{int(product['id'])}/variations", query))

        changed = await asyncio.gather(*(changed_of(product) for product in variable))
        return [store_product(product, own, currency) for product, own in zip(variable, changed, strict=True) if own]

    async def _revive_webhooks(self) -> WebhooksChecked:
        """WooCommerce disables a webhook after five failed deliveries in a row and retries none of them."""
        hooks = await self._call(lambda: self._all("webhooks"))
        revived, still_off, error = [], [], None
        for hook in hooks:
            if str(hook.get("name", "")).startswith(WEBHOOK_NAME) and hook.get("status") == "disabled":
                try:
                    await self._call(lambda: self._client.put(f"webhooks/{int(hook['id'])}", {"status": "active"}), write=True)
                except StoreError as failed:  # the reconcile goes on; --status shows it
                    still_off.append(str(hook.get("topic")))
                    error = failed.message
                    continue
                revived.append(str(hook.get("topic")))
        if revived:
            log.warning("%s had disabled the webhooks %s after failed deliveries; they are active again",
                        self._client.store_url, ", ".join(revived))
        if still_off:
            log.warning("%s keeps the webhooks %s disabled: %s", self._client.store_url, ", ".join(still_off), error)
        return WebhooksChecked(revived, still_off, error)

    async def _products(self, found: list[dict[str, Any]]) -> list[StoreProduct]:
        """The products with the variations of the variable ones, fetched PAGES_AT_ONCE at a time."""
        currency = await self._store_currency()
        limit = asyncio.Semaphore(PAGES_AT_ONCE)

        async def variations_of(product: dict[str, Any]) -> list[dict[str, Any]]:
            if product.get("type") != "variable":
                return []
            async with limit:
                return await self._call(lambda: self._all(f"products/{int(product['id'])}/variations"))

        variations = await asyncio.gather(*(variations_of(product) for product in found))
        return [store_product(product, own, currency) for product, own in zip(found, variations, strict=True)]

    async def write_back(self, request: WriteBackRequest) -> WriteBackResult:
        return await order_edits.write_back(self._client, request, _decimals(await self._store_currency()))

    async def _store_currency(self) -> str:
        if self._currency is None:
            found = await self._call(lambda: self._client.get("data/currencies/current"))
            self._currency = str(found.get("code") or "USD")
        return self._currency

    async def _all(self, path: str, params: Mapping[str, str | int] | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            found = await self._client.page(path, page, MAX_PER_PAGE, params)
            items += found.items
            if _next(page, found) is None:
                return items
            page += 1

    async def _call(self, run: Any, *, write: bool = False) -> Any:
        """The store's answer; its failures as the connector's: StoreUnavailable to retry, StoreRefused for good."""
        try:
            return await run()
        except WooUnreachable as failure:
            raise StoreUnavailable(str(failure)) from failure
        except WooApiError as failure:
            if failure.temporary:
                raise StoreUnavailable(f"WooCommerce answered {failure.status}: {failure.message}") from failure
            if write and failure.status == 401:
                raise StoreRefused(
                    "WooCommerce refused a change: the API key needs Read/Write permissions "
                    f"(WooCommerce › Settings › Advanced › REST API). It said: {failure.message}"
                ) from failure
            raise StoreRefused(f"WooCommerce refused ({failure.code}): {failure.message}") from failure


class WooCommerceWebhookVerifier:
    """Checks deliveries with the connection's webhook secret (and the one before it, while a rotation settles)."""

    def __init__(self, credentials: Mapping[str, Any]) -> None:
        self._secrets = [str(credentials.get("webhook_secret") or ""), str(credentials.get("previous_webhook_secret") or "")]

    def verify(self, headers: Mapping[str, str], body: bytes) -> ReceivedWebhook:
        try:
            delivery = verify_delivery(headers, body, self._secrets)
        except DeliveryRefused as refused:
            raise WebhookRefused(refused.status, refused.reason) from refused
        if isinstance(delivery, Ping):
            return ReceivedWebhook(f"ping:{delivery.webhook_id}", "ping", {}, ping=True)
        return ReceivedWebhook(
            delivery.delivery_key, delivery.topic, delivery.payload, delivery.resource_id, delivery.modified_at
        )


def _credential_problem(url: str, failure: WooApiError) -> str:
    """What the merchant must fix, in words, with WooCommerce's own message."""
    said = f"(WooCommerce said: {failure.message})"
    message = failure.message.lower()
    if "consumer key" in message:
        return f"the consumer key (ck_…) is wrong {said}"
    if "consumer secret" in message:
        return f"the consumer secret (cs_…) does not belong to that key {said}"
    if "write permissions" in message:
        return f"the API key is read-only: give it Read/Write permissions {said}"
    if failure.status == 401 or failure.status == 403:
        return (f"the key may not manage the shop: create it for an administrator or shop manager with Read/Write "
                f"permissions; if the key is right, the server may drop the Authorization header {said}")
    if failure.status == 404:
        return (f"no WooCommerce REST API at {url}/wp-json/wc/v3: is WooCommerce 3.5 or later active, and are "
                f"permalinks set to anything but \"Plain\"? {said}")
    return f"the store answered {failure.status} {said}"


def _page_number(cursor: str | None) -> int:
    if cursor is None:
        return 1
    if not cursor.isdigit() or int(cursor) < 1:
        raise ValueError(f"{cursor!r} is not a WooCommerce page number")
    return int(cursor)


def _next(page: int, found: WooPage) -> str | None:
    if found.total_pages is not None:
        return str(page + 1) if page < found.total_pages else None
    return str(page + 1) if len(found.items) >= MAX_PER_PAGE else None


def _decimals(currency: str) -> int:
    try:
        return get_currency_precision(currency)
    except UnknownCurrencyError:
        return 2
