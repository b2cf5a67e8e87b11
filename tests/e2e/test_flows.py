"""The product end to end, across real processes, driven only through HTTP and SMS webhooks
(the SMS provider is a local Twilio-compatible HTTP server)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import date, timedelta

import httpx
import pytest
from icalendar import Calendar

from bench.system import Sms, System
from shared.clock import VIETNAM, SystemClock
from shared.settings import Settings
from shared.web.auth import Role
from tests.support.search import in_database, in_streams, needles
from tests.support.services import token
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

COMMUNE = "15835"  # Xã Thiệu Trung
COORDINATOR = token(Role.COORDINATOR, scope=(COMMUNE,))
VOLUNTEERS = {
    "An": "+84912340001",
    "Binh": "+84912340002",
    "Chau": "+84912340003",
}
RESIDENT = "+84987650001"
PROPOSAL = re.compile(r"Trả lời C (\d{4})")
CODE = re.compile(r"nhan XOA (\d{6})")
SIX_DIGITS = re.compile(r"\b(\d{6})\b")
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def next_saturday() -> date:
    today = SystemClock().now().astimezone(VIETNAM).date()
    ahead = (5 - today.weekday()) % 7
    return today + timedelta(days=ahead + 7)  # a week out: no reminder or alert is due yet


async def register_volunteers(system: System) -> None:
    group = await system.call(
        "POST",
        "volunteers",
        "/groups",
        auth=COORDINATOR,
        json={"name": "Tổ CNSCĐ Thiệu Trung", "commune_code": COMMUNE},
    )
    assert group.status_code == 201, group.text
    for name, phone in VOLUNTEERS.items():
        created = await system.call(
            "POST",
            "volunteers",
            "/volunteers",
            auth=COORDINATOR,
            json={
                "group_id": group.json()["group_id"],
                "consent_given": True,
                "name": name,
                "phone": phone,
                "skills": ["vneid_activation"],
                "availability": {"saturday": ["morning"]},
            },
        )
        assert created.status_code == 201, created.text


async def schedule_session(system: System, day: date, instance: int = 0) -> str:
    created = await system.call(
        "POST",
        "scheduler",
        "/sessions",
        auth=COORDINATOR,
        instance=instance,
        json={
            "commune_code": COMMUNE,
            "venue": {"name": "Nhà văn hóa thôn 1", "address": "Thôn 1, xã Thiệu Trung"},
            "local_date": day.isoformat(),
            "start_local": "08:00:00",
            "end_local": "11:00:00",
            "topics": ["vneid_activation"],
            "capacity": 10,
            "volunteers_needed": 2,
        },
    )
    assert created.status_code == 201, created.text
    session_id: str = created.json()["session_id"]
    return session_id


async def proposals(system: System, count: int) -> list[Sms]:
    async def found() -> list[Sms]:
        return [sms for sms in system.sent() if PROPOSAL.search(sms.body)]

    return await eventually(found, lambda sent: len(sent) >= count, timeout=60)


async def staffing(system: System, session_id: str) -> str:
    seen = await system.call("GET", "scheduler", f"/sessions/{session_id}", auth=COORDINATOR)
    value: str = seen.json()["staffing"]
    return value


async def run_weekend(system: System, instance: int = 0) -> tuple[str, date]:
    """Flows 1 to 3: staff a Saturday session by SMS, then a resident books by SMS."""
    day = next_saturday()
    await register_volunteers(system)
    session_id = await schedule_session(system, day, instance)

    # 1. two volunteers are proposed and texted; one answers "C"
    first, second = await proposals(system, 2)
    assert (await system.text(first.to, "C")).status_code == 200

    # 3. the other answers "K": the next best volunteer is proposed and texted, and the one
    #    who declined is told their answer was taken
    assert (await system.text(second.to, "K")).status_code == 200
    third = (await proposals(system, 3))[2]
    assert third.to not in {first.to, second.to}
    await eventually(
        lambda: _texts(system, second.to), lambda texts: any("không tham gia" in t for t in texts)
    )
    assert (await system.text(third.to, "C")).status_code == 200

    # ... and the session becomes staffed, as the coordinator sees it
    await eventually(lambda: staffing(system, session_id), lambda s: s == "staffed", timeout=60)

    # 2. a resident texts from a feature phone and is booked, with date, time and place
    assert (await system.text(RESIDENT, "giup vneid Thieu Trung")).status_code == 200
    expected = f"Thứ Bảy {day:%d/%m}, 08:00"
    booked = await eventually(
        lambda: _texts(system, RESIDENT),
        lambda texts: any(expected in t and "Nhà văn hóa thôn 1" in t for t in texts),
        timeout=60,
    )
    assert any("Bạn đã được hẹn" in t for t in booked)
    # ... in one answer that also says what is kept and how to erase it (consent, issue 16)
    assert any("Bạn đã được hẹn" in t and "nhắn XOA để xóa" in t for t in booked)
    return session_id, day


async def _texts(system: System, to: str) -> list[str]:
    return [sms.body for sms in system.sent(to)]


async def cancel_and_count(system: System, session_id: str) -> None:
    """Flow 4: every booked resident and assigned volunteer gets exactly one cancellation."""
    staffed = {sms.to for sms in system.sent() if PROPOSAL.search(sms.body)}
    before = {phone: len(system.sent(phone)) for phone in [*staffed, RESIDENT]}
    cancelled = await system.call(
        "POST",
        "scheduler",
        f"/sessions/{session_id}/cancel",
        auth=COORDINATOR,
        json={"reason": "Mất điện toàn xã"},
    )
    assert cancelled.status_code == 200, cancelled.text
    await system.settled()

    resident_news = system.sent(RESIDENT)[before[RESIDENT] :]
    assert [("đã bị hủy" in sms.body) for sms in resident_news] == [True]
    assert "(lý do: Mất điện toàn xã)" in resident_news[0].body  # the coordinator's words
    accepted = [phone for phone in staffed if phone != _decliner(system)]
    for phone in accepted:
        news = system.sent(phone)[before[phone] :]
        assert len(news) == 1, (phone, news)
        assert "không còn được phân công" in news[0].body
        assert "(lý do: Mất điện toàn xã)" in news[0].body
    assert system.sent(_decliner(system))[before[_decliner(system)] :] == []


def _decliner(system: System) -> str:
    return next(sms.to for sms in system.sent() if "không tham gia" in sms.body)


def assert_no_sms_twice(system: System) -> None:
    bodies = [(sms.to, sms.body) for sms in system.sent()]
    repeated = {b for b in bodies if bodies.count(b) > 1}
    assert not repeated, repeated


async def test_a_weekend_is_staffed_booked_and_cancelled_by_sms(system: System) -> None:
    session_id, _ = await run_weekend(system)
    await cancel_and_count(system, session_id)
    assert_no_sms_twice(system)
    await assert_resident_sealed_by_the_scheduler(system)
    await assert_volunteers_sealed_by_their_service(system)
    await download_the_residents_copy(system)
    await erase_the_resident(system)
    await erase_a_volunteer(system, "Chau")


async def download_the_residents_copy(system: System) -> None:
    """A coordinator signs in to the console and downloads the resident's own copy (issue 16):
    their number, name, booking and SMS both ways, each from the service that holds it."""
    staff = "+84912349001"
    command = [sys.executable, "-m", "services.cli", "account", "add", "--role", "coordinator"]
    command += ["--phone", staff, "--name", "Lê Văn An", "--scope", COMMUNE]
    done = await asyncio.to_thread(
        subprocess.run, command, env=system.env(), capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    queue = await system.call("GET", "scheduler", f"/communes/{COMMUNE}/waiting", auth=COORDINATOR)
    [waiting] = [r for r in queue.json()["waiting"] if r["phone"] == RESIDENT]
    async with httpx.AsyncClient(base_url=system.url("console"), timeout=30) as browser:
        asked = await browser.post(
            "/sign-in", data={"phone": staff, "_csrf_token": _csrf(await browser.get("/sign-in"))}
        )
        [code] = await eventually(
            lambda: _texts(system, staff), lambda texts: len(texts) == 1, timeout=30
        )
        entered = await browser.post(
            "/sign-in/code",
            data={"phone": staff, "code": SIX_DIGITS.findall(code)[0], "_csrf_token": _csrf(asked)},
        )
        assert entered.status_code == 302, entered.text
        answer = await browser.get(f"/help-requests/{waiting['request_id']}/copy")

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith("attachment;")
    copy = answer.json()
    assert (copy["phone"], copy["incomplete"]) == (RESIDENT, [])
    found = {section["service"]: section for section in copy["sections"]}
    [held] = found["scheduler"]["data"]["help_requests"]
    assert (held["phone"], held["resident_name"]) == (RESIDENT, waiting["name"])
    assert [b["status"] for b in held["bookings"]] == ["session_cancelled"]
    sms = found["notifications"]["data"]
    assert any("Bạn đã được hẹn" in m["text"] for m in sms["sms_sent"])
    assert [m["text"] for m in sms["sms_received"]] == ["giup vneid Thieu Trung"]
    assert found["volunteers"]["status"] == "nothing_held"
    # ... and the resident is told, once, that their copy was handed to the coordinator
    await eventually(
        lambda: _texts(system, RESIDENT),
        lambda texts: [("bản sao dữ liệu" in t) for t in texts].count(True) == 1,
        timeout=30,
    )


def _csrf(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def erase_the_resident(system: System) -> None:
    """The coordinator erases the resident (waiting again since the cancellation): the
    notifications service texts them and forgets the number, then the scheduler destroys
    their key, without waiting for its erasure timer."""
    queue = await system.call("GET", "scheduler", f"/communes/{COMMUNE}/waiting", auth=COORDINATOR)
    [waiting] = [r for r in queue.json()["waiting"] if r["phone"] == RESIDENT]
    path = f"/help-requests/{waiting['request_id']}"
    asked = await system.call("POST", "scheduler", f"{path}/erasure", auth=COORDINATOR)
    assert (asked.status_code, asked.json()["status"]) == (202, "erasing"), asked.text
    erased = await eventually(
        lambda: system.call("GET", "scheduler", path, auth=COORDINATOR),
        lambda seen: seen.json()["status"] == "erased",
        timeout=30,
    )
    assert (erased.json()["resident_name"], erased.json()["phone"]) == ("", "")
    assert any("đã được xóa" in text for text in await _texts(system, RESIDENT))
    databases = Settings.from_env(system.env())
    phone = needles(RESIDENT)
    assert await in_database(databases.database("scheduler"), phone) == []
    for service in ("notifications", "volunteers", "console"):
        assert await in_database(databases.database(service), phone) == [], service
    assert await in_streams(system.nats_url, phone) == []


async def erase_a_volunteer(system: System, name: str) -> None:
    """A coordinator erases a volunteer: notifications texts them and forgets the number, then
    the volunteers service destroys their key without waiting for its erasure timer; their
    number is then in no table and no stream, the others' still where they were."""
    listed = await system.call(
        "GET", "volunteers", f"/communes/{COMMUNE}/volunteers", auth=COORDINATOR
    )
    [volunteer] = [v for v in listed.json() if v["phone"] == VOLUNTEERS[name]]
    path = f"/volunteers/{volunteer['volunteer_id']}"
    asked = await system.call("POST", "volunteers", f"{path}/erasure", auth=COORDINATOR)
    assert (asked.status_code, asked.json()["erasure"]) == (202, "erasing"), asked.text
    erased = await eventually(
        lambda: system.call("GET", "volunteers", path, auth=COORDINATOR),
        lambda seen: seen.json()["erasure"] == "erased",
        timeout=30,
    )
    assert (erased.json()["name"], erased.json()["phone"]) == ("", "")
    assert any(
        "danh sách tình nguyện viên" in text for text in await _texts(system, VOLUNTEERS[name])
    )
    settings = Settings.from_env(system.env())
    phone = needles(VOLUNTEERS[name])
    for service in ("scheduler", "volunteers", "notifications", "console"):
        assert await in_database(settings.database(service), phone) == [], service
    assert await in_streams(system.nats_url, phone) == []
    others = needles(*(p for n, p in VOLUNTEERS.items() if n != name))
    assert await in_database(settings.database("volunteers"), others)


async def assert_resident_sealed_by_the_scheduler(system: System) -> None:
    """The resident's phone reached the provider (notifications opened it with the key it
    asked the scheduler for), yet the scheduler's log and stream hold it only sealed; its read
    models keep it in clear until the resident is erased."""
    phone = needles(RESIDENT)
    scheduler = Settings.from_env(system.env()).database("scheduler")
    in_tables = await in_database(scheduler, phone)
    assert in_tables, "the read models know the resident"
    assert not [hit for hit in in_tables if hit.startswith("events.")], in_tables
    in_nats = await in_streams(system.nats_url, phone)
    assert in_nats == [], in_nats  # the notifications' own events seal numbers too


async def assert_volunteers_sealed_by_their_service(system: System) -> None:
    """The proposals reached the volunteers (notifications opened their numbers with keys it
    asked the volunteers service for), yet no service's log and no stream holds a volunteer's
    number in clear; the volunteers' read models do, until the volunteer is erased."""
    phones = needles(*VOLUNTEERS.values())
    settings = Settings.from_env(system.env())
    assert await in_database(settings.database("volunteers"), phones), "the roster knows them"
    for service in ("scheduler", "volunteers", "notifications", "console"):
        hits = await in_database(settings.database(service), phones)
        assert not [hit for hit in hits if hit.startswith("events.")], (service, hits)
    assert await in_streams(system.nats_url, phones) == []


async def test_two_instances_of_each_service_do_nothing_twice(doubled: System) -> None:
    session_id, _ = await run_weekend(doubled, instance=1)
    await cancel_and_count(doubled, session_id)
    assert_no_sms_twice(doubled)


async def test_a_service_killed_mid_flow_finishes_the_flow_after_restart(system: System) -> None:
    day = next_saturday()
    await register_volunteers(system)
    system.kill("notifications")  # SIGKILL: nothing is flushed or closed
    session_id = await schedule_session(system, day)
    system.kill("volunteers")
    await system.restart("volunteers")
    await system.restart("notifications")

    first, second = await proposals(system, 2)
    await system.text(first.to, "C")
    await system.text(second.to, "C")
    await eventually(lambda: staffing(system, session_id), lambda s: s == "staffed", timeout=60)
    await system.settled()
    assert len([sms for sms in system.sent() if PROPOSAL.search(sms.body)]) == 2
    assert_no_sms_twice(system)
    await erase_by_sms_through_a_crash(system)


async def erase_by_sms_through_a_crash(system: System) -> None:
    """A resident who booked by SMS texts XOA, gets a code and sends it back; the scheduler
    is killed the moment the code is accepted. Restarted, it erases them all the same: one
    SMS says so, no table of any service holds the number, and a new SMS starts afresh."""
    assert (await system.text(RESIDENT, "giup vneid Thieu Trung")).status_code == 200
    await eventually(
        lambda: _texts(system, RESIDENT),
        lambda texts: any("Bạn đã được hẹn" in t for t in texts),
        timeout=60,
    )
    assert (await system.text(RESIDENT, "Xóa")).status_code == 200
    [code] = [found.group(1) for t in await _texts(system, RESIDENT) if (found := CODE.search(t))]
    assert (await system.text(RESIDENT, f"XOA {code}")).status_code == 200
    system.kill("scheduler")  # SIGKILL, with the confirmation maybe not yet heard
    await system.restart("scheduler")

    databases = Settings.from_env(system.env())
    phone = needles(RESIDENT)

    async def holding() -> list[str]:
        found = []
        for service in ("scheduler", "notifications"):
            found += [
                f"{service}: {hit}" for hit in await in_database(databases.database(service), phone)
            ]
        return found

    await eventually(holding, lambda found: found == [], timeout=60)
    await system.settled()
    erased = [t for t in await _texts(system, RESIDENT) if "đã được xóa" in t]
    assert len(erased) == 1, erased
    assert await in_streams(system.nats_url, phone) == []

    # the number is unknown now: a new request is a new resident, booked afresh
    assert (await system.text(RESIDENT, "giup vneid Thieu Trung")).status_code == 200
    await eventually(
        lambda: _texts(system, RESIDENT),
        lambda texts: sum("Bạn đã được hẹn" in t for t in texts) == 2,
        timeout=60,
    )


async def test_a_volunteer_who_accepts_by_sms_finds_the_session_in_their_calendar(
    system: System,
) -> None:
    day = next_saturday()
    await register_volunteers(system)
    await schedule_session(system, day)
    first, second = await proposals(system, 2)
    assert (await system.text(first.to, "C")).status_code == 200
    members = await system.call(
        "GET", "volunteers", f"/communes/{COMMUNE}/volunteers", auth=COORDINATOR
    )
    by_phone = {v["phone"]: v["volunteer_id"] for v in members.json()}
    links = {}
    for phone in (first.to, second.to):
        issued = await system.call(
            "POST",
            "volunteers",
            f"/volunteers/{by_phone[phone]}/calendar-link",
            auth=token(Role.VOLUNTEER, volunteer_id=by_phone[phone]),
        )
        assert issued.status_code == 201, issued.text
        links[phone] = issued.json()["url"]

    async def feed(phone: str) -> list[str]:
        answer = await system.http.get(links[phone])  # the link as handed out, no token
        assert answer.status_code == 200, answer.text
        return [str(e["SUMMARY"]) for e in Calendar.from_ical(answer.content).walk("VEVENT")]

    accepted = await eventually(lambda: feed(first.to), lambda events: len(events) == 1)
    assert accepted == ["Hỗ trợ buổi kích hoạt VNeID"]
    assert await feed(second.to) == []  # proposed, not yet accepted
