"""Three nats-server nodes on loopback, routed into one JetStream cluster, each with its own
store: streams created with 3 replicas survive the loss of any one node. A drill finds the
node that leads a stream, kills it and brings it back on the same ports and store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import nats

from shared.bus.server import NatsServer, free_port

CLUSTER_NAME = "handinhand-drill"


class _Peer(msgspec.Struct):
    name: str


class _StreamCluster(msgspec.Struct):
    leader: str | None = None
    replicas: list[_Peer] = msgspec.field(default_factory=list)  # the leader's followers


class _StreamInfo(msgspec.Struct):
    cluster: _StreamCluster | None = None


class NatsCluster:
    """Nodes named n1, n2, n3; `url` lists them all, as HANDINHAND_NATS_URL may."""

    def __init__(self, root: Path, size: int = 3) -> None:
        client_ports = [free_port() for _ in range(size)]
        route_ports = [free_port() for _ in range(size)]
        routes = ",".join(f"nats://127.0.0.1:{port}" for port in route_ports)
        self.nodes: dict[str, NatsServer] = {}
        for n, (client, route) in enumerate(zip(client_ports, route_ports, strict=True), 1):
            name = f"n{n}"
            self.nodes[name] = NatsServer(
                root / name,
                client,
                log_file=root / f"{name}.log",
                extra_args=[
                    "--server_name",
                    name,
                    "--cluster_name",
                    CLUSTER_NAME,
                    "--cluster",
                    f"nats://127.0.0.1:{route}",
                    "--routes",
                    routes,
                ],
            )

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes.values())

    async def start_async(self) -> None:
        await asyncio.gather(*(node.start_async() for node in self.nodes.values()))

    async def stop_async(self) -> None:
        await asyncio.gather(*(node.stop_async() for node in self.nodes.values()))

    async def kill(self, name: str) -> None:
        await asyncio.to_thread(self.nodes[name].kill)

    async def revive(self, name: str) -> None:
        """The same node again: same name, ports and store."""
        await self.nodes[name].start_async()

    async def leader_of(self, stream: str, timeout: float = 2.0) -> str | None:
        """The node leading `stream` now; None while no leader is elected or none answers."""
        found = await self._stream_cluster(stream, timeout)
        return found.leader if found is not None else None

    async def replicas_of(self, stream: str, timeout: float = 2.0) -> int:
        """How many nodes hold `stream`: its leader and followers (0: no answer)."""
        found = await self._stream_cluster(stream, timeout)
        if found is None or found.leader is None:
            return 0
        return 1 + len(found.replicas)

    async def _stream_cluster(self, stream: str, timeout: float) -> _StreamCluster | None:
        """What $JS.API.STREAM.INFO says of the stream's placement, asked of a running node;
        None: no answer."""
        running = [n.url for n in self.nodes.values() if n.process and n.process.poll() is None]
        if not running:
            return None
        try:
            client = await nats.connect(
                servers=running, connect_timeout=timeout, allow_reconnect=False
            )
        except Exception:
            return None
        try:
            reply = await client.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=timeout)
            info = msgspec.json.decode(reply.data, type=_StreamInfo)
        except Exception:
            return None
        finally:
            await client.close()
        return info.cluster
