"""docs/adding-an-event.md runs: its code blocks, in order, against the real store and the real
notifications API (docs are code: an example in docs/ runs in a test, or it is not there)."""

from __future__ import annotations

import ast
import inspect
import re
import sys
import types
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.notifications.consumers import tell_resident
from services.scheduler.domain.requests import decide_request_help
from shared.clock import FixedClock
from shared.events import scheduler
from shared.events.base import Cause
from shared.events.catalog import Catalog
from shared.ids import uuid7
from shared.settings import Database
from shared.store.database import create_engine
from shared.store.eventstore import EventStore
from tests.support.probe import PROBE_METADATA, PROBE_TABLES
from tests.unit.scheduler.builders import NOW, request_command

DOC = Path(__file__).parents[2] / "docs" / "adding-an-event.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
# What the blocks' own files import; the page shows only what is new in each.
PRELUDE = """
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, NewType

import msgspec
import pytest

from services.notifications.consumers import Handling, tell_resident
from services.scheduler.domain.requests import HelpRequestState
from services.scheduler.domain.errors import DomainError
from services.scheduler.handlers.placing import fold_request
from shared.clock import VIETNAM
from shared.events.base import Cause, Event, RecordedEvent
from shared.events.scheduler import CommuneCode, HelpRequestId, ResidentContact
from shared.store.eventstore import EventStore, Stream
from tests.unit.scheduler.builders import NOW, requested
"""


def blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text())


@pytest.fixture
def example() -> Iterator[Any]:
    """The page's code as one module (msgspec resolves the Structs' names through it)."""
    module = types.ModuleType("adding_an_event_example")
    sys.modules[module.__name__] = module
    try:
        code = compile(PRELUDE + "\n".join(blocks()), "<the page's python blocks>", "exec")
        exec(code, module.__dict__)
        yield module
    finally:
        del sys.modules[module.__name__]


def test_the_page_has_the_blocks_this_test_runs() -> None:
    assert len(blocks()) == 6  # events, aggregate, error, handlers, tests, notifications


def test_its_domain_tests_pass(example: Any) -> None:
    example.test_a_device_is_lent_to_the_resident_of_a_help_request()
    example.test_refuses_a_loan_due_back_today()


async def test_its_handlers_lend_once_and_return_once_on_the_loans_own_stream(
    example: Any, database: Database
) -> None:
    engine = create_engine(database.url, database.schema)
    async with engine.begin() as conn:
        await conn.run_sync(PROBE_METADATA.create_all)
    catalog = Catalog(
        {"scheduler": (*scheduler.EVENTS, example.DeviceLent, example.DeviceReturned)}
    )
    store = EventStore(engine, PROBE_TABLES, catalog, "scheduler", FixedClock(NOW))
    cause = Cause(correlation_id=uuid7())
    request_id = scheduler.HelpRequestId("request-1")
    loan = example.LOAN
    lend = example.LendDevice(loan_id=loan, device="Android phone 3", due_on=date(2026, 3, 14))
    try:
        await store.append(request_id, 0, decide_request_help(request_command(), now=NOW), cause)

        await example.lend_device(store, request_id, lend, cause)
        with pytest.raises(example.LoanError):
            await example.lend_device(store, request_id, lend, cause)
        await example.return_device(store, loan, cause)
        with pytest.raises(example.LoanError):
            await example.return_device(store, loan, cause)
        stream = await store.load(loan)
        doubled = await store.load(f"loan-{loan}")
    finally:
        await store.close()

    lent, returned = (recorded.event for recorded in stream.events)
    assert isinstance(lent, example.DeviceLent)
    assert lent.resident.phone == "+84912345678"
    assert isinstance(returned, example.DeviceReturned)
    assert doubled.events == []


def test_its_sms_goes_through_the_path_that_dedupes_picks_the_language_and_honours_opt_out(
    example: Any,
) -> None:
    tree = ast.parse(blocks()[-1])
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "tell_resident"
    ]

    (call,) = calls
    assert isinstance(call.args[0], ast.Name)
    assert call.args[0].id == "handling"
    signature = inspect.signature(tell_resident)
    signature.bind(*call.args, **{k.arg: k.value for k in call.keywords if k.arg})
    assert example.DeviceLent in example.FROM_SCHEDULER
    assert "QueueSms" not in DOC.read_text()  # never queued by hand
