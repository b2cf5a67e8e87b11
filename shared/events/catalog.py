"""The registry of event types: wire name -> Struct, schema versions and upcasters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from shared.events.base import Event

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventError(LookupError):
    """A stored or received event names a type this catalog does not know."""


class EventDecodeError(ValueError):
    """An event body does not match its declared type."""


@dataclass(frozen=True)
class EventType:
    source: str
    cls: type[Event]
    decoder: msgspec.json.Decoder[Any]

    @property
    def name(self) -> str:
        return self.cls.event_type

    @property
    def version(self) -> int:
        return self.cls.schema_version


class Catalog:
    """Every event the services exchange, grouped by the service that publishes it."""

    def __init__(
        self,
        events: Mapping[str, Iterable[type[Event]]],
        upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
    ) -> None:
        self._types: dict[str, EventType] = {}
        for source, classes in events.items():
            for cls in classes:
                if cls.event_type in self._types:
                    raise ValueError(f"event type {cls.event_type!r} registered twice")
                self._types[cls.event_type] = EventType(source, cls, msgspec.json.Decoder(cls))
        self._upcasters = dict(upcasters or {})
        for name, version in self._upcasters:
            if name not in self._types or version >= self._types[name].version:
                raise ValueError(f"upcaster for {name} v{version} has no newer version to reach")

    def __iter__(self) -> Any:
        return iter(self._types.values())

    def sources(self) -> list[str]:
        return sorted({t.source for t in self._types.values()})

    def of(self, name: str) -> EventType:
        try:
            return self._types[name]
        except KeyError:
            raise UnknownEventError(f"unknown event type {name!r}") from None

    def decode(self, name: str, version: int, data: bytes) -> Event:
        """Decode a stored or received body, upcasting an old schema version to the current one."""
        kind = self.of(name)
        try:
            if version == kind.version:
                return kind.decoder.decode(data)  # type: ignore[no-any-return]
            if version > kind.version:
                raise EventDecodeError(
                    f"{name} v{version} is newer than this code (v{kind.version})"
                )
            raw: dict[str, Any] = msgspec.json.decode(data)
            for step in range(version, kind.version):
                upcast = self._upcasters.get((name, step))
                if upcast is None:
                    raise EventDecodeError(f"no upcaster for {name} v{step}")
                raw = upcast(raw)
            return msgspec.convert(raw, kind.cls)
        except msgspec.ValidationError as error:
            raise EventDecodeError(f"{name} v{version}: {error}") from error
        except msgspec.DecodeError as error:
            raise EventDecodeError(f"{name} v{version}: body is not JSON ({error})") from error


_ENCODER = msgspec.json.Encoder()


def encode(event: Event) -> bytes:
    return _ENCODER.encode(event)
