"""A commune's world for the browser tests, set up and read back through the services' public
APIs (never through the page under test): its sessions, residents booked into them, and its
volunteer group."""

from __future__ import annotations

from datetime import date
from typing import Any

from bench.system import System
from shared.web.auth import Role
from tests.browser.console import THIEU_TRUNG

COORDINATOR = (Role.COORDINATOR, (THIEU_TRUNG,))


def coordinator(system: System) -> dict[str, str]:
    """A coordinator's token over Thiệu Trung, for the services' APIs."""
    role, scope = COORDINATOR
    return system.token(role, scope=scope)


async def sessions_at(system: System, venue: str, first: date, last: date) -> list[Any]:
    """The Thiệu Trung sessions at `venue` between two days, as the scheduler lists them."""
    found = await system.call(
        "GET",
        "scheduler",
        "/sessions",
        auth=coordinator(system),
        params={"commune": THIEU_TRUNG, "from": first.isoformat(), "to": last.isoformat()},
    )
    assert found.status_code == 200, found.text
    return [s for s in found.json() if s["venue"]["name"] == venue]


async def schedule(
    system: System, venue: str, day: date, hours: tuple[str, str], topic: str = "vneid_activation"
) -> str:
    """A session of Thiệu Trung on `day` for ten residents and two volunteers, scheduled
    through the scheduler's API; its id."""
    start, end = hours
    made = await system.call(
        "POST",
        "scheduler",
        "/sessions",
        auth=coordinator(system),
        json={
            "commune_code": THIEU_TRUNG,
            "venue": {"name": venue, "address": f"{venue}, xã Thiệu Trung"},
            "local_date": day.isoformat(),
            "start_local": f"{start}:00",
            "end_local": f"{end}:00",
            "topics": [topic],
            "capacity": 10,
            "volunteers_needed": 2,
        },
    )
    assert made.status_code == 201, made.text
    session_id: str = made.json()["session_id"]
    return session_id


async def session(system: System, session_id: str) -> Any:
    """The session as the scheduler has it now."""
    found = await system.call(
        "GET", "scheduler", f"/sessions/{session_id}", auth=coordinator(system)
    )
    assert found.status_code == 200, found.text
    return found.json()


async def book_resident(
    system: System, name: str, phone: str, topic: str = "vneid_activation"
) -> str:
    """A resident asks the scheduler for help in Thiệu Trung and is booked; the booking's
    id."""
    asked = await system.call(
        "POST",
        "scheduler",
        "/help-requests",
        auth=coordinator(system),
        json={
            "resident_name": name,
            "phone": phone,
            "commune_code": THIEU_TRUNG,
            "topics": [topic],
            "birth_year": 1950,
            "consent_given": True,
        },
    )
    assert asked.status_code in (200, 201), asked.text
    assert asked.json()["status"] == "booked", asked.text
    booking: str = asked.json()["booking_id"]
    return booking


async def add_group(system: System, name: str) -> str:
    """A volunteer group of Thiệu Trung; its id."""
    made = await system.call(
        "POST",
        "volunteers",
        "/groups",
        auth=coordinator(system),
        json={"name": name, "commune_code": THIEU_TRUNG},
    )
    assert made.status_code == 201, made.text
    group_id: str = made.json()["group_id"]
    return group_id


async def add_volunteer(system: System, group_id: str, name: str, phone: str) -> str:
    """A member who helps with VNeID on Saturday mornings; their volunteer id."""
    made = await system.call(
        "POST",
        "volunteers",
        "/volunteers",
        auth=coordinator(system),
        json={
            "group_id": group_id,
            "consent_given": True,
            "name": name,
            "phone": phone,
            "skills": ["vneid_activation"],
            "availability": {"saturday": ["morning"]},
        },
    )
    assert made.status_code == 201, made.text
    volunteer_id: str = made.json()["volunteer_id"]
    return volunteer_id


async def slot_assignments(system: System, session_id: str) -> list[Any]:
    """The volunteers asked for a session (the volunteers service's slot of the same id)."""
    found = await system.call("GET", "volunteers", f"/slots/{session_id}", auth=system.token())
    if found.status_code == 404:  # the slot is opened when the session's event arrives
        return []
    assert found.status_code == 200, found.text
    assignments: list[Any] = found.json()["assignments"]
    return assignments


async def members(system: System) -> list[Any]:
    """Thiệu Trung's volunteers, as the volunteers service lists them."""
    found = await system.call(
        "GET", "volunteers", f"/communes/{THIEU_TRUNG}/volunteers", auth=coordinator(system)
    )
    assert found.status_code == 200, found.text
    listed: list[Any] = found.json()
    return listed
