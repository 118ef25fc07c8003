"""Shopify's webhook signature: base64 HMAC-SHA256 of the raw body, keyed with the app's client secret, in
X-Shopify-Hmac-Sha256 (only the body is signed, not the shop or topic headers). Checked in constant time before
the body is parsed; after a secret rotation Shopify may sign with the old secret for up to an hour, so both pass.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone

from bot.connectors.shopify.mapping import parse_time
from bot.services.connectors.store_records import ReceivedWebhook, WebhookRefused

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
SHOP_HEADER = "X-Shopify-Shop-Domain"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"
# Shopify retries a failed delivery for 48 hours; anything older is a replay, not a retry.
STALE_AFTER = timedelta(hours=72)


def sign(body: bytes, secret: str) -> str:
    """The X-Shopify-Hmac-Sha256 value Shopify sends with `body`."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


class ShopifyWebhookVerifier:
    """Verifies a connection's webhooks with its client secrets (the current one, and the previous during an overlap)."""

    def __init__(self, secrets: Sequence[str], now: Callable[[], datetime] | None = None) -> None:
        self._secrets = [secret.encode("utf-8") for secret in secrets if secret]
        self._now = now or (lambda: datetime.now(timezone.utc))

    def verify(self, headers: Mapping[str, str], body: bytes) -> ReceivedWebhook:
        given = headers.get(HMAC_HEADER)
        if not given:
            raise WebhookRefused(401, f"The {HMAC_HEADER} header is missing.")
        if not self._secrets:
            raise WebhookRefused(401, "No client secret is set for this store, so no webhook can be verified.")
        try:
            signature = base64.b64decode(given, validate=True)
        except ValueError:
            raise WebhookRefused(401, f"The {HMAC_HEADER} header is not base64.") from None
        # Every secret is tried, each in constant time, so the timing says nothing about the signature.
        valid = [hmac.compare_digest(hmac.new(secret, body, hashlib.sha256).digest(), signature) for secret in self._secrets]
        if not any(valid):
            raise WebhookRefused(401, "The signature does not match the body.")
        topic, webhook_id = headers.get(TOPIC_HEADER), headers.get(WEBHOOK_ID_HEADER)
        if not topic or not webhook_id:
            raise WebhookRefused(400, f"The {TOPIC_HEADER} or {WEBHOOK_ID_HEADER} header is missing.")
        triggered = headers.get(TRIGGERED_AT_HEADER)
        if triggered:
            try:
                at = parse_time(triggered)
            except ValueError:
                raise WebhookRefused(400, f"The {TRIGGERED_AT_HEADER} header is not a time.") from None
            if self._now() - at > STALE_AFTER:
                raise WebhookRefused(401, "The webhook is older than Shopify's retries: a replay.")
        try:
            payload = json.loads(body)
        except ValueError:
            raise WebhookRefused(400, "The body is not JSON.") from None
        if not isinstance(payload, dict):
            raise WebhookRefused(400, "The body is not a JSON object.")
        resource_id = payload.get("id")
        updated = payload.get("updated_at")
        return ReceivedWebhook(
            delivery_key=webhook_id,
            topic=topic,
            payload=payload,
            resource_id=str(resource_id) if isinstance(resource_id, (int, str)) else None,
            resource_updated_at=_time_or_none(updated),
        )


def _time_or_none(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None
