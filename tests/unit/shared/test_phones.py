from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.phones import (
    InvalidPhoneError,
    inbound_e164,
    mask_phone,
    mask_phones,
    normalize_phone,
    require_e164,
)

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


def test_a_refusal_names_the_field_it_was_asked_about_and_says_why() -> None:
    with pytest.raises(InvalidPhoneError) as error:
        normalize_phone("+1 650 253 0000", "recipient")
    assert error.value.field == "recipient"
    assert "Vietnamese" in error.value.message


def test_an_already_normalised_number_is_kept_and_any_other_form_refused() -> None:
    assert require_e164("+84912345678") == "+84912345678"
    with pytest.raises(InvalidPhoneError) as error:
        require_e164("0912345678")
    assert "+84912345678" in error.value.message


@pytest.mark.parametrize(
    ("sent", "e164"),
    [
        ("+84912345678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0912 345 678", "+84912345678"),
        ("+14155550100", "+14155550100"),  # a foreign sender is still heard
        ("+84241234567", "+84241234567"),  # so is a landline the strict rule refuses
    ],
)
def test_a_sender_the_network_gives_is_read_leniently_into_the_same_e164(
    sent: str, e164: str
) -> None:
    assert inbound_e164(sent) == e164


@pytest.mark.parametrize("sent", ["", "abc", "12"])
def test_a_sender_that_is_no_number_at_all_is_none(sent: str) -> None:
    assert inbound_e164(sent) is None


def test_a_typed_mobile_and_the_network_sender_meet_on_one_number() -> None:
    assert normalize_phone("0912 345 678") == inbound_e164("84912345678")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("sent to +84912345678", "sent to +84*****5678"),
        ("from 0912345678 ok", "from 0*****5678 ok"),
        ("short code 4821", "short code 4821"),
    ],
)
def test_masks_every_vietnamese_mobile_in_a_log_text(text: str, masked: str) -> None:
    assert mask_phones(text) == masked


def test_a_log_text_and_a_single_number_are_masked_alike() -> None:
    assert mask_phones("+84912345678") == mask_phone("+84912345678")
