"""Phone numbers in the one form we store and match them in: E.164 ("+4915123456789")."""

import phonenumbers

from bot.i18n import N_, Phrase
from bot.services.errors import DomainError


class InvalidPhoneNumber(DomainError, ValueError):
    code = "invalid_phone_number"
    text = N_("{number} is not a valid phone number: {reason}.")

    def __init__(self, raw: str, reason: Phrase) -> None:
        super().__init__(number=repr(raw), reason=reason)
        self.raw = raw


def normalise_phone(raw: str, default_region: str) -> str:
    """E.164 form of `raw`; numbers written without `+` or `00` are read as numbers of `default_region`."""
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber(raw, Phrase(N_("it is empty")))
    try:
        number = phonenumbers.parse(text, default_region.upper())
    except phonenumbers.NumberParseException as problem:
        raise InvalidPhoneNumber(raw, _PARSE_REASONS.get(problem.error_type, Phrase(N_("it could not be read")))) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(raw, _invalid_reason(number))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_PARSE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: Phrase(N_("the country code is missing or unknown")),
    phonenumbers.NumberParseException.NOT_A_NUMBER: Phrase(N_("it does not look like a phone number")),
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: Phrase(N_("it is too short")),
    phonenumbers.NumberParseException.TOO_SHORT_NSN: Phrase(N_("it is too short")),
    phonenumbers.NumberParseException.TOO_LONG: Phrase(N_("it is too long")),
}


def _invalid_reason(number: phonenumbers.PhoneNumber) -> Phrase:
    match phonenumbers.is_possible_number_with_reason(number):
        case phonenumbers.ValidationResult.TOO_SHORT:
            return Phrase(N_("it is too short"))
        case phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
            return Phrase(N_("it is too short (is the area code missing?)"))
        case phonenumbers.ValidationResult.TOO_LONG:
            return Phrase(N_("it is too long"))
        case phonenumbers.ValidationResult.INVALID_LENGTH:
            return Phrase(N_("it has the wrong number of digits"))
        case phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
            return Phrase(N_("the country code is unknown"))
    region = phonenumbers.region_code_for_country_code(number.country_code)
    return Phrase(N_("no {region} number starts like this"), {"region": region})
