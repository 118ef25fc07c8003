"""WooCommerce's webhook deliveries checked before anything reads them: signature first, then the body.

WooCommerce signs the exact bytes it sends, `base64(HMAC-SHA256(secret, body))`, and its JSON escapes `/` as
`\\/` and non-ASCII as `\\uXXXX`: a body parsed and written again no longer matches, so the signature is checked
over the raw bytes, in constant time, before the JSON is parsed. Creating a webhook sends an unsigned,
form-encoded `webhook_id=N` ping that must be answered 200 and means nothing else.

`X-WC-Webhook-Delivery-ID` is a hash of the webhook id and the current second, so two different deliveries can
share it. A delivery is therefore known by what it says: resource, id, modification time and a digest of the
body. A replayed delivery has all four the same; two changes within one second differ in the digest.
"""

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TOPICS = ("order.created", "order.updated", "order.deleted", "product.updated")
_PING = re.compile(rb"webhook_id=(\d{1,19})")


class DeliveryRefused(Exception):
    """Not a delivery to act on; `status` is the HTTP answer (401 unsigned or forged, 400 malformed)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Ping:
    webhook_id: int


@dataclass(frozen=True)
class VerifiedDelivery:
    topic: str  # e.g. "order.updated"
    resource_id: str
    modified_at: datetime | None  # date_modified_gmt; None for a deletion, whose body is only the id
    delivery_key: str  # the same for a replay, different for another change
    payload: dict[str, Any]


def verify_delivery(headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> VerifiedDelivery | Ping:
    """The delivery, once its signature matches one of `secrets` (the current, and the old during a rotation)."""
    given = headers.get("X-WC-Webhook-Signature")
    if given is None:
        ping = _PING.fullmatch(body.strip())
        if ping is not None and "X-WC-Webhook-Topic" not in headers:
            return Ping(int(ping.group(1)))
        raise DeliveryRefused(401, "no X-WC-Webhook-Signature")
    if not any(hmac.compare_digest(given.encode(), _signature(secret, body)) for secret in secrets if secret):
        raise DeliveryRefused(401, "the signature does not match")
    topic = headers.get("X-WC-Webhook-Topic", "")
    if topic not in TOPICS:
        raise DeliveryRefused(400, f"topic {topic[:40]!r} is not one this connector subscribes to")
    try:
        payload = json.loads(body)
    except ValueError:
        raise DeliveryRefused(400, "the body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int) or isinstance(payload["id"], bool):
        raise DeliveryRefused(400, "the body names no resource id")
    resource_id = str(payload["id"])
    modified = gmt_time(payload.get("date_modified_gmt"))
    digest = hashlib.sha256(body).hexdigest()[:16]
    resource = topic.split(".")[0]
    key = f"{resource}:{resource_id}:{modified.isoformat() if modified else topic}:{digest}"
    return VerifiedDelivery(topic, resource_id, modified, key, payload)


def _signature(secret: str, body: bytes) -> bytes:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())


def gmt_time(value: object) -> datetime | None:
    """WooCommerce's `*_gmt` dates ("2017-03-22T19:28:08", no offset, in UTC) as aware datetimes."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
