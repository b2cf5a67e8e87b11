"""A person's own copy is every service's section in one order; one that did not answer is
named, never dropped; the event says who asked for whom, by id only."""

from __future__ import annotations

from datetime import UTC, datetime

from services.console.domain.copies import (
    CopyOwner,
    assemble,
    copy_given,
    reminder_targets,
)
from shared.events.console import AccountId, AccountRole, CopyPerson

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
OWNER = CopyOwner(person=CopyPerson.RESIDENT, person_id="request-1", phone="+84912345678")


def _section(service: str, **data: object) -> dict[str, object]:
    return {"service": service, "made_at": NOW.isoformat(), "status": "held", "data": data}


def test_a_service_that_did_not_answer_is_named_and_keeps_its_place() -> None:
    sections = {
        "notifications": _section("notifications"),
        "scheduler": _section("scheduler"),
        "volunteers": None,
    }

    made = assemble("copy-1", OWNER, sections, NOW)

    assert [s["service"] for s in made.sections] == ["scheduler", "volunteers", "notifications"]
    assert made.sections[1] == {"service": "volunteers", "status": "not_answered"}
    assert made.incomplete == ["volunteers"]
    given = copy_given(made, asked_by=AccountId("account-1"), asked_role=AccountRole.COORDINATOR)
    assert (given.answered, given.missing) == (("scheduler", "notifications"), ("volunteers",))
    assert (given.person_id, given.given_at) == ("request-1", NOW)


def test_the_reminders_asked_for_are_the_bookings_and_assignments_found() -> None:
    sections = {
        "scheduler": _section(
            "scheduler",
            help_requests=[{"bookings": [{"booking_id": "b-1"}, {"booking_id": "b-2"}]}],
        ),
        "volunteers": _section(
            "volunteers", volunteers=[{"assignments": [{"assignment_id": "a-1"}]}]
        ),
        "notifications": None,
    }

    assert reminder_targets(sections) == ["b-1", "b-2", "a-1"]
    assert reminder_targets({"scheduler": None, "volunteers": None}) == []
