"""What a cancel or a swap did, shared by the use cases that make them and the notifications that tell of them."""

from dataclasses import dataclass

from bot.services.backorders.eta import EtaMove
from db.models import LineStatus


@dataclass(frozen=True)
class CancelResult:
    line_id: int
    order_number: str
    sku: str
    product_name: str
    cancelled_quantity: int
    kept_quantity: int
    refund_minor: int
    currency: str
    status: LineStatus
    already_done: bool
    eta_moves: tuple[EtaMove, ...] = ()  # other customers' lines that moved up



@dataclass(frozen=True)
class SubstitutionResult:
    old_line_id: int
    new_line_id: int
    order_number: str
    old_sku: str
    new_sku: str
    product_name: str  # the alternative's
    quantity: int
    unit_price_minor: int  # what the new line is charged per unit
    currency: str
    waived_minor: int
    refund_minor: int
    already_done: bool
    eta_moves: tuple[EtaMove, ...] = ()  # other customers' lines that moved up
