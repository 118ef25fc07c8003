"""Webhook endpoints through the real API: added with a secret shown once, listed, tested against a receiver
verifying with `standardwebhooks`, rotated, turned back on and removed; bad input is a 422 naming the field."""

from collections.abc import AsyncIterator

import pytest

from tests.e2e.web_client import MerchantClient
from tests.webhook_receiver import Receiver, running_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async for running in running_receiver(Receiver()):
        yield running


async def test_a_merchant_manages_an_endpoint_through_the_api(api: MerchantClient, receiver: Receiver) -> None:
    added = await api.post("/webhook-endpoints", {"url": receiver.url, "event_types": ["line.*", "refund.paid"]})
    receiver.secret = added.body["secret"]
    endpoint_id = added.body["endpoint"]["id"]

    tested = await api.post(f"/webhook-endpoints/{endpoint_id}/test")
    rotated = await api.post(f"/webhook-endpoints/{endpoint_id}/rotate-secret")
    listed = await api.get("/webhook-endpoints")
    enabled = await api.post(f"/webhook-endpoints/{endpoint_id}/enable")
    removed = await api.call("DELETE", f"/webhook-endpoints/{endpoint_id}")

    assert added.status == 201 and receiver.secret.startswith("whsec_")
    assert added.body["endpoint"]["event_types"] == ["line.*", "refund.paid"]
    assert tested.body == {"delivered": True, "status": 204, "error": None}
    assert [message.type for message in receiver.received] == ["webhook.test"]
    assert rotated.status == 200 and rotated.body["secret"] not in (receiver.secret, None)
    assert rotated.body["endpoint"]["rotating_until"] is not None
    [endpoint] = listed.body["endpoints"]
    assert "secret" not in endpoint and endpoint["status"] == "active"
    assert enabled.status == 200
    assert removed.status == 204
    assert (await api.get("/webhook-endpoints")).body == {"endpoints": []}
    assert (await api.post(f"/webhook-endpoints/{endpoint_id}/test")).status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [({"url": "javascript:alert(1)"}, "url"), ({"url": "https://example.com/h", "event_types": ["nope.*"]}, "event_types"),
     ({"url": "https://example.com/h", "secret": "mine"}, "secret")],
)  # fmt: skip
async def test_a_bad_endpoint_is_a_422_naming_the_field(api: MerchantClient, body: dict, field: str) -> None:
    answer = await api.post("/webhook-endpoints", body)

    assert answer.status == 422 and field in answer.problems
    assert (await api.get("/webhook-endpoints")).body == {"endpoints": []}


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/refunds/{id}/paid"), ("POST", "/webhook-endpoints/{id}/rotate-secret"),
     ("POST", "/webhook-endpoints/{id}/enable"), ("POST", "/webhook-endpoints/{id}/test"),
     ("DELETE", "/webhook-endpoints/{id}")],
)  # fmt: skip
async def test_an_id_past_32_bits_is_a_404_like_any_unknown_one(api: MerchantClient, method: str, path: str) -> None:
    body = {"payment_reference": "PAY-1"} if "refunds" in path else None
    answer = await api.call(method, path.format(id=2**31), body)

    assert answer.status == 404
