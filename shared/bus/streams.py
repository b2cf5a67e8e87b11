"""JetStream streams: one per publishing service, created or updated at start-up.

What the consumers need of a stream, and so the least `max_age` may be: a durable consumer
reads what it has not acknowledged yet, so messages must outlast the longest time a consuming
service may be away (an outage, a paused deployment); the duplicate window (below) must fit in
it. Nothing else reads old messages: the relay publishes from the event store and remembers
its position there, parked messages keep their bodies in the `dead_letters` table (a redrive
never reads the stream), a rebuild replays the event store, and the console's live hearings
start at new messages. The one replay from a stream's start is the revoked tokens
(`shared/web/revocation_feed.py`), which is why the console's stream keeps its messages
longer than the longest-lived token (`Retention.stream_max_age`, shared/settings.py).
"""

from __future__ import annotations

from datetime import timedelta

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError

from shared.bus.cloudevents import source_subjects, stream_name

# Deduplication by Nats-Msg-Id within this window makes a relay's re-publish after a crash
# invisible to consumers; the inbox covers anything older.
DUPLICATE_WINDOW_S = 120.0
# What a stream keeps unless the deployment says otherwise (HANDINHAND_STREAM_MAX_AGE_DAYS).
DEFAULT_MAX_AGE = timedelta(days=30)


def stream_config(
    source: str, replicas: int = 1, max_age: timedelta = DEFAULT_MAX_AGE
) -> StreamConfig:
    """The stream of `source`'s events: on file, oldest dropped first once older than `max_age`."""
    if max_age.total_seconds() < DUPLICATE_WINDOW_S:
        raise ValueError("a stream must keep its messages at least for the duplicate window")
    return StreamConfig(
        name=stream_name(source),
        subjects=[source_subjects(source)],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_S,
        max_age=max_age.total_seconds(),
        num_replicas=replicas,
    )


async def ensure_stream(
    js: JetStreamContext, source: str, replicas: int = 1, max_age: timedelta = DEFAULT_MAX_AGE
) -> None:
    """Create the stream, or bring an existing one's limits up to date (e.g. a stream made
    before it had a `max_age`: the server then drops what is older at once)."""
    config = stream_config(source, replicas, max_age)
    try:
        await js.add_stream(config)
    except BadRequestError:  # it exists with another configuration
        await js.update_stream(config)
