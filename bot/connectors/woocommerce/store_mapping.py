"""WooCommerce's REST v3 resources (orders, products, variations) read into the connector's store records.

Facts of WooCommerce this relies on:
- Money is a decimal string with the store's decimals ("29.35"); a line item's `price` is a JSON number.
  What the customer paid for a unit is the line's `total` plus `total_tax` (after discounts) over its quantity.
- `*_gmt` dates are UTC without an offset; the others are in the site's time zone and are ignored.
- Stock (`stock_quantity`) counts what is left after committed orders and goes below zero with backorders;
  `manage_stock` is false (untracked), true, or "parent" on a variation whose parent counts for it.
- At checkout WooCommerce marks a line it sold on backorder with the item meta "Backordered" = the units not in
  stock, when the product's backorders setting is "Allow, but notify customer". The key is the translated
  label of the store's language at the time (`__('Backordered')`), so a connection may name more keys.
- Orders have no fulfilments: "completed" means shipped. The Shipment Tracking extension keeps its parcels in
  the order meta `_wc_shipment_tracking_items`.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from babel.numbers import UnknownCurrencyError, get_currency_precision

from bot.connectors.woocommerce.webhook_signature import gmt_time
from bot.services.connectors.store_records import (
    StockCount,
    StoreFulfillment,
    StoreLine,
    StoreOrder,
    StoreProduct,
    StoreVariant,
)

BACKORDERED_META_KEYS = ("Backordered",)
OPEN_STATUSES = ("processing", "on-hold")  # paid or awaiting payment confirmation, not yet shipped
CLOSED_STATUSES = frozenset({"cancelled", "refunded", "failed", "trash"})
SHIPPED_STATUS = "completed"
NO_CATEGORY = "uncategorised"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Order meta that multilingual plugins (WPML, Polylang, TranslatePress) use for the language the order was placed in.
_LANGUAGE_META_KEYS = ("wpml_language", "pll_language", "trp_language")

JSON = dict[str, Any]


def minor_units(amount: object, currency: str) -> int:
    """A WooCommerce amount ("29.35", 12, 3.5) in whole minor units of `currency`, rounded half up."""
    try:
        digits = get_currency_precision(currency)
    except UnknownCurrencyError:
        digits = 2
    try:
        value = Decimal(str(amount).strip() or "0")
    except InvalidOperation:
        raise ValueError(f"{str(amount)[:40]!r} is not an amount") from None
    return int(value.scaleb(digits).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def backordered_quantity(item: JSON, keys: Sequence[str] = BACKORDERED_META_KEYS) -> int | None:
    """How many units of a line item WooCommerce marked as backordered at checkout; None when it marked none, which
    says nothing: the line was in stock, or its product's backorders setting does not notify."""
    for meta in item.get("meta_data") or ():
        if isinstance(meta, dict) and (meta.get("key") in keys or meta.get("display_key") in keys):
            try:
                return max(0, min(int(str(meta.get("value")).strip()), int(item.get("quantity") or 0)))
            except ValueError:
                return None
    return None


def store_variant(item: JSON, currency: str, *, name: str | None = None, category: str | None = None,
                  parent: JSON | None = None) -> StoreVariant:
    """A simple product or a variation as one sellable SKU."""
    manage = item.get("manage_stock")
    if manage == "parent" and parent is not None:  # listed with its product, whose count it shares
        tracked, quantity = parent.get("manage_stock") is True, parent.get("stock_quantity")
    else:  # a variation on its own says "parent" only while its product counts for it, and shows that count
        tracked, quantity = manage is True or manage == "parent", item.get("stock_quantity")
    holder = (parent or {}).get("id") or item.get("parent_id")
    shares = manage == "parent" and tracked and bool(holder)
    return StoreVariant(
        store_id=str(item["id"]),
        sku=(item.get("sku") or "").strip() or None,
        name=(name or item.get("name") or "").strip() or str(item["id"]),
        category=category or _category(item),
        price_minor=minor_units(item.get("price") or item.get("regular_price") or "0", currency),
        currency=currency,
        tracked=tracked,
        available=int(quantity) if tracked and isinstance(quantity, int) else None,
        shared_stock_id=str(holder) if shares else None,
    )


def store_product(product: JSON, variations: Iterable[JSON], currency: str) -> StoreProduct:
    """A product with its variants: itself when simple, its variations when variable."""
    updated = gmt_time(product.get("date_modified_gmt"))
    if product.get("type") == "variable":
        category = _category(product)
        variants = [
            store_variant(variation, currency, name=_variation_name(product, variation), category=category, parent=product)
            for variation in variations
        ]
        times = [updated, *(gmt_time(variation.get("date_modified_gmt")) for variation in variations)]
        updated = max((time for time in times if time is not None), default=None)
    elif product.get("type") == "variation":  # a webhook about one variation: its parent is the product
        return StoreProduct(str(product.get("parent_id") or product["id"]), [store_variant(product, currency)], updated)
    else:
        variants = [store_variant(product, currency)]
    return StoreProduct(str(product["id"]), variants, updated)


def stock_counts(products: Iterable[StoreProduct]) -> list[StockCount]:
    """The store's count of every tracked variant with a SKU."""
    return [
        StockCount(available=variant.available, sku=variant.sku, updated_at=product.updated_at,
                   shared_stock_id=variant.shared_stock_id)
        for product in products
        for variant in product.variants
        if variant.tracked and variant.sku and variant.available is not None
    ]


def shared_stock_count(product: JSON) -> StockCount | None:
    """A variable product's own count, which its variations without one share ("Manage stock" on the product);
    None when it keeps none."""
    quantity = product.get("stock_quantity")
    if product.get("manage_stock") is not True or not isinstance(quantity, int):
        return None
    return StockCount(available=quantity, updated_at=gmt_time(product.get("date_modified_gmt")),
                      shared_stock_id=str(product["id"]))


def store_order(order: JSON, backordered_keys: Sequence[str] = BACKORDERED_META_KEYS) -> StoreOrder:
    """An order as the store has it now. ValueError when it lacks what every order has."""
    try:
        store_id = str(int(order["id"]))
        currency = str(order["currency"])
        items = list(order.get("line_items") or [])
    except (KeyError, TypeError, ValueError):
        raise ValueError("not a WooCommerce order: no id, currency or line items") from None
    billing = order.get("billing") or {}
    placed = gmt_time(order.get("date_created_gmt")) or _EPOCH
    status = str(order.get("status", ""))
    shipped = status == SHIPPED_STATUS
    lines = [_line(item, currency, shipped, backordered_keys) for item in items if isinstance(item, dict)]
    name = " ".join(part for part in (billing.get("first_name"), billing.get("last_name")) if part).strip()
    email = (billing.get("email") or "").strip().lower() or None
    return StoreOrder(
        store_id=store_id,
        number=str(order.get("number") or store_id),
        placed_at=placed,
        updated_at=gmt_time(order.get("date_modified_gmt")) or placed,
        email=email,
        customer_name=name or (email or ""),
        phone=(billing.get("phone") or "").strip() or None,
        language=_language(order),
        currency=currency,
        lines=lines,
        cancelled=status in CLOSED_STATUSES,
        fulfillments=_fulfillments(order, lines) if shipped else [],
    )


def _line(item: JSON, currency: str, shipped: bool, keys: Sequence[str]) -> StoreLine:
    quantity = max(0, int(item.get("quantity") or 0))
    paid = minor_units(item.get("total") or "0", currency) + minor_units(item.get("total_tax") or "0", currency)
    variation = int(item.get("variation_id") or 0)
    return StoreLine(
        store_id=str(item["id"]),
        sku=(item.get("sku") or "").strip() or None,
        quantity=quantity,
        unit_price_minor=(2 * paid + quantity) // (2 * quantity) if quantity else 0,  # half a cent up, as money rounds
        fulfilled_quantity=quantity if shipped else 0,
        variant_id=str(variation or item.get("product_id") or "") or None,
        backordered_quantity=backordered_quantity(item, keys),
    )


def _fulfillments(order: JSON, lines: list[StoreLine]) -> list[StoreFulfillment]:
    """A completed order shipped whole: one parcel per tracking number the Shipment Tracking extension holds."""
    items = [(line.sku, line.quantity) for line in lines if line.sku and line.quantity]
    shipped_at = gmt_time(order.get("date_completed_gmt"))
    parcels = []
    for meta in order.get("meta_data") or ():
        if isinstance(meta, dict) and meta.get("key") == "_wc_shipment_tracking_items" and isinstance(meta.get("value"), list):
            parcels = [parcel for parcel in meta["value"] if isinstance(parcel, dict)]
    if not parcels:
        return [StoreFulfillment(f"{order['id']}-completed", items, shipped_at)]
    first = parcels[0]  # the extension does not say which items went in which parcel: the first carries them
    return [
        StoreFulfillment(
            store_id=f"{order['id']}-{first.get('tracking_id') or 'tracked'}",
            items=items,
            shipped_at=_timestamp(first.get("date_shipped")) or shipped_at,
            carrier=(first.get("custom_tracking_provider") or first.get("tracking_provider") or None),
            tracking_number=(first.get("tracking_number") or None),
            tracking_url=(first.get("custom_tracking_link") or None),
        )
    ]


def _timestamp(value: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _language(order: JSON) -> str | None:
    for meta in order.get("meta_data") or ():
        if isinstance(meta, dict) and meta.get("key") in _LANGUAGE_META_KEYS and isinstance(meta.get("value"), str):
            return meta["value"][:8] or None
    return None


def _category(item: JSON) -> str:
    categories = item.get("categories") or []
    first = categories[0] if categories and isinstance(categories[0], dict) else {}
    return str(first.get("name") or NO_CATEGORY)


def _variation_name(product: JSON, variation: JSON) -> str:
    options = ", ".join(str(attribute.get("option")) for attribute in variation.get("attributes") or [] if attribute.get("option"))
    return f"{product.get('name', '')} – {options}" if options else str(product.get("name", ""))
