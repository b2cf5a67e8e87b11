"""The relay's memory of the streams it publishes: for each, the latest version of every event
type up to the last event published, so that an event's `ce-priorversions` seldom needs the
database. What it remembers is a fact about committed events, true for good: a stream's
next event takes it as is; any other event of the stream is looked up."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

from shared.store.log import StoredEvent

# Streams remembered; the least recently published are forgotten first.
STREAMS_KEPT = 50_000

LookUp = Callable[[str, int], Awaitable[dict[str, int]]]


class PriorVersions:
    def __init__(self, size: int = STREAMS_KEPT) -> None:
        self._size = size
        # stream id -> (version reached, latest version of each event type up to it)
        self._streams: OrderedDict[str, tuple[int, dict[str, int]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._streams)

    async def of_batch(self, batch: Sequence[StoredEvent], look_up: LookUp) -> list[str]:
        """Each event's `ce-priorversions` value ("" for a stream's first event), in batch
        order; `look_up(stream, version)` answers for an event whose predecessor was not the
        last one remembered of its stream."""
        streams = self._streams
        values: list[str] = []
        for stored in batch:
            stream_id, version = stored.stream_id, stored.stream_version
            known = streams.pop(stream_id, None)
            if version == 1:
                latest: dict[str, int] = {}
            elif known is not None and known[0] == version - 1:
                latest = known[1]
            else:
                latest = await look_up(stream_id, version)
            values.append(encode_prior(latest))
            latest[stored.event_type] = version
            streams[stream_id] = (version, latest)  # last: the most recently published
        while len(streams) > self._size:
            streams.popitem(last=False)
        return values


def encode_prior(latest: dict[str, int]) -> str:
    return ",".join(f"{kind}={version}" for kind, version in latest.items())
