"""One webhook delivery as the Standard Webhooks specification has it: a JSON body of type, timestamp and data,
with webhook-id, webhook-timestamp and webhook-signature headers, signed by the `standardwebhooks` package."""

import json
import secrets
import time
from datetime import datetime, timezone
from functools import lru_cache

import aiohttp
from standardwebhooks.webhooks import Webhook

from bot.services.errors import WebhookEndpointNotFound
from bot.services.unit_of_work import UnitOfWork
from bot.services.webhooks.deliveries import DeliveryJob, EndpointTarget, Outcome, endpoint_target

TIMEOUT_SECONDS = 10  # an answer later than this counts as a failure
_ERROR_BODY_CHARS = 200


class WebhookSender:
    """Posts deliveries over one connection pool; `async with WebhookSender() as sender:`."""

    def __init__(self, connections: int = 200, timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self._connections = connections
        self._timeout_seconds = timeout_seconds
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "WebhookSender":
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._timeout_seconds),
            connector=aiohttp.TCPConnector(limit=self._connections),
            headers={"User-Agent": "BackorderDesk-Webhooks/1"},
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, target: EndpointTarget, job: DeliveryJob) -> Outcome:
        """Post the delivery; 2xx within the timeout is delivered, anything else an error saying what happened."""
        assert self._session is not None, "use `async with WebhookSender()`"
        body = json.dumps(
            {"type": job.type, "timestamp": job.occurred_at.isoformat(), "data": job.data},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        try:
            # A redirect is an answer other than 2xx, not an address to post to instead.
            async with self._session.post(
                target.url, data=body.encode("utf-8"), headers=signed_headers(target, job.message_id, body),
                allow_redirects=False,
            ) as response:
                if 200 <= response.status < 300:
                    return Outcome(job.delivery_id, response.status)
                text = (await response.text(errors="replace"))[:_ERROR_BODY_CHARS]
                return Outcome(job.delivery_id, response.status, f"HTTP {response.status}: {text}".strip())
        except TimeoutError:
            return Outcome(job.delivery_id, None, f"no answer within {self._timeout_seconds:g} seconds")
        except aiohttp.ClientError as failed:
            return Outcome(job.delivery_id, None, f"{type(failed).__name__}: {failed}"[:_ERROR_BODY_CHARS])


@lru_cache(maxsize=1024)
def _signer(secret: str) -> Webhook:
    """The secret decoded once, not per delivery."""
    return Webhook(secret)


def signed_headers(target: EndpointTarget, message_id: str, body: str) -> dict[str, str]:
    """The Standard Webhooks headers, with one signature per secret (two while a secret is being rotated)."""
    # Wall-clock time, not the shop's clock: receivers compare it with their own to refuse replays.
    sent_at = datetime.fromtimestamp(int(time.time()), timezone.utc)
    signatures = " ".join(_signer(secret).sign(message_id, sent_at, body) for secret in target.secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signatures,
        "Content-Type": "application/json",
    }


async def send_test(sender: WebhookSender, target: EndpointTarget, now: datetime) -> Outcome:
    """Post a signed `webhook.test` message (not from the event log), so a merchant can check their receiver."""
    message_id = "msg_test_" + secrets.token_hex(8)
    job = DeliveryJob(0, message_id, "webhook.test", now, {"endpoint_id": target.id}, attempt=1)
    return await sender.send(target, job)


async def try_endpoint(uow: UnitOfWork, endpoint_id: int) -> tuple[EndpointTarget, Outcome]:
    """Send the endpoint a signed `webhook.test` message now, disabled or not; WebhookEndpointNotFound if unknown."""
    target = await endpoint_target(uow, endpoint_id)
    if target is None:
        raise WebhookEndpointNotFound(endpoint_id)
    async with WebhookSender(connections=1) as sender:
        return target, await send_test(sender, target, uow.clock.now())
