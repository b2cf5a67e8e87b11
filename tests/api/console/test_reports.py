"""The commune report: figures from a real session's attendance, charts as inline SVG with a
title and the same numbers in tables, the scheduler's CSV handed through, scope enforced."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from services.console.domain.charts import bar_chart
from shared.events.console import AccountRole
from shared.settings import Settings
from shared.web.auth import Caller, Role, mint_token
from tests.api.console.test_pages import session_body
from tests.api.console.world import (
    COORDINATOR_PHONE,
    HOAN_KIEM,
    THIEU_TRUNG,
    World,
    console_world,
)
from tests.support.services import KEYS, token

HOUR = timedelta(hours=1)
WINDOW = "from=2026-12-01&to=2026-12-31"


def resident(phone: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "resident_name": "Lê Thị Hoa",
        "phone": phone,
        "commune_code": THIEU_TRUNG,
        "topics": ["vneid_activation"],
        "birth_year": 1950,
        "consent_given": True,
        "sensitive_consent_given": True,
    }
    return body | changes


async def a_saturday_held(world: World) -> None:
    """One session on Saturday 5 December: two residents came (one elderly, one blind), one
    did not; marked and completed through the scheduler's API."""
    admin = token(Role.ADMIN)
    async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
        made = await scheduler.post(
            "/sessions",
            json=session_body("Nhà văn hóa", "2026-12-05", "08:00:00")
            | {
                "topics": ["vneid_activation", "online_public_services"],
                "accessibility": ["screen_reader_help"],
            },
            headers=admin,
        )
        assert made.status_code == 201, made.text
        session_id = made.json()["session_id"]
        bookings = []
        for body in [
            resident("0912345001"),
            resident(
                "0912345002",
                birth_year=1990,
                accessibility_needs=["screen_reader_help"],
                topics=["online_public_services"],
            ),
            resident("0912345003"),
        ]:
            filed = await scheduler.post("/help-requests", json=body)
            assert filed.status_code == 201, filed.text
            bookings.append(filed.json()["booking_id"])
        world.clock.advance(timedelta(days=2, hours=23, minutes=30))  # Saturday 08:30 local
        # A token from the moved clock: the shared test token ends an hour after the real now.
        caller = Caller(sub="tester", role=Role.ADMIN)
        admin = {"Authorization": f"Bearer {mint_token(KEYS, caller, world.clock.now(), HOUR)}"}
        for booking, status, outcomes in zip(
            bookings,
            ["attended", "attended", "no_show"],
            [["vneid_activated"], ["application_submitted"], []],
            strict=True,
        ):
            marked = await scheduler.post(
                f"/sessions/{session_id}/attendance",
                json={"booking_id": booking, "status": status, "outcomes": outcomes},
                headers=admin,
            )
            assert marked.status_code == 200, marked.text
        done = await scheduler.post(f"/sessions/{session_id}/complete", json={}, headers=admin)
        assert done.status_code == 200, done.text


def figure(page: str, label: str) -> str:
    found = re.search(rf'<th scope="row">{label}</th><td[^>]*>([^<]+)</td>', page)
    assert found is not None, label
    return found.group(1)


async def test_the_commune_report_in_figures_charts_and_csv(settings: Settings) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await a_saturday_held(world)
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        report = await world.console.get(f"/reports?commune={THIEU_TRUNG}&{WINDOW}")
        csv = await world.console.get(f"/reports/csv?commune={THIEU_TRUNG}&{WINDOW}")
        english = await world.console.get(f"/reports?commune={THIEU_TRUNG}&{WINDOW}&lang=en")

    assert report.status_code == 200, report.text
    page = report.text
    assert "Thứ Ba, 01/12/2026" in page
    assert figure(page, "Số buổi đã tổ chức") == "1"
    assert figure(page, "Số người dân được hỗ trợ") == "2"
    assert figure(page, "Tỷ lệ vắng mặt") == "33%"
    assert figure(page, "Hồ sơ trực tuyến đã nộp") == "1"
    # Each chart is an image with a title, its numbers also in a table.
    assert page.count('<svg role="img" aria-labelledby="chart-') == 3
    assert '<title id="chart-1-title">Người dân được hỗ trợ theo nội dung</title>' in page
    assert figure(page, "Kích hoạt VNeID") == "1"
    assert figure(page, "Người cao tuổi") == "1"
    assert figure(page, "Người khuyết tật") == "1"
    assert figure(page, "Đã nộp hồ sơ trực tuyến") == "1"
    assert "<script" not in page.split("<main")[1]  # the charts are drawn by the server
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    assert "report-15835-2026-12-01-2026-12-31.csv" in csv.headers["content-disposition"]
    assert "residents_served,2" in csv.text
    assert figure(english.text, "Residents served") == "2"


async def test_a_report_outside_the_scope_is_refused_and_bad_dates_named(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        elsewhere = await world.console.get(f"/reports?commune={HOAN_KIEM}&{WINDOW}")
        elsewhere_csv = await world.console.get(f"/reports/csv?commune={HOAN_KIEM}&{WINDOW}")
        backwards = await world.console.get(
            f"/reports?commune={THIEU_TRUNG}&from=2026-12-31&to=2026-12-01"
        )
        garbled = await world.console.get(f"/reports?commune={THIEU_TRUNG}&from=31/12&to=x")
        backwards_csv = await world.console.get(
            f"/reports/csv?commune={THIEU_TRUNG}&from=2026-12-31&to=2026-12-01"
        )

    assert elsewhere.status_code == 403
    assert "Hoàn Kiếm" not in elsewhere.text
    assert elsewhere_csv.status_code == 403
    assert backwards.status_code == 400
    assert '<p class="error" id="to-error">Ngày cuối đứng trước ngày đầu.</p>' in backwards.text
    assert garbled.status_code == 400
    assert 'id="from-error">Chọn một ngày, ví dụ 05/12/2026.' in garbled.text
    assert backwards_csv.status_code == 400
    assert "Traceback" not in backwards_csv.text


def test_the_largest_bar_is_full_length_and_zeros_draw_nothing() -> None:
    chart = bar_chart("t", [("a", 2), ("b", 4), ("c", 0)])
    assert [bar.width for bar in chart.bars] == [50.0, 100.0, 0.0]
    assert [bar.y for bar in chart.bars] == [0, 36, 72]
    assert bar_chart("empty", [("a", 0)]).bars[0].width == 0.0
