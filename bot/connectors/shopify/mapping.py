"""Shopify's objects in our words: its GraphQL Admin API nodes (backfill) and its webhooks' REST-shaped payloads.

Ids are kept as the number at the end of Shopify's global id (gid://shopify/Order/450789469 → "450789469"), the
same number its webhooks carry, so both sources name one order alike; they exceed 32 bits.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision

from bot.services.added_tax import rate_ppm
from bot.services.connectors.store_records import (
    UNTRACKED_STOCK,
    StockCount,
    StoreFulfillment,
    StoreLine,
    StoreOrder,
    StoreProduct,
    StoreVariant,
)

DEFAULT_VARIANT_TITLE = "Default Title"


def parse_time(text: str) -> datetime:
    """Shopify's ISO 8601 times (with an offset or Z); ValueError for anything else or a time without an offset."""
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no offset")
    return at


def number_of(gid_or_id: object) -> str:
    """The numeric id in a global id, or the id itself: "gid://shopify/Order/1" and 1 are both "1"."""
    text = str(gid_or_id)
    return text.rsplit("/", 1)[-1].split("?", 1)[0]


def gid(kind: str, number: str) -> str:
    return f"gid://shopify/{kind}/{number}"


def minor_units(amount: object, currency: str) -> int:
    """A decimal amount ("149.00") in the currency's minor units (14900); ValueError when it is not one."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"{amount!r} is not an amount") from None
    return int((value * (10 ** get_currency_precision(currency))).to_integral_value())


def order_number(name: str) -> str:
    """The number customers know: the order's name without Shopify's leading #."""
    return name.lstrip("#").strip()


def _variant_name(product_title: str, variant_title: str | None) -> str:
    if not variant_title or variant_title == DEFAULT_VARIANT_TITLE:
        return product_title
    return f"{product_title} - {variant_title}"


# GraphQL nodes (backfill)


def variant_from_node(node: dict[str, Any], currency: str) -> tuple[str, StoreVariant, datetime | None]:
    """A productVariants node: (the product's id, the variant, the product's update time)."""
    product = node["product"]
    item = node.get("inventoryItem") or {}
    tracked = bool(item.get("tracked", True))
    return (
        number_of(product["id"]),
        StoreVariant(
            store_id=number_of(node["id"]),
            sku=(node.get("sku") or "").strip() or None,
            name=_variant_name(product["title"], node.get("title")),
            category=(product.get("productType") or "").strip(),
            price_minor=minor_units(node["price"], currency),
            currency=currency,
            tracked=tracked,
            available=node.get("inventoryQuantity") if tracked else UNTRACKED_STOCK,
            inventory_item_id=number_of(item["id"]) if item.get("id") else None,
        ),
        parse_time(product["updatedAt"]) if product.get("updatedAt") else None,
    )


def products_from_variant_nodes(nodes: list[dict[str, Any]], currency: str) -> list[StoreProduct]:
    products: dict[str, list[StoreVariant]] = {}
    updated: dict[str, datetime | None] = {}
    vendors: dict[str, str | None] = {}
    for node in nodes:
        product_id, variant, at = variant_from_node(node, currency)
        products.setdefault(product_id, []).append(variant)
        updated[product_id] = at
        vendors[product_id] = _vendor(node["product"].get("vendor"))
    return [
        StoreProduct(product_id, variants, updated[product_id], vendors[product_id])
        for product_id, variants in products.items()
    ]


def _vendor(vendor: object) -> str | None:
    """Shopify's vendor of a product names its supplier; blank names none."""
    return vendor.strip() or None if isinstance(vendor, str) else None


def stock_from_variant_node(node: dict[str, Any]) -> StockCount | None:
    sku = (node.get("sku") or "").strip()
    if not sku:
        return None
    item = node.get("inventoryItem") or {}
    available = node.get("inventoryQuantity")
    if "inventoryLevel" in item:  # asked at one location: not stocked there counts as none
        quantities = (item["inventoryLevel"] or {}).get("quantities") or []
        available = next((entry["quantity"] for entry in quantities if entry["name"] == "available"), 0)
    if not item.get("tracked", True):
        available = UNTRACKED_STOCK
    if available is None:
        return None
    return StockCount(int(available), sku=sku, inventory_item_id=number_of(item["id"]) if item.get("id") else None)


def order_from_node(node: dict[str, Any], line_nodes: list[dict[str, Any]]) -> StoreOrder:
    """An orders node and its lineItems nodes (nested, or gathered from a bulk operation's lines)."""
    currency = node["currencyCode"]
    customer = node.get("customer") or {}
    name = " ".join(part for part in (customer.get("firstName"), customer.get("lastName")) if part) or customer.get("displayName") or ""
    lines = []
    for line in line_nodes:
        current = int(line.get("currentQuantity", line["quantity"]))
        unfulfilled = int(line.get("unfulfilledQuantity", current))
        price = (line.get("discountedUnitPriceAfterAllDiscountsSet") or line["originalUnitPriceSet"])["shopMoney"]["amount"]
        taxes = [(tax["priceSet"]["shopMoney"]["amount"], tax.get("rate")) for tax in line.get("taxLines") or []]
        unit_price, added_tax = _with_tax_lines(minor_units(price, currency), taxes, int(line["quantity"]), node.get("taxesIncluded"), currency)
        lines.append(
            StoreLine(
                store_id=number_of(line["id"]),
                sku=(line.get("sku") or "").strip() or None,
                quantity=current,
                unit_price_minor=unit_price,
                fulfilled_quantity=max(0, current - unfulfilled),
                variant_id=number_of(line["variant"]["id"]) if line.get("variant") else None,
                added_tax_ppm=added_tax,
            )
        )
    return StoreOrder(
        store_id=number_of(node["id"]),
        number=order_number(node["name"]),
        placed_at=parse_time(node["createdAt"]),
        updated_at=parse_time(node["updatedAt"]),
        email=node.get("email") or None,
        customer_name=name,
        phone=node.get("phone") or customer.get("phone") or None,
        language=_language(node.get("customerLocale")),
        currency=currency,
        lines=lines,
        cancelled=bool(node.get("cancelledAt")),
        fulfillment_ids=tuple(number_of(fulfillment["id"]) for fulfillment in node.get("fulfillments") or []),
    )


def _with_tax_lines(
    unit_price_minor: int, taxes: list[tuple[object, object]], quantity: int, taxes_included: object, currency: str
) -> tuple[int, int]:
    """(What the customer paid for a unit, the rate added on top) from a line's tax lines (amount, rate).

    A tax line's amount is the tax of the whole line as ordered, after discounts and before returns. In a shop
    whose prices include tax it is part of the price already; otherwise it was added, and a unit's share of it
    is part of what the customer paid for that unit (and gets back when it is cancelled).
    """
    if taxes_included or not taxes:
        return unit_price_minor, 0
    total = sum(minor_units(amount, currency) for amount, _ in taxes)
    share = (2 * total + quantity) // (2 * max(1, quantity))  # the unit's share, rounded half up
    return unit_price_minor + share, rate_ppm([rate for _, rate in taxes if rate is not None])  # type: ignore[misc]


def _language(locale: object) -> str | None:
    return str(locale).split("-")[0].lower() if isinstance(locale, str) and locale else None


# Webhook payloads (REST-shaped JSON)


def order_from_payload(payload: dict[str, Any]) -> StoreOrder:
    currency = payload["currency"]
    customer = payload.get("customer") or {}
    name = " ".join(part for part in (customer.get("first_name"), customer.get("last_name")) if part)
    lines = []
    for line in payload.get("line_items", []):
        current = int(line.get("current_quantity", line["quantity"]))
        fulfillable = int(line.get("fulfillable_quantity", current))
        discount = sum(minor_units(allocation["amount"], currency) for allocation in line.get("discount_allocations", []))
        price = max(0, minor_units(line["price"], currency) - (discount // max(1, int(line["quantity"]))))
        taxes = [(tax["price_set"]["shop_money"]["amount"] if tax.get("price_set") else tax["price"], tax.get("rate"))
                 for tax in line.get("tax_lines") or []]
        unit_price, added_tax = _with_tax_lines(price, taxes, int(line["quantity"]), payload.get("taxes_included"), currency)
        lines.append(
            StoreLine(
                store_id=str(line["id"]),
                sku=(line.get("sku") or "").strip() or None,
                quantity=current,
                unit_price_minor=unit_price,
                fulfilled_quantity=max(0, current - fulfillable),
                variant_id=str(line["variant_id"]) if line.get("variant_id") else None,
                added_tax_ppm=added_tax,
            )
        )
    return StoreOrder(
        store_id=str(payload["id"]),
        number=order_number(payload["name"]),
        placed_at=parse_time(payload["created_at"]),
        updated_at=parse_time(payload["updated_at"]),
        email=payload.get("email") or payload.get("contact_email") or customer.get("email") or None,
        customer_name=name or (payload.get("billing_address") or {}).get("name") or "",
        phone=payload.get("phone") or customer.get("phone") or None,
        language=_language(payload.get("customer_locale")),
        currency=currency,
        lines=lines,
        cancelled=bool(payload.get("cancelled_at")),
        fulfillments=[fulfillment_from_payload(fulfillment) for fulfillment in payload.get("fulfillments", [])],
    )


def fulfillment_from_payload(payload: dict[str, Any]) -> StoreFulfillment:
    items: dict[str, int] = {}
    for line in payload.get("line_items", []):
        sku = (line.get("sku") or "").strip()
        if sku:
            items[sku] = items.get(sku, 0) + int(line["quantity"])
    return StoreFulfillment(
        store_id=str(payload["id"]),
        items=list(items.items()),
        shipped_at=parse_time(payload["created_at"]) if payload.get("created_at") else None,
        carrier=payload.get("tracking_company") or None,
        tracking_number=payload.get("tracking_number") or None,
        tracking_url=payload.get("tracking_url") or None,
    )


def product_from_payload(payload: dict[str, Any], currency: str) -> StoreProduct:
    variants = []
    for variant in payload.get("variants", []):
        tracked = variant.get("inventory_management") == "shopify"
        variants.append(
            StoreVariant(
                store_id=str(variant["id"]),
                sku=(variant.get("sku") or "").strip() or None,
                name=_variant_name(payload["title"], variant.get("title")),
                category=(payload.get("product_type") or "").strip(),
                price_minor=minor_units(variant["price"], currency),
                currency=currency,
                tracked=tracked,
                available=variant.get("inventory_quantity") if tracked else UNTRACKED_STOCK,
                inventory_item_id=str(variant["inventory_item_id"]) if variant.get("inventory_item_id") else None,
            )
        )
    updated = payload.get("updated_at")
    return StoreProduct(str(payload["id"]), variants, parse_time(updated) if updated else None, _vendor(payload.get("vendor")))
