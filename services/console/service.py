"""What one console app holds, built once by `create_app` and handed to its pages."""

from __future__ import annotations

from dataclasses import dataclass

from services.console.live import LivePages
from services.console.peers import Peers
from services.console.settings import ConsoleSettings
from shared.runtime import Runtime


@dataclass(frozen=True)
class Console:
    """The runtime, the console's settings, its client of the other services and the pages
    this instance holds open."""

    runtime: Runtime
    settings: ConsoleSettings
    peers: Peers
    live: LivePages

    @classmethod
    def assemble(cls, runtime: Runtime, settings: ConsoleSettings) -> Console:
        peers = Peers(settings, runtime.settings.token_keys, runtime.clock)
        return cls(runtime=runtime, settings=settings, peers=peers, live=LivePages())
