"""The providers' keep-alive HTTP/1.1 transport against a real socket server that answers
with exactly the bytes a test gives it (chunked, close-delimited, 100 Continue, closing)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from shared.keepalive import KeepAliveTransport
from tests.support.waiting import eventually


@dataclass
class RawServer:
    """Reads one request at a time and writes the next scripted answer, byte for byte."""

    answers: list[bytes] = field(default_factory=list)
    close_after: set[int] = field(default_factory=set)
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                self.requests.append(head + await reader.readexactly(length))
                writer.write(self.answers.pop(0))
                await writer.drain()
                if len(self.requests) in self.close_after:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    raw = RawServer()
    listening = await asyncio.start_server(raw.serve, "127.0.0.1", 0)
    raw.port = listening.sockets[0].getsockname()[1]
    yield raw
    listening.close()
    await listening.wait_closed()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2.0, transport=KeepAliveTransport(4)) as http:
        yield http


def url(server: RawServer, path: str = "/send?x=1") -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def ok(body: bytes = b'{"id": "gw-1"}', *headers: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body)
    return head + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


async def test_sends_the_request_whole_and_reuses_the_connection(
    server: RawServer, client: httpx.AsyncClient
) -> None:
    server.answers = [ok(b'{"id": "a"}'), ok(b'{"id": "b"}'), ok(b"")]

    first = await client.post(url(server), json={"phone": "+84912345678"}, headers={"X-K": "v"})
    second = await client.post(url(server), data={"Body": "Chào"}, auth=("sid", "token"))
    third = await client.post(url(server))

    assert [first.json(), second.json(), third.content] == [{"id": "a"}, {"id": "b"}, b""]
    assert server.connections == 1
    request = server.requests[0]
    assert request.startswith(b"POST /send?x=1 HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:%d\r\n" % server.port in request
    assert b"\r\nX-K: v\r\n" in request
    assert b"\r\nContent-Length: 24\r\n" in request
    assert request.endswith(b'\r\n\r\n{"phone":"+84912345678"}')
    assert b"Authorization: Basic c2lkOnRva2Vu" in server.requests[1]
    assert server.requests[1].endswith(b"Body=Ch%C3%A0o")


async def test_reads_chunked_bodies_and_skips_100_continue(
    server: RawServer, client: httpx.AsyncClient
) -> None:
    server.answers = [
        (
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'4;ext=1\r\n{"id\r\n9\r\n": "gw-7"\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n'
        ),
        ok(),
    ]

    answer = await client.post(url(server), content=b"{}")
    again = await client.post(url(server), content=b"{}")

    assert answer.status_code == 201
    assert answer.json() == {"id": "gw-7"}
    assert again.json() == {"id": "gw-1"}
    assert server.connections == 1


async def test_a_gzipped_answer_is_decoded(server: RawServer, client: httpx.AsyncClient) -> None:
    server.answers = [ok(gzip.compress(b'{"id": "z"}'), b"Content-Encoding: gzip")]

    assert (await client.post(url(server), content=b"{}")).json() == {"id": "z"}


async def test_connection_close_and_close_delimited_bodies_open_a_new_connection(
    server: RawServer, client: httpx.AsyncClient
) -> None:
    server.answers = [
        ok(b'{"n": 1}', b"Connection: close"),
        b'HTTP/1.0 200 OK\r\n\r\n{"n": 2}',
        ok(b'{"n": 3}'),
    ]
    server.close_after = {1, 2}

    answers = [(await client.post(url(server), content=b"{}")).json() for _ in range(3)]

    assert answers == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert server.connections == 3


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    server: RawServer,
) -> None:
    server.answers = [ok(b'{"n": 1}'), ok(b'{"n": 2}')]
    server.close_after = {1}  # the server drops the connection after answering
    transport = KeepAliveTransport(4)

    async def idle_ends_closed() -> list[bool]:
        return [c.reader.at_eof() for idle in transport._idle.values() for c in idle]

    async with httpx.AsyncClient(timeout=2.0, transport=transport) as client:
        first = await client.post(url(server), content=b"{}")
        await eventually(idle_ends_closed, lambda closed: closed == [True])  # the close arrived
        second = await client.post(url(server), content=b"{}")

    assert [first.json(), second.json()] == [{"n": 1}, {"n": 2}]
    assert server.connections == 2


async def test_a_server_that_hangs_up_without_answering_is_a_transport_error(
    server: RawServer, client: httpx.AsyncClient
) -> None:
    server.answers = [b""]
    server.close_after = {1}

    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        await client.post(url(server), content=b"{}")


async def test_garbage_is_a_protocol_error(server: RawServer, client: httpx.AsyncClient) -> None:
    server.answers = [b"SMTP ready\r\n\r\n"]

    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(url(server), content=b"{}")


async def test_a_slow_answer_times_out_and_the_connection_is_dropped(
    server: RawServer,
) -> None:
    server.answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", ok()]
    async with httpx.AsyncClient(timeout=0.2, transport=KeepAliveTransport(1)) as slow:
        with pytest.raises(httpx.ReadTimeout):
            await slow.post(url(server), content=b"{}")
        answer = await slow.post(url(server), content=b"{}")

    assert answer.json() == {"id": "gw-1"}
    assert server.connections == 2


async def test_an_unreachable_server_is_a_connect_error(client: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ConnectError):
        await client.post("http://127.0.0.1:9/send", content=b"{}")


async def test_at_most_the_given_number_of_connections_are_open(server: RawServer) -> None:
    server.answers = [ok() for _ in range(20)]
    async with httpx.AsyncClient(timeout=2.0, transport=KeepAliveTransport(3)) as http:
        answers = await asyncio.gather(*(http.post(url(server), content=b"{}") for _ in range(20)))

    assert all(answer.status_code == 200 for answer in answers)
    assert server.connections <= 3
