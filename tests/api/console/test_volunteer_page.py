"""A volunteer's own home in the console: coming assignments to accept or decline, their usual
week, their hours and a calendar link shown once, all through the volunteers service's API."""

from __future__ import annotations

from typing import Any

import httpx

from shared.events.console import AccountRole
from shared.settings import Settings
from shared.waiting import eventually
from shared.web.auth import Role
from tests.api.console.test_pages import session_body
from tests.api.console.world import (
    COORDINATOR_PHONE,
    FEED_URL,
    THIEU_TRUNG,
    VOLUNTEER_PHONE,
    World,
    console_world,
)
from tests.support.services import token

ADMIN = token(Role.ADMIN)


async def new_volunteer(world: World, phone: str, name: str) -> str:
    async with httpx.AsyncClient(base_url=world.volunteers_url, headers=ADMIN) as volunteers:
        group = await volunteers.post(
            "/groups", json={"name": "Tổ CNS thôn 3", "commune_code": THIEU_TRUNG}
        )
        assert group.status_code == 201, group.text
        made = await volunteers.post(
            "/volunteers",
            json={
                "group_id": group.json()["group_id"],
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


async def as_volunteer(world: World) -> str:
    volunteer_id = await new_volunteer(world, VOLUNTEER_PHONE, "Lê Thị Hoa")
    await world.add_account(
        VOLUNTEER_PHONE, AccountRole.VOLUNTEER, name="Lê Thị Hoa", volunteer_id=volunteer_id
    )
    await world.sign_in(VOLUNTEER_PHONE)
    return volunteer_id


async def profile(world: World, volunteer_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=world.volunteers_url, headers=ADMIN) as volunteers:
        found: dict[str, Any] = (await volunteers.get(f"/volunteers/{volunteer_id}")).json()
        return found


async def test_a_volunteer_lands_on_their_own_home_and_changes_their_week(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        volunteer_id = await as_volunteer(world)
        away = {"on": "2026-12-12", "available": False, "half_days": ["morning"]}
        async with httpx.AsyncClient(base_url=world.volunteers_url, headers=ADMIN) as api:
            set_away = await api.put(
                f"/volunteers/{volunteer_id}/availability",
                json={"availability": {"saturday": ["morning"]}, "exceptions": [away]},
            )
            assert set_away.status_code == 200, set_away.text
        home = await world.console.get("/")
        page = await world.console.get("/me")
        token_ = await world.csrf("/me")
        saved = await world.console.post(
            "/me/availability",
            data={"availability": ["sunday:afternoon", "saturday:morning"], "_csrf_token": token_},
        )
        after = await profile(world, volunteer_id)
        forged = await world.console.post(
            "/me/availability",
            data={"availability": ["funday:morning"], "_csrf_token": token_},
        )
        no_csrf = await world.console.post("/me/availability", data={"availability": []})
        unchanged = await profile(world, volunteer_id)
        shown = (await world.console.get("/me")).text

    assert home.headers["location"] == "/me"
    assert page.status_code == 200
    assert "Phân công của tôi" in page.text
    assert 'value="saturday:morning" checked' in page.text
    assert 'value="sunday:morning" checked' not in page.text
    assert "Chưa có phân công nào sắp tới." in page.text
    assert "0 giờ trong 0 lượt phân công" in page.text
    assert saved.status_code == 302
    assert after["availability"]["sunday"] == ["afternoon"]
    assert after["exceptions"] == [away]  # the week's dated exceptions are kept
    assert forged.status_code == 400
    assert "Chỉ đánh dấu các ngày và buổi có trong biểu mẫu." in forged.text
    assert no_csrf.status_code == 403
    assert unchanged["availability"] == after["availability"]
    assert 'value="sunday:afternoon" checked' in shown


async def test_the_calendar_link_is_shown_once_and_can_be_revoked(settings: Settings) -> None:
    async with console_world(settings) as world:
        await as_volunteer(world)
        csrf = await world.csrf("/me")
        issued = await world.console.post("/me/calendar-link", data={"_csrf_token": csrf})
        again = (await world.console.get("/me")).text
        revoked = await world.console.post("/me/calendar-link/revoke", data={"_csrf_token": csrf})
        twice = await world.console.post("/me/calendar-link/revoke", data={"_csrf_token": csrf})

    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    assert f'value="{FEED_URL}/calendars/' in issued.text
    assert FEED_URL + "/calendars/" not in again
    assert "Đã thu hồi liên kết" in revoked.text
    assert "Bạn chưa có liên kết nào." in twice.text


async def test_a_volunteer_accepts_their_assignment_and_cannot_answer_anothers(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        volunteer_id = await as_volunteer(world)
        other = await new_volunteer(world, "+84912000004", "Trần Văn Bình")
        async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
            body = session_body("Nhà văn hóa thôn 2", "2026-12-05", "08:00:00")
            made = await scheduler.post("/sessions", json=body, headers=ADMIN)
            assert made.status_code == 201, made.text

        async def assignments_of(someone: str) -> list[dict[str, Any]]:
            async with httpx.AsyncClient(base_url=world.volunteers_url, headers=ADMIN) as api:
                found: list[dict[str, Any]] = (
                    await api.get(f"/volunteers/{someone}/assignments")
                ).json()
                return found

        mine = (await eventually(lambda: assignments_of(volunteer_id), bool))[0]
        theirs = (await eventually(lambda: assignments_of(other), bool))[0]
        listed = (await world.console.get("/me")).text
        csrf = await world.csrf("/me")
        accept = f"/me/assignments/{mine['assignment_id']}/accept"
        accepted = await world.console.post(accept, data={"_csrf_token": csrf})
        after = (await world.console.get("/me")).text
        again = await world.console.post(accept, data={"_csrf_token": csrf})
        decline_theirs = f"/me/assignments/{theirs['assignment_id']}/decline"
        forged = await world.console.post(decline_theirs, data={"_csrf_token": csrf})
        unknown = await world.console.post(
            "/me/assignments/no-such/accept", data={"_csrf_token": csrf}
        )
        still_theirs = (await assignments_of(other))[0]

        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        not_a_volunteer = await world.console.get("/me")

    assert f'id="accept-{mine["assignment_id"]}"' in listed
    assert "Thứ Bảy, 05/12/2026 08:00" in listed
    assert "Đang chờ bạn trả lời" in listed
    assert accepted.status_code == 302
    assert "Đã nhận" in after
    assert f'id="accept-{mine["assignment_id"]}"' not in after
    assert again.status_code == 409
    assert "Không thể trả lời phân công này nữa" in again.text
    assert "Traceback" not in again.text
    assert forged.status_code == 403
    assert still_theirs["status"] == "proposed"
    assert unknown.status_code == 404
    assert not_a_volunteer.status_code == 403


async def test_a_volunteers_service_that_does_not_answer_is_a_clear_message(
    settings: Settings,
) -> None:
    async with console_world(settings, volunteers_url="http://127.0.0.1:9") as world:
        await world.add_account(
            VOLUNTEER_PHONE, AccountRole.VOLUNTEER, name="Lê Thị Hoa", volunteer_id="v-1"
        )
        await world.sign_in(VOLUNTEER_PHONE)
        home = await world.console.get("/me")
        csrf = await world.csrf("/sign-in")
        accept = await world.console.post("/me/assignments/a-1/accept", data={"_csrf_token": csrf})
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        volunteers = await world.console.get("/volunteers")

    assert home.status_code == 503
    assert "Một phần của hệ thống chưa phản hồi" in home.text
    assert accept.status_code == 503
    assert volunteers.status_code == 503
    assert "Dịch vụ tình nguyện viên chưa trả lời" in volunteers.text
    for answer in (home, accept, volunteers):
        assert "Traceback" not in answer.text


async def test_a_volunteer_lists_adds_and_removes_dates_that_differ_from_their_week(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        volunteer_id = await as_volunteer(world)
        empty = (await world.console.get("/me")).text
        csrf = await world.csrf("/me")
        away = await world.console.post(
            "/me/exceptions",
            data={
                "on": "2026-12-12",
                "kind": "away",
                "half_days": ["morning", "afternoon"],
                "_csrf_token": csrf,
            },
        )
        free = await world.console.post(
            "/me/exceptions",
            data={
                "on": "2026-12-09",
                "kind": "free",
                "half_days": ["evening"],
                "_csrf_token": csrf,
            },
        )
        again = await world.console.post(
            "/me/exceptions",
            data={
                "on": "2026-12-09",
                "kind": "free",
                "half_days": ["evening"],
                "_csrf_token": csrf,
            },
        )
        both = await profile(world, volunteer_id)
        listed = (await world.console.get("/me")).text
        removed = await world.console.post(
            "/me/exceptions/remove",
            data={
                "on": "2026-12-12",
                "kind": "away",
                "half_days": ["morning", "afternoon"],
                "_csrf_token": csrf,
            },
        )
        left = await profile(world, volunteer_id)

    assert "Chưa có ngày nào khác với tuần thường lệ của bạn." in empty
    assert 'id="exception-form"' in empty
    assert (away.status_code, free.status_code, again.status_code) == (302, 302, 302)
    assert both["exceptions"] == [
        {"on": "2026-12-09", "available": True, "half_days": ["evening"]},
        {"on": "2026-12-12", "available": False, "half_days": ["morning", "afternoon"]},
    ]
    assert both["availability"]["saturday"] == ["morning"]  # the usual week stays
    assert 'id="exception-2026-12-12-away"' in listed
    assert "Thứ Bảy, 12/12/2026: vắng" in listed
    assert "Thứ Tư, 09/12/2026: rảnh" in listed
    assert removed.status_code == 302
    assert left["exceptions"] == [{"on": "2026-12-09", "available": True, "half_days": ["evening"]}]


async def test_a_wrong_or_contradictory_date_is_refused_beside_its_field_and_changes_nothing(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        volunteer_id = await as_volunteer(world)
        csrf = await world.csrf("/me")

        async def add(on: str, kind: str, *parts: str) -> httpx.Response:
            return await world.console.post(
                "/me/exceptions",
                data={"on": on, "kind": kind, "half_days": list(parts), "_csrf_token": csrf},
            )

        first = await add("2026-12-12", "away", "morning")
        no_date = await add("", "away", "morning")
        past = await add("2026-12-01", "away", "morning")
        no_part = await add("2026-12-12", "free")
        opposite = await add("2026-12-12", "free", "morning")
        no_csrf = await world.console.post(
            "/me/exceptions", data={"on": "2026-12-13", "kind": "away", "half_days": "morning"}
        )
        stated = await profile(world, volunteer_id)

    assert first.status_code == 302
    assert no_date.status_code == 400
    assert "Hãy chọn một ngày." in no_date.text
    assert 'aria-describedby="exception-on-error"' in no_date.text
    assert "Hãy chọn hôm nay hoặc một ngày sau." in past.text
    assert no_part.status_code == 400
    assert "Hãy đánh dấu ít nhất một buổi." in no_part.text
    assert 'name="on" value="2026-12-12"' in no_part.text  # shown back as written
    assert 'value="free" checked' in no_part.text
    assert 'value="morning" checked' not in no_part.text.split('id="exception-form"')[1]
    assert opposite.status_code == 400
    assert "Ngày đó đã ghi điều ngược lại" in opposite.text
    assert no_csrf.status_code == 403
    assert stated["exceptions"] == [
        {"on": "2026-12-12", "available": False, "half_days": ["morning"]}
    ]
