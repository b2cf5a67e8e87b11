"""Residents' phone numbers: Vietnamese mobile formats in, E.164 stored, masked in logs."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from services.scheduler.domain.errors import InvalidPhoneError

VIETNAM_COUNTRY_CODE = 84
# Digits with the separators people write: "0912 345 678", "(+84) 912-345-678", "0912.345.678".
_WRITTEN_PHONE = re.compile(r"^[\s(]*\+?[\d\s.\-()]{9,24}$")
_TEXTABLE = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


@lru_cache(maxsize=4096)  # parsing costs ~50 µs; a request's number is read more than once
def normalize_phone(raw: str) -> str:
    """The E.164 form of a Vietnamese mobile number, so one resident is one number everywhere."""
    if not _WRITTEN_PHONE.match(raw):
        raise InvalidPhoneError(f"{raw!r} is not written like a phone number")
    try:
        number = phonenumbers.parse(raw.strip(), "VN")
    except phonenumbers.NumberParseException:
        raise InvalidPhoneError(f"{raw!r} is not a phone number") from None
    if number.country_code != VIETNAM_COUNTRY_CODE:
        raise InvalidPhoneError("only Vietnamese numbers (+84) can receive our SMS")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneError(f"{raw!r} is not a valid Vietnamese number")
    if phonenumbers.number_type(number) not in _TEXTABLE:
        raise InvalidPhoneError(f"{raw!r} is not a mobile number, so it cannot receive SMS")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """A number fit for logs: country code and last four digits only ("+84*****5678")."""
    digits = e164.removeprefix("+")
    if not digits.isdigit() or len(digits) < 6:
        return "*" * len(e164)
    try:
        country = str(phonenumbers.parse(e164).country_code)
    except phonenumbers.NumberParseException:
        country = digits[:2]
    national = digits[len(country) :]
    return f"+{country}{'*' * (len(national) - 4)}{national[-4:]}"
