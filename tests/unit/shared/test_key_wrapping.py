"""A data key at rest is wrapped by a master key of the ring, and unwraps only with it."""

from __future__ import annotations

import pytest

from shared.personal.datakey import DataKey
from shared.personal.masterkeys import MasterKey, MasterKeys
from shared.personal.wrapping import UnwrapError, unwrap, wrap

OLD = MasterKey(kid="2026-06", key=b"o" * 32)
NEW = MasterKey(kid="2026-12", key=b"n" * 32)


def test_a_data_key_is_wrapped_by_the_first_master_key_and_unwraps() -> None:
    data_key = DataKey.new()

    kid, wrapped = wrap(MasterKeys((NEW, OLD)), data_key)

    assert kid == NEW.kid
    assert data_key.material not in wrapped
    assert unwrap(MasterKeys((OLD, NEW)), kid, wrapped) == data_key


def test_a_key_whose_master_left_the_ring_does_not_unwrap() -> None:
    kid, wrapped = wrap(MasterKeys((OLD,)), DataKey.new())

    with pytest.raises(UnwrapError, match="2026-06"):
        unwrap(MasterKeys((NEW,)), kid, wrapped)
    with pytest.raises(UnwrapError):  # another key under the same kid
        unwrap(MasterKeys((MasterKey(kid=OLD.kid, key=b"x" * 32),)), kid, wrapped)
    with pytest.raises(UnwrapError):  # a changed row
        unwrap(MasterKeys((OLD,)), kid, bytes([wrapped[0] ^ 1]) + wrapped[1:])
