"""A lean HTTP/1.1 keep-alive transport under an httpx client: the SMS providers' and the
data-key requests to the services that own people (shared/personal/owners.py).

Sending 50,000 SMS to a gateway is 50,000 small POSTs. httpx's default transport (httpcore,
h11, anyio) spends ~250 µs of CPU on each, and its pool checks every idle connection's
socket whenever a request starts or ends, so a pool of 32 connections costs more than the
requests themselves. This transport keeps the httpx client (its request building, auth,
forms, timeouts configuration and responses) and replaces only the wire: one asyncio stream
per connection, a stack of idle connections per origin, HTTP/1.1 with Content-Length or
chunked bodies. About 50 µs per request. No HTTP/2 and no proxies: gateways and services
are called directly.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

_T = TypeVar("_T")
# Longest status or header line, and most headers, accepted from a gateway.
_LINE_MAX = 64 * 1024
_HEADERS_MAX = 100


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = field(default_factory=time.monotonic)

    def usable(self, expiry: float) -> bool:
        """Not closed by the server while idle, and not idle for so long it may be."""
        return (
            not self.reader.at_eof()
            and not self.writer.is_closing()
            and time.monotonic() - self.idle_since < expiry
        )

    def close(self) -> None:
        self.writer.close()


class _Response:
    """What came back: status, headers, body, and whether the connection may be reused."""

    def __init__(self) -> None:
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.keep_alive = True


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 requests over at most `max_connections` kept-alive connections."""

    def __init__(
        self,
        max_connections: int,
        *,
        keepalive_expiry: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._slots = asyncio.Semaphore(max(1, max_connections))
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._expiry = keepalive_expiry
        self._ssl = ssl_context
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        async with self._slots:
            url = request.url
            origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
            body = await request.aread()
            connection = await self._connection(origin, timeouts.get("connect"))
            try:
                answer = await self._exchange(connection, request, body, timeouts)
            except BaseException:
                connection.close()
                raise
            if answer.keep_alive and not self._closed:
                connection.idle_since = time.monotonic()
                self._idle.setdefault(origin, []).append(connection)
            else:
                connection.close()
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(answer.body),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
            request=request,
        )

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def _connection(self, origin: tuple[str, str, int], timeout: float | None) -> _Connection:
        idle = self._idle.get(origin, [])
        while idle:
            connection = idle.pop()
            if connection.usable(self._expiry):
                return connection
            connection.close()
        scheme, host, port = origin
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            tls = self._ssl or httpx.create_ssl_context()
            self._ssl = tls
        try:
            reader, writer = await _within(
                timeout,
                httpx.ConnectTimeout,
                asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None, limit=_LINE_MAX
                ),
            )
        except OSError as error:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {error}") from error
        return _Connection(reader, writer)

    async def _exchange(
        self,
        connection: _Connection,
        request: httpx.Request,
        body: bytes,
        timeouts: dict[str, float | None],
    ) -> _Response:
        head = _request_head(request, body)
        try:
            connection.writer.write(head + body)
            await _within(timeouts.get("write"), httpx.WriteTimeout, connection.writer.drain())
        except OSError as error:
            raise httpx.WriteError(f"sending failed: {error}") from error
        try:
            return await _within(timeouts.get("read"), httpx.ReadTimeout, _read(connection.reader))
        except (OSError, asyncio.IncompleteReadError) as error:
            raise httpx.ReadError(f"reading the answer failed: {error!r}") from error
        except (ValueError, asyncio.LimitOverrunError) as error:
            raise httpx.RemoteProtocolError(f"malformed answer: {error}") from error


async def _within(
    seconds: float | None, error: Callable[[str], Exception], work: Awaitable[_T]
) -> _T:
    """`work`, or the given timeout error when it takes longer than `seconds`."""
    if seconds is None:
        return await work
    try:
        async with asyncio.timeout(seconds):
            return await work
    except TimeoutError as timeout:
        raise error(f"no progress within {seconds} s") from timeout


def _request_head(request: httpx.Request, body: bytes) -> bytes:
    url = request.url
    lines = [request.method.encode("ascii"), b" ", url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        lowered = name.lower()
        if lowered in (b"content-length", b"transfer-encoding"):
            continue  # the body is sent whole, with its length
        lines += [name, b": ", value, b"\r\n"]
    if body or request.method not in ("GET", "HEAD"):
        lines += [b"Content-Length: ", str(len(body)).encode("ascii"), b"\r\n"]
    lines.append(b"\r\n")
    return b"".join(lines)


async def _read(reader: asyncio.StreamReader) -> _Response:
    answer = _Response()
    while True:
        status_line = await reader.readline()
        if not status_line:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        version, _, rest = status_line.rstrip(b"\r\n").partition(b" ")
        code, _, answer.reason = rest.partition(b" ")
        if not version.startswith(b"HTTP/1.") or not code.isdigit():
            raise httpx.RemoteProtocolError(f"not an HTTP/1.x answer: {status_line[:80]!r}")
        answer.status = int(code)
        answer.headers = await _headers(reader)
        if answer.status >= 200 or answer.status == 101:
            break  # 1xx (100 Continue, 103 Early Hints) come before the real answer
    connection = b",".join(v for k, v in answer.headers if k.lower() == b"connection").lower()
    answer.keep_alive = (
        b"close" not in connection if version == b"HTTP/1.1" else b"keep-alive" in connection
    )
    answer.body = await _body(reader, answer)
    return answer


async def _headers(reader: asyncio.StreamReader) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    while (line := await reader.readline()) not in (b"\r\n", b"\n"):
        if not line:
            raise httpx.RemoteProtocolError("Server disconnected in the middle of the headers.")
        if len(headers) >= _HEADERS_MAX:
            raise httpx.RemoteProtocolError("too many headers")
        name, colon, value = line.partition(b":")
        if not colon:
            raise httpx.RemoteProtocolError(f"malformed header line {line[:80]!r}")
        headers.append((name.strip(), value.strip()))
    return headers


async def _body(reader: asyncio.StreamReader, answer: _Response) -> bytes:
    if answer.status in (101, 204, 304):
        return b""
    values = {name.lower(): value for name, value in answer.headers}
    if b"chunked" in values.get(b"transfer-encoding", b"").lower():
        return await _chunks(reader)
    length = values.get(b"content-length")
    if length is not None:
        return await reader.readexactly(int(length))
    answer.keep_alive = False  # the body ends when the server closes the connection
    return await reader.read()


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readline()
        size = int(size_line.split(b";", 1)[0].strip(), 16)  # ValueError: malformed
        if size == 0:
            await _headers(reader)  # trailers, up to the empty line
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def post(
    client: httpx.AsyncClient,
    wire: httpx.AsyncBaseTransport | None,
    url: httpx.URL,
    headers: dict[str, str],
    content: bytes,
) -> httpx.Response:
    """POST through `client`, or straight to its transport `wire` when given.

    The gateways use nothing of httpx's client layer (base URLs, cookies, auth flows,
    redirects, event hooks), which costs ~55 µs a call: at thousands of SMS a second the
    providers hand the transport a request of their own, with the client's timeouts.
    """
    if wire is None:
        return await client.post(url, content=content, headers=headers)
    return await _direct(client, wire, httpx.Request("POST", url, headers=headers, content=content))


async def get(
    client: httpx.AsyncClient,
    wire: httpx.AsyncBaseTransport | None,
    url: httpx.URL,
    headers: dict[str, str],
) -> httpx.Response:
    """GET the way `post` posts: a look-up at the provider on the same connections."""
    if wire is None:
        return await client.get(url, headers=headers)
    return await _direct(client, wire, httpx.Request("GET", url, headers=headers))


async def _direct(
    client: httpx.AsyncClient, wire: httpx.AsyncBaseTransport, request: httpx.Request
) -> httpx.Response:
    request.extensions = {"timeout": client.timeout.as_dict()}
    response = await wire.handle_async_request(request)
    await response.aread()
    return response
