"""What the merchant API reads and writes for the shop's side of an order's life: events, shipments,
shop-side cancels, refunds and the fulfilment to-do. Money is in minor units, as everywhere."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.services.event_log import MAX_PAGE, EventPage, EventView


class EventQuery(BaseModel):
    """Query-string filters of the feed; values arrive as text, so they are converted rather than strict."""

    model_config = ConfigDict(extra="forbid")

    after: str | None = Field(None, description="`next_cursor` of the previous page; absent: from the first event.")
    types: str | None = Field(
        None, description="Comma-separated event types; `line.*` names a family.", examples=["line.*,refund.owed"]
    )
    limit: int = Field(100, ge=1, le=MAX_PAGE, description="Events per page.")


class EventOut(BaseModel):
    id: str = Field(description="Stable: the same event always has this id, also in webhook deliveries.")
    type: str = Field(examples=["line.cancelled"])
    occurred_at: datetime
    order_number: str | None
    data: dict[str, Any] = Field(description="Self-contained: order number, SKU, quantities, money with currency.")
    cursor: str = Field(description="Where this event stands in the feed.")

    @classmethod
    def of(cls, event: EventView) -> "EventOut":
        return cls(
            id=event.id,
            type=event.type,
            occurred_at=event.occurred_at,
            order_number=event.order_number,
            data=event.data,
            cursor=event.cursor.encode(),
        )


class EventPageOut(BaseModel):
    events: list[EventOut] = Field(description="Oldest first.")
    next_cursor: str | None = Field(
        description="Store it and pass it as `after` next time, also when this page is empty; null only while the"
        " log is empty. Paging with it never skips or repeats an event."
    )

    @classmethod
    def of(cls, page: EventPage) -> "EventPageOut":
        return cls(
            events=[EventOut.of(event) for event in page.events],
            next_cursor=page.next_cursor.encode() if page.next_cursor else None,
        )
