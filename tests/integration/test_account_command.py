"""`handinhand account add` creates the first admin; the same phone again changes nothing."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import sqlalchemy as sa

from services.console.tables import accounts
from shared.store.database import create_engine


async def handinhand(*args: str, var_dir: Path) -> tuple[int, str]:
    """The command as a newcomer runs it, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDINHAND_")}
    env["HANDINHAND_VAR_DIR"] = str(var_dir)
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await run.communicate()
    assert run.returncode is not None
    return run.returncode, output.decode()


async def test_the_first_admin_is_added_once(tmp_path: Path) -> None:
    admin = ("account", "add", "--role", "admin", "--phone", "0912 000 001", "--name", "Lê An")
    assert (await handinhand("migrate", "console", var_dir=tmp_path))[0] == 0

    first = await handinhand(*admin, var_dir=tmp_path)
    again = await handinhand(*admin, var_dir=tmp_path)
    bad = await handinhand(
        "account", "add", "--role", "coordinator", "--phone", "0912 000 002", "--name", "Bình",
        var_dir=tmp_path,
    )  # fmt: skip
    engine = create_engine(f"sqlite:///{tmp_path / 'console.db'}", "main")
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(accounts.c.role, accounts.c.phone))).all()
    finally:
        await engine.dispose()

    assert first == (0, "account added: admin Lê An (+84*****0001)\n")
    assert again == (0, "an account with phone +84*****0001 exists already: nothing changed\n")
    assert bad[0] == 2
    assert "scope" in bad[1]
    assert rows == [("admin", "+84912000001")]


async def test_an_account_is_erased_only_with_yes_and_then_its_phone_is_free(
    tmp_path: Path,
) -> None:
    phone = ("--phone", "0912 000 003")
    add = ("account", "add", "--role", "admin", *phone, "--name", "Trần Bình")
    assert (await handinhand("migrate", "console", var_dir=tmp_path))[0] == 0
    assert (await handinhand(*add, var_dir=tmp_path))[0] == 0

    unconfirmed = await handinhand("account", "erase", *phone, var_dir=tmp_path)
    erased = await handinhand("account", "erase", *phone, "--yes", var_dir=tmp_path)
    again = await handinhand("account", "erase", *phone, "--yes", var_dir=tmp_path)
    engine = create_engine(f"sqlite:///{tmp_path / 'console.db'}", "main")
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(accounts.c.name, accounts.c.phone))).all()
    finally:
        await engine.dispose()
    added_again = await handinhand(*add, var_dir=tmp_path)

    assert unconfirmed[0] == 2
    assert "confirm" in unconfirmed[1]
    assert erased == (
        0,
        "account of +84*****0003 erased: its name, phone and browsers are forgotten\n",
    )
    assert again == (0, "no account signs in with phone +84*****0003: nothing erased\n")
    assert rows == [("", None)]
    assert added_again == (0, "account added: admin Trần Bình (+84*****0003)\n")
