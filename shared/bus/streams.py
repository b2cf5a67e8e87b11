"""JetStream streams: one per publishing service, created or updated at start-up."""

from __future__ import annotations

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError

from shared.bus.cloudevents import source_subjects, stream_name

# Deduplication by Nats-Msg-Id within this window makes a relay's re-publish after a crash
# invisible to consumers; the inbox covers anything older.
DUPLICATE_WINDOW_S = 120.0


async def ensure_stream(js: JetStreamContext, source: str, replicas: int = 1) -> None:
    config = StreamConfig(
        name=stream_name(source),
        subjects=[source_subjects(source)],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=replicas,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)
