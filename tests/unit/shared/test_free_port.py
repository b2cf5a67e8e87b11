"""Free ports for servers the tests start: each test worker keeps to its own block, and no
port is handed out twice by one process before its server binds it."""

from __future__ import annotations

import pytest

from shared.bus.server import PORTS_ENV, free_port


def test_ports_come_from_the_block_given_and_never_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PORTS_ENV, "41000-41012")

    ports = [free_port() for _ in range(6)]

    assert all(41000 <= port < 41012 for port in ports)
    assert len(set(ports)) == len(ports)
