"""Phone numbers, one rule for every service: parsed, normalised to E.164 and masked here only.

Replies are matched across services by number (a resident's booking in the scheduler, their
SMS in notifications, a volunteer's roster entry), so every service must write a person's
number the same way. The choice:

- **What people type** (forms, coordinators, roster files, paths and queries) goes through
  `normalize_phone`: the strict rule, a Vietnamese number that can receive our SMS (a mobile),
  written with the separators people use. Anything else is an `InvalidPhoneError` with the
  reason, naming the field, which the HTTP layer answers with 422.
- **What the SMS network sends** (an inbound sender) goes through `inbound_e164`: lenient, any
  possible number, because the network decides who texts us and refusing the sender would lose
  the message. A Vietnamese mobile comes out of both as the same E.164, so a reply finds the
  booking it answers.
- **Masked** is one form everywhere, logs and SMS alike: country code and last four digits,
  "+84*****5678".

Pure (no I/O): domain code may import it. `WRITTEN_PHONE` is also the pattern each service's
OpenAPI document states (`shared.web.phones`).
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from shared.errors import DomainError

VIETNAM_COUNTRY_CODE = 84
# Digits with the separators people write: "0912 345 678", "(+84) 912-345-678", "0912.345.678".
# Written for both Python and JSON Schema (OpenAPI), so it uses no Python-only classes.
WRITTEN_PHONE = r"^[ (]*\+?[0-9 .()-]{9,24}$"
_WRITTEN_PHONE = re.compile(WRITTEN_PHONE)
_TEXTABLE = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
# Vietnamese mobiles in running text: E.164 (+84...), international without plus (84...), or
# local (0...); the prefix is kept, the next five digits hidden, the last four kept.
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(\+?84|0)(\d{5})(\d{4})(?!\d)")
_SHORTEST_MASKABLE = 6  # fewer digits than this and the last four would give most of it away


class InvalidPhoneError(DomainError):
    """The phone number is not a Vietnamese mobile number we can text; the message says why."""

    field = "phone"


@lru_cache(maxsize=4096)  # parsing costs ~50 µs; a request's number is read more than once
def normalize_phone(raw: str, field: str = "phone") -> str:
    """The E.164 form of a Vietnamese mobile number as people type it (the strict rule)."""
    if not _WRITTEN_PHONE.match(raw):
        raise InvalidPhoneError(f"{raw!r} is not written like a phone number", field=field)
    try:
        number = phonenumbers.parse(raw.strip(), "VN")
    except phonenumbers.NumberParseException:
        raise InvalidPhoneError(f"{raw!r} is not a phone number", field=field) from None
    if number.country_code != VIETNAM_COUNTRY_CODE:
        raise InvalidPhoneError("only Vietnamese numbers (+84) can receive our SMS", field=field)
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneError(f"{raw!r} is not a valid Vietnamese number", field=field)
    if phonenumbers.number_type(number) not in _TEXTABLE:
        raise InvalidPhoneError(
            f"{raw!r} is not a mobile number, so it cannot receive SMS", field=field
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def require_e164(phone: str, field: str = "phone") -> str:
    """`phone` itself if it is already the normalised form `normalize_phone` gives.

    For commands whose HTTP layer normalised the number: the domain refuses a number typed
    any other way rather than guess at it.
    """
    normalised = normalize_phone(phone, field)
    if normalised != phone:
        raise InvalidPhoneError(f"{phone!r} is not normalised; expected {normalised}", field=field)
    return phone


def inbound_e164(text: str) -> str | None:
    """The E.164 form of a sender's number as the SMS network gives it (the lenient rule).

    "+84912345678" for "0912 345 678", "84912345678" or "+84 912 345 678"; any possible number
    of another country as it is; None if it is not a number at all.
    """
    raw = text.strip()
    if raw.isdigit() and raw.startswith(str(VIETNAM_COUNTRY_CODE)) and len(raw) == 11:
        raw = "+" + raw
    try:
        parsed = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """A number fit for logs and alerts: country code and last four digits ("+84*****5678")."""
    digits = e164.removeprefix("+")
    if not digits.isdigit() or len(digits) < _SHORTEST_MASKABLE:
        return "*" * len(e164)
    try:
        country = str(phonenumbers.parse(e164).country_code)
    except phonenumbers.NumberParseException:
        country = digits[:2]
    national = digits[len(country) :]
    return f"+{country}{'*' * (len(national) - 4)}{national[-4:]}"


def mask_phones(text: str) -> str:
    """Every Vietnamese mobile in a log text masked: "+84912345678" -> "+84*****5678"."""
    return _PHONE_IN_TEXT.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)
