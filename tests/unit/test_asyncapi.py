from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.asyncapi import build_asyncapi, render_asyncapi
from shared.bus.cloudevents import stream_name, subject_for
from shared.events import build_catalog
from shared.events.catalog import EventType

COMMITTED = Path(__file__).parents[2] / "docs" / "asyncapi.json"
KINDS: list[EventType] = list(build_catalog())


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_asyncapi(build_catalog())


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = document
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref}: {key!r} is inside a non-object"
        assert key in node, f"{ref}: no {key!r}"
        node = node[key]
    if isinstance(node, dict) and set(node) == {"$ref"}:
        return resolve(document, node["$ref"])  # a reference to a reference
    return node


def test_the_committed_document_is_generated_from_the_catalog() -> None:
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == render_asyncapi(build_catalog()), (
        "docs/asyncapi.json is stale: run `./dev asyncapi > docs/asyncapi.json`"
    )


def test_rendering_twice_gives_the_same_bytes() -> None:
    assert render_asyncapi(build_catalog()) == render_asyncapi(build_catalog())


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_every_event_has_a_channel_a_message_and_a_send_operation(
    document: dict[str, Any], kind: EventType
) -> None:
    subject = subject_for(kind.source, kind.name)
    channel = document["channels"][subject]
    assert channel["address"] == subject

    message = resolve(document, channel["messages"][kind.name]["$ref"])
    assert message["name"] == kind.name
    assert message["contentType"] == "application/json"
    assert message.get("summary"), f"{kind.cls.__name__} needs a docstring saying what happened"
    assert message["x-schema-version"] == kind.version
    assert message["x-stream"] == stream_name(kind.source)
    assert resolve(document, message["payload"]["$ref"])["title"] == kind.cls.__name__

    operation = document["operations"][f"{kind.source}.publish.{kind.name}"]
    assert operation["action"] == "send"
    assert resolve(document, operation["channel"]["$ref"]) is channel
    assert [resolve(document, m["$ref"]) for m in operation["messages"]] == [message]


def test_the_headers_require_what_a_consumer_reads(document: dict[str, Any]) -> None:
    headers = document["components"]["schemas"]["CloudEventsHeaders"]
    assert headers["properties"]["ce-specversion"] == {
        "const": "1.0",
        "description": "CloudEvents version.",
    }
    assert set(headers["required"]) >= {
        "ce-specversion",
        "ce-id",
        "ce-source",
        "ce-type",
        "ce-time",
        "ce-subject",
        "Nats-Msg-Id",
    }
    assert set(headers["required"]) <= set(headers["properties"])


def test_the_document_holds_no_channel_or_message_the_catalog_lacks(
    document: dict[str, Any],
) -> None:
    assert len(document["channels"]) == len(KINDS)
    assert set(document["components"]["messages"]) == {kind.name for kind in KINDS}
    assert len(document["operations"]) == len(KINDS)


def test_every_ref_resolves(document: dict[str, Any]) -> None:
    found = list(refs(document))
    assert found
    for ref in found:
        resolve(document, ref)


def test_channel_addresses_are_literal_subjects(document: dict[str, Any]) -> None:
    subject = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
    for channel in document["channels"].values():
        assert subject.fullmatch(channel["address"]), channel["address"]
        assert "parameters" not in channel
