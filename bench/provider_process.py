"""An SMS provider in a process of its own, seen from a benchmark: `python -m <module>
--serve-provider` prints `port N`, then answers each `dump` line on its stdin with one JSON
line of what arrived since the last one (what that is, each benchmark's provider says)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, Self


class ProviderProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, module: str) -> tuple[Self, int]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            "--serve-provider",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,  # one line holds every arrival since the last look
        )
        assert process.stdout is not None
        port = int((await process.stdout.readline()).decode().split()[1])
        return cls(process), port

    async def dump(self) -> list[Any]:
        """What arrived since the last dump, as the provider wrote it."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(b"dump\n")
        await self.process.stdin.drain()
        found: list[Any] = json.loads(await self.process.stdout.readline())
        return found

    async def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
