"""Deep-link tokens: only a genuine, unexpired token of ours reads back, and every token fits Telegram's /start."""

import base64
import re
from datetime import datetime, timedelta, timezone

import pytest

from bot.services.conversations.link_tokens import MAX_ID, SigningKeyMissing, create_link_token, read_link_token
from bot.services.errors import InvalidLinkToken

SECRET = "a long random secret for tests"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
EXPIRES = NOW + timedelta(days=30)
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what Telegram accepts after ?start=
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def reason_for(token: str, secret: str = SECRET, now: datetime = NOW) -> str:
    with pytest.raises(InvalidLinkToken) as refused:
        read_link_token(secret, token, now)
    return refused.value.reason


def test_a_token_reads_back_as_the_customer_order_and_expiry_it_was_made_for() -> None:
    token = create_link_token(SECRET, customer_id=42, order_id=1042, expires_at=EXPIRES)

    claims = read_link_token(SECRET, token, NOW)

    assert (claims.customer_id, claims.order_id, claims.expires_at) == (42, 1042, EXPIRES)


def test_tokens_for_different_orders_differ() -> None:
    assert create_link_token(SECRET, 42, 1042, EXPIRES) != create_link_token(SECRET, 42, 1043, EXPIRES)


@pytest.mark.parametrize(
    ("customer_id", "order_id", "expires_at"),
    [
        (1, 1, EXPIRES),
        (MAX_ID, MAX_ID, datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),
        (2**31 - 1, 2**40, datetime(2999, 1, 1, tzinfo=timezone.utc)),
    ],
)
def test_every_token_fits_telegrams_start_payload(customer_id: int, order_id: int, expires_at: datetime) -> None:
    token = create_link_token(SECRET, customer_id, order_id, expires_at)

    assert START_PAYLOAD.fullmatch(token), token
    assert read_link_token(SECRET, token, NOW).order_id == order_id


@pytest.mark.parametrize(("customer_id", "order_id"), [(0, 1), (1, -5), (MAX_ID + 1, 1), (1, 2**64)])
def test_ids_a_token_cannot_carry_are_refused_when_signing(customer_id: int, order_id: int) -> None:
    with pytest.raises(ValueError):
        create_link_token(SECRET, customer_id, order_id, EXPIRES)


def test_changing_any_single_character_makes_the_token_invalid() -> None:
    token = create_link_token(SECRET, 42, 1042, EXPIRES)

    for position, original in enumerate(token):
        index = ALPHABET.index(original)
        for replacement in (ALPHABET[(index + 1) % 64], ALPHABET[(index + 31) % 64]):
            tampered = token[:position] + replacement + token[position + 1 :]
            with pytest.raises(InvalidLinkToken):
                read_link_token(SECRET, tampered, NOW)


def test_a_changed_payload_is_caught_by_the_signature() -> None:
    token = create_link_token(SECRET, 42, 1042, EXPIRES)
    in_payload = 3  # characters 2-3 encode the customer id, after the version byte
    tampered = token[:in_payload] + ("A" if token[in_payload] != "A" else "B") + token[in_payload + 1 :]

    assert reason_for(tampered) == "bad_signature"


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = create_link_token("the other shop's secret", 42, 1042, EXPIRES)

    assert reason_for(token) == "bad_signature"


def test_a_token_stops_working_when_it_expires() -> None:
    token = create_link_token(SECRET, 42, 1042, EXPIRES)

    assert read_link_token(SECRET, token, EXPIRES - timedelta(seconds=1)).customer_id == 42
    assert reason_for(token, now=EXPIRES) == "expired"
    assert reason_for(token, now=EXPIRES + timedelta(days=400)) == "expired"


def test_a_token_of_an_unknown_version_is_refused() -> None:
    raw = bytearray(base64.urlsafe_b64decode(create_link_token(SECRET, 42, 1042, EXPIRES) + "=="))
    raw[0] = 2
    newer = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()

    assert reason_for(newer) == "wrong_version"


@pytest.mark.parametrize(
    "token",
    ["", "not a token", "abc+def/", "A" * 65, "AQ", "AQID", "Ü" * 10],
)
def test_garbage_is_refused_as_badly_formed(token: str) -> None:
    assert reason_for(token) == "bad_format"


def test_every_refusal_tells_the_user_the_same_thing() -> None:
    token = create_link_token(SECRET, 42, 1042, EXPIRES)
    other = create_link_token("another secret", 42, 1042, EXPIRES)
    refusals = []
    for bad, now in [("%%%", NOW), (other, NOW), (token, EXPIRES)]:
        with pytest.raises(InvalidLinkToken) as refused:
            read_link_token(SECRET, bad, now)
        refusals.append(refused.value)

    assert len({refusal.reason for refusal in refusals}) == 3
    assert len({refusal.message for refusal in refusals}) == 1
    assert len({refusal.code for refusal in refusals}) == 1


@pytest.mark.parametrize("secret", ["", "   "])
def test_an_empty_secret_key_neither_signs_nor_verifies(secret: str) -> None:
    with pytest.raises(SigningKeyMissing, match="SECRET_KEY"):
        create_link_token(secret, 42, 1042, EXPIRES)
    token = create_link_token(SECRET, 42, 1042, EXPIRES)
    with pytest.raises(SigningKeyMissing):
        read_link_token(secret, token, NOW)


def test_a_naive_expiry_is_refused() -> None:
    with pytest.raises(ValueError):
        create_link_token(SECRET, 42, 1042, datetime(2026, 12, 1))
