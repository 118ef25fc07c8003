"""Phone numbers are stored in E.164, whichever way a merchant's export or a customer wrote them."""

import pytest

from bot.services.errors import DomainError
from bot.services.phone import InvalidPhoneNumber, normalise_phone


@pytest.mark.parametrize(
    "raw",
    [
        "+49 151 23456789",
        "+4915123456789",
        "0151 23456789",
        "0151/23456789",
        "0049 151 23456789",
        "0049-151-2345 6789",
        "+49 (0)151 23456789",
        "  0151 2345 6789  ",
    ],
)
def test_german_mobile_numbers_in_every_common_spelling_become_one_number(raw: str) -> None:
    assert normalise_phone(raw, "DE") == "+4915123456789"


def test_a_german_landline_keeps_its_area_code() -> None:
    assert normalise_phone("(030) 901820", "DE") == "+4930901820"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 20 7946 0958", "DE", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+1 (212) 555-0134", "DE", "+12125550134"),
        ("+33 6 12 34 56 78", "DE", "+33612345678"),
        ("06 12 34 56 78", "fr", "+33612345678"),
    ],
)
def test_international_numbers_keep_their_own_country(raw: str, region: str, expected: str) -> None:
    assert normalise_phone(raw, region) == expected


def test_the_default_region_decides_numbers_written_without_a_country_code() -> None:
    assert normalise_phone("020 7946 0958", "GB") == "+442079460958"
    with pytest.raises(InvalidPhoneNumber):
        normalise_phone("020 7946 0958", "DE")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("call me", "does not look like a phone number"),
        ("12", "too short"),
        ("+49 151", "too short"),
        ("+999 123456", "country code"),
        ("0151 234567890123", "DE"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as refused:
        normalise_phone(raw, "DE")
    assert reason in str(refused.value)
    assert repr(raw) in str(refused.value)


def test_an_invalid_number_is_both_a_value_error_and_a_domain_error() -> None:
    with pytest.raises(ValueError):
        normalise_phone("12", "DE")
    with pytest.raises(DomainError) as refused:
        normalise_phone("12", "DE")
    assert refused.value.code == "invalid_phone_number"
