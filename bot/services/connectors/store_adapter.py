"""What every store platform's adapter (bot/connectors/<platform>/) offers the connector use cases and jobs."""

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from bot.services.connectors.store_records import (
    Page,
    ReceivedWebhook,
    StockCount,
    StoreChange,
    StoreIdentity,
    StoreOrder,
    StoreProduct,
    WriteBackRequest,
    WriteBackResult,
)


class StoreAdapter(Protocol):
    """One store, spoken to in its own wire format. Network failures raise StoreUnavailable, refusals StoreRefused."""

    platform: str

    async def check_credentials(self) -> StoreIdentity:
        """Who the credentials belong to; StoreRefused names what is wrong (token, scope, address)."""
        ...

    async def register_webhooks(self, callback_url: str) -> list[str]:
        """Subscribe the topics the bot needs at `callback_url`; again changes nothing. The topics subscribed."""
        ...

    async def product_page(self, cursor: str | None) -> Page[StoreProduct]: ...

    async def open_order_page(self, cursor: str | None) -> Page[StoreOrder]:
        """A page of the orders not yet fulfilled (nor cancelled)."""
        ...

    async def stock_page(self, cursor: str | None) -> Page[StockCount]: ...

    def parse_webhook(self, topic: str, payload: dict) -> list[StoreChange]:  # type: ignore[type-arg]
        """What a queued webhook means; pure, no network. ValueError for a payload it cannot read."""
        ...

    async def changes_since(self, since: datetime) -> list[StoreChange]:
        """Orders and products changed in the store since then, for reconciling missed webhooks."""
        ...

    async def write_back(self, request: WriteBackRequest) -> WriteBackResult:
        """Do in the store what the request asks and its steps do not show as done yet."""
        ...

    async def aclose(self) -> None: ...


class WebhookVerifier(Protocol):
    """Checks a webhook request with the connection's secrets, before its body is parsed."""

    def verify(self, headers: Mapping[str, str], body: bytes) -> ReceivedWebhook:
        """The verified webhook; WebhookRefused (with the HTTP status to answer) when it is not the store's."""
        ...
