"""WooCommerce's documented resources read as store records: money, dates, backorder marking, stock, status."""

from datetime import UTC, datetime

import pytest

from bot.connectors.woocommerce.store_mapping import (
    backordered_quantity,
    minor_units,
    shared_stock_count,
    store_order,
    store_product,
)
from tests.fakes.woocommerce_store import fixture


def test_the_documented_order_reads_as_placed() -> None:
    order = store_order(fixture("order.json"))
    assert (order.store_id, order.number, order.currency, order.email) == ("727", "727", "USD", "john.doe@example.com")
    assert order.placed_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)  # date_created_gmt, not the site's time
    assert order.updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert (order.customer_name, order.phone, order.cancelled, order.fulfillments) == ("John Doe", "(555) 555-5555", False, [])
    single, variation = order.lines
    # Paid per unit: the line's total after discounts plus its tax, over the quantity.
    assert (single.store_id, single.sku, single.quantity, single.unit_price_minor) == ("315", None, 2, 323)
    assert (variation.sku, variation.variant_id, variation.unit_price_minor) == ("Bar3", "23", 1290)
    assert (single.backordered_quantity, variation.backordered_quantity) == (None, None)  # no mark: the store does not say


@pytest.mark.parametrize(
    ("meta", "keys", "expected"),
    [
        ({"key": "Backordered", "value": 2}, ("Backordered",), 2),
        ({"key": "Backordered", "value": "1"}, ("Backordered",), 1),
        ({"key": "Lieferrückstand", "value": "2", "display_key": "Lieferrückstand"}, ("Backordered",), None),
        ({"key": "Lieferrückstand", "value": "2"}, ("Backordered", "Lieferrückstand"), 2),
        ({"key": "Backordered", "value": "9"}, ("Backordered",), 3),  # never more than the line holds
        ({"key": "Backordered", "value": "n/a"}, ("Backordered",), None),
    ],
)
def test_backorders_are_read_from_woocommerces_own_line_item_meta(meta: dict, keys: tuple[str, ...], expected: int | None) -> None:
    assert backordered_quantity({"quantity": 3, "meta_data": [{"id": 1, **meta}]}, keys) == expected


@pytest.mark.parametrize("status", ["cancelled", "refunded", "failed", "trash"])
def test_closed_orders_are_cancelled(status: str) -> None:
    assert store_order(fixture("order.json") | {"status": status}).cancelled


def test_a_completed_order_shipped_whole_with_the_shipment_tracking_parcel() -> None:
    order = fixture("order.json") | {"status": "completed", "date_completed_gmt": "2017-03-24T10:00:00"}
    order["meta_data"] = [{"id": 1, "key": "_wc_shipment_tracking_items", "value": [
        {"tracking_provider": "dhl", "custom_tracking_provider": "", "tracking_number": "JD0146", "tracking_id": "a1",
         "date_shipped": "1490349600", "custom_tracking_link": ""}
    ]}]
    [parcel] = store_order(order).fulfillments
    assert (parcel.carrier, parcel.tracking_number, parcel.items) == ("dhl", "JD0146", [("Bar3", 1)])
    assert parcel.shipped_at == datetime(2017, 3, 24, 10, 0, tzinfo=UTC)
    assert all(line.fulfilled_quantity == line.quantity for line in store_order(order).lines)


def test_the_language_multilingual_plugins_keep_on_the_order() -> None:
    order = fixture("order.json")
    order["meta_data"].append({"id": 2, "key": "wpml_language", "value": "de"})
    assert store_order(order).language == "de"


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("29.35", "USD", 2935), (12, "EUR", 1200), (3.5, "EUR", 350), ("1500.00", "JPY", 1500), ("0.125", "EUR", 13), ("", "EUR", 0)],
)
def test_amounts_in_minor_units_of_their_currency(amount: object, currency: str, minor: int) -> None:
    assert minor_units(amount, currency) == minor


def test_a_product_that_is_not_an_order_is_refused() -> None:
    with pytest.raises(ValueError, match="not a WooCommerce order"):
        store_order({"id": 5, "name": "Premium Quality"})


def test_documented_products_and_a_variation_managed_by_its_parent() -> None:
    simple = store_product(fixture("product_simple.json"), [], "EUR")
    [variant] = simple.variants
    assert (variant.store_id, variant.sku, variant.name, variant.category, variant.price_minor) == ("794", None, "Premium Quality", "Clothing", 2199)
    assert (variant.tracked, variant.available) == (False, None)  # manage_stock false: never backordered

    parent = fixture("product_variable.json") | {"manage_stock": True, "stock_quantity": -2}
    variation = fixture("variation.json") | {"sku": "SHIP-BLACK", "manage_stock": "parent"}
    [shirt] = store_product(parent, [variation], "EUR").variants
    assert (shirt.sku, shirt.name, shirt.tracked, shirt.available) == ("SHIP-BLACK", "Ship Your Idea – Black", True, -2)
    assert shirt.shared_stock_id == str(parent["id"])  # its product's count, shared with the other variations


def test_a_variation_sharing_its_products_count_on_its_own_and_the_products_webhook() -> None:
    """A variation's webhook says "parent" only while its product counts for it, and shows that count."""
    variation = fixture("variation.json") | {"sku": "SHIP-BLACK", "manage_stock": "parent", "stock_quantity": 4, "parent_id": 799}
    [shirt] = store_product(variation | {"type": "variation"}, [], "EUR").variants
    assert (shirt.tracked, shirt.available, shirt.shared_stock_id) == (True, 4, "799")

    parent = fixture("product_variable.json") | {"id": 799, "manage_stock": True, "stock_quantity": -2}
    count = shared_stock_count(parent)
    assert count is not None and (count.available, count.sku, count.shared_stock_id) == (-2, None, "799")
    assert shared_stock_count(fixture("product_variable.json")) is None  # the variations keep their own
