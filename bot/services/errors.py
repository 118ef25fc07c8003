"""Domain errors: why an action is not allowed, in words a customer, agent or merchant can be shown.

Each carries a stable `code` that the chat and API layers map to a localised message or an HTTP status.
"""

from collections.abc import Sequence
from typing import NamedTuple


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


class PurchaseOrderConflict(DomainError):
    """The reference is already taken by a purchase order with other details."""

    code = "purchase_order_conflict"

    def __init__(self, reference: str) -> None:
        super().__init__(
            f"Purchase order {reference} already exists with a different SKU, quantity or date;"
            " move or cancel it instead, or use a new reference."
        )


class ReceiptKeyConflict(DomainError):
    """A receipt's idempotency key was already used for a delivery against another purchase order."""

    code = "receipt_key_conflict"

    def __init__(self, idempotency_key: str) -> None:
        super().__init__(f"The delivery key {idempotency_key} was already used for another purchase order.")


class InvalidLinkToken(DomainError):
    """A deep-link token that is malformed, forged, expired or of an unknown version.

    `reason` says which, for logs; the customer hears the same thing whatever it is.
    """

    code = "invalid_link_token"

    def __init__(self, reason: str) -> None:
        super().__init__("This link is not valid any more. Please link your order with its number and e-mail.")
        self.reason = reason


class UnsupportedLanguage(DomainError):
    code = "unsupported_language"

    def __init__(self, language: str) -> None:
        super().__init__(f"Sorry, {language!r} is not a language this chat speaks.")
        self.language = language


class RowProblem(NamedTuple):
    """One bad cell of an imported file (the whole row when `field` is empty); row 1 is the header."""

    row: int
    field: str
    reason: str


class ImportRejected(DomainError):
    """An imported file had bad rows; none of it was written."""

    code = "import_rejected"

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda problem: problem.row))
        rows = sorted({problem.row for problem in self.problems})
        super().__init__(
            f"The file was not imported, nothing was changed: {len(self.problems)} problem(s) in"
            f" row(s) {', '.join(map(str, rows))}."
        )


class DemoNeedsEmptyShop(DomainError):
    code = "demo_needs_empty_shop"

    def __init__(self) -> None:
        super().__init__("This database already holds a shop's data; the demo store is only loaded into an empty one.")


class ApiTokenNotFound(NotFound):
    code = "api_token_not_found"

    def __init__(self, token_id: int) -> None:
        super().__init__(f"There is no API token {token_id}.")


class InvalidApiTokenName(DomainError):
    code = "invalid_api_token_name"

    def __init__(self) -> None:
        super().__init__("An API token needs a name of 1 to 100 characters, e.g. the shop system that uses it.")


class DelayNoticeNotFound(NotFound):
    code = "delay_notice_not_found"

    def __init__(self) -> None:
        super().__init__("We could not find that delay notice.")


class DelayNoticeSuperseded(DomainError):
    """A newer delay notice replaced this one: answer that one instead."""

    code = "delay_notice_superseded"

    def __init__(self) -> None:
        super().__init__("This delay notice has been replaced by a newer one.")


class AudienceInvalid(DomainError):
    """A broadcast audience that names nothing, or SKUs, a category or orders the shop does not have."""

    code = "audience_invalid"

    def __init__(
        self, unknown_skus: Sequence[str] = (), unknown_orders: Sequence[str] = (), unknown_category: str | None = None
    ) -> None:
        self.unknown_skus = tuple(unknown_skus)
        self.unknown_orders = tuple(unknown_orders)
        self.unknown_category = unknown_category
        problems = []
        if self.unknown_skus:
            problems.append(f"no product with SKU {', '.join(self.unknown_skus)}")
        if self.unknown_orders:
            problems.append(f"no order {', '.join(self.unknown_orders)}")
        if unknown_category is not None:
            problems.append(f"no product in category {unknown_category}")
        super().__init__(
            "The audience has " + "; ".join(problems) + "."
            if problems
            else "Name the audience: SKUs, a category or order numbers."
        )


class BroadcastTextMissing(DomainError):
    code = "broadcast_text_missing"

    def __init__(self, language: str) -> None:
        super().__init__(f"A broadcast needs a text in the shop's default language ({language}).")
        self.language = language


class BroadcastNotFound(NotFound):
    code = "broadcast_not_found"

    def __init__(self, broadcast_id: int) -> None:
        super().__init__(f"There is no broadcast {broadcast_id}.")


class BroadcastTextTooLong(DomainError):
    code = "broadcast_text_too_long"

    def __init__(self, language: str, limit: int) -> None:
        super().__init__(f"The {language} text is longer than one Telegram message ({limit} characters).")
        self.language = language
        self.limit = limit


class TicketNotFound(NotFound):
    code = "ticket_not_found"

    def __init__(self) -> None:
        super().__init__("We could not find that conversation with our team.")


class TicketClosed(DomainError):
    code = "ticket_closed"

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"Ticket #{ticket_id} is closed.")
        self.ticket_id = ticket_id


class TicketStillOpen(DomainError):
    """Rating is for a conversation that has ended."""

    code = "ticket_still_open"

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"Ticket #{ticket_id} is still open; it can be rated once it is closed.")
        self.ticket_id = ticket_id


class InvalidRating(DomainError):
    code = "invalid_rating"

    def __init__(self) -> None:
        super().__init__("A rating is 1 to 5 stars.")


class CannedReplyNotFound(NotFound):
    code = "canned_reply_not_found"

    def __init__(self, key: str) -> None:
        super().__init__(f"There is no canned reply {key}.")
        self.key = key


class InvalidCannedReply(DomainError):
    code = "invalid_canned_reply"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
