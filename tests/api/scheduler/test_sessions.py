"""Coordinators plan sessions over HTTP: schedule, repeat, reschedule, resize, cancel, complete."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from shared.clock import FixedClock
from shared.events.scheduler import CANCEL_REASON_MAX, AttendanceRecorded
from shared.web.auth import Role
from tests.api.scheduler.helpers import (
    HOAN_KIEM,
    SATURDAY,
    SUNDAY,
    THANH_HOA,
    THIEU_HOA,
    THIEU_TRUNG,
    Tokens,
    event_types,
    help_body,
    own_store,
    problem_fields,
    session_body,
)

Client = AsyncTestClient[Litestar]


async def test_schedules_a_weekend_session_once_per_idempotency_key(
    client: Client, tokens: Tokens
) -> None:
    headers = tokens() | {"Idempotency-Key": "plan-1"}

    first = await client.post("/sessions", json=session_body(), headers=headers)
    logged = await event_types(client)
    retry = await client.post("/sessions", json=session_body(), headers=headers)

    assert first.status_code == 201
    body = first.json()
    assert body["status"] == "scheduled"
    assert body["starts_at"] == "2026-03-07T01:00:00Z"  # 08:00 in Asia/Ho_Chi_Minh
    assert body["staffing"] == "unknown"
    assert (retry.status_code, retry.json()) == (201, body)
    assert await event_types(client) == logged == ["session.scheduled"]
    again = await client.get(f"/sessions/{body['session_id']}", headers=tokens())
    assert again.json() == body
    reused = await client.post("/sessions", json=session_body(capacity=9), headers=headers)
    assert reused.status_code == 422
    assert problem_fields(reused) == ["Idempotency-Key"]


async def test_refuses_bad_sessions_naming_the_field(client: Client, tokens: Tokens) -> None:
    weekday = await client.post(
        "/sessions", json=session_body(local_date="2026-03-04"), headers=tokens()
    )
    holiday = await client.post(
        "/sessions",
        json=session_body(local_date="2026-03-04", public_holiday=True),
        headers=tokens(),
    )
    no_token = await client.post("/sessions", json=session_body())
    bad_token = await client.post(
        "/sessions", json=session_body(), headers={"Authorization": "Bearer nope"}
    )
    volunteer = await client.post("/sessions", json=session_body(), headers=tokens(Role.VOLUNTEER))
    elsewhere = await client.post(
        "/sessions", json=session_body(commune_code=HOAN_KIEM), headers=tokens()
    )
    wrong_type = await client.post(
        "/sessions", json=session_body(capacity="many"), headers=tokens()
    )
    missing = await client.post(
        "/sessions",
        json={k: v for k, v in session_body().items() if k != "venue"},
        headers=tokens(),
    )
    too_big = await client.post("/sessions", json=session_body(capacity=0), headers=tokens())
    unknown = await client.post(
        "/sessions", json=session_body(commune_code="99999"), headers=tokens()
    )

    assert weekday.status_code == 422
    assert problem_fields(weekday) == ["local_date"]
    assert "Saturday or Sunday" in weekday.json()["detail"]
    assert holiday.status_code == 201
    assert no_token.status_code == 401
    assert no_token.headers["www-authenticate"].startswith("Bearer")
    assert bad_token.status_code == 401
    assert volunteer.status_code == 403
    assert elsewhere.status_code == 403
    assert problem_fields(elsewhere) == ["commune_code"]
    assert (wrong_type.status_code, problem_fields(wrong_type)) == (400, ["capacity"])
    assert (missing.status_code, problem_fields(missing)) == (400, ["venue"])
    assert (too_big.status_code, problem_fields(too_big)) == (422, ["capacity"])
    assert (unknown.status_code, problem_fields(unknown)) == (422, ["commune_code"])


async def test_recurring_sessions_skip_tet_and_report_it(client: Client, tokens: Tokens) -> None:
    body = session_body(first_date="2027-01-30", weeks=3, weekday="saturday")
    del body["local_date"]
    headers = tokens() | {"Idempotency-Key": "tet"}

    made = await client.post("/sessions/recurring", json=body, headers=headers)
    retry = await client.post("/sessions/recurring", json=body, headers=headers)
    sunday = await client.post(
        "/sessions/recurring", json=body | {"weekday": "monday"}, headers=tokens()
    )
    listed = await client.get(
        "/sessions",
        params={"commune": THIEU_TRUNG, "from": "2027-01-01", "to": "2027-02-28"},
        headers=tokens(),
    )
    outside = await client.get("/sessions", params={"commune": HOAN_KIEM}, headers=tokens())

    assert made.status_code == 201
    dates = [s["local_date"] for s in made.json()["sessions"]]
    assert dates == ["2027-01-30", "2027-02-13"]
    assert [s["local_date"] for s in made.json()["skipped"]] == ["2027-02-06"]
    assert retry.json() == made.json()
    assert (sunday.status_code, problem_fields(sunday)) == (400, ["weekday"])
    assert [s["local_date"] for s in listed.json()] == dates
    assert outside.status_code == 403


async def test_a_series_preview_lists_the_dates_and_the_named_holidays_and_changes_nothing(
    client: Client, tokens: Tokens
) -> None:
    body = session_body(first_date="2027-01-30", weeks=3, weekday="saturday")
    del body["local_date"]

    preview = await client.post("/sessions/recurring/preview", json=body, headers=tokens())
    logged = await event_types(client)
    made = await client.post("/sessions/recurring", json=body, headers=tokens())

    assert preview.status_code == 200, preview.json()
    assert preview.json()["dates"] == ["2027-01-30", "2027-02-13"]
    [tet] = preview.json()["skipped"]
    assert tet["local_date"] == "2027-02-06"
    assert "Tết" in tet["holiday"]
    assert logged == []
    assert [s["local_date"] for s in made.json()["sessions"]] == preview.json()["dates"]
    assert made.json()["skipped"] == preview.json()["skipped"]


async def test_a_series_preview_refuses_what_scheduling_would_naming_the_field(
    client: Client, tokens: Tokens
) -> None:
    body = session_body(first_date="2026-03-07", weeks=2)
    del body["local_date"]
    cases = {
        "weeks": body | {"weeks": 0},
        "capacity": body | {"capacity": 0},
        "end_local": body | {"end_local": "07:00"},
        "topics": body | {"topics": []},
        "venue.name": body | {"venue": {"name": " ", "address": "Thôn 2"}},
        "first_date": body | {"first_date": "2026-02-28"},  # that Saturday is over
    }

    refused = {
        field: await client.post("/sessions/recurring/preview", json=wrong, headers=tokens())
        for field, wrong in cases.items()
    }
    mistyped = await client.post(
        "/sessions/recurring/preview", json=body | {"weeks": "two"}, headers=tokens()
    )
    elsewhere = await client.post(
        "/sessions/recurring/preview", json=body | {"commune_code": HOAN_KIEM}, headers=tokens()
    )
    volunteer = await client.post(
        "/sessions/recurring/preview", json=body, headers=tokens(Role.VOLUNTEER)
    )
    anonymous = await client.post("/sessions/recurring/preview", json=body)
    scheduled = await client.post("/sessions/recurring", json=cases["topics"], headers=tokens())

    for field, answer in refused.items():
        assert (answer.status_code, problem_fields(answer)) == (422, [field]), answer.json()
    assert (mistyped.status_code, problem_fields(mistyped)) == (400, ["weeks"])
    assert (elsewhere.status_code, problem_fields(elsewhere)) == (403, ["commune_code"])
    assert volunteer.status_code == 403
    assert anonymous.status_code == 401
    assert scheduled.json() | {"instance": ""} == refused["topics"].json() | {"instance": ""}
    assert refused["first_date"].json()["detail"].startswith("2026-02-28: ")
    past = await client.post("/sessions/recurring", json=cases["first_date"], headers=tokens())
    assert (past.status_code, problem_fields(past)) == (422, ["first_date"])
    assert await event_types(client) == []


async def test_a_sessions_waitlist_is_who_would_get_its_places_in_their_turn(
    client: Client, tokens: Tokens, clock: FixedClock
) -> None:
    sid = (await client.post("/sessions", json=session_body(capacity=1), headers=tokens())).json()[
        "session_id"
    ]
    filed = {}
    for name, body in [
        ("first", help_body("0912345001")),
        ("neighbour", help_body("0912345002", commune_code=THIEU_HOA)),
        ("second", help_body("0912345003")),
        ("other_topic", help_body("0912345004", topics=["cashless_payment"])),
    ]:
        clock.advance(timedelta(minutes=1))
        filed[name] = (await client.post("/help-requests", json=body)).json()
    assert [f["status"] for f in filed.values()] == ["booked", "waiting", "waiting", "waiting"]

    before = await client.get(f"/sessions/{sid}/waitlist", headers=tokens())
    await client.post(f"/bookings/{filed['first']['booking_id']}/cancel", json={}, headers=tokens())
    after = await client.get(f"/sessions/{sid}/waitlist", headers=tokens())
    roster = (await client.get(f"/sessions/{sid}/roster", headers=tokens())).json()
    elsewhere = await client.get(f"/sessions/{sid}/waitlist", headers=tokens(scope=(HOAN_KIEM,)))
    volunteer = await client.get(f"/sessions/{sid}/waitlist", headers=tokens(Role.VOLUNTEER))
    unknown = await client.get("/sessions/session-nope/waitlist", headers=tokens())

    assert before.status_code == 200, before.json()
    # Own commune first, then who asked first; a topic the session lacks is not its to take.
    assert [w["request_id"] for w in before.json()] == [
        filed["second"]["request_id"],
        filed["neighbour"]["request_id"],
    ]
    assert before.json()[0]["name"] == "Lê Thị Hoa"
    assert before.json()[1]["commune_code"] == THIEU_HOA
    assert [r["request_id"] for r in roster["residents"]] == [filed["second"]["request_id"]]
    assert [w["request_id"] for w in after.json()] == [filed["neighbour"]["request_id"]]
    assert elsewhere.status_code == 403
    assert volunteer.status_code == 403
    assert unknown.status_code == 404


async def test_capacity_reschedule_cancel_and_the_waitlist(client: Client, tokens: Tokens) -> None:
    session = (
        await client.post("/sessions", json=session_body(capacity=1), headers=tokens())
    ).json()
    sid = session["session_id"]
    first = (await client.post("/help-requests", json=help_body("0912345001"))).json()
    second = (await client.post("/help-requests", json=help_body("0912345002"))).json()
    assert (first["status"], second["status"]) == ("booked", "waiting")

    grown = await client.post(f"/sessions/{sid}/capacity", json={"capacity": 2}, headers=tokens())
    assert grown.json()["booked"] == 2  # the waiting resident got the new place at once
    refused = await client.post(f"/sessions/{sid}/capacity", json={"capacity": 1}, headers=tokens())
    assert (refused.status_code, problem_fields(refused)) == (422, ["move_to_waitlist"])
    roster = (await client.get(f"/sessions/{sid}/roster", headers=tokens())).json()
    latest = roster["residents"][-1]["booking_id"]
    shrunk = await client.post(
        f"/sessions/{sid}/capacity",
        json={"capacity": 1, "move_to_waitlist": [latest]},
        headers=tokens(),
    )
    assert (shrunk.json()["capacity"], shrunk.json()["booked"]) == (1, 1)
    moved = await client.get(f"/help-requests/{second['request_id']}", headers=tokens())
    assert moved.json()["status"] == "waiting"

    moved_day = await client.post(
        f"/sessions/{sid}/reschedule",
        json={"local_date": SUNDAY, "start_local": "14:00:00", "end_local": "16:00:00"},
        headers=tokens(),
    )
    assert moved_day.json()["local_date"] == SUNDAY
    same = await client.post(
        f"/sessions/{sid}/reschedule",
        json={"local_date": SUNDAY, "start_local": "14:00:00", "end_local": "16:00:00"},
        headers=tokens(),
    )
    assert same.status_code == 422

    other = (await client.post("/sessions", json=session_body(), headers=tokens())).json()
    assert other["booked"] == 1  # the waiting resident, placed as the session appeared
    no_reason = await client.post(f"/sessions/{sid}/cancel", json={"reason": " "}, headers=tokens())
    assert (no_reason.status_code, problem_fields(no_reason)) == (422, ["reason"])
    too_long = await client.post(
        f"/sessions/{sid}/cancel",
        json={"reason": "x" * (CANCEL_REASON_MAX + 1)},  # longer than its SMS can carry
        headers=tokens(),
    )
    assert (too_long.status_code, problem_fields(too_long)) == (422, ["reason"])
    cancelled = await client.post(
        f"/sessions/{sid}/cancel", json={"reason": "Mất điện"}, headers=tokens()
    )
    assert (cancelled.json()["status"], cancelled.json()["cancel_reason"]) == (
        "cancelled",
        "Mất điện",
    )
    rebooked = await client.get(f"/help-requests/{first['request_id']}", headers=tokens())
    assert rebooked.json()["session_id"] == other["session_id"]  # placed in the other session
    again = await client.post(f"/sessions/{sid}/cancel", json={"reason": "x"}, headers=tokens())
    assert again.status_code == 409
    missing = await client.post(
        "/sessions/session-nope/cancel", json={"reason": "x"}, headers=tokens()
    )
    assert missing.status_code == 404

    types = await event_types(client)
    assert types.count("resident.moved_to_waitlist") == 1
    assert "session.rescheduled" in types
    assert "session.cancelled" in types


async def test_attendance_and_completion(client: Client, tokens: Tokens, clock: FixedClock) -> None:
    sid = (await client.post("/sessions", json=session_body(), headers=tokens())).json()[
        "session_id"
    ]
    booking = await client.post("/help-requests", json=help_body())
    booking_id = booking.json()["booking_id"]
    early = await client.post(
        f"/sessions/{sid}/attendance",
        json={"booking_id": booking_id, "status": "attended"},
        headers=tokens(),
    )
    assert (early.status_code, problem_fields(early)) == (422, ["status"])

    clock.advance(timedelta(days=4, hours=23, minutes=30))  # Saturday 08:30 local
    marked = await client.post(
        f"/sessions/{sid}/attendance",
        json={"booking_id": booking_id, "status": "attended", "outcomes": ["vneid_activated"]},
        headers=tokens(Role.VOLUNTEER),
    )
    no_show_with_outcome = await client.post(
        f"/sessions/{sid}/attendance",
        json={"booking_id": booking_id, "status": "no_show", "outcomes": ["vneid_activated"]},
        headers=tokens(),
    )
    unknown = await client.post(
        f"/sessions/{sid}/attendance",
        json={"booking_id": "booking-x", "status": "attended"},
        headers=tokens(),
    )
    done = await client.post(f"/sessions/{sid}/complete", json={"walk_ins": 2}, headers=tokens())

    assert marked.status_code == 200
    assert (no_show_with_outcome.status_code, problem_fields(no_show_with_outcome)) == (
        422,
        ["outcomes"],
    )
    assert unknown.status_code == 404
    assert done.json()["status"] == "completed"
    assert done.json()["totals"]["attended"] == 1
    assert done.json()["totals"]["walk_ins"] == 2
    roster = (await client.get(f"/sessions/{sid}/roster", headers=tokens())).json()
    assert roster["residents"][0]["attendance"] == "attended"
    assert roster["residents"][0]["outcomes"] == ["vneid_activated"]


async def test_a_cancelled_session_books_nobody(client: Client, tokens: Tokens) -> None:
    sid = (await client.post("/sessions", json=session_body(), headers=tokens())).json()[
        "session_id"
    ]
    await client.post("/help-requests", json=help_body("0912345011"))
    await client.post("/help-requests", json=help_body("0912345012"))

    cancelled = await client.post(
        f"/sessions/{sid}/cancel", json={"reason": "Mất điện"}, headers=tokens()
    )
    read = await client.get(f"/sessions/{sid}", headers=tokens())
    listed = await client.get(
        "/sessions", params={"commune": THIEU_TRUNG, "from": SATURDAY}, headers=tokens()
    )

    assert (cancelled.json()["booked"], cancelled.json()["free_places"]) == (0, 0)
    assert read.json()["booked"] == 0
    assert [s["booked"] for s in listed.json() if s["session_id"] == sid] == [0]


async def test_attendance_names_the_volunteer_who_recorded_it(
    client: Client, tokens: Tokens, clock: FixedClock
) -> None:
    sid = (await client.post("/sessions", json=session_body(), headers=tokens())).json()[
        "session_id"
    ]
    booking_id = (await client.post("/help-requests", json=help_body())).json()["booking_id"]
    clock.advance(timedelta(days=4, hours=23, minutes=30))  # Saturday 08:30 local

    by_volunteer = await client.post(
        f"/sessions/{sid}/attendance",
        json={"booking_id": booking_id, "status": "checked_in"},
        headers=tokens(Role.VOLUNTEER, volunteer_id="volunteer-42"),
    )
    by_coordinator = await client.post(
        f"/sessions/{sid}/attendance",
        json={"booking_id": booking_id, "status": "attended"},
        headers=tokens(),
    )
    async with own_store(client) as store:
        recorded = [
            e.event
            for e in (await store.load(sid)).events
            if isinstance(e.event, AttendanceRecorded)
        ]

    assert by_volunteer.status_code == by_coordinator.status_code == 200
    # A token's subject names the person; the volunteers service credits volunteer ids.
    assert [(e.recorded_by, e.recorded_by_volunteer) for e in recorded] == [
        ("volunteer-1", "volunteer-42"),
        ("coordinator-1", None),
    ]


async def test_reads_never_wait_for_a_writer(client: Client, tokens: Tokens) -> None:
    """On SQLite a read that began IMMEDIATE would queue behind any writer, here one in
    another process; reads begin DEFERRED (`store.reader`) and see the last commit."""
    sid = (await client.post("/sessions", json=session_body(), headers=tokens())).json()[
        "session_id"
    ]
    reads = {
        "session": f"/sessions/{sid}",
        "sessions": f"/sessions?commune={THIEU_TRUNG}",
        "roster": f"/sessions/{sid}/roster",
        "commune": f"/communes/{THIEU_TRUNG}",
        "communes": f"/provinces/{THANH_HOA}/communes",
        "report": f"/communes/{THIEU_TRUNG}/report?from={SATURDAY}&to={SATURDAY}",
    }
    async with own_store(client) as other_process, other_process.begin():
        answered = {
            name: (await asyncio.wait_for(client.get(path, headers=tokens()), 5)).status_code
            for name, path in reads.items()
        }

    assert answered == dict.fromkeys(reads, 200)
