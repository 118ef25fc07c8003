"""Domain errors: why an action is not allowed, in words a customer, agent or merchant can be shown.

Each carries a stable `code` that the API maps to an HTTP status, and one wording (`phrase`): an English text
of the catalogs with its values, which the chat and the console show translated and the API in English.
"""

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from bot.i18n import N_, Phrase


class DomainError(Exception):
    code = "not_allowed"
    text = N_("Sorry, that isn't possible.")

    def __init__(self, text: str | None = None, **params: object) -> None:
        self.phrase = Phrase(text or self.text, params)
        super().__init__(str(self.phrase))

    @property
    def message(self) -> str:
        """The English wording, for the API, logs and the command line."""
        return str(self.phrase)


class NotFound(DomainError):
    """Also raised for things that exist but belong to someone else, so the two cannot be told apart."""

    code = "not_found"


class LineNotFound(NotFound):
    code = "line_not_found"
    text = N_("I couldn't find that item on your orders.")

    def __init__(self) -> None:
        super().__init__()


class OrderNotFound(NotFound):
    code = "order_not_found"
    text = N_("I couldn't find that order on your account.")

    def __init__(self) -> None:
        super().__init__()


class PurchaseOrderNotFound(NotFound):
    code = "purchase_order_not_found"
    text = N_("There is no purchase order {reference}.")

    def __init__(self, reference: str) -> None:
        super().__init__(reference=reference)


class SupplierNotFound(NotFound):
    code = "supplier_not_found"
    text = N_("There is no supplier {supplier}.")

    def __init__(self, supplier: object) -> None:
        super().__init__(supplier=supplier)


class SupplierNameTaken(DomainError):
    code = "supplier_name_taken"
    text = N_("Another supplier is already called {name}.")

    def __init__(self, name: str) -> None:
        super().__init__(name=name)


class SupplierInUse(DomainError):
    code = "supplier_in_use"
    text = N_("Supplier {name} still has purchase orders or products, so it cannot be removed.")

    def __init__(self, name: str) -> None:
        super().__init__(name=name)


class ProductNotFound(NotFound):
    code = "product_not_found"
    text = N_("There is no product with SKU {sku}.")

    def __init__(self, sku: str) -> None:
        super().__init__(sku=sku)


class LineNotCancellable(DomainError):
    code = "line_not_cancellable"
    text = N_("This item can't be cancelled here.")
    _BECAUSE = {
        "shipped": N_("This item has already shipped, so it can't be cancelled here."),
        "allocated": N_("This item is reserved for you and ready to ship, so it can't be cancelled here."),
        "cancelled": N_("This item is already cancelled."),
        "substituted": N_("This item was swapped for an alternative, so it can't be cancelled."),
    }

    def __init__(self, status: str) -> None:
        super().__init__(self._BECAUSE.get(status))
        self.status = status


class LineNotWaiting(DomainError):
    """The line is no longer waiting for stock, so it cannot be swapped."""

    code = "line_not_waiting"
    text = N_("This item is no longer waiting for stock, so there is nothing to swap.")

    def __init__(self, status: str) -> None:
        super().__init__()
        self.status = status


class AlternativeNotOffered(DomainError):
    code = "alternative_not_offered"
    text = N_("That alternative isn't available for this item any more.")

    def __init__(self) -> None:
        super().__init__()


class AlternativeSoldOut(DomainError):
    code = "alternative_sold_out"
    text = N_("Sorry, that alternative has just sold out.")

    def __init__(self) -> None:
        super().__init__()


class PurchaseOrderClosed(DomainError):
    code = "purchase_order_closed"
    _BECAUSE = {
        "received": N_("Purchase order {reference} is already received."),
        "cancelled": N_("Purchase order {reference} is already cancelled."),
    }
    text = N_("Purchase order {reference} is already closed.")

    def __init__(self, reference: str, status: str) -> None:
        super().__init__(self._BECAUSE.get(status), reference=reference)
        self.status = status


class InvalidQuantity(DomainError):
    code = "invalid_quantity"

    @classmethod
    def beyond_outstanding(cls, reference: str, outstanding: int, received: int) -> "InvalidQuantity":
        """More received than the purchase order still has outstanding (or nothing at all)."""
        return cls(
            N_("Purchase order {reference} has {outstanding} units outstanding; {received} cannot be received."),
            reference=reference,
            outstanding=outstanding,
            received=received,
        )


class PurchaseOrderConflict(DomainError):
    """The reference is already taken by a purchase order with other details."""

    code = "purchase_order_conflict"
    text = N_(
        "Purchase order {reference} already exists with a different SKU, quantity or date;"
        " move or cancel it instead, or use a new reference."
    )

    def __init__(self, reference: str) -> None:
        super().__init__(reference=reference)


class ReceiptKeyConflict(DomainError):
    """A receipt's idempotency key was already used for a delivery against another purchase order."""

    code = "receipt_key_conflict"
    text = N_("The delivery key {key} was already used for another purchase order.")

    def __init__(self, idempotency_key: str) -> None:
        super().__init__(key=idempotency_key)


class InvalidLinkToken(DomainError):
    """A deep-link token that is malformed, forged, expired or of an unknown version.

    `reason` says which, for logs; the customer hears the same thing whatever it is.
    """

    code = "invalid_link_token"
    text = N_("This link is not valid any more. Please link your order with its number and e-mail.")

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class UnsupportedLanguage(DomainError):
    code = "unsupported_language"
    text = N_("Sorry, I only speak English and German.")

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language


# A file or batch wrong in every row is told its first problems and how many there are in all.
LISTED_PROBLEMS = 100


class RowProblem(NamedTuple):
    """One bad cell of an imported file (the whole row when `field` is empty); row 1 is the header."""

    row: int
    field: str
    reason: str


class ImportRejected(DomainError):
    """An imported file had bad rows; none of it was written."""

    code = "import_rejected"
    text = N_("The file was not imported, nothing was changed. Rows with problems: {rows}.")

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda problem: problem.row))
        rows = sorted({problem.row for problem in self.problems})
        super().__init__(rows=", ".join(map(str, rows)))


class DemoNeedsEmptyShop(DomainError):
    code = "demo_needs_empty_shop"
    text = N_("This database already holds a shop's data; the demo store is only loaded into an empty one.")

    def __init__(self) -> None:
        super().__init__()


class ApiTokenNotFound(NotFound):
    code = "api_token_not_found"
    text = N_("There is no API token {token}.")

    def __init__(self, token_id: int) -> None:
        super().__init__(token=token_id)


class InvalidApiTokenName(DomainError):
    code = "invalid_api_token_name"
    text = N_("An API token needs a name of 1 to 100 characters, e.g. the shop system that uses it.")

    def __init__(self) -> None:
        super().__init__()


class DelayNoticeNotFound(NotFound):
    code = "delay_notice_not_found"
    text = N_("I couldn't find that notice on your orders.")

    def __init__(self) -> None:
        super().__init__()


class DelayNoticeSuperseded(DomainError):
    """A newer delay notice replaced this one: answer that one instead."""

    code = "delay_notice_superseded"
    text = N_("This notice has been replaced by a newer one.")

    def __init__(self) -> None:
        super().__init__()


class AudienceInvalid(DomainError):
    """A broadcast audience that names nothing, or SKUs, a category or orders the shop does not have."""

    code = "audience_invalid"
    text = N_("Not found: {problems}.")

    def __init__(
        self, unknown_skus: Sequence[str] = (), unknown_orders: Sequence[str] = (), unknown_category: str | None = None
    ) -> None:
        self.unknown_skus = tuple(unknown_skus)
        self.unknown_orders = tuple(unknown_orders)
        self.unknown_category = unknown_category
        problems = []
        if self.unknown_skus:
            problems.append(Phrase(N_("no product with SKU {skus}"), {"skus": ", ".join(self.unknown_skus)}))
        if self.unknown_orders:
            problems.append(Phrase(N_("no order {numbers}"), {"numbers": ", ".join(self.unknown_orders)}))
        if unknown_category is not None:
            problems.append(Phrase(N_("no product in category {category}"), {"category": unknown_category}))
        if problems:
            super().__init__(problems=tuple(problems))
        else:
            super().__init__(N_("Name the audience: SKUs, a category or order numbers."))


class BroadcastTextMissing(DomainError):
    code = "broadcast_text_missing"
    text = N_("A broadcast needs a text in the shop's default language ({language}).")

    def __init__(self, language: str) -> None:
        super().__init__(language=language)
        self.language = language


class NewEtaOutOfRange(DomainError):
    code = "new_eta_out_of_range"
    text = N_("The new ETA must be between {earliest} and {latest}.")

    def __init__(self, earliest: date, latest: date) -> None:
        super().__init__(earliest=earliest.isoformat(), latest=latest.isoformat())


class BroadcastNotFound(NotFound):
    code = "broadcast_not_found"
    text = N_("There is no broadcast {broadcast}.")

    def __init__(self, broadcast_id: int) -> None:
        super().__init__(broadcast=broadcast_id)


class BroadcastTextTooLong(DomainError):
    code = "broadcast_text_too_long"
    text = N_("The {language} text is longer than one Telegram message ({limit} characters).")

    def __init__(self, language: str, limit: int) -> None:
        super().__init__(language=language, limit=limit)
        self.language = language
        self.limit = limit


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    text = N_("That conversation with our team is no longer open.")

    def __init__(self) -> None:
        super().__init__()


class TicketClosed(DomainError):
    code = "ticket_closed"
    text = N_("Ticket #{ticket} is closed.")

    def __init__(self, ticket_id: int) -> None:
        super().__init__(ticket=ticket_id)
        self.ticket_id = ticket_id


class TicketStillOpen(DomainError):
    """Rating is for a conversation that has ended."""

    code = "ticket_still_open"
    text = N_("Ticket #{ticket} is still open; it can be rated once it is closed.")

    def __init__(self, ticket_id: int) -> None:
        super().__init__(ticket=ticket_id)
        self.ticket_id = ticket_id


class InvalidRating(DomainError):
    code = "invalid_rating"
    text = N_("A rating is 1 to 5 stars.")

    def __init__(self) -> None:
        super().__init__()


class CannedReplyNotFound(NotFound):
    code = "canned_reply_not_found"
    text = N_("There is no canned reply {key}.")

    def __init__(self, key: str) -> None:
        super().__init__(key=key)
        self.key = key


class InvalidCannedReply(DomainError):
    code = "invalid_canned_reply"


class InvalidFeedQuery(DomainError):
    """A query of the event feed or an endpoint's event types that cannot be answered; `field` names the part."""

    code = "invalid_query"
    text = N_("{field} {reason}")

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field=field, reason=reason)
        self.field = field
        self.reason = reason


class ShipmentRefused(DomainError):
    """A shipment that cannot be recorded as given; the wording says why and what could ship."""

    code = "shipment_refused"
    SKU_TWICE = N_("SKU {sku} is named twice; name it once with the whole quantity.")
    NO_QUANTITY = N_("The quantity of SKU {sku} must be at least 1.")
    NO_LINES = N_("A shipment needs at least one line.")
    NOT_ON_ORDER = N_("Order {order} has no line with SKU {sku}.")
    TOO_MANY = N_("Only {shippable} of SKU {sku} can ship: that is what is allocated and not yet shipped.")
    TOO_MANY_WAITING = N_(
        "Only {shippable} of SKU {sku} can ship: that is what is allocated and not yet shipped; {waiting} still wait"
        " for stock."
    )


class ShipmentConflict(DomainError):
    code = "shipment_conflict"
    text = N_("Tracking number {tracking_number} was already recorded for this order with other items.")

    def __init__(self, tracking_number: str) -> None:
        super().__init__(tracking_number=tracking_number)


class RefundNotFound(NotFound):
    code = "refund_not_found"
    text = N_("There is no refund {refund_id}.")

    def __init__(self, refund_id: int) -> None:
        super().__init__(refund_id=refund_id)


class RefundAlreadyPaid(DomainError):
    code = "refund_already_paid"
    text = N_("Refund {refund_id} was already recorded as paid with reference {reference}.")

    def __init__(self, refund_id: int, reference: str | None) -> None:
        super().__init__(refund_id=refund_id, reference=reference)


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    text = N_("There is no webhook endpoint {endpoint_id}.")

    def __init__(self, endpoint_id: int) -> None:
        super().__init__(endpoint_id=endpoint_id)


class InvalidWebhookUrl(DomainError):
    code = "invalid_webhook_url"
    text = N_("'{url}' is not a web address starting with https:// or http://.")

    def __init__(self, url: str) -> None:
        super().__init__(url=url)
