"""Page 3, a session: residents with their needs, the waitlist, volunteers (the volunteers
service is away in this world, and the page says so), all within the account's scope."""

from __future__ import annotations

import httpx

from shared.events.console import AccountRole
from shared.settings import Settings
from shared.waiting import eventually
from shared.web.auth import Role
from tests.api.console.test_pages import session_body
from tests.api.console.world import (
    COORDINATOR_PHONE,
    HOAN_KIEM,
    THIEU_TRUNG,
    VOLUNTEERS_AWAY,
    console_world,
)
from tests.support.services import token

OTHER_PHONE = "+84912000003"


def help_body(name: str, phone: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "resident_name": name,
        "phone": phone,
        "commune_code": THIEU_TRUNG,
        "topics": ["vneid_activation"],
        "birth_year": 1950,
        "consent_given": True,
        "sensitive_consent_given": True,
    }
    return body | changes


async def test_a_session_shows_its_residents_needs_and_waitlist_within_scope(
    settings: Settings,
) -> None:
    async with console_world(
        settings, with_scheduler=True, volunteers_url=VOLUNTEERS_AWAY
    ) as world:
        async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
            body = session_body("Nhà văn hóa thôn 2", "2026-12-05", "08:00:00") | {
                "capacity": 1,
                "accessibility": ["step_free"],
            }
            made = await scheduler.post("/sessions", json=body, headers=token(Role.ADMIN))
            assert made.status_code == 201, made.text
            session_id = made.json()["session_id"]
            for name, phone, needs in [
                ("Lê Thị Hoa", "0912 345 678", ["step_free"]),
                ("Trần Văn Bình", "0912 345 679", []),
            ]:
                asked = await scheduler.post(
                    "/help-requests",
                    json=help_body(name, phone, accessibility_needs=needs),
                    headers=token(Role.ADMIN),
                )
                assert asked.status_code in (200, 201, 202), asked.text
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.add_account(OTHER_PHONE, AccountRole.COORDINATOR, (HOAN_KIEM,))
        await world.sign_in(COORDINATOR_PHONE)

        weekend = (await world.console.get("/weekend")).text
        shown = await world.console.get(f"/sessions/{session_id}")
        english = (await world.console.get(f"/sessions/{session_id}?lang=en")).text
        missing = await world.console.get("/sessions/no-such-session?lang=vi")

        await world.console.post("/sign-out", data={"_csrf_token": await world.csrf("/weekend")})
        await world.sign_in(OTHER_PHONE)
        refused = await world.console.get(f"/sessions/{session_id}")

    assert f'href="/sessions/{session_id}"' in weekend
    assert shown.status_code == 200, shown.text
    page = shown.text
    assert "Thứ Bảy, 05/12/2026" in page
    assert "Lê Thị Hoa" in page
    assert "+84*****5678" in page
    assert "0912 345 678" not in page
    assert "+84912345678" not in page
    assert "kích hoạt VNeID" in page
    assert "lối đi không bậc thềm" in page
    waitlist = page[page.index('id="waitlist-heading"') :]
    assert "Trần Văn Bình" in waitlist  # one place: the second resident waits
    assert "Danh sách tình nguyện viên đang không trả lời" in page
    assert "Residents" in english
    assert "Waiting for a place" in english
    assert missing.status_code == 404
    assert refused.status_code == 403
    assert "Lê Thị Hoa" not in refused.text
    assert "Nhà văn hóa" not in refused.text


async def test_with_the_volunteers_service_up_the_page_says_nobody_was_asked_yet(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
            body = session_body("Nhà văn hóa thôn 2", "2026-12-05", "08:00:00")
            made = await scheduler.post("/sessions", json=body, headers=token(Role.ADMIN))
            assert made.status_code == 201, made.text
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        shown = await world.console.get(f"/sessions/{made.json()['session_id']}")

    assert shown.status_code == 200, shown.text
    assert "Chưa mời tình nguyện viên nào." in shown.text
    assert 'id="volunteers-unavailable"' not in shown.text


async def test_a_volunteer_asked_for_the_session_and_why_in_vietnamese(settings: Settings) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        coordinator = token(Role.COORDINATOR, (THIEU_TRUNG,))
        async with httpx.AsyncClient(base_url=world.volunteers_url) as volunteers:
            group = await volunteers.post(
                "/groups",
                json={"name": "Tổ CNS thôn 3", "commune_code": THIEU_TRUNG},
                headers=coordinator,
            )
            assert group.status_code == 201, group.text
            joined = await volunteers.post(
                "/volunteers",
                json={
                    "group_id": group.json()["group_id"],
                    "consent_given": True,
                    "name": "Trần Văn Nam",
                    "phone": "0912 111 222",
                    "skills": ["vneid_activation"],
                    "availability": {"saturday": ["morning"]},
                },
                headers=coordinator,
            )
            assert joined.status_code == 201, joined.text
        async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
            body = session_body("Nhà văn hóa thôn 2", "2026-12-05", "08:00:00")
            made = await scheduler.post("/sessions", json=body, headers=token(Role.ADMIN))
            assert made.status_code == 201, made.text
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        path = f"/sessions/{made.json()['session_id']}"

        async def shown() -> str:
            return (await world.console.get(path)).text

        page = await eventually(shown, lambda text: 'id="volunteers"' in text, timeout=20)

    assert "Đã mời, chưa trả lời" in page
    assert "Trần Văn Nam" in page
    assert "hướng dẫn kích hoạt VNeID" in page or "cần kỹ năng" in page
    assert "cùng xã" in page
