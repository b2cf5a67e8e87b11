"""Speaking as another service in tests: its events on its JetStream stream, as its relay
publishes them (CloudEvents headers, versions per stream, ce-priorversions)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from nats.aio.client import Client

from shared.bus.cloudevents import headers_for, subject_for
from shared.bus.prior import encode_prior
from shared.bus.streams import ensure_stream
from shared.events.base import Event
from shared.events.catalog import encode
from shared.ids import uuid7
from shared.store.log import StoredEvent


class Feed:
    def __init__(self, nc: Client, *, recorded_at: datetime | None = None) -> None:
        self.js = nc.jetstream()
        self.recorded_at = recorded_at
        self._published: dict[str, dict[int, str]] = {}  # stream -> version -> event type
        self._streams: set[str] = set()

    async def publish(
        self,
        source: str,
        stream_id: str,
        event: Event,
        *,
        version: int | None = None,
        event_id: UUID | None = None,
        msg_id: str | None = None,
    ) -> UUID:
        """Publish the stream's next event (or again at `version`); its event id."""
        if source not in self._streams:
            await ensure_stream(self.js, source)
            self._streams.add(source)
        history = self._published.setdefault(stream_id, {})
        version = version or max(history, default=0) + 1
        history[version] = event.event_type
        latest: dict[str, int] = {}
        for earlier in sorted(v for v in history if v < version):
            latest[history[earlier]] = earlier
        event_id = event_id or uuid7()
        stored = StoredEvent(
            at=(0, 0),
            event_id=str(event_id),
            stream_id=stream_id,
            stream_version=version,
            event_type=event.event_type,
            schema_version=event.schema_version,
            data=encode(event),
            recorded_at=self.recorded_at or datetime.now(UTC),
            correlation_id=str(uuid7()),
            causation_id=None,
        )
        headers = headers_for(source, stored, encode_prior(latest))
        if msg_id is not None:
            headers["Nats-Msg-Id"] = msg_id
        await self.js.publish(subject_for(source, event.event_type), stored.data, headers=headers)
        return event_id

    def lose(self, stream_id: str, event: Event) -> int:
        """The stream's next event as if published and lost on the way: later events name it
        as their predecessor, and it never arrives (unless published later at its version)."""
        history = self._published.setdefault(stream_id, {})
        version = max(history, default=0) + 1
        history[version] = event.event_type
        return version
