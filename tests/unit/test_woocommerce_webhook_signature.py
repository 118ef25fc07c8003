"""WooCommerce webhook deliveries: signed bytes checked before parsing, the ping, replays and same-second changes."""

import json

import pytest

from bot.connectors.woocommerce.webhook_signature import DeliveryRefused, Ping, VerifiedDelivery, verify_delivery
from tests.fakes.woocommerce_store import fixture, signature, wordpress_json

SECRET = "whs-current"


def _headers(body: bytes, secret: str = SECRET, topic: str = "order.updated") -> dict[str, str]:
    return {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Signature": signature(secret, body),
        "X-WC-Webhook-Delivery-ID": "d41d8cd98f00b204e9800998ecf8427e",
    }


def test_a_signed_order_is_accepted_as_it_was_sent() -> None:
    order = fixture("order.json")
    body = wordpress_json(order)
    assert b"https:\\/\\/example.com" in body  # WordPress escapes slashes: the bytes differ from json.dumps

    delivery = verify_delivery(_headers(body), body, [SECRET])

    assert isinstance(delivery, VerifiedDelivery)
    assert (delivery.topic, delivery.resource_id) == ("order.updated", "727")
    assert delivery.modified_at is not None and delivery.modified_at.isoformat() == "2017-03-22T19:28:08+00:00"
    assert delivery.payload["line_items"][1]["sku"] == "Bar3"


def test_the_signature_is_over_the_raw_bytes_so_a_reserialised_body_fails() -> None:
    order = fixture("order.json")
    body = wordpress_json(order)
    headers = _headers(body)
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    with pytest.raises(DeliveryRefused) as refused:
        verify_delivery(headers, reserialised, [SECRET])
    assert refused.value.status == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"X-WC-Webhook-Topic": "order.updated"},  # unsigned
        {"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Signature": "AAAA"},  # forged
        {"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Signature": signature("another-secret", b"{}")},
    ],
)
def test_unsigned_or_forged_deliveries_are_refused_before_parsing(headers: dict[str, str]) -> None:
    with pytest.raises(DeliveryRefused) as refused:
        verify_delivery(headers, b"not even json", [SECRET])
    assert refused.value.status == 401


def test_the_old_secret_still_verifies_during_a_rotation() -> None:
    body = wordpress_json(fixture("order.json"))
    assert isinstance(verify_delivery(_headers(body, "old"), body, [SECRET, "old"]), VerifiedDelivery)
    with pytest.raises(DeliveryRefused):
        verify_delivery(_headers(body, "old"), body, [SECRET])


def test_the_creation_ping_is_recognised_and_nothing_else_passes_unsigned() -> None:
    assert verify_delivery({"Content-Type": "application/x-www-form-urlencoded"}, b"webhook_id=142", [SECRET]) == Ping(142)
    with pytest.raises(DeliveryRefused):
        verify_delivery({"X-WC-Webhook-Topic": "order.updated"}, b"webhook_id=142", [SECRET])
    with pytest.raises(DeliveryRefused):
        verify_delivery({}, b'{"id": 1}', [SECRET])


def test_a_replay_has_the_same_key_and_a_change_in_the_same_second_another() -> None:
    order = fixture("order.json")
    first = wordpress_json(order)
    order["status"] = "completed"  # same date_modified_gmt: WooCommerce keeps whole seconds
    second = wordpress_json(order)
    keys = [verify_delivery(_headers(body), body, [SECRET]) for body in (first, first, second)]
    assert isinstance(keys[0], VerifiedDelivery) and isinstance(keys[1], VerifiedDelivery)
    assert isinstance(keys[2], VerifiedDelivery)
    assert keys[0].delivery_key == keys[1].delivery_key != keys[2].delivery_key


def test_a_deletion_carries_only_the_id() -> None:
    body = wordpress_json({"id": 727})
    delivery = verify_delivery(_headers(body, topic="order.deleted"), body, [SECRET])
    assert isinstance(delivery, VerifiedDelivery)
    assert (delivery.topic, delivery.resource_id, delivery.modified_at) == ("order.deleted", "727", None)


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"id": "727"}', b'{"id": true}', b"{"])
def test_a_signed_body_that_is_not_a_resource_is_refused(body: bytes) -> None:
    with pytest.raises(DeliveryRefused) as refused:
        verify_delivery(_headers(body), body, [SECRET])
    assert refused.value.status == 400


def test_a_topic_not_subscribed_to_is_refused() -> None:
    body = wordpress_json({"id": 5})
    with pytest.raises(DeliveryRefused) as refused:
        verify_delivery(_headers(body, topic="coupon.created"), body, [SECRET])
    assert refused.value.status == 400
