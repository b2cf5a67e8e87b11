"""Publishing to JetStream with acknowledgements in flight, against a real nats-server."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from nats.aio.client import Client

from shared.bus.publisher import Publisher, PublishRejectedError
from shared.bus.streams import ensure_stream


async def test_each_message_is_acknowledged_with_its_place_and_a_repeat_as_a_duplicate(
    nc: Client,
) -> None:
    source = f"probe{uuid.uuid4().hex[:8]}"
    await ensure_stream(nc.jetstream(), source)
    publisher = Publisher(nc)
    subject = f"handinhand.{source}.probe.thing_counted"

    answers = [
        await publisher.publish(subject, b"{}", {"Nats-Msg-Id": f"id-{n}"}) for n in range(3)
    ]
    again = await publisher.publish(subject, b"{}", {"Nats-Msg-Id": "id-1"})
    acks = await asyncio.gather(*answers, again)

    assert [(a.stream, a.seq, a.duplicate) for a in acks] == [
        (f"HANDINHAND_{source.upper()}", 1, False),
        (f"HANDINHAND_{source.upper()}", 2, False),
        (f"HANDINHAND_{source.upper()}", 3, False),
        (f"HANDINHAND_{source.upper()}", 2, True),
    ]


async def test_a_message_no_stream_takes_is_refused(nc: Client) -> None:
    publisher = Publisher(nc)

    answer = await publisher.publish("handinhand.nowhere.thing", b"{}", {"Nats-Msg-Id": "x"})

    with pytest.raises(PublishRejectedError, match="no JetStream stream"):
        await asyncio.wait_for(answer, 5)


async def test_a_message_for_another_stream_than_expected_is_refused(nc: Client) -> None:
    source = f"probe{uuid.uuid4().hex[:8]}"
    await ensure_stream(nc.jetstream(), source)
    publisher = Publisher(nc)

    answer = await publisher.publish(
        f"handinhand.{source}.probe.thing_counted",
        b"{}",
        {"Nats-Msg-Id": "y", "Nats-Expected-Stream": "HANDINHAND_ELSEWHERE"},
    )

    with pytest.raises(PublishRejectedError, match="expected stream does not match"):
        await asyncio.wait_for(answer, 5)


async def test_abandoned_answers_are_no_longer_awaited(nc: Client) -> None:
    publisher = Publisher(nc)
    answer = await publisher.publish("handinhand.nowhere.thing", b"{}", {"Nats-Msg-Id": "z"})

    publisher.abandon()

    assert answer.cancelled()
