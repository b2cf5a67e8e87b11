"""Live pages over real HTTP: an open page's event stream tells it, by session id only, when a
volunteer answers (a real event of the real volunteers service, heard through NATS), and is
refused outside the account's scope exactly as its page is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar

from services.console.app import create_app
from services.console.live import LivePages
from shared.events.console import AccountRole
from shared.settings import Settings
from shared.waiting import eventually
from shared.web.auth import Role
from tests.api.console.test_pages import session_body
from tests.api.console.test_session_page import help_body
from tests.api.console.test_volunteer_page import new_volunteer
from tests.api.console.world import COORDINATOR_PHONE, HOAN_KIEM, THIEU_TRUNG, World, console_world
from tests.support.services import token
from tests.support.serving import serving

ADMIN = token(Role.ADMIN)
OTHER_PHONE = "+84912000004"


class Stream:
    """An open event stream, read as a browser's EventSource reads it."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self.lines = lines
        self.seen: list[str] = []

    async def until(self, line: str, timeout: float = 20) -> list[str]:
        async with asyncio.timeout(timeout):
            async for got in self.lines:
                self.seen.append(got)
                if got == line:
                    return self.seen
        raise AssertionError(f"the stream ended before {line!r}: {self.seen}")


@asynccontextmanager
async def listening(browser: httpx.AsyncClient, path: str) -> AsyncIterator[Stream]:
    async with browser.stream("GET", path, timeout=30) as answer:
        assert answer.status_code == 200, await answer.aread()
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert answer.headers["x-accel-buffering"] == "no"
        stream = Stream(answer.aiter_lines())
        await stream.until(": listening")  # watching from here on
        yield stream


async def proposed_session(world: World) -> tuple[str, str]:
    """A Saturday session needing one volunteer, and the proposal made to the one who fits."""
    await new_volunteer(world, "0912 111 222", "Trần Văn Nam")
    async with httpx.AsyncClient(base_url=world.scheduler_url, headers=ADMIN) as scheduler:
        body = session_body("Nhà văn hóa thôn 2", "2026-12-05", "08:00:00")
        made = await scheduler.post("/sessions", json=body | {"volunteers_needed": 1})
        assert made.status_code == 201, made.text
    session_id: str = made.json()["session_id"]
    async with httpx.AsyncClient(base_url=world.volunteers_url, headers=ADMIN) as volunteers:

        async def slot() -> dict[str, object]:
            answer = await volunteers.get(f"/slots/{session_id}")
            return answer.json() if answer.status_code == 200 else {}

        found = await eventually(slot, lambda s: bool(s.get("assignments")), timeout=20)
    assignments = found["assignments"]
    assert isinstance(assignments, list)
    return session_id, assignments[0]["assignment_id"]


async def _pages_open(live: LivePages) -> int:
    return live.open_pages


async def hearing(app: Litestar) -> None:
    """The console instance has subscribed to what it hears (not replayed: from now on)."""

    async def subscribed() -> bool:
        listeners = app.state.runtime.listeners
        return bool(listeners) and all(listener.caught_up.is_set() for listener in listeners)

    await eventually(subscribed, bool, timeout=20)


async def test_open_pages_hear_a_volunteers_answer_by_session_id_only(settings: Settings) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        session_id, assignment_id = await proposed_session(world)
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        await hearing(world.app)
        before = (await world.console.get(f"/sessions/{session_id}/card")).text

        async with (
            listening(world.console, f"/sessions/{session_id}/events") as session_page,
            listening(world.console, f"/weekend/events?commune={THIEU_TRUNG}") as weekend_page,
        ):
            async with httpx.AsyncClient(base_url=world.volunteers_url, headers=ADMIN) as vols:
                accepted = await vols.post(f"/assignments/{assignment_id}/accept")
                assert accepted.status_code == 200, accepted.text
            told = await session_page.until(f"data: {session_id}")
            # The card says staffed once the scheduler has recorded it, which the page is told
            # of too (after the volunteers' own event, or with it): re-read the card on each
            # notice, as the browser does, until it does.
            card = ""
            for _ in range(5):
                weekend_told = await weekend_page.until(f"data: {session_id}")
                card = (await world.console.get(f"/sessions/{session_id}/card")).text
                if "Đủ người" in card:
                    break
            roster = (await world.console.get(f"/sessions/{session_id}/volunteers")).text
        live = world.app.state.service.live
        assert live.open_pages == 2
        # The browser gone, its page is forgotten: nothing stays watched.
        await eventually(lambda: _pages_open(live), lambda count: count == 0, timeout=10)

    assert "event: changed" in told
    assert "event: changed" in weekend_told
    said = "\n".join(told + weekend_told)
    for personal in ("Trần Văn Nam", "0912", "+84", "111 222", "Nhà văn hóa"):
        assert personal not in said
    assert "Đang chờ tình nguyện viên trả lời" in before
    assert "0 sẽ đến, 1 đã được mời nhưng chưa trả lời" in before
    assert f'id="session-{session_id}"' in card
    assert "Đủ người" in card
    assert 'class="asked"' not in card
    assert 'id="volunteers-section"' in roster
    assert "Trần Văn Nam" in roster
    assert "Sẽ đến" in roster
    assert "<html" not in card
    assert "<html" not in roster


async def test_this_weekend_hears_a_new_session_then_its_booking_and_cancellation(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        await hearing(world.app)
        weekend = f"/weekend/events?commune={THIEU_TRUNG}"
        list_before = (await world.console.get(f"/weekend/sessions?commune={THIEU_TRUNG}")).text
        async with (
            listening(world.console, weekend) as empty_weekend,
            httpx.AsyncClient(base_url=world.scheduler_url, headers=ADMIN) as scheduler,
        ):
            body = session_body("Nhà văn hóa thôn 5", "2026-12-05", "08:00:00")
            made = await scheduler.post("/sessions", json=body)
            assert made.status_code == 201, made.text
            session_id = made.json()["session_id"]
            listed = await empty_weekend.until("data: sessions")
            list_after = (await world.console.get(f"/weekend/sessions?commune={THIEU_TRUNG}")).text

            # The list re-read, the browser opens the stream again: it watches the new session.
            async with (
                listening(world.console, weekend) as weekend_page,
                listening(world.console, f"/sessions/{session_id}/events") as session_page,
            ):
                asked = await scheduler.post(
                    "/help-requests", json=help_body("Lê Thị Hoa", "0912 345 678")
                )
                assert asked.status_code in (200, 201, 202), asked.text
                booked = await weekend_page.until(f"data: {session_id}")
                await session_page.until(f"data: {session_id}")
                booked_facts = (await world.console.get(f"/sessions/{session_id}/facts")).text
                cancelled = await scheduler.post(
                    f"/sessions/{session_id}/cancel", json={"reason": "Mất điện cả xã"}
                )
                assert cancelled.status_code == 200, cancelled.text
                told = await session_page.until(f"data: {session_id}")
                card = (await world.console.get(f"/sessions/{session_id}/card")).text
                facts = (await world.console.get(f"/sessions/{session_id}/facts")).text

    assert 'id="no-sessions"' in list_before
    assert "event: listed" in listed
    assert "data: sessions" in listed
    assert f'id="session-{session_id}"' in list_after
    assert "<html" not in list_after
    assert "event: changed" in booked
    assert "1 / 12" in booked_facts
    assert told.count(f"data: {session_id}") == 2  # booked, then cancelled
    assert "Đã hủy" in card
    assert "Đã hủy" in facts
    assert "Mất điện cả xã" in facts
    assert "<html" not in facts
    said = "\n".join(listed + booked + told)
    for personal in ("Lê Thị Hoa", "0912", "+84", "345 678", "Nhà văn hóa", "Mất điện"):
        assert personal not in said


async def test_every_console_instance_tells_the_pages_it_holds(settings: Settings) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        session_id, assignment_id = await proposed_session(world)
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        # A second instance on the same database and NATS, as compose runs console-1 and -2;
        # the browser's cookie opens it too.
        other = create_app(settings, console=world.app.state.service.settings, clock=world.clock)
        async with (
            serving(other) as url,
            httpx.AsyncClient(base_url=url, cookies=world.console.cookies) as second,
        ):
            await hearing(world.app)
            await hearing(other)
            path = f"/sessions/{session_id}/events"
            async with listening(world.console, path) as first, listening(second, path) as also:
                async with httpx.AsyncClient(base_url=world.volunteers_url, headers=ADMIN) as vols:
                    accepted = await vols.post(f"/assignments/{assignment_id}/accept")
                    assert accepted.status_code == 200, accepted.text
                await first.until(f"data: {session_id}")
                await also.until(f"data: {session_id}")


async def test_an_idle_stream_is_kept_open_by_comments(settings: Settings) -> None:
    async with console_world(settings, with_scheduler=True, live_keep_alive=0.2) as world:
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        async with listening(world.console, f"/weekend/events?commune={THIEU_TRUNG}") as idle:
            seen = await idle.until(": keep-alive", timeout=10)

    assert not any(line.startswith("data:") for line in seen)


async def test_a_coordinator_outside_the_scope_may_not_listen_nor_read_the_parts(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        async with httpx.AsyncClient(base_url=world.scheduler_url, headers=ADMIN) as scheduler:
            made = await scheduler.post(
                "/sessions", json=session_body("Nhà văn hóa thôn 2", "2026-12-05", "08:00:00")
            )
            assert made.status_code == 201, made.text
        session_id = made.json()["session_id"]
        await world.add_account(OTHER_PHONE, AccountRole.COORDINATOR, (HOAN_KIEM,))
        await world.sign_in(OTHER_PHONE)
        answers = {
            path: await world.console.get(path)
            for path in (
                f"/sessions/{session_id}/events",
                f"/weekend/events?commune={THIEU_TRUNG}",
                f"/sessions/{session_id}/card",
                f"/sessions/{session_id}/volunteers",
            )
        }
        await world.console.post("/sign-out", data={"_csrf_token": await world.csrf("/weekend")})
        signed_out = await world.console.get(f"/sessions/{session_id}/events")

    assert {path: answer.status_code for path, answer in answers.items()} == dict.fromkeys(
        answers, 403
    )
    assert all("Nhà văn hóa" not in answer.text for answer in answers.values())
    assert signed_out.status_code == 302
    assert signed_out.headers["location"] == "/sign-in"
