"""The master key ring (HANDINHAND_DATA_KEYS) that wraps each person's data key: keys with an
id, so a master key can be retired once every data key is rewrapped with the newest."""

from __future__ import annotations

import base64
import binascii

import msgspec

KEY_BYTES = 32  # AES-256
MAX_KID_LENGTH = 40  # person_keys.master_kid holds it


class MasterKeyError(ValueError):
    """The master key ring setting is malformed; the message says which entry and why."""


class MasterKey(msgspec.Struct, frozen=True, kw_only=True):
    kid: str
    key: bytes

    def __repr__(self) -> str:  # a key never reaches a log through a repr
        return f"MasterKey(kid={self.kid!r})"


class MasterKeys(msgspec.Struct, frozen=True):
    """The first key wraps new data keys; every key unwraps those it wrapped."""

    keys: tuple[MasterKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise MasterKeyError("the data key ring needs at least one key")
        kids = [key.kid for key in self.keys]
        if len(set(kids)) != len(kids):
            raise MasterKeyError("each data key id may appear only once")
        for key in self.keys:
            kid = key.kid
            if not kid or not kid.isascii() or not kid.isprintable() or " " in kid:
                raise MasterKeyError(f"data key id {kid!r} must be printable ASCII, no spaces")
            if len(kid) > MAX_KID_LENGTH:
                raise MasterKeyError(f"data key id {kid!r} is longer than {MAX_KID_LENGTH}")
            if len(key.key) != KEY_BYTES:
                raise MasterKeyError(f"data key {kid!r} must be {KEY_BYTES} bytes")

    @property
    def wrapper(self) -> MasterKey:
        return self.keys[0]

    def key_of(self, kid: str) -> MasterKey | None:
        return next((key for key in self.keys if key.kid == kid), None)

    @classmethod
    def parse(cls, text: str) -> MasterKeys:
        """`kid1:base64,kid2:base64`, each 32 random bytes (`openssl rand -base64 32`)."""
        keys = []
        for entry in text.split(","):
            kid, colon, encoded = entry.strip().partition(":")
            if not colon:
                raise MasterKeyError(f"entry {kid[:8]!r}... must be kid:base64-key")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except binascii.Error:
                raise MasterKeyError(f"data key {kid!r} is not valid base64") from None
            if len(key) != KEY_BYTES:
                raise MasterKeyError(
                    f"data key {kid!r} must be {KEY_BYTES} bytes in base64, got {len(key)}"
                )
            keys.append(MasterKey(kid=kid, key=key))
        return cls(tuple(keys))

    @staticmethod
    def new_entry(kid: str, key: bytes) -> str:
        """One entry of the setting, as `parse` reads it."""
        return f"{kid}:{base64.b64encode(key).decode()}"
