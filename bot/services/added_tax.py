"""Tax a shop adds on top of its prices (a store that shows prices without tax), as a line's rate in millionths.

A line's unit price is what the customer paid for one unit, tax included; where the store added the tax, the line
also keeps the rate, so a substitute's catalogue price (without tax) is compared and charged as the store charges it.
A rate of 0 means the prices already include any tax: nothing is added.
"""

from decimal import ROUND_HALF_UP, Decimal

PPM = 1_000_000


def with_added_tax(price_minor: int, rate_ppm: int) -> int:
    """The price as charged: the catalogue price and the tax the store adds to it, rounded to the minor unit."""
    return price_minor + _round(Decimal(price_minor) * rate_ppm / PPM)


def without_added_tax(amount_minor: int, rate_ppm: int) -> int:
    """The part of a charged amount before the added tax (what a store's discount, taken before tax, must be)."""
    return _round(Decimal(amount_minor) * PPM / (PPM + rate_ppm))


def rate_ppm(rates: list[float | str | Decimal]) -> int:
    """The sum of a line's tax rates (decimal fractions, as stores give them: 0.19) in millionths."""
    return _round(sum((Decimal(str(rate)) for rate in rates), Decimal(0)) * PPM)


def highest_catalogue_price(charged_limit_minor: int, rate_ppm: int) -> int:
    """The highest catalogue price whose charged price stays within the limit."""
    return charged_limit_minor * PPM // (PPM + rate_ppm)


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
