from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scheduler.domain.errors import InvalidPhoneError
from services.scheduler.domain.phones import mask_phone, normalize_phone

MOBILE_PREFIXES = ["32", "33", "34", "35", "36", "37", "38", "39", "56", "58", "70", "76",
                   "77", "78", "79", "81", "82", "83", "84", "85", "86", "88", "90", "91",
                   "92", "93", "94", "96", "97", "98"]  # fmt: skip


@pytest.mark.parametrize(
    "raw",
    [
        "0912 345 678",
        "0912345678",
        "+84 912 345 678",
        "84912345678",
        "0912.345.678",
        "0912-345-678",
        "(+84) 912-345-678",
        " 0084 912 345 678 ",
    ],
)
def test_accepts_the_ways_vietnamese_write_a_mobile_number(raw: str) -> None:
    assert normalize_phone(raw) == "+84912345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "abc",
        "0912 345 67",  # too short
        "0123456789",  # old 11-digit era prefix, no longer valid
        "024 3765 4321",  # Hà Nội landline: cannot receive SMS
        "+1 650 253 0000",  # not Vietnamese
        "0912345678x",
        "1900 1234",
    ],
)
def test_refuses_numbers_that_cannot_get_our_sms_naming_the_phone_field(raw: str) -> None:
    with pytest.raises(InvalidPhoneError) as error:
        normalize_phone(raw)
    assert error.value.field == "phone"


@given(
    prefix=st.sampled_from(MOBILE_PREFIXES),
    rest=st.integers(min_value=0, max_value=9_999_999),
    style=st.sampled_from(["0{n}", "+84{n}", "84{n}", "+84 {g}", "0{g}", "0{d}"]),
)
def test_every_written_form_of_a_mobile_number_gives_the_same_e164(
    prefix: str, rest: int, style: str
) -> None:
    national = f"{prefix}{rest:07d}"
    grouped = f"{national[:3]} {national[3:6]} {national[6:]}"
    dashed = f"{national[:3]}-{national[3:6]}.{national[6:]}"
    raw = style.format(n=national, g=grouped, d=dashed)
    assert normalize_phone(raw) == f"+84{national}"


def test_masks_all_but_the_country_code_and_last_four_digits() -> None:
    assert mask_phone("+84912345678") == "+84*****5678"
    assert mask_phone("+16502530000") == "+1******0000"
    assert mask_phone("junk") == "****"
