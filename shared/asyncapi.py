"""The AsyncAPI 3.0 document of every event on the bus, generated from the catalog.

One channel per subject, one message per event type (its JSON Schema from msgspec, its
CloudEvents headers), one `send` operation for the service that publishes it. The rendering is
sorted JSON, so the committed `docs/asyncapi.json` can be compared byte for byte.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import msgspec

from shared.bus.cloudevents import (
    CAUSATION,
    CORRELATION,
    PRIOR_VERSIONS,
    SCHEMA_VERSION,
    SPEC_VERSION,
    STREAM_VERSION,
    stream_name,
    subject_for,
)
from shared.events.catalog import Catalog, EventType

ASYNCAPI_VERSION = "3.0.0"
CONTENT_TYPE = "application/json"
SERVER = "embedded"
HEADERS_SCHEMA = "CloudEventsHeaders"
_SCHEMAS = "#/components/schemas/"
# msgspec names a class by module path when two share a name (two `Language` enums); the
# catalog's own modules are shortened to `<service>.<Name>`.
_CATALOG_MODULES = "shared.events."

_WHOLE_NUMBER = "^[1-9][0-9]*$"


def build_asyncapi(catalog: Catalog) -> dict[str, Any]:
    """The AsyncAPI document for a catalog: pure, so it can be compared and rendered anywhere."""
    kinds: list[EventType] = sorted(catalog, key=lambda kind: (kind.source, kind.name))
    payloads, schemas = _payload_schemas(kinds)
    if HEADERS_SCHEMA in schemas:
        raise ValueError(f"an event type is named {HEADERS_SCHEMA}, which the headers use")
    schemas[HEADERS_SCHEMA] = _headers_schema()
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for kind in kinds:
        subject = subject_for(kind.source, kind.name)
        summary, description = _docstring(kind.cls)
        messages[kind.name] = _message(kind, payloads[kind.name], summary, description)
        channels[subject] = {
            "address": subject,
            "title": kind.cls.__name__,
            "description": f"`{kind.name}` events published by {kind.source}.",
            "messages": {kind.name: {"$ref": f"#/components/messages/{kind.name}"}},
            "servers": [{"$ref": f"#/servers/{SERVER}"}],
        }
        operation: dict[str, Any] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{subject}"},
            "messages": [{"$ref": f"#/channels/{subject}/messages/{kind.name}"}],
            "title": f"{kind.source} publishes {kind.name}",
        }
        if summary:
            operation["summary"] = summary
        operations[f"{kind.source}.publish.{kind.name}"] = operation
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "HandInHand events",
            "version": "1",
            "description": (
                f"Every event the {', '.join(catalog.sources())} services publish on NATS "
                "JetStream, as CloudEvents 1.0 in binary mode: attributes in headers, the event "
                "as JSON body. Generated from the event catalog; see docs/events.md."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            SERVER: {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "The embedded nats-server of `./dev up` (nats://127.0.0.1:4222).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def render_asyncapi(catalog: Catalog) -> str:
    """The document as sorted, indented JSON with a final newline: the bytes of the file."""
    return json.dumps(build_asyncapi(catalog), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _payload_schemas(kinds: list[EventType]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each event type's payload `$ref`, and every schema component they use."""
    refs, components = msgspec.json.schema_components(
        [kind.cls for kind in kinds], ref_template=_SCHEMAS + "{name}"
    )
    renamed = {name: _short_name(name) for name in components}
    if len(set(renamed.values())) != len(renamed):
        raise ValueError("two schema components would share a name")
    payloads = {
        kind.name: _renamed_refs(ref, renamed) for kind, ref in zip(kinds, refs, strict=True)
    }
    schemas = {renamed[name]: _renamed_refs(schema, renamed) for name, schema in components.items()}
    return payloads, schemas


def _short_name(name: str) -> str:
    return name.removeprefix(_CATALOG_MODULES)


def _renamed_refs(node: Any, renamed: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                _SCHEMAS + renamed[value.removeprefix(_SCHEMAS)]
                if key == "$ref" and isinstance(value, str) and value.startswith(_SCHEMAS)
                else _renamed_refs(value, renamed)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_renamed_refs(item, renamed) for item in node]
    return node


def _message(
    kind: EventType, payload: dict[str, Any], summary: str, description: str
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": kind.name,
        "title": kind.cls.__name__,
        "contentType": CONTENT_TYPE,
        "payload": payload,
        "headers": {
            "allOf": [
                {"$ref": _SCHEMAS + HEADERS_SCHEMA},
                {
                    "type": "object",
                    "properties": {
                        "ce-type": {"const": kind.name},
                        "ce-source": {"const": f"/handinhand/{kind.source}"},
                    },
                },
            ]
        },
        "x-schema-version": kind.version,
        "x-stream": stream_name(kind.source),
    }
    if summary:
        message["summary"] = summary
    if description:
        message["description"] = description
    return message


def _docstring(cls: type) -> tuple[str, str]:
    """The first paragraph of a class docstring as summary, the rest as description."""
    first, _, rest = inspect.cleandoc(cls.__doc__ or "").partition("\n\n")
    return " ".join(first.split()), rest.strip()


def _headers_schema() -> dict[str, Any]:
    uuid = {"type": "string", "format": "uuid"}
    return {
        "title": HEADERS_SCHEMA,
        "description": (
            "CloudEvents 1.0 attributes as NATS headers (binary content mode); every value "
            "is a string. Extensions are lowercase letters and digits, per CloudEvents naming. "
            "The data is always JSON (the message's contentType), so ce-datacontenttype is "
            "not sent; optional attributes are sent only when they say something."
        ),
        "type": "object",
        "properties": {
            "ce-specversion": {"const": SPEC_VERSION, "description": "CloudEvents version."},
            "ce-id": {**uuid, "description": "The event id, unique for all time."},
            "ce-source": {
                "type": "string",
                "pattern": "^/handinhand/[a-z_]+$",
                "description": "The publishing service, `/handinhand/<service>`.",
            },
            "ce-type": {"type": "string", "description": "The event's wire name."},
            "ce-time": {
                "type": "string",
                "format": "date-time",
                "description": "When the event was recorded in its service's store (RFC 3339).",
            },
            "ce-subject": {
                "type": "string",
                "description": (
                    "The aggregate stream id (`session-<uuid>`, `volunteer-<uuid>`, "
                    "`sms-<uuid>`...); never personal data."
                ),
            },
            CORRELATION: {
                **uuid,
                "description": "The request or flow this event belongs to; defaults to ce-id.",
            },
            CAUSATION: {**uuid, "description": "The event that led to this one, if any."},
            STREAM_VERSION: {
                "type": "string",
                "pattern": _WHOLE_NUMBER,
                "description": "The event's position in its stream (1, 2, ...); orders delivery.",
            },
            PRIOR_VERSIONS: {
                "type": "string",
                "pattern": "^[a-z0-9_.]+=[1-9][0-9]*(,[a-z0-9_.]+=[1-9][0-9]*)*$",
                "description": (
                    "For each event type earlier in the same stream, the version of its latest "
                    "event there (`session.scheduled=1,resident.booked=7`); absent on a "
                    "stream's first event. A consumer that takes only some types (a filtered "
                    "subscription) handles an event once it has handled the latest earlier one "
                    "of those types; without the header, once it has handled version - 1."
                ),
            },
            SCHEMA_VERSION: {
                "type": "string",
                "pattern": _WHOLE_NUMBER,
                "description": (
                    "The body's schema version; absent means 1. A body older than the "
                    "message's x-schema-version is upcast by the reader."
                ),
            },
            "Nats-Msg-Id": {
                **uuid,
                "description": "Equals ce-id: JetStream drops a re-publish within its window.",
            },
        },
        # ce-streamversion is required: consumers order each stream by it and park a
        # message without it (shared.bus.cloudevents.decode_message).
        "required": [
            "ce-specversion",
            "ce-id",
            "ce-source",
            "ce-type",
            "ce-time",
            "ce-subject",
            STREAM_VERSION,
            "Nats-Msg-Id",
        ],
    }
