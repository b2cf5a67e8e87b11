"""Features that cross a service boundary, each proven across real processes (NATS, every
service its own process, a Twilio-compatible SMS provider) and driven only through HTTP and
signed SMS webhooks: what one service emits, the next one understands.

One system serves the whole module (starting it costs more than any test here); each test
keeps to a commune, topics and phone numbers of its own, so none sees another's SMS.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bench.system import System
from shared.clock import VIETNAM, SystemClock
from shared.settings import Database
from shared.store.schema import create_schema, drop_schema
from shared.web.auth import Role
from tests.conftest import DATABASE_KINDS, POSTGRES_URL
from tests.e2e.conftest import drop_service_schemas
from tests.support.services import SECRET, token
from tests.support.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

COORDINATOR = token(Role.COORDINATOR, scope=("38",))  # every commune of Thanh Hóa
PROPOSAL = re.compile(r"Trả lời C (\d{4})")
VENUE = {"name": "Nhà văn hóa thôn 1", "address": "Thôn 1"}


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=DATABASE_KINDS)
async def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    root: Path = tmp_path_factory.mktemp("seams")
    if request.param == "sqlite":
        database = Database(url=f"sqlite:///{root / 'unused.db'}", schema="main")
    else:
        assert POSTGRES_URL is not None
        # A schema of this run's own: other runs may share the server.
        database = Database(url=POSTGRES_URL, schema=f"t_{uuid.uuid4().hex[:12]}")
        await create_schema(database.url, database.schema)
    running = System(root, database, secret=SECRET)
    await running.start_all()
    yield running
    await running.stop()
    await drop_service_schemas(database)
    if database.is_postgres:
        await drop_schema(database.url, database.schema)


def saturday_in_a_week() -> date:
    today = SystemClock().now().astimezone(VIETNAM).date()
    return today + timedelta(days=(5 - today.weekday()) % 7 + 7)  # no reminder is due yet


def texts(system: System, phone: str) -> list[str]:
    return [sms.body for sms in system.sent(phone)]


async def texted(system: System, phone: str, count: int = 1) -> list[str]:
    """The SMS a phone got, once it has got `count` of them."""

    async def sent() -> list[str]:
        return texts(system, phone)

    return await eventually(sent, lambda found: len(found) >= count, timeout=60)


async def ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def group(system: System, commune: str) -> str:
    created = await ok(
        await system.call(
            "POST",
            "volunteers",
            "/groups",
            auth=COORDINATOR,
            json={"name": f"Tổ công nghệ số {commune}", "commune_code": commune},
        )
    )
    return str(created["group_id"])


async def volunteer(system: System, group_id: str, phone: str, **fields: Any) -> str:
    body = {
        "group_id": group_id,
        "consent_given": True,
        "name": fields.pop("name", "Lê Văn An"),
        "phone": phone,
        "skills": ["vneid_activation"],
        "availability": {"saturday": ["morning", "afternoon"]},
        **fields,
    }
    created = await ok(
        await system.call("POST", "volunteers", "/volunteers", auth=COORDINATOR, json=body)
    )
    return str(created["volunteer_id"])


async def session(system: System, commune: str, day: date, **fields: Any) -> dict[str, Any]:
    body = {
        "commune_code": commune,
        "venue": VENUE,
        "local_date": day.isoformat(),
        "start_local": "08:00:00",
        "end_local": "11:00:00",
        "topics": ["vneid_activation"],
        "capacity": 10,
        "volunteers_needed": 1,
        **fields,
    }
    return await ok(
        await system.call("POST", "scheduler", "/sessions", auth=COORDINATOR, json=body)
    )


async def test_a_volunteer_is_asked_for_the_sessions_topic_not_their_own_first_skill(
    system: System,
) -> None:
    """Issue 13, 1: proposal, acceptance, decline and release name what the session is about."""
    commune, day = "16522", saturday_in_a_week()  # Phường Quảng Phú
    team = await group(system, commune)
    # Sorted, their own first skills would read "thanh toán..." and "dịch vụ công...".
    both, basics = "+84912130001", "+84912130002"
    await volunteer(
        system, team, both, skills=["cashless_payment", "vneid_activation", "smartphone_basics"]
    )
    await volunteer(system, team, basics, skills=["online_public_services", "smartphone_basics"])
    created = await session(
        system,
        commune,
        day,
        topics=["vneid_activation", "smartphone_basics"],
        volunteers_needed=2,
    )

    await texted(system, both)
    await texted(system, basics)
    assert (await system.text(both, "C")).status_code == 200
    assert (await system.text(basics, "K")).status_code == 200
    await texted(system, both, 2)
    await texted(system, basics, 2)
    cancelled = await system.call(
        "POST",
        "scheduler",
        f"/sessions/{created['session_id']}/cancel",
        auth=COORDINATOR,
        json={"reason": "Mất điện"},
    )
    assert cancelled.status_code == 200, cancelled.text
    told = await texted(system, both, 3)

    assert PROPOSAL.search(told[0])
    assert "Cảm ơn bạn đã nhận" in told[1]
    assert "không còn được phân công" in told[2]
    assert all("kích hoạt VNeID" in text for text in told)  # the topic they guide
    declined = texts(system, basics)
    assert "không tham gia" in declined[1]
    assert all("sử dụng điện thoại" in text for text in declined)
    for text in [*told, *declined]:
        assert "thanh toán" not in text
        assert "dịch vụ công" not in text


async def test_minority_languages_are_asked_for_and_found_by_their_iso_codes(
    system: System,
) -> None:
    """Issue 13, 2: a session offering H'Mông and Thái is staffed by their speakers."""
    commune, day = "16417", saturday_in_a_week()  # Phường Đông Quang
    team = await group(system, commune)
    hmong, thai, vietnamese = "+84912230001", "+84912230002", "+84912230003"
    await volunteer(system, team, vietnamese, name="Nguyễn Văn Cường")
    await volunteer(system, team, hmong, name="Giàng A Páo", languages=["vi", "hmn"])
    await volunteer(system, team, thai, name="Lò Thị Ba", languages=["vi", "blt"])

    created = await session(
        system, commune, day, languages=["vi", "hmn", "blt"], volunteers_needed=2
    )

    assert created["languages"] == ["vi", "hmn", "blt"]
    assert PROPOSAL.search((await texted(system, hmong))[0])
    assert PROPOSAL.search((await texted(system, thai))[0])
    slot = await ok(
        await system.call("GET", "volunteers", f"/slots/{created['session_id']}", auth=COORDINATOR),
        200,
    )
    assert sorted(slot["slot"]["required_languages"]) == ["blt", "hmn"]
    await system.settled()
    assert texts(system, vietnamese) == []


async def same_local_day_for(span: timedelta) -> datetime:
    """Now, in Vietnam, at least `span` before local midnight: attendance is recorded on the
    session's own day, so a session starting in a few minutes must start today. In the last
    minutes of a day this waits for the next one."""

    async def local_now() -> datetime:
        return SystemClock().now().astimezone(VIETNAM)

    return await eventually(
        local_now,
        lambda now: (now + span).date() == now.date(),
        timeout=span.total_seconds() + 60,
        every=1.0,
    )


async def test_a_volunteer_who_records_attendance_is_credited_the_hours(system: System) -> None:
    """Issue 13, 3: the scheduler names the volunteer, not the token's subject."""
    commune = "16378"  # Phường Đông Sơn
    now = await same_local_day_for(timedelta(minutes=5))
    starts = (now + timedelta(minutes=3)).replace(second=0, microsecond=0)
    ends = min(starts + timedelta(hours=1), starts.replace(hour=23, minute=59))
    today = starts.date()
    team = await group(system, commune)
    phone = "+84912330001"
    volunteer_id = await volunteer(system, team, phone, availability={})
    # Free today whatever the day: a dated offer (weekday availability has a test of its own).
    availability = await system.call(
        "PUT",
        "volunteers",
        f"/volunteers/{volunteer_id}/availability",
        auth=COORDINATOR,
        json={"availability": {}, "exceptions": [{"on": today.isoformat(), "available": True}]},
    )
    assert availability.status_code == 200, availability.text
    created = await session(
        system,
        commune,
        today,
        start_local=f"{starts:%H:%M}:00",
        end_local=f"{ends:%H:%M}:00",
        makeup_day=today.weekday() < 5,
    )
    await texted(system, phone)
    assert (await system.text(phone, "C")).status_code == 200
    await texted(system, phone, 2)

    async def staffed_by() -> list[str]:
        found = await system.call(
            "GET", "scheduler", f"/sessions/{created['session_id']}", auth=COORDINATOR
        )
        ids: list[str] = found.json()["volunteer_ids"]
        return ids

    # the acceptance reached the volunteers service (and the scheduler) before the session
    # is held, as it does hours before in life: attendance credits an accepted assignment
    await eventually(staffed_by, lambda ids: volunteer_id in ids, timeout=60)
    resident = await ok(
        await system.call(
            "POST",
            "scheduler",
            "/help-requests",
            auth={},
            json={
                "resident_name": "Bà Lê Thị Hoa",
                "phone": "0987330001",
                "commune_code": commune,
                "topics": ["vneid_activation"],
                "consent_given": True,
                "sensitive_consent_given": True,
            },
        )
    )
    assert resident["session_id"] == created["session_id"], resident

    recorded = await system.call(
        "POST",
        "scheduler",
        f"/sessions/{created['session_id']}/attendance",
        auth=token(Role.VOLUNTEER, scope=(commune,), volunteer_id=volunteer_id),
        json={"booking_id": resident["booking_id"], "status": "checked_in"},
    )
    assert recorded.status_code == 200, recorded.text

    async def hours() -> dict[str, Any]:
        return await ok(
            await system.call(
                "GET",
                "volunteers",
                f"/volunteers/{volunteer_id}/hours?from={today}&to={today}",
                auth=COORDINATOR,
            ),
            200,
        )

    credited = await eventually(hours, lambda found: found["assignments"] == 1, timeout=60)
    assert credited["total_minutes"] == (ends - starts).seconds // 60


async def test_weekday_availability_staffs_home_visits_and_make_up_sessions(
    system: System,
) -> None:
    """Issue 13, 4: a visit on a weekday evening and a Monday make-up session find the
    volunteers free then, and nobody who gives only weekends."""
    commune, saturday = "15853", saturday_in_a_week()  # Phường Đông Tiến
    monday, wednesday = saturday + timedelta(days=2), saturday + timedelta(days=4)
    team = await group(system, commune)
    evenings, mondays, weekends = "+84912430001", "+84912430002", "+84912430003"
    await volunteer(system, team, weekends, name="Cuối tuần")
    await volunteer(
        system, team, evenings, name="Buổi tối", availability={"wednesday": ["evening"]}
    )
    await volunteer(system, team, mondays, name="Thứ Hai", availability={"monday": ["morning"]})
    request = await ok(
        await system.call(
            "POST",
            "scheduler",
            "/help-requests",
            auth={},
            json={
                "resident_name": "Ông Trần Văn Bảy",
                "phone": "0987430001",
                "commune_code": commune,
                "address": "Số 5, thôn 2",
                "topics": ["vneid_activation"],
                "home_visit": True,
                "consent_given": True,
                "sensitive_consent_given": True,
            },
        )
    )
    visit = await system.call(
        "POST",
        "scheduler",
        f"/home-visits/{request['visit_id']}/schedule",
        auth=COORDINATOR,
        json={
            "local_date": wednesday.isoformat(),
            "start_local": "18:30:00",
            "end_local": "20:00:00",
        },
    )
    assert visit.status_code == 200, visit.text
    await session(system, commune, monday, makeup_day=True)

    (asked_evening,) = await texted(system, evenings)
    (asked_monday,) = await texted(system, mondays)

    assert f"{wednesday:%d/%m}, 18:30" in asked_evening
    assert f"{monday:%d/%m}, 08:00" in asked_monday
    await system.settled()
    assert texts(system, weekends) == []


async def test_volunteers_kept_through_a_reschedule_are_told_and_follow_it(
    system: System,
) -> None:
    """Issue 13, 5: the new time and venue reach those who accepted and those still asked; an
    answer afterwards, and the release when it is cancelled, name the new time."""
    commune, day = "15925", saturday_in_a_week()  # Phường Nguyệt Viên
    team = await group(system, commune)
    accepted, asked = "+84912530001", "+84912530002"
    await volunteer(system, team, accepted)
    await volunteer(system, team, asked)
    created = await session(system, commune, day, volunteers_needed=2)
    await texted(system, accepted)
    await texted(system, asked)
    assert (await system.text(accepted, "C")).status_code == 200
    await texted(system, accepted, 2)

    moved = await system.call(
        "POST",
        "scheduler",
        f"/sessions/{created['session_id']}/reschedule",
        auth=COORDINATOR,
        json={
            "local_date": day.isoformat(),
            "start_local": "08:30:00",
            "end_local": "11:30:00",
            "venue": {"name": "Trường tiểu học Nguyệt Viên", "address": "Thôn 2"},
        },
    )
    assert moved.status_code == 200, moved.text
    new_time = f"{day:%d/%m}, 08:30"
    told_accepted = (await texted(system, accepted, 3))[2]
    told_asked = (await texted(system, asked, 2))[1]
    assert (await system.text(asked, "C")).status_code == 200
    thanked = (await texted(system, asked, 3))[2]
    cancelled = await system.call(
        "POST",
        "scheduler",
        f"/sessions/{created['session_id']}/cancel",
        auth=COORDINATOR,
        json={"reason": "Trường bận"},
    )
    assert cancelled.status_code == 200, cancelled.text
    released = [(await texted(system, phone, 4))[3] for phone in (accepted, asked)]

    for told in (told_accepted, told_asked):
        assert "đã đổi sang" in told
        assert new_time in told
        assert "Trường tiểu học Nguyệt Viên" in told
    assert "Cảm ơn bạn đã nhận" in thanked
    assert new_time in thanked
    for text in released:
        assert "không còn được phân công" in text
        assert new_time in text


async def test_a_request_for_help_by_sms_gets_one_clear_answer(system: System) -> None:
    """Issue 13, 6: booked, waiting (and what next), or refused with its own reason; never a
    receipt promising a call first."""
    commune, day = "16531", saturday_in_a_week()  # Phường Sầm Sơn
    await session(system, commune, day, topics=["online_public_services"])
    booked, waiting, ambiguous, unknown = (
        "+84987630001",
        "+84987630002",
        "+84987630003",
        "+84987630004",
    )
    foreign = "+14155550100"  # a number that cannot be booked

    for phone, text in (
        (booked, "GIUP DVC 16531"),
        (waiting, "GIUP THANH TOAN 14812"),  # no session on cashless payments anywhere
        (ambiguous, "GIUP VNEID QUANG TRUNG"),  # several communes and wards have the name
        (unknown, "GIUP VNEID XA KHONGCO"),
        (foreign, "GIUP DVC 16531"),
    ):
        assert (await system.text(phone, text)).status_code == 200
    for phone in (booked, waiting, ambiguous, unknown, foreign):
        await texted(system, phone)
    await system.settled()

    answers = {
        phone: texts(system, phone) for phone in (booked, waiting, ambiguous, unknown, foreign)
    }
    assert all(len(found) == 1 for found in answers.values()), answers
    assert "Bạn đã được hẹn" in answers[booked][0]
    assert f"{day:%d/%m}, 08:00" in answers[booked][0]
    assert "danh sách chờ" in answers[waiting][0]
    assert "nhắn lịch hẹn" in answers[waiting][0]  # what happens next
    assert "trùng tên" in answers[ambiguous][0]
    assert "không rõ xã/phường" in answers[unknown][0]
    assert "số di động Việt Nam" in answers[foreign][0]
    for found in answers.values():
        assert "sẽ gọi lại" not in found[0]
