"""The relay's memory of the streams it publishes: for each, the latest version of every event
type up to the last event published, so that an event's `ce-priorversions` seldom needs the
database. What it remembers is a fact about committed events, true for good: a stream's
next event takes it as is; any other event of the stream is looked up."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

from shared.store.eventstore import StoredEvent

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

    async def of_batch(self, batch: Sequence[StoredEvent], look_up: LookUp) -> list[dict[str, int]]:
        """Each event's prior versions, in batch order; `look_up(stream, version)` answers for
        an event whose predecessor was not the last one remembered of its stream."""
        streams = self._streams
        priors: list[dict[str, int]] = []
        for stored in batch:
            stream_id, version = stored.stream_id, stored.stream_version
            known = streams.get(stream_id)
            if version == 1:
                prior: dict[str, int] = {}
            elif known is not None and known[0] == version - 1:
                prior = known[1]
            else:
                prior = await look_up(stream_id, version)
            priors.append(prior)
            streams[stream_id] = (version, {**prior, stored.event_type: version})
            streams.move_to_end(stream_id)
        while len(streams) > self._size:
            streams.popitem(last=False)
        return priors
