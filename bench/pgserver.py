"""A PostgreSQL server of a drill's own: a fresh cluster (`initdb`) in a temporary folder, on a
free loopback port, trust auth, that the drill may stop, start and restart at will without
touching the machine's shared server.

PostgreSQL refuses to run as root, so when this process is root the server runs as the
`postgres` OS user, in a folder that user owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

SERVER_USER = "postgres"
_PR_SET_PDEATHSIG = 1
# Enough for two instances of every service, each with its pool and direct connections.
MAX_CONNECTIONS = 300


class PostgresServerError(RuntimeError):
    """The drill's PostgreSQL server could not be set up or did not start."""


def server_binaries() -> Path | None:
    """The folder holding `initdb` and `postgres`: on PATH, else the newest of Debian's
    /usr/lib/postgresql/*/bin; None where this machine has no server installed."""
    found = shutil.which("initdb")
    if found and (Path(found).resolve().parent / "postgres").exists():
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    for folder in reversed(versions):
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: the server stops (SIGINT: fast shutdown) when the drill dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


class PostgresServer:
    """One PostgreSQL cluster in `folder`, listening on 127.0.0.1:`port` only."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="drill-postgres-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log_file(self) -> Path:
        return self.folder / "postgres.log"

    def init(self) -> None:
        """A new cluster whose superuser is `postgres`, trusted on loopback."""
        result = subprocess.run(  # noqa: PLW1510
            [
                str(self.binaries / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            capture_output=True,
            **self._as_user,
        )
        if result.returncode != 0:
            raise PostgresServerError(f"initdb failed: {result.stderr.decode()[-2000:]}")

    def start(self, timeout: float = 30.0) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.binaries / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={self.folder}",
                    "-c",
                    f"max_connections={MAX_CONNECTIONS}",
                    # No machine crash is drilled, only the server's: the OS keeps the writes.
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                ],
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
                **self._as_user,
            )
        self._wait_accepting(timeout)

    def _wait_accepting(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log_file.read_text(errors="replace")[-2000:]
                raise PostgresServerError(f"postgres exited with {self.process.returncode}: {log}")
            ready = subprocess.run(  # noqa: PLW1510
                [
                    str(self.binaries / "pg_isready"),
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                ],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise PostgresServerError(f"postgres did not accept connections in {timeout}s")

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown: open transactions are rolled back, clients are disconnected."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop the server and delete its cluster."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    async def start_async(self) -> None:
        await asyncio.to_thread(self.start)

    async def stop_async(self) -> None:
        await asyncio.to_thread(self.stop)

    async def restart_async(self) -> None:
        await asyncio.to_thread(self.restart)


@contextlib.asynccontextmanager
async def postgres_server(binaries: Path) -> AsyncIterator[PostgresServer]:
    """A started server of the drill's own, removed afterwards."""
    server = PostgresServer(binaries)
    try:
        await asyncio.to_thread(server.init)
        await server.start_async()
        yield server
    finally:
        await asyncio.to_thread(server.remove)
