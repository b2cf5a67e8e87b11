"""`handinhand token --revoke`: a token minted by `handinhand token`, read from stdin, is
revoked in the console's log (its jti and exp only); twice is refused, and what this
deployment did not sign is refused without writing anything."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import jwt
import sqlalchemy as sa

from services.console.tables import store_tables
from shared.store.database import create_engine


async def handinhand(
    *args: str, var_dir: Path, stdin: str = "", data_keys: str | None = None
) -> tuple[int, str, str]:
    """The command as an operator runs it on the server, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDINHAND_")}
    env["HANDINHAND_VAR_DIR"] = str(var_dir)
    if data_keys is not None:
        env["HANDINHAND_DATA_KEYS"] = data_keys
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await run.communicate(stdin.encode())
    assert run.returncode is not None
    return run.returncode, output.decode(), errors.decode()


async def test_a_token_minted_on_the_command_line_is_revoked_there_once(tmp_path: Path) -> None:
    assert (await handinhand("migrate", "console", var_dir=tmp_path))[0] == 0
    minted = await handinhand(
        "token", "--role", "coordinator", "--scope", "15835", var_dir=tmp_path
    )
    token = minted[1].strip()
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]

    revoked = await handinhand("token", "--revoke", var_dir=tmp_path, stdin=token + "\n")
    again = await handinhand("token", "--revoke", var_dir=tmp_path, stdin=token)
    foreign = await handinhand("token", "--revoke", var_dir=tmp_path, stdin="not.a.token")
    engine = create_engine(f"sqlite:///{tmp_path / 'console.db'}", "main")
    events = store_tables.events
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(events.c.stream_id, events.c.event_type))).all()
            bodies = " ".join(str(row) for row in await conn.execute(sa.select(events)))
    finally:
        await engine.dispose()

    assert revoked[0] == 0, revoked
    assert jti in revoked[1]
    assert again[0] == 1
    assert "revoked already" in again[2]
    assert foreign[0] == 2
    assert rows == [(f"apitoken-{jti}", "api_token.revoked")]
    assert token not in bodies
