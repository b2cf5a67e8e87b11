"""Help requests from the console: filed on a resident's behalf with their consent, booked or
waiting or a home visit, listed for the commune; refusals beside the field; scope enforced."""

from __future__ import annotations

import httpx
import msgspec

from shared.events.console import AccountRole
from shared.settings import Settings
from shared.web.auth import Role
from tests.api.console.test_pages import session_body
from tests.api.console.test_schedule import beside
from tests.api.console.world import (
    COORDINATOR_PHONE,
    HOAN_KIEM,
    THIEU_TRUNG,
    World,
    console_world,
)
from tests.support.services import token


def form(**changes: str | list[str]) -> dict[str, str | list[str]]:
    base: dict[str, str | list[str]] = {
        "commune_code": THIEU_TRUNG,
        "resident_name": "Lê Thị Hoa",
        "phone": "0912 345 001",
        "topics": ["vneid_activation"],
        "birth_year": "1950",
        "consent_given": "yes",
    }
    return base | changes


async def file(world: World, data: dict[str, str | list[str]]) -> httpx.Response:
    token_ = await world.csrf("/help-requests")
    return await world.console.post("/help-requests", data=data | {"_csrf_token": token_})


async def waiting_in(world: World, commune: str) -> dict[str, list[dict[str, object]]]:
    async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
        answer = await scheduler.get(f"/communes/{commune}/waiting", headers=token(Role.ADMIN))
    assert answer.status_code == 200, answer.text
    found: dict[str, list[dict[str, object]]] = msgspec.json.decode(answer.content)
    return found


async def coordinator(world: World) -> None:
    await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
    await world.sign_in(COORDINATOR_PHONE)


async def test_requests_filed_for_residents_are_booked_waiting_or_home_visits(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
            made = await scheduler.post(
                "/sessions",
                json=session_body("Nhà văn hóa thôn 2", "2026-12-05", "08:00:00") | {"capacity": 1},
                headers=token(Role.ADMIN),
            )
            assert made.status_code == 201, made.text
        await coordinator(world)
        blank = await world.console.get("/help-requests")
        booked = await file(world, form())
        waiting = await file(world, form(resident_name="Trần Văn Bình", phone="0912 345 002"))
        visit = await file(
            world,
            form(
                resident_name="Phạm Thị Cúc", phone="0912345003", home_visit="yes", address="Thôn 1"
            ),
        )
        listed = await world.console.get("/help-requests")
        queue = await waiting_in(world, THIEU_TRUNG)

    assert blank.status_code == 200
    assert 'id="help-request-form"' in blank.text
    assert 'for="consent_given"' in blank.text
    assert booked.status_code == 200, booked.text
    assert "Đã gửi yêu cầu cho Lê Thị Hoa" in booked.text
    assert "Nhà văn hóa thôn 2, Thứ Bảy, 05/12/2026 08:00" in booked.text
    assert "Chưa còn chỗ trống" in waiting.text
    assert "Sẽ sắp xếp một buổi hỗ trợ tại nhà." in visit.text
    page = listed.text
    assert "Trần Văn Bình" in page
    assert "Lê Thị Hoa" not in page  # booked: only who still waits is listed
    assert "+84*****5002" in page
    assert "0912345002" not in page  # phones masked
    assert "Chưa thống nhất thời gian" in page  # the home visit, no time agreed yet
    assert [w["name"] for w in queue["waiting"]] == ["Trần Văn Bình"]
    assert len(queue["home_visits"]) == 1
    visit_card = page.split('id="home-visits"')[1]
    assert "<h3>Phạm Thị Cúc</h3>" in visit_card  # whose home the visit is to


async def test_no_consent_or_a_refused_field_is_named_beside_it_and_files_nothing(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await coordinator(world)
        no_consent = await file(world, form(consent_given=""))
        wrong_phone = await file(world, form(phone="12345"))
        too_old = await file(world, form(birth_year="1800"))  # refused by the scheduler
        no_address = await file(world, form(home_visit="yes"))
        queue = await waiting_in(world, THIEU_TRUNG)

    assert no_consent.status_code == 400
    assert (
        beside(no_consent.text, "consent_given")
        == "Người dân phải đồng ý cho chúng tôi lưu các thông tin này."
    )
    assert 'value="Lê Thị Hoa"' in no_consent.text  # the form comes back as typed
    assert beside(wrong_phone.text, "phone") == "Hãy ghi số di động Việt Nam, ví dụ 0912 345 678."
    assert too_old.status_code == 400
    assert beside(too_old.text, "birth_year") == "Ghi năm sinh, ví dụ 1950, hoặc để trống."
    assert beside(no_address.text, "address") == "Hỗ trợ tại nhà cần có địa chỉ của người dân."
    assert queue == {"waiting": [], "home_visits": []}


async def test_another_commune_is_refused_by_url_and_by_forged_form(settings: Settings) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await coordinator(world)
        by_url = await world.console.get(f"/help-requests?commune={HOAN_KIEM}")
        forged = await file(world, form(commune_code=HOAN_KIEM))
        queue = await waiting_in(world, HOAN_KIEM)

    assert by_url.status_code == 403
    assert forged.status_code == 403
    assert queue == {"waiting": [], "home_visits": []}


async def test_sensitive_needs_need_the_second_checkbox_and_are_recorded_with_it(
    settings: Settings,
) -> None:
    sensitive = {"minority": "yes", "preferred_language": "hmn", "disabled": "yes"}
    async with console_world(settings, with_scheduler=True) as world:
        await coordinator(world)
        blank = await world.console.get("/help-requests")
        refused = await file(world, form(**sensitive))
        nothing_filed = await waiting_in(world, THIEU_TRUNG)
        filed = await file(
            world,
            form(
                **sensitive,
                accessibility_needs=["minority_language_interpreter"],
                sensitive_consent_given="yes",
            ),
        )
        queue = await waiting_in(world, THIEU_TRUNG)
        [waiting] = queue["waiting"]
        async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
            shown = await scheduler.get(
                f"/help-requests/{waiting['request_id']}", headers=token(Role.ADMIN)
            )

    assert 'for="sensitive_consent_given"' in blank.text
    assert "đồng ý rõ ràng" in blank.text  # the wording help-v1 shows, in Vietnamese
    assert refused.status_code == 400
    assert (
        beside(refused.text, "sensitive_consent_given")
        == "Người dân phải đồng ý rõ ràng cho chúng tôi lưu các thông tin nhạy cảm."
    )
    assert nothing_filed == {"waiting": [], "home_visits": []}
    assert filed.status_code == 200, filed.text
    consent = shown.json()["consent"]
    assert (consent["channel"], consent["wording_version"], consent["sensitive"]) == (
        "console",
        "help-v1",
        True,
    )
    assert consent["recorded_by"] == "coordinator"
