"""A volunteer's calendar feed over HTTP: a secret link, issued and revoked by the volunteer (or
their coordinator), read without a token by calendar apps; it lists exactly the accepted
assignments, at their times and places, and forgets released ones."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import anyio.to_thread
import httpx
import msgspec
from icalendar import Calendar
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client

from services.volunteers.app import create_app
from shared.clock import FixedClock
from shared.events.scheduler import SessionCancelled, SessionScheduled
from shared.events.vocabulary import Topic, label
from shared.settings import Settings
from shared.web.auth import Role
from tests.api.volunteers.world import (
    COORDINATOR,
    FAST,
    FEED,
    HOAN_KIEM,
    SATURDAY,
    SUNDAY,
    T0,
    Feed,
    fire_timers,
    local,
    new_group,
    new_volunteer,
    runtime_of,
    session_scheduled,
    volunteer_token,
    volunteers_app,
)
from tests.support.services import token
from tests.support.serving import serving
from tests.support.waiting import eventually


def feed_path(url: str) -> str:
    """The path of a link the service handed out (the tests reach it by the test client)."""
    assert url.startswith(f"{FEED.public_url}/calendars/")
    assert url.endswith(".ics")
    return url.removeprefix(FEED.public_url)


async def proposals(client: AsyncTestClient[Litestar], volunteer_id: str, count: int) -> list[Any]:
    async def probe() -> list[Any]:
        await fire_timers(client)
        response = await client.get(f"/volunteers/{volunteer_id}/assignments", headers=COORDINATOR)
        assert response.status_code == 200, response.text
        found: list[Any] = response.json()
        return found

    return await eventually(probe, lambda found: len(found) == count)


async def issue(client: AsyncTestClient[Litestar], volunteer_id: str) -> httpx.Response:
    return await client.post(
        f"/volunteers/{volunteer_id}/calendar-link", headers=volunteer_token(volunteer_id)
    )


def events_of(body: bytes) -> dict[str, Any]:
    calendar = Calendar.from_ical(body)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def scheduled(day: Any, start: int, end: int, topic: Topic) -> SessionScheduled:
    return session_scheduled(day=day, start=start, end=end, topics=(topic,))


async def test_the_feed_holds_exactly_the_accepted_assignments_at_their_times_and_places(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        hoa = (await new_volunteer(client, group, "0912345678"))["volunteer_id"]
        feed = Feed(nc)
        kept = scheduled(SATURDAY, 8, 11, Topic.VNEID_ACTIVATION)
        declined = scheduled(SATURDAY, 14, 16, Topic.VNEID_ACTIVATION)
        cancelled = scheduled(SUNDAY, 8, 10, Topic.VNEID_ACTIVATION)
        for session in (kept, declined, cancelled):
            await feed.scheduler(session.session_id, session)
        by_slot = {a["slot_id"]: a for a in await proposals(client, hoa, 3)}
        mine = volunteer_token(hoa)
        for session in (kept, cancelled):
            answer = by_slot[session.session_id]["assignment_id"]
            accepted = await client.post(f"/assignments/{answer}/accept", headers=mine)
            assert accepted.status_code == 200, accepted.text
        no = by_slot[declined.session_id]["assignment_id"]
        assert (await client.post(f"/assignments/{no}/decline", headers=mine)).status_code == 200

        link = await issue(client, hoa)
        assert link.status_code == 201, link.text
        path = feed_path(link.json()["url"])
        before_cancel = await client.get(path)  # no token: calendar apps send none

        await feed.scheduler(
            cancelled.session_id,
            SessionCancelled(
                session_id=cancelled.session_id,
                commune_code=cancelled.commune_code,
                venue=cancelled.venue,
                when=cancelled.when,
                reason="mưa bão",
                coordinator_id=cancelled.coordinator_id,
                cancelled_at=T0,
            ),
        )

        async def current() -> dict[str, Any]:
            response = await client.get(path)
            assert response.status_code == 200, response.text
            return events_of(response.content)

        after_cancel = await eventually(current, lambda events: len(events) == 1)

    assert before_cancel.status_code == 200
    assert before_cancel.headers["content-type"] == "text/calendar; charset=utf-8"
    listed = events_of(before_cancel.content)
    kept_uid = f"{by_slot[kept.session_id]['assignment_id']}@handinhand"
    cancelled_uid = f"{by_slot[cancelled.session_id]['assignment_id']}@handinhand"
    assert set(listed) == {kept_uid, cancelled_uid}
    event = listed[kept_uid]
    assert event.decoded("DTSTART") == local(SATURDAY, 8)
    assert event.decoded("DTEND") == local(SATURDAY, 11)
    assert event.decoded("DTSTAMP") == T0
    assert str(event["SUMMARY"]) == "Hỗ trợ buổi kích hoạt VNeID"
    assert str(event["LOCATION"]) == f"{kept.venue.name}, {kept.venue.address}"
    assert listed[cancelled_uid].decoded("DTSTART") == local(SUNDAY, 8)
    assert set(after_cancel) == {kept_uid}


async def test_the_feed_keeps_the_last_30_days_and_drops_older_assignments(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        hoa = (await new_volunteer(client, group, "0912345678"))["volunteer_id"]
        session = scheduled(SATURDAY, 8, 11, Topic.SMARTPHONE_BASICS)
        await Feed(nc).scheduler(session.session_id, session)
        [proposal] = await proposals(client, hoa, 1)
        await client.post(
            f"/assignments/{proposal['assignment_id']}/accept", headers=volunteer_token(hoa)
        )
        path = feed_path((await issue(client, hoa)).json()["url"])
        clock.advance(timedelta(days=5 + 29))  # the session ended 29 days ago
        recent = await client.get(path)
        clock.advance(timedelta(days=2))
        old = await client.get(path)

    [event] = events_of(recent.content).values()
    assert str(event["SUMMARY"]) == f"Hỗ trợ buổi {label(Topic.SMARTPHONE_BASICS)}"
    assert events_of(old.content) == {}


async def test_revoked_reissued_and_unknown_links_answer_the_same_404(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        hoa = (await new_volunteer(client, group, "0912345678"))["volunteer_id"]
        first = feed_path((await issue(client, hoa)).json()["url"])
        second_link = await issue(client, hoa)
        second = feed_path(second_link.json()["url"])
        old_after_reissue = await client.get(first)
        new_after_reissue = await client.get(second)
        revoked = await client.delete(
            f"/volunteers/{hoa}/calendar-link", headers=volunteer_token(hoa)
        )
        after_revoke = await client.get(second)
        revoked_again = await client.delete(
            f"/volunteers/{hoa}/calendar-link", headers=volunteer_token(hoa)
        )
        unknown = await client.get("/calendars/not-a-secret-we-ever-gave.ics")
        no_suffix = await client.get(second.removesuffix(".ics"))

    assert second_link.headers["cache-control"] == "no-store"
    assert first != second
    assert new_after_reissue.status_code == 200
    assert revoked.status_code == 204
    for gone in (old_after_reissue, after_revoke, unknown, no_suffix):
        assert gone.status_code == 404
        assert gone.headers["content-type"].startswith("application/problem+json")
        assert gone.json()["detail"] == "no calendar at this address"
    assert revoked_again.status_code == 404
    assert revoked_again.headers["content-type"].startswith("application/problem+json")


async def test_only_the_volunteer_or_their_coordinator_may_issue_a_link(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        hoa = (await new_volunteer(client, group, "0912345678"))["volunteer_id"]
        lan = (await new_volunteer(client, group, "0912345679", name="Trần Lan"))["volunteer_id"]
        by_other = await client.post(
            f"/volunteers/{hoa}/calendar-link", headers=volunteer_token(lan)
        )
        revoke_by_other = await client.delete(
            f"/volunteers/{hoa}/calendar-link", headers=volunteer_token(lan)
        )
        elsewhere = token(Role.COORDINATOR, (HOAN_KIEM,))
        by_far_coordinator = await client.post(
            f"/volunteers/{hoa}/calendar-link", headers=elsewhere
        )
        no_token = await client.post(f"/volunteers/{hoa}/calendar-link")
        by_coordinator = await client.post(f"/volunteers/{hoa}/calendar-link", headers=COORDINATOR)
        nobody = await client.post("/volunteers/nobody/calendar-link", headers=COORDINATOR)

    assert by_other.status_code == 403
    assert by_other.headers["content-type"].startswith("application/problem+json")
    assert revoke_by_other.status_code == 403
    assert by_far_coordinator.status_code == 403
    assert no_token.status_code == 401
    assert by_coordinator.status_code == 201
    assert set(by_coordinator.json()) == {"link_id", "url", "issued_at"}
    assert nobody.status_code == 404


async def test_the_stored_events_keep_the_secrets_hash_never_the_secret(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        hoa = (await new_volunteer(client, group, "0912345678"))["volunteer_id"]
        url = (await issue(client, hoa)).json()["url"]
        store = runtime_of(client).store
        stream = await anyio.to_thread.run_sync(
            client.blocking_portal.call, store.load, f"volunteer-{hoa}"
        )

    secret = url.removeprefix(f"{FEED.public_url}/calendars/").removesuffix(".ics")
    stored = b"".join(msgspec.json.encode(item.event) for item in stream.events)
    assert secret.encode() not in stored
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in stored


async def test_a_calendar_app_reads_the_feed_over_real_http_without_a_token(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        hoa = (await new_volunteer(client, group, "0912345678"))["volunteer_id"]
        path = feed_path((await issue(client, hoa)).json()["url"])
    app = create_app(settings, clock=FixedClock(T0), staffing=FAST, feed=FEED)
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as http:
        answer = await http.get(path)

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(answer.content)
    assert str(calendar["VERSION"]) == "2.0"
    assert calendar.walk("VEVENT") == []
