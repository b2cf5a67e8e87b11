"""JSON bodies: the document states what msgspec decodes, and the service decodes it strictly.

Two gaps between Litestar 2 and its own documents, closed here for every route:
- Litestar converts a body leniently (`"5"` for 5, `0` for false) although the document says
  `integer` and `boolean`; `strict_json_body` refuses such a body first (400 naming the field).
  As in JSON Schema, `4.0` still counts as the integer 4.
- Litestar's schema of a msgspec Struct loses constraints inside unions and containers (a
  `monthly_limit` of 0 to 31 that may be left out, a list of five-digit codes); `StructSchemas`
  documents each Struct with msgspec's own JSON Schema, the one its decoder enforces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.openapi.spec import Schema
from litestar.params import BodyKwarg
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from shared.web.times import PATTERN as TIME_OF_DAY
from shared.web.times import TimeOfDay, decode_time_of_day


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    """Refuse a JSON body that only a lenient conversion would make fit (`before_request`)."""
    kind = _json_body_type(request.scope["route_handler"])
    if kind is None:
        return
    body = await request.body()  # Litestar keeps it for the handler
    if not body.strip():
        return  # Litestar itself reports the missing body
    try:
        value = _whole_numbers(msgspec.json.decode(body))
    except msgspec.DecodeError:
        return  # Litestar itself reports malformed JSON
    try:
        msgspec.convert(value, kind, strict=True, dec_hook=decode_time_of_day)
    except msgspec.ValidationError as error:
        raise ValidationException(
            extra=[{"key": "data", "source": "body", "message": str(error)}]
        ) from None


def _whole_numbers(value: Any) -> Any:
    """JSON Schema's integers include 4.0; msgspec's strict ints do not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    return value


def _json_body_type(handler: Any) -> Any:
    data: FieldDefinition | None = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    kwarg = data.kwarg_definition
    if isinstance(kwarg, BodyKwarg) and kwarg.media_type != RequestEncodingType.JSON:
        return None
    return data.annotation


@dataclass
class StructSchema(Schema):
    """A schema msgspec wrote; Litestar places it like any other."""

    raw: dict[str, Any] = field(default_factory=dict)

    def to_schema(self) -> dict[str, Any]:
        return self.raw


class StructSchemas(OpenAPISchemaPlugin):
    """Documents every msgspec Struct with msgspec's JSON Schema of it (inline)."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return field_definition.is_subclass_of(msgspec.Struct)

    def to_openapi_schema(
        self,
        field_definition: FieldDefinition,
        schema_creator: Any,  # noqa: ARG002 (Litestar passes both by name)
    ) -> Schema:
        return StructSchema(raw=struct_schema(field_definition.annotation))


@cache
def struct_schema(kind: type[msgspec.Struct]) -> dict[str, Any]:
    """msgspec's JSON Schema of a Struct, with its `$defs` written in place."""
    found = msgspec.json.schema(kind, schema_hook=_custom_type)
    inlined: dict[str, Any] = _inline(found, found.pop("$defs", {}), ())
    return inlined


def _custom_type(kind: type[Any]) -> dict[str, Any]:
    if kind is TimeOfDay:
        return {
            "type": "string",
            "pattern": TIME_OF_DAY,
            "description": "local time of day (Asia/Ho_Chi_Minh), HH:MM or HH:MM:SS",
            "examples": ["08:00", "11:30:00"],
        }
    raise NotImplementedError


def _inline(node: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(ref := node.get("$ref"), str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in seen:
            raise TypeError(f"{name} refers to itself; an inline schema cannot say so")
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return _inline(defs[name], defs, (*seen, name)) | _inline(rest, defs, seen)
    return {key: _inline(value, defs, seen) for key, value in node.items()}
