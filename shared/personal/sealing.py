"""Sealed values: one personal field of one person, encrypted with that person's data key
(AES-256-GCM). The person's id and the field's name are bound in as associated data, so a
sealed value copied to another person or another field does not open."""

from __future__ import annotations

import base64
import binascii
import os

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.personal.datakey import DataKey

PREFIX = "hih-sealed:v1:"
NONCE_BYTES = 12  # GCM's standard nonce; random per value (2^-32 collision risk at 2^32 seals)


class UnopenableError(ValueError):
    """A sealed value did not open: another key, person or field, or it was changed."""


def _bound(person_id: str, field: str) -> bytes:
    # JSON of the pair, so no choice of id or field name can make two pairs look alike.
    return msgspec.json.encode(["hih-sealed:v1", person_id, field])


def seal(data_key: DataKey, person_id: str, field: str, text: str) -> str:
    """`text` as `hih-sealed:v1:<base64 of nonce and ciphertext>`, which opens only with this
    key, for this person and this field."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(data_key.material).encrypt(nonce, text.encode(), _bound(person_id, field))
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def unseal(data_key: DataKey, person_id: str, field: str, value: str) -> str:
    """The text sealed in `value`; UnopenableError if it was sealed otherwise or was changed."""
    if not is_sealed(value):
        raise UnopenableError("not a sealed value")
    try:
        raw = base64.b64decode(value.removeprefix(PREFIX), validate=True)
    except binascii.Error:
        raise UnopenableError("a sealed value that is not base64") from None
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    try:
        opened = AESGCM(data_key.material).decrypt(nonce, sealed, _bound(person_id, field))
    except (InvalidTag, ValueError):
        raise UnopenableError(
            "the sealed value does not open with this key, person and field"
        ) from None
    return opened.decode()


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)
