"""`handinhand keys rewrap`: a master key rotation of people's data keys, run as an operator
runs it, in a process of its own."""

from __future__ import annotations

from pathlib import Path

from services.scheduler.tables import person_keys
from shared.clock import SystemClock
from shared.personal.keystore import PersonKeys
from shared.personal.masterkeys import MasterKeys
from shared.store.database import create_engine
from tests.integration.test_token_command import handinhand


async def test_keys_are_rewrapped_onto_the_newest_master_key_and_still_open(
    tmp_path: Path,
) -> None:
    """A master key rotation: a resident's key made under the old master key is rewrapped by
    `handinhand keys rewrap`; then the old master key can leave the ring and the key opens."""

    old, new = MasterKeys.parse("old:" + "b" * 43 + "="), MasterKeys.parse("new:" + "c" * 43 + "=")
    ring = "new:" + "c" * 43 + "=,old:" + "b" * 43 + "="
    assert (await handinhand("migrate", "scheduler", var_dir=tmp_path))[0] == 0
    assert (await handinhand("migrate", "console", var_dir=tmp_path))[0] == 0
    engine = create_engine(f"sqlite:///{tmp_path / 'scheduler.db'}", "scheduler")
    try:
        async with engine.begin() as conn:
            made = await PersonKeys(person_keys, old, SystemClock()).key_for(conn, "request-1")
        code, output, _ = await handinhand(
            "keys", "rewrap", "scheduler", "console", var_dir=tmp_path, data_keys=ring
        )
        again = await handinhand("keys", "rewrap", "scheduler", var_dir=tmp_path, data_keys=ring)
        wrong = await handinhand("keys", "rewrap", "nobody", var_dir=tmp_path, data_keys=ring)
        async with engine.connect() as conn:
            opened = await PersonKeys(person_keys, new, SystemClock()).find(conn, "request-1")
    finally:
        await engine.dispose()

    assert code == 0
    assert "scheduler: 1 data keys rewrapped onto master key new" in output
    assert "console: 0 data keys rewrapped onto master key new" in output  # no account yet
    assert "scheduler: 0 data keys rewrapped" in again[1]
    assert wrong[0] == 2
    assert opened == made  # the new master key alone opens it
