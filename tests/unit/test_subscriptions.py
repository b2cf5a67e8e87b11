"""Each subscription is delivered exactly the events its handlers act on: the `FROM_<SOURCE>`
tuple (JetStream's filter) names the same event classes as the `case` patterns of the
service's consumers module (and of the pure translation it hands them to,
`domain/from_<source>.py`, where a service has one). A class missing from the tuple would
never reach its handler; one too many would cost a delivery for nothing."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect

import pytest

from shared.bus.consumer import EventHandler, Subscription
from shared.events import build_catalog
from shared.events.base import Event, RecordedEvent
from shared.store.eventstore import Transaction

SERVICES = ("scheduler", "volunteers", "notifications", "console")


def matched_classes(tree: ast.AST) -> set[str]:
    """The class names in every `case SomeClass(...)` pattern, alternatives included."""
    return {
        node.cls.id
        for node in ast.walk(tree)
        if isinstance(node, ast.MatchClass) and isinstance(node.cls, ast.Name)
    }


def handling_sources(service: str, source: str) -> list[str]:
    """The code that matches `source`'s events: the consumers module, and its translation."""
    modules = [f"services.{service}.consumers"]
    translation = f"services.{service}.domain.from_{source}"
    if importlib.util.find_spec(translation) is not None:
        modules.append(translation)
    return [inspect.getsource(importlib.import_module(name)) for name in modules]


def declared() -> list[tuple[str, str, tuple[type[Event], ...]]]:
    found = []
    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.consumers")
        for name, value in vars(module).items():
            if name.startswith("FROM_"):
                found.append((service, name.removeprefix("FROM_").lower(), value))
    return found


def test_every_service_declares_what_it_takes_from_each_source_it_hears() -> None:
    assert {(service, source) for service, source, _ in declared()} == {
        ("scheduler", "volunteers"),
        ("scheduler", "notifications"),
        ("volunteers", "scheduler"),
        ("volunteers", "notifications"),
        ("notifications", "scheduler"),
        ("notifications", "volunteers"),
    }


@pytest.mark.parametrize(("service", "source", "events"), declared())
def test_a_subscription_takes_exactly_the_events_its_handlers_match(
    service: str, source: str, events: tuple[type[Event], ...]
) -> None:
    from_source = {kind.cls.__name__ for kind in build_catalog() if kind.source == source}
    matched = set().union(
        *(matched_classes(ast.parse(code)) for code in handling_sources(service, source))
    )
    matched &= from_source

    assert {kind.__name__ for kind in events} == matched
    assert len(set(events)) == len(events)


async def _each(tx: Transaction, recorded: RecordedEvent) -> None:
    return None


def _per_transaction(tx: Transaction) -> EventHandler:
    async def handle(recorded: RecordedEvent) -> None:
        return None

    return handle


def test_a_subscription_handles_each_event_or_makes_a_handler_per_transaction_not_both() -> None:
    with pytest.raises(ValueError, match="one of handle and handle_in"):
        Subscription("x-from-y", "y")
    with pytest.raises(ValueError, match="one of handle and handle_in"):
        Subscription("x-from-y", "y", _each, handle_in=_per_transaction)
