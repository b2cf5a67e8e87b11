"""Sealed values: one personal field of one person, encrypted with that person's data key
(AES-256-GCM). The person's id and the field's name are bound in as associated data, so a
sealed value copied to another person or another field does not open."""

from __future__ import annotations

import base64
import binascii
import os

import msgspec
from cryptography.exceptions import InvalidTag

from shared.personal.datakey import DataKey

PREFIX = "hih-sealed:v1:"
# v2 names the person in clear before the ciphertext (`hih-sealed:v2:<person id>:<base64>`),
# for values whose person the event does not name otherwise (`phone-<keyed hash>`).
PREFIX_V2 = "hih-sealed:v2:"
NONCE_BYTES = 12  # GCM's standard nonce; random per value (2^-32 collision risk at 2^32 seals)


class UnopenableError(ValueError):
    """A sealed value did not open: another key, person or field, or it was changed."""


def _bound(person_id: str, field: str) -> bytes:
    # JSON of the pair, so no choice of id or field name can make two pairs look alike.
    return msgspec.json.encode(["hih-sealed:v1", person_id, field])


def seal(data_key: DataKey, person_id: str, field: str, text: str, *, named: bool = False) -> str:
    """`text` as `hih-sealed:v1:<base64 of nonce and ciphertext>`, which opens only with this
    key, for this person and this field; `named`: as v2, with the person's id in front."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = data_key.cipher.encrypt(nonce, text.encode(), _bound(person_id, field))
    body = base64.b64encode(nonce + sealed).decode()
    return f"{PREFIX_V2}{person_id}:{body}" if named else PREFIX + body


def person_named(value: str) -> str | None:
    """The person a v2 sealed value names; None for any other value."""
    if not value.startswith(PREFIX_V2):
        return None
    person, colon, _ = value.removeprefix(PREFIX_V2).partition(":")
    return person if colon else None


def unseal(data_key: DataKey, person_id: str, field: str, value: str) -> str:
    """The text sealed in `value`; UnopenableError if it was sealed otherwise or was changed."""
    if not is_sealed(value):
        raise UnopenableError("not a sealed value")
    named = person_named(value)
    if value.startswith(PREFIX_V2) and named != person_id:
        raise UnopenableError("the sealed value names another person")
    body = value.removeprefix(PREFIX) if named is None else value.rpartition(":")[2]
    try:
        raw = base64.b64decode(body, validate=True)
    except binascii.Error:
        raise UnopenableError("a sealed value that is not base64") from None
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    try:
        opened = data_key.cipher.decrypt(nonce, sealed, _bound(person_id, field))
    except (InvalidTag, ValueError):
        raise UnopenableError(
            "the sealed value does not open with this key, person and field"
        ) from None
    return opened.decode()


def is_sealed(value: str) -> bool:
    return value.startswith((PREFIX, PREFIX_V2))
