"""A coordinator plans in a real browser against the whole system: schedules a session and a
weekly series (refusals beside their field, the holiday skips named before anything is
written), files a help request on a resident's behalf, and reads the commune's report and its
CSV. What the pages did is checked through the scheduler's API, not through the pages.

The tests share one running system (tests/browser/conftest.py), so each adds accounts of its
own."""

from __future__ import annotations

import asyncio
import codecs
from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest
from playwright.async_api import Locator, Page, expect

from bench.system import System
from tests.browser.accessibility import assert_accessible
from tests.browser.commune import coordinator, schedule, sessions_at
from tests.browser.console import THIEU_TRUNG, add_account, next_weekends_saturday, sign_in
from tests.browser.screenshots import save_screenshots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.asyncio(loop_scope="session"),
    # one worker runs this module, so its system starts once
    pytest.mark.xdist_group("browser-scheduling"),
]


def weekly_series_over_a_holiday() -> tuple[list[date], set[date]]:
    """The days of a weekly series that starts next weekend and ends on the first public
    holiday falling on its weekday, and the holidays among them, from the `holidays` package
    itself rather than the scheduler's reading of it. Its first day is no holiday (it is to be
    found on This weekend); Tết always has a Saturday or a Sunday, so one weekday fits."""
    saturday = next_weekends_saturday()
    calendar = holidays.country_holidays("VN", years=range(saturday.year, saturday.year + 2))
    for start in (saturday, saturday + timedelta(days=1)):
        every = [start + timedelta(weeks=n) for n in range(52)]
        falling = [d for d in every[1:] if d in calendar]
        if start not in calendar and falling:
            series = every[: every.index(falling[0]) + 1]
            return series, {d for d in series if d in calendar}
    raise AssertionError(f"no weekend holiday within a year of {saturday}")


async def fill_session(form: Locator, venue: str, day: date, start: str, end: str) -> None:
    await form.locator("#venue_name").fill(venue)
    await form.locator("#venue_address").fill(f"{venue}, xã Thiệu Trung")
    await form.locator("#local_date").fill(day.isoformat())
    await form.locator("#start_local").fill(start)
    await form.locator("#end_local").fill(end)
    await form.locator("#capacity").fill("10")
    await form.locator("#volunteers_needed").fill("2")


async def test_a_session_is_scheduled_after_its_refusals_are_shown_beside_their_fields(
    page: Page, system: System
) -> None:
    phone = "+84912000120"
    venue = "Nhà văn hóa thôn Trung Đông"
    day = next_weekends_saturday()
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    await sign_in(page, system, phone)
    await page.goto(system.url("console") + "/schedule")
    form = page.locator("#schedule-form")

    # what the console checks itself: no venue, no topic
    await fill_session(form, "", day, "08:00", "11:00")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#venue_name-error")).to_have_text("Ghi nơi tổ chức buổi hỗ trợ.")
    await expect(page.locator("#topics-error")).to_have_text("Chọn ít nhất một nội dung.")
    await expect(page.locator("#venue_name")).to_have_attribute("aria-invalid", "true")
    # what the scheduler refuses, told in Vietnamese beside the field it names
    await fill_session(form, venue, day, "11:00", "08:00")
    await form.locator("#topic-vneid_activation").check()
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#end_local-error")).to_have_text(
        "Giờ kết thúc phải sau giờ bắt đầu."
    )
    await expect(page.locator("#venue_name")).to_have_value(venue)  # kept for the fix
    await assert_accessible(page)
    await save_screenshots(page, "schedule")
    assert await sessions_at(system, venue, day, day) == []  # refused: nothing scheduled

    await form.locator("#start_local").fill("08:00")
    await form.locator("#end_local").fill("11:00")
    await form.locator("button[type=submit]").click()

    await expect(page.locator("#scheduled")).to_contain_text(f"{day:%d/%m/%Y}")
    (scheduled,) = await sessions_at(system, venue, day, day)
    assert (scheduled["start_local"], scheduled["end_local"]) == ("08:00:00", "11:00:00")
    await page.goto(system.url("console") + "/weekend")
    await page.click("#next-weekend")
    await expect(page.locator(f"#session-{scheduled['session_id']}")).to_contain_text(venue)


async def test_a_weekly_series_names_its_holiday_skips_before_it_is_confirmed(
    page: Page, system: System
) -> None:
    phone = "+84912000121"
    venue = "Nhà văn hóa thôn Trung Tây"
    series, skipped = weekly_series_over_a_holiday()
    first, holiday = series[0], series[-1]
    await add_account(system, "coordinator", phone, "Trần Văn Nam", (THIEU_TRUNG,))
    await sign_in(page, system, phone)
    await page.goto(system.url("console") + "/schedule")
    form = page.locator("#schedule-form")
    await fill_session(form, venue, first, "08:00", "11:00")
    await form.locator("#topic-vneid_activation").check()
    await form.locator("#weekly").check()
    await form.locator("#weeks").fill("60")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#weeks-error")).to_have_text("Lặp lại từ 1 đến 52 tuần.")
    await form.locator("#weeks").fill(str(len(series)))

    await form.locator("button[type=submit]").click()

    await expect(page.locator("#series-skipped")).to_contain_text(f"{holiday:%d/%m/%Y}: ")
    await expect(page.locator("#series-skipped li")).to_have_count(len(skipped))
    await expect(page.locator("#series-dates li")).to_have_count(len(series) - len(skipped))
    await assert_accessible(page)
    await save_screenshots(page, "schedule-series")
    assert await sessions_at(system, venue, first, holiday) == []  # a preview writes nothing

    await page.locator("#confirm-series-form button[type=submit]").click()

    await expect(page.locator("#scheduled")).to_contain_text(f"{holiday:%d/%m/%Y}")
    days = sorted(s["local_date"] for s in await sessions_at(system, venue, first, holiday))
    assert days == [d.isoformat() for d in series if d not in skipped]
    await page.goto(system.url("console") + "/weekend")
    await page.click("#next-weekend")
    await expect(page.locator("#sessions")).to_contain_text(venue)


async def test_a_help_request_is_filed_for_a_resident_who_consents(
    page: Page, system: System
) -> None:
    phone = "+84912000122"
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    await sign_in(page, system, phone)
    await page.goto(system.url("console") + "/help-requests")
    form = page.locator("#help-request-form")

    async def fill_resident(name: str, resident_phone: str) -> None:
        await form.locator("#resident_name").fill(name)
        await form.locator("#phone").fill(resident_phone)
        await form.locator("#birth_year").fill("1948")
        # no session of this module teaches cashless payment: the resident waits for one
        await form.locator("#topic-cashless_payment").check()

    await fill_resident("Hoàng Văn Sáu", "0987 650 121")
    await form.locator("button[type=submit]").click()  # the consent box left unticked

    await expect(page.locator("#consent_given-error")).to_have_text(
        "Người dân phải đồng ý cho chúng tôi lưu các thông tin này."
    )
    await expect(page.locator("#resident_name")).to_have_value("Hoàng Văn Sáu")
    assert "Hoàng Văn Sáu" not in await waiting_names(system)  # nothing filed
    await assert_accessible(page)
    await save_screenshots(page, "help-requests-consent")

    await fill_resident("Hà Thị Tư", "0987 650 122")
    await form.locator("#consent_given").check()
    await form.locator("button[type=submit]").click()

    await expect(page.locator("#filed")).to_contain_text("Đã gửi yêu cầu cho Hà Thị Tư")
    waiting = page.locator("#waiting li").filter(has_text="Hà Thị Tư")
    await expect(waiting).to_contain_text("+84*****0122")  # the phone masked
    assert "Hà Thị Tư" in await waiting_names(system)
    assert "0987650122" not in await page.content()
    await assert_accessible(page)
    await save_screenshots(page, "help-requests")


async def waiting_names(system: System) -> list[str]:
    found = await system.call(
        "GET", "scheduler", f"/communes/{THIEU_TRUNG}/waiting", auth=coordinator(system)
    )
    assert found.status_code == 200, found.text
    return [w["name"] for w in found.json()["waiting"]]


async def test_the_report_shows_its_charts_and_downloads_its_csv(
    page: Page, system: System
) -> None:
    phone = "+84912000123"
    venue = "Trường tiểu học Thiệu Trung"
    day = next_weekends_saturday()
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    await scheduled_and_cancelled(system, venue, day)
    await sign_in(page, system, phone)
    await page.goto(system.url("console") + "/reports")
    form = page.locator("#report-form")
    await form.locator("#from").fill(day.isoformat())
    await form.locator("#to").fill((day + timedelta(days=1)).isoformat())

    await form.locator("button[type=submit]").click()

    figures = page.locator("#report-figures")
    await expect(figures.locator("tr").filter(has_text="Số buổi bị hủy")).to_contain_text("1")
    charts = page.locator("figure.chart")
    await expect(charts).to_have_count(3)
    for n in range(3):
        chart = charts.nth(n)
        await expect(chart.locator("svg[role=img] > title")).not_to_be_empty()
        await expect(chart.locator("figcaption table")).to_be_attached()
    await assert_accessible(page)
    await save_screenshots(page, "reports")

    async with page.expect_download() as downloading:
        await page.click("#report-csv")
    download = await downloading.value
    last = day + timedelta(days=1)
    assert download.suggested_filename == f"report-{THIEU_TRUNG}-{day}-{last}.csv"
    saved = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert saved.startswith(codecs.BOM_UTF8)  # for Excel
    header, *rows = saved.decode("utf-8-sig").splitlines()
    assert header == "metric,value"
    assert "sessions_cancelled,1" in rows
    # the same link fetched with the browser's cookies: its type, which a download hides
    href = await page.locator("#report-csv").get_attribute("href")
    assert href is not None
    fetched = await page.context.request.get(system.url("console") + href)
    assert fetched.status == 200
    assert fetched.headers["content-type"].startswith("text/csv")
    assert await fetched.body() == saved


async def scheduled_and_cancelled(system: System, venue: str, day: date) -> None:
    """A session on `day` that was cancelled: the report's figures for a range with it."""
    session_id = await schedule(system, venue, day, ("13:00", "16:00"))
    cancelled = await system.call(
        "POST",
        "scheduler",
        f"/sessions/{session_id}/cancel",
        auth=coordinator(system),
        json={"reason": "Mất điện cả xã"},
    )
    assert cancelled.status_code == 200, cancelled.text
