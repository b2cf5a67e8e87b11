"""Residents ask for help over HTTP and are booked, waitlisted or visited at home."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from shared.clock import FixedClock
from shared.web.auth import Role
from tests.api.scheduler.helpers import (
    HOAN_KIEM,
    SUNDAY,
    THIEU_HOA,
    THIEU_TRUNG,
    Tokens,
    event_types,
    help_body,
    problem_fields,
    session_body,
)

Client = AsyncTestClient[Litestar]


async def test_books_the_best_session_and_answers_a_retry_the_same(
    client: Client, tokens: Tokens
) -> None:
    near = (await client.post("/sessions", json=session_body(), headers=tokens())).json()
    other_commune = session_body(commune_code=THIEU_HOA, local_date="2026-03-07")
    await client.post("/sessions", json=other_commune, headers=tokens())
    key = {"Idempotency-Key": "form-42"}

    first = await client.post("/help-requests", json=help_body(), headers=key)
    logged = await event_types(client)
    retry = await client.post("/help-requests", json=help_body(), headers=key)
    seen = await client.get(f"/help-requests/{first.json()['request_id']}", headers=tokens())

    assert first.status_code == 201
    body = first.json()
    assert (body["status"], body["channel"], body["phone"]) == ("booked", "web", "+84912345678")
    assert body["session_id"] == near["session_id"]  # same commune first
    assert body["when"]["local_date"] == "2026-03-07"
    assert (retry.status_code, retry.json()) == (201, body)
    assert await event_types(client) == logged
    assert logged[-2:] == ["help.requested", "resident.booked"]
    assert seen.json() == body
    outsider = await client.get(
        f"/help-requests/{body['request_id']}", headers=tokens(scope=(HOAN_KIEM,))
    )
    assert outsider.status_code == 403
    assert (await client.get(f"/help-requests/{body['request_id']}")).status_code == 401


async def test_refuses_bad_requests_field_by_field(client: Client) -> None:
    bad = await client.post(
        "/help-requests",
        json=help_body("12345", resident_name=" ", consent_given=False, commune_code="99999"),
    )
    landline = await client.post("/help-requests", json=help_body("024 3825 1234"))
    wrong_topic = await client.post("/help-requests", json=help_body(topics=["dancing"]))

    assert bad.status_code == 422  # well formed, but breaks the rules of a request
    assert set(problem_fields(bad)) == {"resident_name", "phone", "commune_code", "consent_given"}
    assert (landline.status_code, problem_fields(landline)) == (422, ["phone"])
    assert wrong_topic.status_code == 400
    assert problem_fields(wrong_topic)[0].startswith("topics")
    assert await event_types(client) == []


async def test_rate_limits_the_public_form_per_client_and_per_phone(
    client: Client, clock: FixedClock
) -> None:
    answers = [
        (await client.post("/help-requests", json=help_body("0912000111"))).status_code
        for _ in range(4)
    ]
    assert answers == [201, 201, 201, 429]  # three per phone in the test limits
    limited = await client.post("/help-requests", json=help_body("0912000111"))
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert int(limited.headers["retry-after"]) == 3600
    for n in range(3):
        await client.post("/help-requests", json=help_body(f"091200022{n}"))
    from_client = await client.post("/help-requests", json=help_body("0912000333"))
    assert from_client.status_code == 429  # eight per client address
    assert "address" in from_client.json()["detail"]

    clock.advance(timedelta(hours=1, seconds=1))
    assert (await client.post("/help-requests", json=help_body("0912000111"))).status_code == 201


async def test_staff_file_on_behalf_and_home_visits_become_visits(
    client: Client, tokens: Tokens
) -> None:
    filed = await client.post(
        "/help-requests", json=help_body("0912000444"), headers=tokens(Role.VOLUNTEER)
    )
    visit = await client.post(
        "/help-requests",
        json=help_body(
            "0912000555",
            home_visit=True,
            address="Thôn 3, xã Thiệu Trung",
            accessibility_needs=["sign_interpreter"],
        ),
    )
    no_address = await client.post("/help-requests", json=help_body("0912000666", home_visit=True))

    assert (filed.json()["channel"], filed.json()["status"]) == ("volunteer", "waiting")
    assert visit.json()["status"] == "home_visit"
    visit_id = visit.json()["visit_id"]
    shown = await client.get(f"/home-visits/{visit_id}", headers=tokens())
    assert (shown.json()["status"], shown.json()["volunteers_needed"]) == ("requested", 2)
    assert shown.json()["resident_name"] == "Lê Thị Hoa"  # the help request's resident
    planned = await client.post(
        f"/home-visits/{visit_id}/schedule",
        json={"local_date": "2026-03-04", "start_local": "15:00:00", "end_local": "16:00:00"},
        headers=tokens(),
    )
    assert (planned.json()["status"], planned.json()["local_date"]) == ("scheduled", "2026-03-04")
    stopped = await client.post(
        f"/home-visits/{visit_id}/cancel", json={"reason": "ốm"}, headers=tokens()
    )
    assert stopped.json()["status"] == "cancelled"
    assert (await client.get("/home-visits/visit-nope", headers=tokens())).status_code == 404
    assert (no_address.status_code, problem_fields(no_address)) == (422, ["address"])
    assert "home_visit.requested" in await event_types(client)


async def test_cancel_and_change_bookings_free_places_for_the_waitlist(
    client: Client, tokens: Tokens
) -> None:
    saturday = (
        await client.post("/sessions", json=session_body(capacity=1), headers=tokens())
    ).json()
    sunday = (
        await client.post(
            "/sessions", json=session_body(capacity=1, local_date=SUNDAY), headers=tokens()
        )
    ).json()
    hoa = (await client.post("/help-requests", json=help_body("0912345001"))).json()
    lan = (await client.post("/help-requests", json=help_body("0912345002"))).json()
    mai = (await client.post("/help-requests", json=help_body("0912345003"))).json()
    assert [hoa["session_id"], lan["session_id"], mai["status"]] == [
        saturday["session_id"],
        sunday["session_id"],
        "waiting",
    ]

    full = await client.post(
        f"/bookings/{hoa['booking_id']}/change",
        json={"new_session_id": sunday["session_id"], "phone": "0912345001"},
    )
    assert (full.status_code, problem_fields(full)) == (409, ["new_session_id"])
    stranger = await client.post(
        f"/bookings/{hoa['booking_id']}/cancel", json={"phone": "0912999999"}
    )
    assert stranger.status_code == 404
    outsider = await client.post(
        f"/bookings/{hoa['booking_id']}/cancel", json={}, headers=tokens(scope=(HOAN_KIEM,))
    )
    assert outsider.status_code == 403

    cancelled = await client.post(
        f"/bookings/{hoa['booking_id']}/cancel", json={"phone": "+84 912 345 001", "reason": "bận"}
    )
    assert cancelled.json()["status"] == "cancelled"
    mai_now = (await client.get(f"/help-requests/{mai['request_id']}", headers=tokens())).json()
    assert (mai_now["status"], mai_now["session_id"]) == ("booked", saturday["session_id"])

    # Lan also holds Saturday (a second request); moving Sunday onto Saturday is double booking.
    await client.post(
        f"/sessions/{saturday['session_id']}/capacity", json={"capacity": 3}, headers=tokens()
    )
    again = (await client.post("/help-requests", json=help_body("0912345002"))).json()
    assert again["session_id"] == saturday["session_id"]
    double = await client.post(
        f"/bookings/{lan['booking_id']}/change",
        json={"new_session_id": saturday["session_id"]},
        headers=tokens(),
    )
    assert double.status_code == 409
    assert double.json()["type"].endswith("/double-booking")

    moved = await client.post(
        f"/bookings/{mai_now['booking_id']}/change",
        json={"new_session_id": sunday["session_id"], "phone": "0912345003"},
    )
    assert moved.status_code == 409  # Sunday is full
    await client.post(
        f"/sessions/{sunday['session_id']}/capacity", json={"capacity": 2}, headers=tokens()
    )
    moved = await client.post(
        f"/bookings/{mai_now['booking_id']}/change",
        json={"new_session_id": sunday["session_id"], "phone": "0912345003"},
    )
    assert moved.status_code == 200
    assert moved.json()["session_id"] == sunday["session_id"]
    assert moved.json()["when"]["local_date"] == SUNDAY
    assert "booking.changed" in await event_types(client)
    assert mai_now["commune_code"] == THIEU_TRUNG


async def test_the_answer_to_a_new_request_is_what_coordinators_see_of_it(
    client: Client, tokens: Tokens
) -> None:
    async def seen(answer: Any) -> Any:
        shown = await client.get(f"/help-requests/{answer.json()['request_id']}", headers=tokens())
        return shown.json()

    waiting = await client.post("/help-requests", json=help_body("0912000701"))
    visit = await client.post(
        "/help-requests",
        json=help_body("0912000702", home_visit=True, address="Thôn 3, xã Thiệu Trung"),
        headers=tokens(Role.VOLUNTEER),
    )
    assert [waiting.json()["status"], visit.json()["status"]] == ["waiting", "home_visit"]
    assert [await seen(waiting), await seen(visit)] == [waiting.json(), visit.json()]

    await client.post("/sessions", json=session_body(capacity=5), headers=tokens())
    booked = await client.post("/help-requests", json=help_body("0912000703"))
    assert booked.json()["status"] == "booked"
    assert await seen(booked) == booked.json()
