"""Volunteers in a real browser against the whole system: a coordinator imports a group's
roster from a CSV file (a wrong line named with its reason, then the corrected file taken),
and a volunteer signs in and accepts the assignment proposed to them. What the pages did is
checked through the volunteers service's API, not through the pages.

The tests share one running system (tests/browser/conftest.py), so each adds accounts of its
own; the roster's members are free on Sunday afternoons only, so none of them is proposed
for the volunteer's Saturday morning."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from bench.system import System
from tests.browser.accessibility import assert_accessible
from tests.browser.commune import (
    add_group,
    add_volunteer,
    members,
    schedule,
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
    pytest.mark.xdist_group("browser-volunteering"),
]

HEADER = "name,phone,village,skills,languages,saturday,sunday,monthly_limit,consent\n"
MINH = "Lò Văn Minh,0913 000 141,Bản Sại,cashless_payment,vi,,afternoon,3,yes\n"
LAN = "Hà Thị Lan,+84913000142,Thôn 3,cashless_payment,,,afternoon,,yes\n"
WRONG = "Cầm Văn Thắng,12345,Thôn 4,cashless_payment,,,afternoon,,yes\n"


async def test_a_roster_with_a_wrong_line_is_named_line_by_line_then_the_fixed_one_is_taken(
    page: Page, system: System
) -> None:
    phone = "+84912000140"
    group = await add_group(system, "Tổ CNSCĐ thôn 3")
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    await sign_in(page, system, phone)
    await page.goto(f"{system.url('console')}/volunteers?commune={THIEU_TRUNG}")
    form = page.locator(f"#roster-form-{group}")

    async def import_file(text: str) -> None:
        await form.locator(f"#roster-{group}").set_input_files(
            {"name": "roster.csv", "mimeType": "text/csv", "buffer": text.encode()}
        )
        await form.locator("button[type=submit]").click()

    await import_file(HEADER + MINH + WRONG + LAN)  # the wrong one on line 3

    report = page.locator("#roster-report")
    await expect(report.locator("li")).to_have_count(1)
    await expect(report).to_have_text(
        "dòng 3: số điện thoại '12345' không phải số di động Việt Nam"
    )
    await expect(page.locator(f"#roster-{group}")).to_have_attribute("aria-invalid", "true")
    # all lines or none (docs/volunteers.md): the two right ones wait for the corrected file
    assert await members(system) == []
    await assert_accessible(page)
    await save_screenshots(page, "volunteers-roster")

    await import_file(HEADER + MINH + LAN)  # the wrong line taken out

    await expect(page.locator("#roster-imported")).to_contain_text("2")
    table = page.locator(f"#group-{group} table")
    await expect(table).to_contain_text("Lò Văn Minh (Bản Sại)")
    await expect(table).to_contain_text("Hà Thị Lan (Thôn 3)")
    await expect(table).not_to_contain_text("Cầm Văn Thắng")
    names = sorted(m["name"] for m in await members(system))
    assert names == ["Hà Thị Lan", "Lò Văn Minh"]
    await assert_accessible(page)
    await save_screenshots(page, "volunteers")


async def test_a_volunteer_accepts_their_proposed_assignment_on_their_own_page(
    page: Page, system: System
) -> None:
    phone = "+84913000143"
    group = await add_group(system, "Tổ CNSCĐ thôn 8")
    volunteer_id = await add_volunteer(system, group, "Đỗ Văn Hải", phone)
    await add_account(system, "volunteer", phone, "Đỗ Văn Hải", volunteer_id=volunteer_id)
    session_id = await schedule(
        system, "Nhà văn hóa thôn 8", next_weekends_saturday(), ("08:00", "11:00")
    )
    (proposed,) = await eventually(
        lambda: slot_assignments(system, session_id),
        lambda found: [a["volunteer_id"] for a in found] == [volunteer_id],
        timeout=30,
    )
    assert proposed["status"] == "proposed"
    await system.settled()  # the proposal's SMS sent before the sign-in code is looked for
    await sign_in(page, system, phone, home="/me")

    card = page.locator(f"#assignment-{proposed['assignment_id']}")
    await expect(card).to_contain_text("Đang chờ bạn trả lời")
    await expect(card).to_contain_text(f"{next_weekends_saturday():%d/%m/%Y} 08:00")
    # why they were asked, in their words (the volunteers service explains in English)
    await expect(card).to_contain_text("hướng dẫn kích hoạt VNeID; cùng xã")
    await assert_accessible(page)
    await save_screenshots(page, "me")

    await card.locator(f"#accept-{proposed['assignment_id']} button[type=submit]").click()

    await expect(card).to_contain_text("Đã nhận")
    await expect(card.locator(f"#accept-{proposed['assignment_id']}")).to_have_count(0)
    (accepted,) = await slot_assignments(system, session_id)
    assert accepted["status"] == "accepted"
