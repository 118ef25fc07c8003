"""Button payloads: what the bot makes round-trips; anything forged or old is refused."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render.callback_data import (
    ARITY,
    AUDIENCE_KINDS,
    LANGUAGE_CODES,
    MAX_ID,
    REFUSAL_CODES,
    Action,
    CallbackData,
    InvalidCallbackData,
    button,
    parse_callback_data,
)


@pytest.mark.parametrize(
    "data",
    [
        CallbackData(Action.ORDERS),
        CallbackData(Action.CANCEL_ASK, (8812,)),
        CallbackData(Action.PICK_CONFIRM, (MAX_ID, MAX_ID)),
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
        "c1:cx:2147483648",  # one past the largest 32-bit id: no row can have it
        "c1:cx:007",  # a second spelling of 7
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


_ID = st.integers(min_value=0, max_value=MAX_ID)
# Actions whose ids are codes from a small table, not row ids: which id position, and the codes allowed.
_CODED = {
    Action.LANGUAGE: (0, LANGUAGE_CODES),
    Action.ESCALATE: (1, REFUSAL_CODES),
    Action.NOTIFICATIONS: (0, {0: "off", 1: "on"}),
    Action.BROADCAST_AUDIENCE: (1, AUDIENCE_KINDS),
}


@st.composite
def payloads(draw: st.DrawFn) -> CallbackData:
    """Any payload the bot could put on a button."""
    action = draw(st.sampled_from(Action))
    ids = [draw(_ID) for _ in range(ARITY[action])]
    if action in _CODED:
        position, codes = _CODED[action]
        ids[position] = draw(st.sampled_from(sorted(codes)))
    return CallbackData(action, tuple(ids))


@given(payloads())
def test_every_payload_the_bot_makes_round_trips_within_64_bytes(data: CallbackData) -> None:
    encoded = data.encode()
    assert len(encoded.encode()) <= 64
    assert parse_callback_data(encoded) == data


_NEAR_MISSES = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"c[0-9]:[a-z]{1,3}(:-?[0-9]{1,20}){0,3}", fullmatch=True),
    st.builds(lambda data, tail: data.encode() + tail, payloads(), st.text(max_size=4)),
)


@given(_NEAR_MISSES)
def test_anything_accepted_is_exactly_what_the_bot_would_have_made(raw: str) -> None:
    try:
        data = parse_callback_data(raw)
    except InvalidCallbackData:
        return
    assert data.encode() == raw
    assert all(0 <= value <= MAX_ID for value in data.ids)


@given(st.sampled_from(Action), st.integers(min_value=MAX_ID + 1, max_value=2**64))
def test_ids_beyond_a_32_bit_column_are_refused(action: Action, too_large: int) -> None:
    with pytest.raises(InvalidCallbackData):
        parse_callback_data(f"c1:{action.value}" + f":{too_large}" * max(ARITY[action], 1))
