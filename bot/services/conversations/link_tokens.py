"""Signed deep-link tokens that let an order-confirmation e-mail link a customer's Telegram chat.

A token goes into `https://t.me/<bot>?start=<token>`, so it must fit Telegram's start payload: at most
64 characters of `A-Za-z0-9_-`. Layout before base64url (no padding):

    version (1 byte) | customer_id, order_id, expiry in Unix seconds (unsigned LEB128 varints) | tag (16 bytes)

The tag is HMAC-SHA256 over a fixed context string, the version and the payload, keyed by SECRET_KEY and
truncated to 128 bits. The largest possible token (ids of 2**63 - 1, expiry in the year 9999) is 55 characters.
"""

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from bot.services.errors import InvalidLinkToken

VERSION = 1
TAG_BYTES = 16
MAX_TOKEN_CHARS = 64
MAX_ID = 2**63 - 1  # the largest BIGINT; nothing we link can have a larger id

# Keeps a tag made here from ever being valid for anything else signed with the same SECRET_KEY.
_CONTEXT = b"backorder-desk/link-token\x00"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_VARINT_BYTES = 10


class SigningKeyMissing(ValueError):
    """SECRET_KEY is empty, so links can neither be signed nor checked."""

    def __init__(self) -> None:
        super().__init__("SECRET_KEY is empty: set it to a long random value to sign and check order links.")


@dataclass(frozen=True)
class LinkTokenClaims:
    customer_id: int
    order_id: int
    expires_at: datetime


def require_signing_key(secret_key: str) -> bytes:
    """The key as bytes; raises SigningKeyMissing for an empty or blank key."""
    if not secret_key or not secret_key.strip():
        raise SigningKeyMissing()
    return secret_key.encode("utf-8")


def create_link_token(secret_key: str, customer_id: int, order_id: int, expires_at: datetime) -> str:
    """A token proving that whoever holds it received the e-mail for this customer's order."""
    key = require_signing_key(secret_key)
    for name, value in (("customer_id", customer_id), ("order_id", order_id)):
        if not 1 <= value <= MAX_ID:
            raise ValueError(f"{name} must be between 1 and {MAX_ID}, not {value}")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    expires = int(expires_at.timestamp())  # truncating only makes the link expire a fraction earlier
    if expires < 0:
        raise ValueError("expires_at must be after 1970")
    signed = bytes([VERSION]) + _varint(customer_id) + _varint(order_id) + _varint(expires)
    return _base64url(signed + _tag(key, signed))


def read_link_token(secret_key: str, token: str, now: datetime) -> LinkTokenClaims:
    """The claims of a genuine, unexpired token; raises InvalidLinkToken (with a `reason`) for anything else."""
    key = require_signing_key(secret_key)
    raw = _decode(token)
    if len(raw) < 1 + 3 + TAG_BYTES:  # version, three one-byte varints at least, tag
        raise InvalidLinkToken("bad_format")
    if raw[0] != VERSION:
        raise InvalidLinkToken("wrong_version")
    signed, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(key, signed)):
        raise InvalidLinkToken("bad_signature")
    customer_id, order_id, expires = _read_varints(signed[1:], count=3)
    expires_at = datetime.fromtimestamp(expires, timezone.utc)
    if now >= expires_at:
        raise InvalidLinkToken("expired")
    return LinkTokenClaims(customer_id=customer_id, order_id=order_id, expires_at=expires_at)


def _tag(key: bytes, signed: bytes) -> bytes:
    return hmac.new(key, _CONTEXT + signed, hashlib.sha256).digest()[:TAG_BYTES]


def _base64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(token: str) -> bytes:
    if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
        raise InvalidLinkToken("bad_format")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        raise InvalidLinkToken("bad_format") from None
    # Different spellings of the same bytes (unused trailing bits) are refused: one token, one string.
    if _base64url(raw) != token:
        raise InvalidLinkToken("bad_format")
    return raw


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def _read_varints(data: bytes, count: int) -> list[int]:
    values: list[int] = []
    value = shift = 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            if shift >= 7 * _MAX_VARINT_BYTES:
                raise InvalidLinkToken("bad_format")
        else:
            values.append(value)
            value = shift = 0
    if shift or len(values) != count:
        raise InvalidLinkToken("bad_format")
    return values
