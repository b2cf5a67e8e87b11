"""A real HTTP server on a free port that plays an SMS provider: it records every request and
answers from a script, so provider clients are tested over real sockets, never patched."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    arrived_at: float

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


@dataclass
class Response:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[Request], Awaitable[Response]]

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Gateway:
    """Answers queued responses in order (then `default`), or asks `handler` when set."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.responses: deque[Response] = deque()
        self.default = Response()
        self.handler: Handler | None = None
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, *responses: Response) -> None:
        self.responses.extend(responses)

    async def start(self, port: int = 0) -> None:
        """Listen on a free port, or on `port` again after a stop (a provider back up)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request := await self._read(reader):
                self.requests.append(request)
                if self.handler is not None:
                    response = await self.handler(request)
                else:
                    response = self.responses.popleft() if self.responses else self.default
                if response.delay:
                    await asyncio.sleep(response.delay)
                writer.write(self._encode(response))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Request | None:
        line = await reader.readline()
        if not line:
            return None
        method, path, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        loop = asyncio.get_running_loop()
        return Request(method, path, headers, body, loop.time())

    @staticmethod
    def _encode(response: Response) -> bytes:
        reason = _REASONS.get(response.status, "Status")
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(len(response.body)),
        } | response.headers
        head = f"HTTP/1.1 {response.status} {reason}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        return head.encode("latin-1") + b"\r\n" + response.body
