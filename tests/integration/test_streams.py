"""The streams' limits on a real nats-server: a stream made before it had a max_age (an existing
deployment) gets one at the next start, keeping its messages; starting again changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from nats.aio.client import Client
from nats.js.api import StreamConfig

from shared.bus.cloudevents import source_subjects, stream_name
from shared.bus.streams import DUPLICATE_WINDOW_S, ensure_stream, stream_config


async def test_an_existing_stream_without_a_max_age_gets_one_and_keeps_its_messages(
    nc: Client,
) -> None:
    js = nc.jetstream()
    source = f"probe{uuid.uuid4().hex[:8]}"
    # as every deployment made it before retention: no max_age
    await js.add_stream(
        StreamConfig(
            name=stream_name(source),
            subjects=[source_subjects(source)],
            duplicate_window=DUPLICATE_WINDOW_S,
        )
    )
    for n in range(3):
        await js.publish(
            f"handinhand.{source}.probe.counted", b"{}", headers={"Nats-Msg-Id": f"{n}"}
        )
    assert (await js.stream_info(stream_name(source))).config.max_age in (None, 0)

    await ensure_stream(js, source, max_age=timedelta(days=30))
    await ensure_stream(js, source, max_age=timedelta(days=30))  # the next start: the same

    info = await js.stream_info(stream_name(source))
    assert info.config.max_age == timedelta(days=30).total_seconds()
    assert info.config.duplicate_window == DUPLICATE_WINDOW_S
    assert info.state.messages == 3


async def test_a_changed_max_age_is_applied_at_the_next_start(nc: Client) -> None:
    js = nc.jetstream()
    source = f"probe{uuid.uuid4().hex[:8]}"
    await ensure_stream(js, source)

    await ensure_stream(js, source, max_age=timedelta(days=7))

    info = await js.stream_info(stream_name(source))
    assert info.config.max_age == timedelta(days=7).total_seconds()


def test_a_stream_keeps_its_messages_at_least_for_the_duplicate_window() -> None:
    with pytest.raises(ValueError, match="duplicate window"):
        stream_config("scheduler", max_age=timedelta(seconds=DUPLICATE_WINDOW_S - 1))
