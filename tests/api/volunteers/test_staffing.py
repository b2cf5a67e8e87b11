"""Staffing over HTTP: sessions from the scheduler (on real NATS) are planned a weekend at a
time; volunteers accept or decline; deadlines expire; cancellations and pauses free places."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client

from shared.clock import FixedClock
from shared.events.scheduler import SessionCancelled, SessionCompleted, SessionTotals
from shared.events.vocabulary import Accessibility
from shared.settings import Settings
from tests.api.volunteers.world import (
    COORDINATOR,
    SATURDAY,
    T0,
    THIEU_TOAN,
    Feed,
    fire_timers,
    new_group,
    new_volunteer,
    session_scheduled,
    volunteer_token,
    volunteers_app,
)
from tests.support.waiting import eventually


async def plan_of(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get(f"/weekends/{SATURDAY}/plan", headers=COORDINATOR)
    assert response.status_code == 200, response.text
    plan: dict[str, Any] = response.json()
    return plan


def statuses(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        (a["volunteer_id"], a["status"]) for slot in plan["slots"] for a in slot["assignments"]
    )


async def planned(client: AsyncTestClient[Litestar], until: Any) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        await fire_timers(client)
        return await plan_of(client)

    return await eventually(probe, until)


async def test_a_scheduled_session_gets_the_best_volunteer_proposed_with_an_explanation(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        near = await new_volunteer(client, group, "0912345678", name="Near")
        far_group = await new_group(client, THIEU_TOAN, "Tổ Thiệu Toán")
        await new_volunteer(client, far_group, "0912345679", name="Far")
        session = session_scheduled()
        await Feed(nc).scheduler(session.session_id, session)

        plan = await planned(client, lambda p: p["plan"] is not None)

    [slot] = plan["slots"]
    [assignment] = slot["assignments"]
    assert assignment["volunteer_id"] == near["volunteer_id"]
    assert assignment["status"] == "proposed"
    assert "same commune" in assignment["explanation"]
    assert "teaches vneid_activation" in assignment["explanation"]
    assert len(assignment["short_code"]) == 4
    assert plan["plan"]["proposed"] == 1
    assert plan["gaps"] == []


async def test_decline_proposes_the_next_best_and_accept_staffs_the_session(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        first = await new_volunteer(client, group, "0912345678", name="First")
        second = await new_volunteer(client, group, "0912345679", name="Second", skills=[])
        session = session_scheduled()
        await Feed(nc).scheduler(session.session_id, session)
        plan = await planned(client, lambda p: p["plan"] is not None)
        [proposal] = plan["slots"][0]["assignments"]
        assert proposal["volunteer_id"] == first["volunteer_id"]

        other = await client.post(
            f"/assignments/{proposal['assignment_id']}/decline",
            headers=volunteer_token(second["volunteer_id"]),
        )
        declined = await client.post(
            f"/assignments/{proposal['assignment_id']}/decline",
            headers=volunteer_token(first["volunteer_id"]),
        )
        again = await client.post(
            f"/assignments/{proposal['assignment_id']}/accept",
            headers=volunteer_token(first["volunteer_id"]),
        )
        after_decline = statuses(await plan_of(client))
        next_one = next(
            a
            for a in (await plan_of(client))["slots"][0]["assignments"]
            if a["status"] == "proposed"
        )
        accepted = await client.post(
            f"/assignments/{next_one['assignment_id']}/accept",
            headers=volunteer_token(second["volunteer_id"]),
        )
        slot = (await client.get(f"/slots/{session.session_id}", headers=COORDINATOR)).json()

    assert other.status_code == 403
    assert declined.status_code == 200
    assert declined.json()["status"] == "declined"
    assert again.status_code == 409
    assert after_decline == sorted(
        [(first["volunteer_id"], "declined"), (second["volunteer_id"], "proposed")]
    )
    assert accepted.status_code == 200
    assert slot["slot"]["staffing"] == "staffed"


async def test_an_unanswered_proposal_expires_and_the_place_goes_to_the_next_best(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        first = await new_volunteer(client, group, "0912345678", name="First")
        second = await new_volunteer(client, group, "0912345679", name="Second", skills=[])
        session = session_scheduled()
        await Feed(nc).scheduler(session.session_id, session)
        await planned(client, lambda p: p["plan"] is not None)

        clock.advance(timedelta(hours=23))
        assert await fire_timers(client) == 0
        clock.advance(timedelta(hours=1, seconds=1))
        expected = sorted(
            [(first["volunteer_id"], "expired"), (second["volunteer_id"], "proposed")]
        )
        # the service's own timer loop may fire it first: wait for the outcome either way
        await planned(client, lambda p: statuses(p) == expected)


async def test_a_cancelled_session_releases_its_places_and_completion_credits_hours(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        helper = await new_volunteer(client, group, "0912345678")
        feed = Feed(nc)
        kept = session_scheduled(start=8, end=11)
        dropped = session_scheduled(day=SATURDAY + timedelta(days=1), start=8, end=10)
        await feed.scheduler(kept.session_id, kept)
        await feed.scheduler(dropped.session_id, dropped)
        plan = await planned(
            client, lambda p: len([a for s in p["slots"] for a in s["assignments"]]) == 2
        )
        for slot in plan["slots"]:
            for a in slot["assignments"]:
                response = await client.post(
                    f"/assignments/{a['assignment_id']}/accept",
                    headers=volunteer_token(helper["volunteer_id"]),
                )
                assert response.status_code == 200
        await feed.scheduler(
            dropped.session_id,
            SessionCancelled(
                session_id=dropped.session_id,
                commune_code=dropped.commune_code,
                venue=dropped.venue,
                when=dropped.when,
                reason="rain",
                coordinator_id=dropped.coordinator_id,
                cancelled_at=T0,
            ),
        )
        await feed.scheduler(
            kept.session_id,
            SessionCompleted(
                session_id=kept.session_id,
                commune_code=kept.commune_code,
                local_date=SATURDAY,
                totals=SessionTotals(booked=3, attended=2, no_show=1, unrecorded=0),
                completed_at=T0,
            ),
        )

        async def hours() -> dict[str, Any]:
            response = await client.get(
                f"/volunteers/{helper['volunteer_id']}/hours", headers=COORDINATOR
            )
            body: dict[str, Any] = response.json()
            return body

        credited = await eventually(hours, lambda h: h["assignments"] == 1)
        released = await eventually(
            lambda: plan_of(client),
            lambda p: "released" in [a["status"] for s in p["slots"] for a in s["assignments"]],
        )
        group_hours = (await client.get(f"/groups/{group}/hours", headers=COORDINATOR)).json()
        commune_hours = (
            await client.get(
                "/communes/15835/hours",
                params={"from": "2026-06-01", "to": "2026-06-30"},
                headers=COORDINATOR,
            )
        ).json()
        before = (
            await client.get(
                "/communes/15835/hours",
                params={"from": "2026-05-01", "to": "2026-05-31"},
                headers=COORDINATOR,
            )
        ).json()

    assert credited["total_minutes"] == 180
    assert credited["total_hours"] == 3.0
    dropped_slot = next(s for s in released["slots"] if s["slot"]["slot_id"] == dropped.session_id)
    assert dropped_slot["slot"]["status"] == "cancelled"
    assert [a["release_reason"] for a in dropped_slot["assignments"]] == ["session_cancelled"]
    assert group_hours["total_minutes"] == 180
    assert commune_hours["total_minutes"] == 180
    assert before["total_minutes"] == 0


async def test_a_paused_volunteers_future_places_go_to_others(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        first = await new_volunteer(client, group, "0912345678", name="First")
        second = await new_volunteer(client, group, "0912345679", name="Second", skills=[])
        session = session_scheduled()
        await Feed(nc).scheduler(session.session_id, session)
        await planned(client, lambda p: p["plan"] is not None)
        paused = await client.post(
            f"/volunteers/{first['volunteer_id']}/pause",
            json={"reason": "exams"},
            headers=volunteer_token(first["volunteer_id"]),
        )
        twice = await client.post(f"/volunteers/{first['volunteer_id']}/pause", headers=COORDINATOR)
        after = statuses(await plan_of(client))

    assert paused.status_code == 200
    assert paused.json()["paused"] is True
    assert twice.status_code == 409
    assert after == sorted(
        [(first["volunteer_id"], "released"), (second["volunteer_id"], "proposed")]
    )


async def test_a_blind_resident_booking_makes_the_slot_need_a_screen_reader_helper(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        await new_volunteer(client, group, "0912345678", name="Plain")
        helper = await new_volunteer(
            client, group, "0912345679", name="Reader", skills=["screen_reader_help"]
        )
        session = session_scheduled(accessibility=(Accessibility.SCREEN_READER_HELP,))
        await Feed(nc).scheduler(session.session_id, session)
        plan = await planned(client, lambda p: p["plan"] is not None)

    [slot] = plan["slots"]
    assert slot["slot"]["required_skills"] == ["screen_reader_help"]
    [assignment] = slot["assignments"]
    assert assignment["volunteer_id"] == helper["volunteer_id"]
    assert "required skill screen_reader_help" in assignment["explanation"]


async def test_a_gap_is_reported_and_filled_when_a_volunteer_joins_later(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        session = session_scheduled(needed=1)
        await Feed(nc).scheduler(session.session_id, session)
        short = await planned(client, lambda p: p["plan"] is not None)
        joined = await new_volunteer(client, group, "0912345678")
        filled = await planned(client, lambda p: p["gaps"] == [])

    assert short["gaps"] == [
        {
            "slot_id": session.session_id,
            "missing_count": 1,
            "missing_skills": [],
            "missing_languages": [],
        }
    ]
    assert short["slots"][0]["slot"]["staffing"] == "understaffed"
    assert statuses(filled) == [(joined["volunteer_id"], "proposed")]
