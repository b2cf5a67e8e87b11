"""Scheduling from the console: a session, a weekly series previewed with its holidays named
and then confirmed, refusals shown beside their field in Vietnamese, and scope enforced."""

from __future__ import annotations

import re

import httpx
import msgspec

from shared.events.console import AccountRole
from shared.settings import Settings
from shared.web.auth import Role
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
        "venue_name": "Nhà văn hóa thôn 2",
        "venue_address": "xã Thiệu Trung",
        "local_date": "2026-12-05",
        "start_local": "08:00",
        "end_local": "11:00",
        "topics": ["vneid_activation", "cashless_payment"],
        "capacity": "20",
        "volunteers_needed": "2",
        "weeks": "4",
    }
    return base | changes


async def post(world: World, data: dict[str, str | list[str]]) -> httpx.Response:
    data = data | {"_csrf_token": await world.csrf("/schedule")}
    return await world.console.post("/schedule", data=data)


async def scheduled_days(
    world: World, first: str, last: str, commune: str = THIEU_TRUNG
) -> list[str]:
    async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
        answer = await scheduler.get(
            "/sessions",
            params={"commune": commune, "from": first, "to": last},
            headers=token(Role.ADMIN),
        )
    assert answer.status_code == 200, answer.text
    return sorted(s["local_date"] for s in msgspec.json.decode(answer.content))


def beside(page: str, field: str) -> str:
    """The message shown beside a field (its `<p class="error" id="...-error">`)."""
    found = re.search(rf'<p class="error" id="{field}-error">([^<]+)</p>', page)
    assert found is not None, page
    assert f'aria-describedby="{field}-error"' in page
    return found.group(1)


async def signed_in_coordinator(world: World) -> None:
    await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
    await world.sign_in(COORDINATOR_PHONE)


async def test_a_coordinator_schedules_a_session_on_saturday(settings: Settings) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await signed_in_coordinator(world)
        blank = await world.console.get("/schedule")
        done = await post(world, form())
        days = await scheduled_days(world, "2026-12-01", "2026-12-31")

    assert blank.status_code == 200
    assert 'id="schedule-form"' in blank.text
    assert 'for="venue_name"' in blank.text
    assert done.status_code == 200, done.text
    assert "Đã lên lịch" in done.text
    assert "Thứ Bảy, 05/12/2026" in done.text
    assert days == ["2026-12-05"]


async def test_refusals_are_shown_beside_their_field_in_vietnamese_and_change_nothing(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await signed_in_coordinator(world)
        wednesday = await post(world, form(local_date="2026-12-09"))
        backwards = await post(world, form(start_local="11:00", end_local="08:00"))
        too_many = await post(world, form(capacity="900"))
        blank = await post(world, form(venue_name="", topics=[], start_local="8h"))
        days = await scheduled_days(world, "2026-12-01", "2026-12-31")

    # The scheduler's refusals (field and English type), told in Vietnamese by the console.
    assert wednesday.status_code == 400
    assert (
        beside(wednesday.text, "local_date") == "Các buổi được tổ chức vào Thứ Bảy hoặc Chủ Nhật."
    )
    assert beside(backwards.text, "end_local") == "Giờ kết thúc phải sau giờ bắt đầu."
    assert beside(too_many.text, "capacity") == "Ghi số người dân tham gia được: từ 1 đến 500."
    assert 'value="900"' in too_many.text  # the form comes back as typed
    # What the console tells itself, before asking.
    assert beside(blank.text, "venue_name") == "Ghi nơi tổ chức buổi hỗ trợ."
    assert beside(blank.text, "topics") == "Chọn ít nhất một nội dung."
    assert beside(blank.text, "start_local") == "Ghi giờ theo giờ và phút, ví dụ 08:00."
    assert "Traceback" not in wednesday.text
    assert days == []


async def test_a_weekly_series_names_its_holiday_skips_before_it_is_confirmed(
    settings: Settings,
) -> None:
    series = form(local_date="2027-01-30", weeks="3", weekly="yes", action="preview")
    async with console_world(settings, with_scheduler=True) as world:
        await signed_in_coordinator(world)
        preview = await post(world, series)
        before = await scheduled_days(world, "2027-01-01", "2027-03-31")
        key = re.search(r'name="key" value="([^"]+)"', preview.text)
        assert key is not None
        confirmed = await post(world, series | {"action": "confirm", "key": key.group(1)})
        again = await post(world, series | {"action": "confirm", "key": key.group(1)})
        after = await scheduled_days(world, "2027-01-01", "2027-03-31")

    assert preview.status_code == 200, preview.text
    assert 'id="confirm-series-form"' in preview.text
    assert "Thứ Bảy, 30/01/2027" in preview.text
    assert "Thứ Bảy, 06/02/2027: Tết Nguyên Đán" in preview.text
    assert before == []  # a preview writes nothing
    assert confirmed.status_code == 200, confirmed.text
    assert "Bỏ qua vì trùng ngày lễ" in confirmed.text
    assert again.status_code == 200  # pressed twice: the same series, not a second one
    assert after == ["2027-01-30", "2027-02-13"]


async def test_a_commune_outside_the_scope_is_refused_by_a_forged_form(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await signed_in_coordinator(world)
        forged = await post(world, form(commune_code=HOAN_KIEM))
        forged_series = await post(
            world, form(commune_code=HOAN_KIEM, weekly="yes", action="confirm")
        )
        days = await scheduled_days(world, "2026-12-01", "2026-12-31", HOAN_KIEM)

    assert forged.status_code == 403
    assert forged_series.status_code == 403
    assert days == []


async def test_a_weekly_series_outside_the_weekend_is_refused_beside_the_date(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await signed_in_coordinator(world)
        wrong = await post(world, form(local_date="2026-12-09", weekly="yes", weeks="60"))
        english = await world.console.post(
            "/schedule?lang=en",
            data=form(weeks="0", weekly="yes") | {"_csrf_token": await world.csrf("/schedule")},
        )

    assert beside(wrong.text, "local_date") == "Các buổi được tổ chức vào Thứ Bảy hoặc Chủ Nhật."
    assert beside(english.text, "weeks") == "Repeat for 1 to 52 weeks."


async def test_a_scheduler_out_of_reach_is_a_clear_message_not_a_stack_trace(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:  # the console's scheduler URL answers nothing
        await signed_in_coordinator(world)
        scheduling = await post(world, form())
        report = await world.console.get(f"/reports?commune={THIEU_TRUNG}")
        requests = await world.console.get("/help-requests")

    assert scheduling.status_code == 503
    assert "Lịch chưa phản hồi lúc này. Hãy thử lại sau một phút." in scheduling.text
    assert report.status_code == 503
    assert requests.status_code == 200
    assert 'role="alert"' in requests.text  # its lists cannot be read just now: said so
    for answer in (scheduling, report, requests):
        assert "Traceback" not in answer.text
