"""Volunteers, for coordinators: a commune's groups and members, CSV roster import with its
row-by-row report, pause and resume, hours; only within the account's scope."""

from __future__ import annotations

from typing import Any

import httpx

from shared.events.console import AccountRole
from shared.settings import Settings
from shared.web.auth import Role
from tests.api.console.world import COORDINATOR_PHONE, HOAN_KIEM, THIEU_TRUNG, World, console_world
from tests.support.services import token

ADMIN = token(Role.ADMIN)
ROSTER = """name,phone,village,skills,languages,saturday,sunday,monthly_limit,consent
Lò Văn Minh,0912 000 101,Bản Sại,vneid_activation,vi,morning,both,3,yes
Hà Thị Lan,+84912000102,Thôn 3,cashless_payment,,afternoon,,,yes
"""
WRONG = """name,phone,village,skills,languages,saturday,sunday,monthly_limit,consent
Lò Văn Minh,0912 000 201,Bản Sại,vneid_activation,vi,morning,both,3,yes
,12345,Thôn 3,flying,,afternoon,,,yes
"""


async def new_group(world: World, commune: str, name: str) -> str:
    async with httpx.AsyncClient(base_url=world.volunteers_url, headers=ADMIN) as volunteers:
        made = await volunteers.post("/groups", json={"name": name, "commune_code": commune})
        assert made.status_code == 201, made.text
        group_id: str = made.json()["group_id"]
        return group_id


async def members(world: World, commune: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=world.volunteers_url, headers=ADMIN) as volunteers:
        found: list[dict[str, Any]] = (
            await volunteers.get(f"/communes/{commune}/volunteers")
        ).json()
        return found


async def test_a_coordinator_imports_a_roster_and_pauses_and_resumes_a_member(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        group = await new_group(world, THIEU_TRUNG, "Tổ CNS thôn 3")
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        empty = (await world.console.get("/volunteers")).text
        csrf = await world.csrf("/volunteers")

        def upload(text: str) -> dict[str, Any]:
            return {"roster": ("roster.csv", text.encode(), "text/csv")}

        wrong = await world.console.post(
            f"/groups/{group}/roster", data={"_csrf_token": csrf}, files=upload(WRONG)
        )
        after_wrong = await members(world, THIEU_TRUNG)
        no_file = await world.console.post(
            f"/groups/{group}/roster", data={"_csrf_token": csrf}, files=upload("")
        )
        imported = await world.console.post(
            f"/groups/{group}/roster", data={"_csrf_token": csrf}, files=upload(ROSTER)
        )
        listed = await members(world, THIEU_TRUNG)
        minh = next(m for m in listed if m["name"] == "Lò Văn Minh")["volunteer_id"]
        paused = await world.console.post(f"/volunteers/{minh}/pause", data={"_csrf_token": csrf})
        after_pause = (await world.console.get("/volunteers")).text
        resumed = await world.console.post(f"/volunteers/{minh}/resume", data={"_csrf_token": csrf})
        after_resume = await members(world, THIEU_TRUNG)

    assert "Tổ CNS thôn 3" in empty
    assert "Chưa có thành viên nào." in empty
    assert "Số giờ tình nguyện viên của xã đã đóng góp: 0" in empty
    assert wrong.status_code == 400
    assert "Chưa nhập ai" in wrong.text
    assert 'id="roster-report"' in wrong.text
    assert "dòng 3" in wrong.text
    assert "Traceback" not in wrong.text
    assert after_wrong == []
    assert no_file.status_code == 400
    assert "Hãy chọn một tệp CSV" in no_file.text
    assert imported.status_code == 200
    assert "Đã nhập 2 tình nguyện viên." in imported.text
    assert "Lò Văn Minh (Bản Sại)" in imported.text
    assert paused.status_code == 302
    assert f'id="resume-{minh}"' in after_pause
    assert resumed.status_code == 302
    assert all(not m["paused"] for m in after_resume)


async def test_a_coordinator_cannot_see_or_change_another_communes_volunteers(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        elsewhere = await new_group(world, HOAN_KIEM, "Tổ CNS Hoàn Kiếm")
        async with httpx.AsyncClient(base_url=world.volunteers_url, headers=ADMIN) as api:
            made = await api.post(
                "/volunteers",
                json={
                    "group_id": elsewhere,
                    "name": "Phạm Văn Cường",
                    "phone": "+84912000301",
                    "consent_given": True,
                },
            )
            assert made.status_code == 201, made.text
            outsider = made.json()["volunteer_id"]
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        csrf = await world.csrf("/volunteers")
        seen = await world.console.get(f"/volunteers?commune={HOAN_KIEM}")
        paused = await world.console.post(
            f"/volunteers/{outsider}/pause", data={"_csrf_token": csrf}
        )
        roster = await world.console.post(
            f"/groups/{elsewhere}/roster",
            data={"_csrf_token": csrf},
            files={"roster": ("roster.csv", ROSTER.encode(), "text/csv")},
        )
        unknown = await world.console.get("/volunteers?commune=99999")
        still = await members(world, HOAN_KIEM)

    assert seen.status_code == 403
    assert paused.status_code == 403
    assert roster.status_code == 403
    assert unknown.status_code == 400
    assert [m["paused"] for m in still] == [False]
