"""Round trips to PostgreSQL counted on the wire: a TCP relay in a process of its own, one
listening port per service in front of one server, counting what each service's clients send.

A round trip is a message after which the client waits for the server's `ReadyForQuery`: a
`Sync` (the end of an extended-protocol exchange: asyncpg's prepared execute, its
`executemany` of many rows, a prepare) or a simple `Query`. `pg_stat_statements` counts an
`executemany` of n rows as n calls, the wire as one round trip.

`python -m bench.wire HOST PORT NAME...` prints one JSON line `{name: port}`, then answers each
`dump` line on its stdin with one JSON line `{name: {"round_trips": n, "connections": n,
"encrypted": n}}`, counted since it started (a connection that negotiated TLS cannot be read:
it is relayed and counted under `encrypted` only).
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys
from dataclasses import dataclass, field
from typing import Any

TLS_REQUESTS = (80877103, 80877104)  # SSLRequest, GSSENCRequest
TLS_HANDSHAKE = 0x16
WAITS_FOR_SERVER = (ord("S"), ord("Q"))  # Sync, Query
CHUNK = 1 << 16


@dataclass
class Tally:
    round_trips: int = 0
    connections: int = 0
    encrypted: int = 0

    def figures(self) -> dict[str, int]:
        return {
            "round_trips": self.round_trips,
            "connections": self.connections,
            "encrypted": self.encrypted,
        }


@dataclass
class MessageReader:
    """Counts the typed messages of a client's stream after its startup, fed in pieces."""

    tally: Tally
    header: bytearray = field(default_factory=bytearray)
    remaining: int = 0

    def feed(self, data: bytes) -> None:
        i, n = 0, len(data)
        while i < n:
            if self.remaining:
                taken = min(self.remaining, n - i)
                i += taken
                self.remaining -= taken
                continue
            piece = data[i : i + 5 - len(self.header)]
            i += len(piece)
            self.header += piece
            if len(self.header) == 5:
                if self.header[0] in WAITS_FOR_SERVER:
                    self.tally.round_trips += 1
                self.remaining = int.from_bytes(self.header[1:5], "big") - 4
                self.header = bytearray()


async def _forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _client_side(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tally: Tally
) -> None:
    """The startup messages (untyped), then the counted messages."""
    try:
        after_tls_request = False
        while True:
            first = await reader.readexactly(1)
            if after_tls_request and first[0] == TLS_HANDSHAKE:
                tally.encrypted += 1
                writer.write(first)
                await _forward(reader, writer)
                return
            head = first + await reader.readexactly(7)
            length, code = struct.unpack("!ii", head)
            writer.write(head + await reader.readexactly(length - 8))
            await writer.drain()
            if code not in TLS_REQUESTS:
                break
            after_tls_request = True
        counting = MessageReader(tally)
        while data := await reader.read(CHUNK):
            counting.feed(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def serve(host: str, port: int, names: list[str]) -> None:
    tallies = {name: Tally() for name in names}
    servers = []
    ports: dict[str, int] = {}
    for name in names:

        async def relay(
            client_reader: asyncio.StreamReader,
            client_writer: asyncio.StreamWriter,
            tally: Tally = tallies[name],
        ) -> None:
            tally.connections += 1
            server_reader, server_writer = await asyncio.open_connection(host, port)
            for sock in (client_writer, server_writer):
                raw = sock.get_extra_info("socket")
                if raw is not None:
                    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await asyncio.gather(
                _client_side(client_reader, server_writer, tally),
                _forward(server_reader, client_writer),
            )

        server = await asyncio.start_server(relay, "127.0.0.1", 0)
        servers.append(server)
        ports[name] = server.sockets[0].getsockname()[1]
    print(json.dumps(ports), flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "dump":
        print(json.dumps({name: tally.figures() for name, tally in tallies.items()}), flush=True)
    for server in servers:
        server.close()


class WireCounter:
    """The relay process, seen from the benchmark."""

    def __init__(self, process: asyncio.subprocess.Process, ports: dict[str, int]) -> None:
        self.process = process
        self.ports = ports

    @classmethod
    async def start(cls, host: str, port: int, names: list[str]) -> WireCounter:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.wire",
            host,
            str(port),
            *names,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        ports: dict[str, int] = json.loads(await process.stdout.readline())
        return cls(process, ports)

    async def dump(self) -> dict[str, dict[str, int]]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(b"dump\n")
        await self.process.stdin.drain()
        found: dict[str, dict[str, int]] = json.loads(await self.process.stdout.readline())
        return found

    async def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def main(argv: list[str] | None = None) -> int:
    args: list[Any] = list(sys.argv[1:] if argv is None else argv)
    from bench.loop import run

    run(serve(args[0], int(args[1]), args[2:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
