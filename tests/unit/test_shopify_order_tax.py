"""What a customer paid for a unit of a Shopify order line, from the documented order shapes: the tax lines
Shopify adds on top in a shop whose prices exclude tax, nothing added where they include it."""

import json
from pathlib import Path

from bot.connectors.shopify.mapping import order_from_node, order_from_payload
from bot.services.added_tax import with_added_tax, without_added_tax

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"


def _payload() -> dict:  # type: ignore[type-arg]
    return json.loads((FIXTURES / "orders_create.json").read_text())


def test_a_tax_exclusive_webhook_order_line_costs_its_price_and_its_unit_share_of_the_tax() -> None:
    [line] = order_from_payload(_payload()).lines  # 199.00 with 6 % State Tax on top: 11.94
    assert (line.unit_price_minor, line.added_tax_ppm) == (21094, 60_000)


def test_a_tax_inclusive_webhook_order_line_costs_its_price() -> None:
    [line] = order_from_payload({**_payload(), "taxes_included": True}).lines
    assert (line.unit_price_minor, line.added_tax_ppm) == (19900, 0)


def test_a_graphql_order_line_shares_its_tax_lines_among_the_units_ordered() -> None:
    template = json.loads((FIXTURES / "tax_line.json").read_text())

    def tax(title: str, rate: float, amount: str) -> dict:  # type: ignore[type-arg]
        return {**template, "title": title, "rate": rate, "priceSet": {"shopMoney": {"amount": amount, "currencyCode": "CAD"}}}

    node = {"id": "gid://shopify/Order/1", "name": "#1", "createdAt": "2026-11-01T10:00:00Z", "updatedAt": "2026-11-01T10:00:00Z",
            "currencyCode": "CAD", "email": "a@example.com", "taxesIncluded": False}
    # Three units of 29.79 (89.37) with GST 5 % (4.47) and PST 7 % (6.26), each rounded for the whole line.
    line = {"id": "gid://shopify/LineItem/2", "sku": "CAB-3", "quantity": 3, "currentQuantity": 3, "unfulfilledQuantity": 3,
            "originalUnitPriceSet": {"shopMoney": {"amount": "29.79"}}, "taxLines": [tax("GST", 0.05, "4.47"), tax("PST", 0.07, "6.26")]}
    [mapped] = order_from_node(node, [line]).lines
    assert (mapped.unit_price_minor, mapped.added_tax_ppm) == (2979 + 358, 120_000)  # 10.73 / 3 = 3.58 a unit


def test_a_substitutes_price_is_charged_with_the_lines_rate_and_a_discount_taken_before_it() -> None:
    assert with_added_tax(8900, 190_000) == 10591
    assert without_added_tax(1190, 190_000) == 1000
    assert with_added_tax(8900, 0) == 8900
