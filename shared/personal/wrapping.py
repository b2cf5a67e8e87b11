"""A data key at rest: wrapped by a master key of the ring (AES key wrap, RFC 3394), so a
stolen database alone opens nothing."""

from __future__ import annotations

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from shared.personal.datakey import DataKey
from shared.personal.masterkeys import MasterKeys


class UnwrapError(ValueError):
    """A wrapped data key did not unwrap: its master key left the ring, or the row was changed."""


def wrap(ring: MasterKeys, data_key: DataKey) -> tuple[str, bytes]:
    """The key wrapped by the ring's first master key, and that key's id."""
    master = ring.wrapper
    return master.kid, aes_key_wrap(master.key, data_key.material)


def unwrap(ring: MasterKeys, kid: str, wrapped: bytes) -> DataKey:
    master = ring.key_of(kid)
    if master is None:
        raise UnwrapError(f"master key {kid!r} is not in HANDINHAND_DATA_KEYS")
    try:
        return DataKey(aes_key_unwrap(master.key, wrapped))
    except (InvalidUnwrap, ValueError):
        raise UnwrapError(f"a data key wrapped by {kid!r} does not unwrap") from None
