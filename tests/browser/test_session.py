"""A session's page in a real browser against the whole system: cancelling it after the page
has said how many people will be texted (and that many SMS reaching the provider), the SMS
sent for a session with every phone masked, and a forged form of a session action changing
nothing.

The tests share one running system (tests/browser/conftest.py), so each adds accounts of its
own, and each session teaches its own topic: a resident sent back to waiting by a cancellation
is placed in no other test's session."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from bench.system import Sms, System
from tests.browser.accessibility import assert_accessible
from tests.browser.commune import (
    add_group,
    add_volunteer,
    book_resident,
    schedule,
    session,
    slot_assignments,
)
from tests.browser.console import THIEU_TRUNG, add_account, next_weekends_saturday, sign_in
from tests.browser.screenshots import save_screenshots
from tests.support.waiting import eventually

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.asyncio(loop_scope="session"),
    # one worker runs this module, so its system starts once
    pytest.mark.xdist_group("browser-session"),
]

MORNING = ("08:00", "11:00")
AFTERNOON = ("14:00", "17:00")  # the volunteers here are free on Saturday mornings only
VOLUNTEERS = {"Lò Văn Minh": "+84913000131", "Hà Thị Lan": "+84913000132"}
RESIDENTS = {"Lê Thị Hoa": "+84987650131", "Trần Văn Bình": "+84987650132"}


async def test_cancelling_texts_as_many_people_as_the_page_said(page: Page, system: System) -> None:
    phone = "+84912000130"
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    group = await add_group(system, "Tổ CNSCĐ thôn 5")
    for name, volunteer_phone in VOLUNTEERS.items():
        await add_volunteer(system, group, name, volunteer_phone)
    session_id = await schedule(system, "Nhà văn hóa thôn 5", next_weekends_saturday(), MORNING)
    # both volunteers proposed (texted), both residents booked (texted): four to tell
    proposed = await eventually(
        lambda: slot_assignments(system, session_id),
        lambda found: [a["status"] for a in found] == ["proposed", "proposed"],
        timeout=30,
    )
    for name, resident_phone in RESIDENTS.items():
        await book_resident(system, name, resident_phone)
    await system.settled()  # their SMS all sent before the cancellation's are counted
    await sign_in(page, system, phone)
    await page.goto(f"{system.url('console')}/sessions/{session_id}")
    await expect(page.locator("#residents > li")).to_have_count(2)
    await expect(page.locator("#volunteers > li")).to_have_count(len(proposed))
    await expect(page.locator("#volunteers")).to_contain_text("Đã mời, chưa trả lời")
    await assert_accessible(page)
    await save_screenshots(page, "session")

    await page.click("#cancel-link")

    told = page.locator("#texted-count")
    await expect(told).to_have_text("4 người sẽ nhận tin nhắn SMS báo buổi này bị hủy.")
    await assert_accessible(page)
    await save_screenshots(page, "cancel")
    before = len(system.sent())
    await page.fill("#reason", "Mất điện cả xã")
    await page.click("#cancel-form button[type=submit]")

    await expect(page.locator("#session-status")).to_have_text("Đã hủy")
    await expect(page.locator("#session-facts")).to_contain_text("Mất điện cả xã")
    assert (await session(system, session_id))["status"] == "cancelled"
    await eventually(lambda: news(system, before), lambda sent: len(sent) >= 4, timeout=30)
    await system.settled()
    texted = await news(system, before)
    assert sorted(sms.to for sms in texted) == sorted([*VOLUNTEERS.values(), *RESIDENTS.values()])
    # the residents told of the cancellation, the volunteers that they are not needed
    assert all(
        "đã bị hủy" in sms.body or "không còn được phân công" in sms.body for sms in texted
    ), texted
    assert all("(lý do: Mất điện cả xã)" in sms.body for sms in texted), texted
    # The page says who was booked and that each was told, not that they still hold a place.
    await page.reload()
    await expect(page.locator("#residents-heading")).to_have_text(
        "Người dân đã đặt chỗ khi buổi bị hủy"
    )
    told = page.locator("#residents .told")
    await expect(told).to_have_count(2)
    for resident in range(2):
        await expect(told.nth(resident)).not_to_contain_text("chưa vào hàng gửi")
    await expect(page.locator("#session-bookings")).to_have_text("0 / 10")
    await expect(page.locator("#waitlist-heading")).to_have_count(0)
    await assert_accessible(page)
    await save_screenshots(page, "session-cancelled")


async def news(system: System, before: int) -> list[Sms]:
    """The SMS handed to the provider after the first `before`."""
    return system.sent()[before:]


async def test_the_sms_page_shows_each_message_its_status_and_no_full_phone(
    page: Page, system: System
) -> None:
    phone = "+84912000133"
    resident = "+84987650133"
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    session_id = await schedule(
        system, "Nhà văn hóa thôn 6", next_weekends_saturday(), AFTERNOON, "cashless_payment"
    )
    await book_resident(system, "Phạm Thị Cúc", resident, "cashless_payment")
    await sign_in(page, system, phone)
    await page.goto(f"{system.url('console')}/sessions/{session_id}")

    await page.click("#messages-link")

    messages = page.locator("#messages > li")

    async def listed() -> int:
        await page.reload()
        return await messages.count()

    await eventually(listed, lambda count: count >= 1, timeout=30)
    booked = messages.filter(has_text="Phạm Thị Cúc")
    await expect(booked).to_contain_text("+84*****0133")
    # sent (with the provider) or delivered, in the reader's words
    await expect(booked).to_contain_text(re.compile(r"Tình trạng: (Đã gửi, chưa báo nhận|Đã nhận)"))
    html = await page.content()
    national = "0" + resident.removeprefix("+84")
    for written in (resident, national, f"{national[:4]} {national[4:7]} {national[7:]}"):
        assert written not in html
    await assert_accessible(page)
    await save_screenshots(page, "session-messages")


async def test_a_forged_session_form_changes_nothing(page: Page, system: System) -> None:
    phone = "+84912000134"
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    session_id = await schedule(
        system, "Nhà văn hóa thôn 7", next_weekends_saturday(), AFTERNOON, "online_learning"
    )
    await sign_in(page, system, phone)
    await page.goto(f"{system.url('console')}/sessions/{session_id}")
    form = page.locator("#capacity-form")
    await form.locator("#capacity").fill("5")
    # what a forged form lacks: the token the console put in its own form
    await form.locator("[name=_csrf_token]").evaluate("input => { input.value = 'forged' }")

    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await form.locator("button[type=submit]").click()

    assert (await posted.value).status == 403
    await assert_accessible(page)
    assert (await session(system, session_id))["capacity"] == 10
    # the same form with the console's own token goes through: the token made the difference
    await page.goto(f"{system.url('console')}/sessions/{session_id}")
    await form.locator("#capacity").fill("5")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#session-bookings")).to_have_text("0 / 5")
    assert (await session(system, session_id))["capacity"] == 5
