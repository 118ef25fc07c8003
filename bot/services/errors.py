"""Domain errors: why an action is not allowed, in words a customer, agent or merchant can be shown.

Each carries a stable `code` that the chat and API layers map to a localised message or an HTTP status.
"""


class DomainError(Exception):
    code = "not_allowed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """Also raised for things that exist but belong to someone else, so the two cannot be told apart."""

    code = "not_found"


class LineNotFound(NotFound):
    code = "line_not_found"

    def __init__(self) -> None:
        super().__init__("We could not find that item on your orders.")


class OrderNotFound(NotFound):
    code = "order_not_found"

    def __init__(self) -> None:
        super().__init__("We could not find that order.")


class PurchaseOrderNotFound(NotFound):
    code = "purchase_order_not_found"

    def __init__(self, reference: str) -> None:
        super().__init__(f"There is no purchase order {reference}.")


class ProductNotFound(NotFound):
    code = "product_not_found"

    def __init__(self, sku: str) -> None:
        super().__init__(f"There is no product with SKU {sku}.")


class LineNotCancellable(DomainError):
    code = "line_not_cancellable"

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


class LineNotWaiting(DomainError):
    """The line is no longer waiting for stock, so it cannot be swapped."""

    code = "line_not_waiting"

    def __init__(self, status: str) -> None:
        super().__init__(f"This item is no longer waiting for stock (it is {status.replace('_', ' ')}).")
        self.status = status


class AlternativeNotOffered(DomainError):
    code = "alternative_not_offered"

    def __init__(self) -> None:
        super().__init__("That product is not an alternative we can offer for this item.")


class AlternativeSoldOut(DomainError):
    code = "alternative_sold_out"

    def __init__(self) -> None:
        super().__init__("Sorry, that alternative has just sold out.")


class PurchaseOrderClosed(DomainError):
    code = "purchase_order_closed"

    def __init__(self, reference: str, status: str) -> None:
        super().__init__(f"Purchase order {reference} is already {status}.")
        self.status = status


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
