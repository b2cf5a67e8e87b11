"""Sealed personal values open only with the person's key, for that person and that field."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.personal.datakey import DataKey
from shared.personal.sealing import PREFIX, UnopenableError, is_sealed, person_named, seal, unseal

KEY = DataKey(b"k" * 32)
NAME = "Nguyễn Thị Hương, ấp Tân Phú, xã Long Hưng"


def test_a_sealed_vietnamese_name_opens_as_it_was() -> None:
    sealed = seal(KEY, "resident-1", "name", NAME)

    assert sealed.startswith("hih-sealed:v1:")
    assert is_sealed(sealed)
    assert "Nguy" not in sealed
    assert unseal(KEY, "resident-1", "name", sealed) == NAME


@given(st.text())
def test_any_text_opens_as_it_was(text: str) -> None:
    assert unseal(KEY, "p", "f", seal(KEY, "p", "f", text)) == text


def test_the_same_text_seals_differently_each_time() -> None:
    sealed = {seal(KEY, "resident-1", "name", NAME) for _ in range(50)}
    nonces = {base64.b64decode(value.removeprefix(PREFIX))[:12] for value in sealed}

    assert len(sealed) == len(nonces) == 50


@pytest.mark.parametrize(
    ("key", "person_id", "field"),
    [
        (DataKey.new(), "resident-1", "name"),  # another key
        (KEY, "resident-2", "name"),  # moved to another person
        (KEY, "resident-1", "phone"),  # moved to another field
        (KEY, "resident-1name", ""),  # the same characters split otherwise
    ],
)
def test_a_sealed_value_does_not_open_otherwise(key: DataKey, person_id: str, field: str) -> None:
    sealed = seal(KEY, "resident-1", "name", NAME)

    with pytest.raises(UnopenableError):
        unseal(key, person_id, field, sealed)


def test_a_changed_sealed_value_does_not_open() -> None:
    raw = bytearray(base64.b64decode(seal(KEY, "resident-1", "name", NAME).removeprefix(PREFIX)))
    for position in (0, 12, len(raw) - 1):  # nonce, ciphertext, tag
        changed = raw.copy()
        changed[position] ^= 1
        with pytest.raises(UnopenableError):
            unseal(KEY, "resident-1", "name", PREFIX + base64.b64encode(changed).decode())
    for broken in (PREFIX + "not base64!", PREFIX, PREFIX + "AAAA", NAME):
        with pytest.raises(UnopenableError):
            unseal(KEY, "resident-1", "name", broken)


def test_plain_text_is_not_sealed() -> None:
    assert not is_sealed(NAME)
    assert not is_sealed("")
    assert not is_sealed("hih-sealed:v3:AAAA")  # a later version is for its own reader


def test_a_value_that_names_its_person_opens_for_that_person_only() -> None:
    sealed = seal(KEY, "phone-abc", "text", NAME, named=True)
    assert sealed.startswith("hih-sealed:v2:phone-abc:")
    assert person_named(sealed) == "phone-abc"
    assert person_named(seal(KEY, "phone-abc", "text", NAME)) is None
    assert unseal(KEY, "phone-abc", "text", sealed) == NAME
    with pytest.raises(UnopenableError):
        unseal(KEY, "phone-xyz", "text", sealed)
    with pytest.raises(UnopenableError):  # the name in front changed: the AAD no longer fits
        unseal(KEY, "phone-xyz", "text", sealed.replace("phone-abc", "phone-xyz"))


def test_a_data_key_never_shows_in_its_repr() -> None:
    assert "kkkk" not in repr(KEY)
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey(b"short")
