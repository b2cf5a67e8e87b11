"""A person's data key: the one secret that opens every sealed value about them."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DATA_KEY_BYTES = 32  # AES-256


@dataclass(frozen=True)
class DataKey:
    material: bytes
    # Made once per key, not per value: the AES key schedule costs more than sealing a name.
    cipher: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.material) != DATA_KEY_BYTES:
            raise ValueError(f"a data key is {DATA_KEY_BYTES} bytes")
        object.__setattr__(self, "cipher", AESGCM(self.material))

    def __repr__(self) -> str:  # a key never reaches a log through a repr
        return "DataKey(...)"

    @classmethod
    def new(cls) -> DataKey:
        """A fresh random key (the OS's randomness), for a person first seen."""
        return cls(AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8))
