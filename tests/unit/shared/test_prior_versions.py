"""The relay's memory of each stream's event types: remembered when it can be, asked when not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.bus.prior import PriorVersions
from shared.store.log import StoredEvent


def stored(stream_id: str, version: int, event_type: str) -> StoredEvent:
    return StoredEvent(
        at=(0, version),
        event_id=str(uuid.uuid4()),
        stream_id=stream_id,
        stream_version=version,
        event_type=event_type,
        schema_version=1,
        data=b"{}",
        recorded_at=datetime(2026, 12, 5, tzinfo=UTC),
        correlation_id=str(uuid.uuid4()),
        causation_id=None,
    )


class Database:
    """Answers lookups as the events table would, and counts them."""

    def __init__(self, answers: dict[tuple[str, int], dict[str, int]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, int]] = []

    async def look_up(self, stream_id: str, version: int) -> dict[str, int]:
        self.asked.append((stream_id, version))
        return self.answers[stream_id, version]


async def test_a_stream_followed_from_its_first_event_needs_no_lookup() -> None:
    prior = PriorVersions()
    database = Database({})
    batch = [stored("s", 1, "a"), stored("t", 1, "a"), stored("s", 2, "b"), stored("s", 3, "a")]

    priors = await prior.of_batch(batch, database.look_up)
    later = await prior.of_batch([stored("s", 4, "b")], database.look_up)

    assert priors == ["", "", "a=1", "a=1,b=2"]
    assert later == ["a=3,b=2"]
    assert database.asked == []


async def test_an_event_whose_predecessor_was_not_seen_is_looked_up_once() -> None:
    prior = PriorVersions()
    database = Database({("s", 5): {"a": 2, "b": 4}})

    priors = await prior.of_batch([stored("s", 5, "a"), stored("s", 6, "a")], database.look_up)

    assert priors == ["a=2,b=4", "a=5,b=4"]
    assert database.asked == [("s", 5)]


async def test_an_event_read_again_after_a_failed_publish_is_looked_up() -> None:
    prior = PriorVersions()
    database = Database({("s", 2): {"a": 1}})
    await prior.of_batch([stored("s", 1, "a"), stored("s", 2, "b")], database.look_up)

    again = await prior.of_batch([stored("s", 2, "b")], database.look_up)

    assert again == ["a=1"]  # not "a=1,b=2": that was remembered after version 2
    assert database.asked == [("s", 2)]


async def test_the_least_recently_published_streams_are_forgotten_first() -> None:
    prior = PriorVersions(size=2)
    database = Database({("s", 2): {"a": 1}})
    await prior.of_batch(
        [stored("s", 1, "a"), stored("t", 1, "a"), stored("u", 1, "a")], database.look_up
    )

    assert len(prior) == 2
    assert await prior.of_batch([stored("s", 2, "a")], database.look_up) == ["a=1"]
    assert database.asked == [("s", 2)]
