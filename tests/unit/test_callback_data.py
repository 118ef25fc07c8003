"""Button payloads: what the bot makes round-trips; anything forged or old is refused."""

import pytest

from bot.handlers.callback_data import Action, CallbackData, InvalidCallbackData, button, parse_callback_data


@pytest.mark.parametrize(
    "data",
    [
        CallbackData(Action.ORDERS),
        CallbackData(Action.CANCEL_ASK, (8812,)),
        CallbackData(Action.PICK_CONFIRM, (2**52, 2**52)),
        CallbackData(Action.LANGUAGE, (2,)),
    ],
)
def test_payloads_round_trip_within_telegrams_limit(data: CallbackData) -> None:
    encoded = data.encode()
    assert len(encoded.encode()) <= 64
    assert parse_callback_data(encoded) == data


@pytest.mark.parametrize(
    "forged",
    [
        None,
        "",
        "c0:cx:1",  # an old version
        "c2:cx:1",
        "c1:zz:1",  # unknown action
        "c1:cx",  # missing line id
        "c1:cx:1:2",  # extra id
        "c1:cx:-1",
        "c1:cx:1e3",
        "c1:cx:99999999999999999",
        "c1:lg:7",  # unsupported language
        "c1:cx:1 ",
        "c1:cx:١٢",  # non-ASCII digits
        "x" * 65,
        "c1:cx:1;DROP TABLE order_lines",
    ],
)
def test_forged_or_garbage_payloads_are_refused(forged: str | None) -> None:
    with pytest.raises(InvalidCallbackData):
        parse_callback_data(forged)


def test_button_builds_the_documented_format() -> None:
    assert button(Action.CANCEL_ASK, 8812) == "c1:cx:8812"
