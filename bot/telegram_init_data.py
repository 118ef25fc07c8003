"""Telegram Mini App `initData`: checked and signed exactly as Telegram documents it.

https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app
secret_key = HMAC-SHA256(key="WebAppData", msg=bot_token); hash = hex(HMAC-SHA256(key=secret_key,
msg=data_check_string)), where data_check_string is every received field except `hash`, as `key=value`
sorted by key and joined by "\\n". Other fields (`signature`, Telegram's Ed25519 one for third parties,
included) stay in the string, as Telegram signs them.

Our own few lines rather than a library: aiogram's `safe_parse_webapp_init_data` brings the whole framework,
keeps the last of duplicated keys and compares with `==`; `init-data-py` is a pre-release rewrite. Neither
checks what this does: duplicate keys, a malformed hash, and an `auth_date` from the future.

Both the web server (validating) and the sandbox's Telegram stand-in and tests (signing) use this module,
so it sits beside the other Telegram adapters and imports nothing of ours.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode

DEFAULT_MAX_AGE = timedelta(days=1)
# Telegram's and our clocks may disagree a little; more than this ahead is not a real sign-in.
CLOCK_SKEW = timedelta(minutes=5)
_HASH_LENGTH = 64


class InitDataRejected(Exception):
    """`initData` that must not be trusted; `reason` says why, for logs and tests (never shown to users)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebAppUser:
    """The Telegram user who opened the Mini App (Telegram's `WebAppUser`, the fields we use)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


@dataclass(frozen=True)
class InitData:
    """Checked `initData`: who opened the Mini App, when Telegram signed it, and every field as sent."""

    user: WebAppUser | None
    auth_date: datetime
    fields: Mapping[str, str]

    @property
    def query_id(self) -> str | None:
        return self.fields.get("query_id")

    @property
    def start_param(self) -> str | None:
        return self.fields.get("start_param")


def _secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _data_check_string(fields: Mapping[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def init_data_hash(fields: Mapping[str, str], bot_token: str) -> str:
    """The hex `hash` Telegram puts beside these fields for this bot."""
    return hmac.new(_secret_key(bot_token), _data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def sign_init_data(fields: Mapping[str, str], bot_token: str) -> str:
    """A query string of `fields` with the `hash` Telegram would add: what a Mini App finds in `initData`."""
    unsigned = {key: value for key, value in fields.items() if key != "hash"}
    return urlencode({**unsigned, "hash": init_data_hash(unsigned, bot_token)})


def init_data_for(
    user: WebAppUser, bot_token: str, auth_date: datetime, *, query_id: str | None = None, **extra: str
) -> str:
    """Signed `initData` for `user` at `auth_date`, shaped as Telegram sends it to a Mini App."""
    person = {"id": user.id, "first_name": user.first_name}
    person |= {key: value for key, value in vars(user).items() if value is not None and key not in person}
    fields = {"user": json.dumps(person, ensure_ascii=False, separators=(",", ":")), "auth_date": str(int(auth_date.timestamp()))}
    if query_id is not None:
        fields["query_id"] = query_id
    return sign_init_data(fields | extra, bot_token)


def _fields(init_data: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError) as error:
        raise InitDataRejected("malformed") from error
    fields = dict(pairs)
    if len(fields) != len(pairs):
        # Telegram never repeats a key; a repeat is someone hoping the checker and the reader pick different ones.
        raise InitDataRejected("duplicate key")
    return fields


def _user(raw: str | None) -> WebAppUser | None:
    if raw is None:
        return None
    try:
        person = json.loads(raw)
    except ValueError as error:
        raise InitDataRejected("user is not JSON") from error
    if not isinstance(person, dict) or type(person.get("id")) is not int or not isinstance(person.get("first_name"), str):
        raise InitDataRejected("user has no id")
    texts = {key: person[key] if isinstance(person.get(key), str) else None for key in ("last_name", "username", "language_code")}
    return WebAppUser(id=person["id"], first_name=person["first_name"], **texts)


def _auth_date(raw: str | None, now: datetime, max_age: timedelta) -> datetime:
    if raw is None or not raw.isdigit():
        raise InitDataRejected("no auth_date")
    signed_at = datetime.fromtimestamp(int(raw), timezone.utc)
    if signed_at > now + CLOCK_SKEW:
        raise InitDataRejected("auth_date in the future")
    if now - signed_at > max_age:
        raise InitDataRejected("expired")
    return signed_at


def validate_init_data(init_data: str, bot_token: str, *, now: datetime, max_age: timedelta = DEFAULT_MAX_AGE) -> InitData:
    """The checked `initData` of a Mini App, or `InitDataRejected` if Telegram did not sign it for this bot lately."""
    if not bot_token:
        raise InitDataRejected("no bot token")
    fields = _fields(init_data)
    received = fields.get("hash")
    if received is None:
        raise InitDataRejected("missing hash")
    if len(received) != _HASH_LENGTH:
        raise InitDataRejected("malformed hash")
    if not hmac.compare_digest(init_data_hash(fields, bot_token).encode(), received.lower().encode()):
        raise InitDataRejected("bad hash")
    # Only signed fields are read from here on.
    return InitData(user=_user(fields.get("user")), auth_date=_auth_date(fields.get("auth_date"), now, max_age), fields=fields)
