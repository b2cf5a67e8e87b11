"""Local times of day on the wire: one way to read them, one way to document them.

People write a session's hours as `08:00`; msgspec's `time` takes only `08:00:00`, and Litestar
documents a `time` as an ISO duration. Request fields typed `TimeOfDay` accept both spellings,
and every time of day in a document (requests and responses) is described as what it is.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any

from litestar.openapi.spec import OpenAPIType, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

# HH:MM, or HH:MM:SS with an optional fraction (what a `time` is written as in our answers).
PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
_FORM = re.compile(PATTERN)


class TimeOfDay(time):
    """A local time of day a person typed (`08:00` or `08:00:00`), Asia/Ho_Chi_Minh."""

    @classmethod
    def parse(cls, text: str) -> TimeOfDay:
        if not _FORM.match(text):
            raise ValueError(f"{text!r} is not a time of day: write HH:MM or HH:MM:SS")
        parsed = time.fromisoformat(text)
        return cls(parsed.hour, parsed.minute, parsed.second, parsed.microsecond)

    def plain(self) -> time:
        """The same time as a `time`, which events and read models store."""
        return time(self.hour, self.minute, self.second, self.microsecond)


def decode_time_of_day(_kind: type[Any], value: Any) -> TimeOfDay:
    """Litestar's decoder for `TimeOfDay` fields (shared.web.app registers it)."""
    if not isinstance(value, str):
        raise TypeError("a time of day is a string such as 08:00")
    return TimeOfDay.parse(value)


def is_time_of_day(kind: Any) -> bool:
    return kind is TimeOfDay


class TimeOfDaySchema(OpenAPISchemaPlugin):
    """Documents every `time` field as a local time of day, not the duration Litestar says."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return field_definition.is_subclass_of(time)

    def to_openapi_schema(
        self,
        field_definition: FieldDefinition,  # noqa: ARG002 (Litestar passes both by name)
        schema_creator: Any,  # noqa: ARG002
    ) -> Schema:
        return Schema(
            type=OpenAPIType.STRING,
            pattern=PATTERN,
            description="local time of day (Asia/Ho_Chi_Minh), HH:MM or HH:MM:SS",
            examples=["08:00", "11:30:00"],
        )
