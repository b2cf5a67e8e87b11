"""A real app over real HTTP: uvicorn in the test's own event loop, on a port the OS picks."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from litestar import Litestar


def reserved() -> tuple[socket.socket, str]:
    """A bound socket and its base URL, for an app that others must know the address of
    before it is served (the scheduler, which notifications asks for residents' data keys)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@asynccontextmanager
async def serving(
    app: Litestar, *, on: tuple[socket.socket, str] | None = None, **options: Any
) -> AsyncIterator[str]:
    """Serve `app` (lifespan included) until the block ends; yields its base URL. `on`: a
    socket from `reserved()`. `options` go to uvicorn as `handinhand serve` passes them (e.g.
    its proxy trust)."""
    sock, url = on or reserved()
    # A console page's event stream never ends by itself: stopping closes it after 2 s.
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
        **options,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                    raise RuntimeError("the server stopped before it started")
                await asyncio.sleep(0.01)
        yield url
    finally:
        server.should_exit = True
        await task
        sock.close()
