"""Issue 15's live pages in a real browser against the whole system: a coordinator watches a
session's volunteers being proposed, the volunteers answer "C" by SMS (the signed inbound
webhook of notifications, as the SMS provider calls it), and both the session page and the
weekend's card turn staffed without a reload; a session scheduled meanwhile joins the weekend's
list. axe checks the pages as updated; their pictures
go to docs/console.md."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, expect

from bench.system import Sms, System
from shared.web.auth import Role
from tests.browser.accessibility import assert_accessible
from tests.browser.console import THIEU_TRUNG, add_account, schedule_session, sign_in
from tests.browser.screenshots import save_screenshots
from tests.support.waiting import eventually

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.xdist_group("browser-live"),
]

COORDINATOR = "+84912000201"
VOLUNTEERS = {"Trần Văn Nam": "+84912000211", "Lê Thị Mai": "+84912000212"}
PROPOSAL = re.compile(r"Trả lời C (\d{4})")
MARKER = "window.__notReloaded"


async def register_volunteers(system: System) -> None:
    """Two members of a Thiệu Trung group, free on Saturday mornings."""
    coordinator = system.token(Role.COORDINATOR, scope=(THIEU_TRUNG,))
    group = await system.call(
        "POST",
        "volunteers",
        "/groups",
        auth=coordinator,
        json={"name": "Tổ CNS thôn 4", "commune_code": THIEU_TRUNG},
    )
    assert group.status_code == 201, group.text
    for name, phone in VOLUNTEERS.items():
        joined = await system.call(
            "POST",
            "volunteers",
            "/volunteers",
            auth=coordinator,
            json={
                "group_id": group.json()["group_id"],
                "consent_given": True,
                "name": name,
                "phone": phone,
                "skills": ["vneid_activation"],
                "availability": {"saturday": ["morning"]},
            },
        )
        assert joined.status_code == 201, joined.text


async def proposals(system: System) -> list[Sms]:
    """The proposal SMS each volunteer was sent."""

    async def found() -> list[Sms]:
        return [s for s in system.sent() if s.to in VOLUNTEERS.values() and PROPOSAL.search(s.body)]

    return await eventually(found, lambda sent: len(sent) >= len(VOLUNTEERS), timeout=60)


async def listening(page: Page) -> None:
    """The page's event stream is open, and the page is marked: a reload would lose the mark."""
    await expect(page.locator("html")).to_have_attribute("data-live", "open")
    await page.evaluate(f"{MARKER} = true")


async def not_reloaded(page: Page) -> bool:
    return bool(await page.evaluate(f"{MARKER} === true"))


async def test_the_pages_turn_staffed_by_themselves_when_volunteers_answer_by_sms(
    page: Page, context: BrowserContext, system: System
) -> None:
    await add_account(system, "coordinator", COORDINATOR, "Đỗ Thị Lan", (THIEU_TRUNG,))
    await register_volunteers(system)
    session_id = await schedule_session(system, THIEU_TRUNG, "Nhà văn hóa thôn 4")
    await sign_in(page, system, COORDINATOR)
    await page.click("#next-weekend")
    await expect(page.locator("h1")).to_have_text("Cuối tuần sau")
    card = page.locator(f"#session-{session_id}")
    await expect(card).to_contain_text("Nhà văn hóa thôn 4")
    await listening(page)

    session_page = await context.new_page()
    await session_page.goto(f"{system.url('console')}/sessions/{session_id}")
    await listening(session_page)
    # Proposed as the volunteers plan (on the page at first, or as the page listens).
    volunteers = session_page.locator("#volunteers li")
    await expect(volunteers).to_have_count(2, timeout=30_000)
    await expect(volunteers.first).to_contain_text("Đã mời, chưa trả lời")
    await expect(card.locator(".staffing")).to_have_text("Đang chờ tình nguyện viên trả lời")
    await expect(card.locator(".asked")).to_contain_text("0 sẽ đến, 2 đã được mời")

    for proposal in await proposals(system):
        answered = await system.text(proposal.to, "C")
        assert answered.status_code == 200, answered.text

    await expect(session_page.locator("#session-staffing")).to_have_text("Đủ người", timeout=30_000)
    await expect(volunteers.filter(has_text="Sẽ đến")).to_have_count(2)
    await expect(card.locator(".staffing")).to_have_text("Đủ người", timeout=30_000)
    await expect(card.locator(".asked")).to_have_count(0)
    # A session scheduled meanwhile joins the weekend's list, still without a reload.
    later_id = await schedule_session(system, THIEU_TRUNG, "Trường tiểu học thôn 4")
    later = page.locator(f"#session-{later_id}")
    await expect(later).to_contain_text("Trường tiểu học thôn 4", timeout=30_000)
    await expect(page.locator("html")).to_have_attribute("data-live", "open")
    await expect(card.locator(".staffing")).to_have_text("Đủ người")
    assert await not_reloaded(page)
    assert await not_reloaded(session_page)
    for updated, name in ((page, "weekend-live"), (session_page, "session-live")):
        await assert_accessible(updated)
        await save_screenshots(updated, name)
