"""Mini App `initData`: accepted only as Telegram signs it, for this bot, lately, and read from signed fields only."""

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, urlencode

import pytest

from bot.telegram_init_data import (
    InitDataRejected,
    WebAppUser,
    init_data_for,
    sign_init_data,
    validate_init_data,
)

TOKEN = "123456:TEST-token_of-our-bot"
NOW = datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)
ANNA = WebAppUser(id=5_167_898_484, first_name="Anna", last_name="Müller", username="anna_m", language_code="de")


def _reason(init_data: str, token: str = TOKEN, now: datetime = NOW, **kwargs: timedelta) -> str:
    with pytest.raises(InitDataRejected) as rejected:
        validate_init_data(init_data, token, now=now, **kwargs)
    return rejected.value.reason


def test_signed_init_data_is_accepted_and_the_user_read_from_it() -> None:
    init_data = init_data_for(ANNA, TOKEN, NOW - timedelta(minutes=3), query_id="AAHdF6IQAAAAAN0XohDhrOrc")

    checked = validate_init_data(init_data, TOKEN, now=NOW)

    assert checked.user == ANNA
    assert checked.auth_date == NOW - timedelta(minutes=3)
    assert checked.query_id == "AAHdF6IQAAAAAN0XohDhrOrc"


def test_init_data_signed_by_telegram_for_a_documented_example_is_accepted() -> None:
    """The example of the Telegram Mini Apps platform docs, signed by Telegram, not by our own signer."""
    token = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8"
    init_data = (
        "query_id=AAHdF6IQAAAAAN0XohDhrOrc"
        "&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%22%2C%22last_name%22%3A%22Kibenko%22"
        "%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%7D"
        "&auth_date=1662771648&hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2"
    )
    signed_at = datetime.fromtimestamp(1662771648, timezone.utc)

    checked = validate_init_data(init_data, token, now=signed_at + timedelta(minutes=1))

    assert checked.user == WebAppUser(279058397, "Vladislav", "Kibenko", "vdkfrost", "ru")
    assert _reason(init_data, token, now=signed_at + timedelta(days=2)) == "expired"


def test_a_field_changed_after_signing_is_rejected() -> None:
    init_data = init_data_for(ANNA, TOKEN, NOW)
    fields = dict(parse_qsl(init_data))
    fields["user"] = fields["user"].replace(str(ANNA.id), "42")

    assert _reason(urlencode(fields)) == "bad hash"


def test_an_added_field_is_rejected() -> None:
    assert _reason(init_data_for(ANNA, TOKEN, NOW) + "&start_param=admin") == "bad hash"


def test_init_data_of_another_bot_is_rejected() -> None:
    assert _reason(init_data_for(ANNA, "654321:ANOTHER-bot", NOW)) == "bad hash"


def test_nothing_validates_without_a_bot_token() -> None:
    assert _reason(init_data_for(ANNA, "", NOW), token="") == "no bot token"


def test_init_data_older_than_the_maximum_age_is_rejected() -> None:
    init_data = init_data_for(ANNA, TOKEN, NOW - timedelta(hours=2))

    assert _reason(init_data, max_age=timedelta(hours=1)) == "expired"
    assert validate_init_data(init_data, TOKEN, now=NOW, max_age=timedelta(hours=3)).user == ANNA
    assert _reason(init_data_for(ANNA, TOKEN, NOW - timedelta(days=1, seconds=1))) == "expired"


def test_init_data_signed_in_the_future_is_rejected() -> None:
    assert _reason(init_data_for(ANNA, TOKEN, NOW + timedelta(hours=1))) == "auth_date in the future"
    assert validate_init_data(init_data_for(ANNA, TOKEN, NOW + timedelta(seconds=30)), TOKEN, now=NOW).user == ANNA


@pytest.mark.parametrize(
    ("init_data", "reason"),
    [
        ("auth_date=1&user=%7B%7D", "missing hash"),
        ("", "missing hash"),
        ("auth_date=1&hash=abc", "malformed hash"),
        ("auth_date", "malformed"),
        ("auth_date=1&user=%FF&hash=" + "0" * 64, "malformed"),
    ],
)
def test_init_data_without_a_proper_hash_is_rejected(init_data: str, reason: str) -> None:
    assert _reason(init_data) == reason


def test_a_repeated_key_is_rejected_even_when_one_of_them_is_signed() -> None:
    signed = init_data_for(ANNA, TOKEN, NOW)
    forged_user = quote(json.dumps({"id": 42, "first_name": "Mallory"}))

    assert _reason(f"{signed}&user={forged_user}") == "duplicate key"
    assert _reason(f"user={forged_user}&{signed}") == "duplicate key"
    assert _reason(f"{signed}&hash={dict(parse_qsl(signed))['hash']}") == "duplicate key"


@pytest.mark.parametrize(
    ("user", "reason"),
    [("not json", "user is not JSON"), ('{"first_name":"A"}', "user has no id"), ('{"id":"7","first_name":"A"}', "user has no id")],
)
def test_a_signed_but_unreadable_user_is_rejected(user: str, reason: str) -> None:
    init_data = sign_init_data({"user": user, "auth_date": str(int(NOW.timestamp()))}, TOKEN)

    assert _reason(init_data) == reason


def test_init_data_without_a_user_is_valid_but_names_nobody() -> None:
    init_data = sign_init_data({"auth_date": str(int(NOW.timestamp())), "chat_instance": "-1"}, TOKEN)

    assert validate_init_data(init_data, TOKEN, now=NOW).user is None


def test_a_signature_field_is_part_of_what_is_signed() -> None:
    """Telegram's Ed25519 `signature` (for third parties) stays in the data-check string, as Telegram signs it."""
    init_data = init_data_for(ANNA, TOKEN, NOW, signature="c2lnbmF0dXJl")
    assert validate_init_data(init_data, TOKEN, now=NOW).fields["signature"] == "c2lnbmF0dXJl"

    tampered = dict(parse_qsl(init_data)) | {"signature": "b3RoZXI"}
    assert _reason(urlencode(tampered)) == "bad hash"
